"""The timer worker: fires due timers, pass after pass, each exactly once across workers, and runs
the history cleanup job when it is due."""
from __future__ import annotations

import logging
import threading

from app.audit import cleanup
from app.cases.timers import fire_due_timers
from app.context import Services

log = logging.getLogger(__name__)


class TimerWorker:
    """Polls for due timers in a background thread of the service (or of `eco-orchestrator worker`)."""

    def __init__(self, services: Services, interval_seconds: float) -> None:
        self.services = services
        self.interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="timer-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def run_once(self) -> None:
        """One pass: fire each schedule a bounded number of times (a cycle that fell far behind catches
        up over several passes instead of holding the worker), then the history cleanup if it is due."""
        for _ in range(self.services.settings.timer_firings_per_pass):
            if self._stop.is_set() or not fire_due_timers(self.services):
                break
        cleanup.run_due(self.services)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a failing round must not end the worker; the next round retries
                log.exception("timer round failed")
            self._stop.wait(self.interval)

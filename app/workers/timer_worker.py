"""The timer worker: fires due timers, pass after pass, each exactly once across workers; then runs
the next parts of the active batches, and the history cleanup job when it is due."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from app.audit import cleanup
from app.cases.batches import run_batches
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

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_pass()
            self._stop.wait(self.interval)

    def run_pass(self) -> None:
        """One round: the due timers, then a part of each active batch (each target in its own unit
        of work), then the history cleanup if it is due; each apart, so that a timer whose step keeps
        failing holds neither the batches nor the cleanup up."""
        self._guarded(self._fire_timers, "timer round failed")
        if not self._stop.is_set():
            self._guarded(lambda: run_batches(self.services), "batch round failed")
        if not self._stop.is_set():
            self._guarded(lambda: cleanup.run_due(self.services), "history cleanup round failed")

    def _fire_timers(self) -> None:
        # One pass fires each schedule a bounded number of times: a cycle that fell far behind
        # catches up over several passes instead of holding the worker.
        for _ in range(self.services.settings.timer_firings_per_pass):
            if self._stop.is_set() or not fire_due_timers(self.services):
                break

    @staticmethod
    def _guarded(work: Callable[[], object], failure: str) -> None:
        try:
            work()
        except Exception:  # a failing round must not end the worker; the next round retries
            log.exception(failure)

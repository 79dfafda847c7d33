"""Command line: `eco-orchestrator serve` and `eco-orchestrator migrate`."""
from __future__ import annotations

import argparse
import os

from app.settings import PROJECT_ROOT


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="eco-orchestrator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the service (migrates the database first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--deploy", default=str(PROJECT_ROOT / "bpmn"),
                       help="directory whose .bpmn files are deployed at start (default: bpmn/)")
    commands.add_parser("migrate", help="bring the database schema to the newest revision")
    worker = commands.add_parser("worker", help="fire due timers (run several beside TIMER_WORKER=false replicas)")
    worker.add_argument("--interval", type=float, default=None, help="seconds between rounds (TIMER_POLL_SECONDS)")
    args = parser.parse_args(argv)

    if args.command == "serve":
        import uvicorn

        os.environ.setdefault("DEPLOY_ON_START", args.deploy)
        uvicorn.run("app.main:app", host=args.host, port=args.port)
    elif args.command == "migrate":
        from app.persistence.database import Database
        from app.persistence.migrations import upgrade_to_head
        from app.settings import get_settings

        settings = get_settings()
        upgrade_to_head(Database(settings.database_url))
    elif args.command == "worker":
        run_worker(args.interval)


def run_worker(interval: float | None) -> None:
    import signal
    import threading

    from app.main import build_services
    from app.persistence.migrations import upgrade_to_head
    from app.services.timers import TimerWorker
    from app.settings import get_settings

    settings = get_settings()
    if settings.clock != "system":
        raise SystemExit("a separate worker runs on the system clock; a simulated clock lives in the service")
    services = build_services(settings)
    upgrade_to_head(services.db)
    worker = TimerWorker(services, interval or settings.timer_poll_seconds)
    stopped = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stopped.set())
    worker.start()
    stopped.wait()
    worker.stop()
    services.db.dispose()


if __name__ == "__main__":
    main()

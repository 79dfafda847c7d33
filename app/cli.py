"""Command line: `eco-orchestrator serve`, `migrate`, `worker`, `account`, `api-key`, `verify`, `anchor-key`,
`verify-export`, `replay` and `scenario`."""
from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from app.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from app.context import Services

_Result = TypeVar("_Result")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="eco-orchestrator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the service (migrates the database first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--deploy", default=str(PROJECT_ROOT / "bpmn"),
                       help="directory whose .dmn and .bpmn files are deployed at start (default: bpmn/)")
    commands.add_parser("migrate", help="bring the database schema to the newest revision")
    worker = commands.add_parser("worker", help="fire due timers (run several beside TIMER_WORKER=false replicas)")
    worker.add_argument("--interval", type=float, default=None, help="seconds between rounds (TIMER_POLL_SECONDS)")
    account = commands.add_parser("account", help="create an account, or replace its password and groups; the "
                                                  "password is read from the environment variable ACCOUNT_PASSWORD "
                                                  "or asked for")
    account.add_argument("id")
    account.add_argument("--group", action="append", default=[], help="a group it belongs to (repeat for more)")
    account.add_argument("--name", default=None, help="its display name")
    account.add_argument("--region", default=None, help="the region whose cases it sees, e.g. xj or xj-urumqi")
    api_key = commands.add_parser("api-key", help="create an API key for an account (printed once), or revoke one")
    api_key.add_argument("account", nargs="?", help="the account the key signs in as")
    api_key.add_argument("--revoke", metavar="KEY_ID", help="revoke the key with this id (the part before the dot)")
    verify = commands.add_parser("verify", help="recompute the history's hash chains: exits 0 when intact, 1 naming "
                                                "the first row changed, removed or reordered")
    verify.add_argument("--instance", default=None, help="only this process instance")
    verify.add_argument("--seal", action="store_true",
                        help="once after upgrading to revision 0012: sign the heads of the histories written before, "
                             "when nothing else is wrong")
    commands.add_parser("anchor-key", help="print the public key (PEM) that checks the signatures of the history's "
                                           "anchors and of case exports")
    verify_export = commands.add_parser("verify-export", help="check an exported case file offline (no database, no "
                                                              "service): exits 0 when intact, 1 naming what is not")
    verify_export.add_argument("file")
    verify_export.add_argument("--public-key", metavar="PEM_FILE", default=None,
                               help="the published anchor public key (eco-orchestrator anchor-key) to check the file "
                                    "against; without it, the key the file carries is used and its fingerprint shown")
    replay = commands.add_parser("replay", help="replay an exported case file offline: exits 0 when its record is "
                                                "reproduced, 1 naming the first event where the replay diverges")
    replay.add_argument("file")
    scenario = commands.add_parser("scenario", help="run scenario files on a simulated clock and print their "
                                                    "timelines (docs/scenarios.md)")
    scenario.add_argument("files", nargs="+", metavar="FILE")
    scenario.add_argument("--database-url", default=None,
                          help="database to run on (default: a temporary SQLite file, deleted afterwards)")
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
    elif args.command == "account":
        save_account(args.id, args.group, args.name, args.region)
    elif args.command == "api-key":
        if bool(args.account) == bool(args.revoke):
            raise SystemExit("give an account to create a key for, or --revoke KEY_ID")
        manage_api_key(args.account, args.revoke)
    elif args.command == "verify":
        verify_history(args.instance, args.seal)
    elif args.command == "anchor-key":
        from app.audit.anchors import AnchorSigner
        from app.settings import get_settings

        print(AnchorSigner.from_settings(get_settings()).public_pem, end="")
    elif args.command == "verify-export":
        verify_export_file(args.file, args.public_key)
    elif args.command == "replay":
        replay_file(args.file)
    elif args.command == "scenario":
        run_scenarios(args.files, args.database_url)


def verify_export_file(path: str, public_key_file: str | None = None) -> None:
    import hashlib
    import json
    from pathlib import Path

    from app.audit.export import verify_document

    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        public_key = Path(public_key_file).read_text(encoding="ascii") if public_key_file else None
    except (OSError, ValueError) as error:
        raise SystemExit(f"{path}: cannot be read as a case export: {error}") from None
    problems = verify_document(document, public_key)
    events = len(document.get("events", []))
    print(f"{path}: case {document.get('instance', {}).get('id')}, {events} event(s): "
          + ("intact" if not problems else "NOT intact"))
    if public_key is None:
        fingerprint = hashlib.sha256(str(document.get("anchorKey", "")).strip().encode()).hexdigest()
        print(f"  checked against the key the file carries (SHA-256 of its PEM {fingerprint}): compare it with "
              "the published key, or give it with --public-key")
    for problem in problems:
        print(f"  {problem}")
    if problems:
        raise SystemExit(1)


def replay_file(path: str) -> None:
    import json
    from pathlib import Path

    from app.audit.replay import replay_document
    from app.settings import get_settings

    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SystemExit(f"{path}: cannot be read as a case export: {error}") from None
    result = replay_document(document, get_settings().zone)
    if result.reproduced:
        print(f"{path}: reproduced ({result.events} events, {result.activities} activity steps)")
        return
    where = f" at event {result.sequence}" if result.sequence is not None else ""
    print(f"{path}: NOT reproduced{where}: {result.divergence}")
    raise SystemExit(1)


def verify_history(instance_id: str | None, seal: bool = False) -> None:
    from app.audit import ledger

    if seal and instance_id:
        raise SystemExit("--seal signs every history at once: give no --instance")
    result = _on_database(lambda services: ledger.seal(services) if seal else ledger.verify(services, instance_id))
    print(f"{result.instances} instance(s), {result.events} event(s), {result.anchors} anchor(s): "
          + ("intact" if result.intact else "NOT intact"))
    for problem in result.problems:
        where = (f"instance {problem.process_instance_id}" if problem.process_instance_id else "history") + (
            f", event {problem.sequence} (row {problem.event_id})" if problem.sequence is not None else "")
        print(f"  {where}: {problem.what}")
    for case in result.deleted:
        print(f"  instance {case.process_instance_id}: its history ({case.events} event(s), head {case.history_hash}) "
              f"was deleted at {ledger.instant_text(case.deleted_at)} by {case.user_id or 'the service'}")
    if not result.intact:
        raise SystemExit(1)


def _on_database(action: Callable[[Services], _Result]) -> _Result:
    """Run an administrative action on the configured database (migrated first)."""
    from app.errors import InvalidRequest
    from app.main import build_services
    from app.persistence.migrations import upgrade_to_head
    from app.settings import get_settings

    services = build_services(get_settings())
    upgrade_to_head(services.db, services.clock)
    try:
        return action(services)
    except InvalidRequest as error:
        raise SystemExit(error.message) from None
    finally:
        services.db.dispose()


def save_account(account_id: str, groups: list[str], name: str | None, region: str | None) -> None:
    import getpass

    from app.access import accounts

    password = os.environ.get("ACCOUNT_PASSWORD") or getpass.getpass(f"password for {account_id}: ")
    _on_database(lambda services: accounts.save_account(services, account_id, password, groups, name, region))
    print(f"account {account_id} saved, groups: {', '.join(groups) or 'none'}, region: {region or 'none'}")


def manage_api_key(account_id: str | None, revoke: str | None) -> None:
    from app.access import accounts

    if revoke:
        _on_database(lambda services: accounts.revoke_api_key(services, revoke))
        print(f"API key {revoke} revoked")
    elif account_id is not None:  # main asks for one or the other
        key = _on_database(lambda services: accounts.create_api_key(services, account_id))
        print(f"API key for {account_id} (shown only now; send it as the X-API-Key header):\n{key}")


def run_worker(interval: float | None) -> None:
    import signal
    import threading

    # Heard from the start: a stop asked for while the worker starts up ends it cleanly once started.
    stopped = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stopped.set())

    from app.main import build_services
    from app.persistence.migrations import prepare_schema
    from app.settings import get_settings
    from app.telemetry import logs
    from app.workers.timer_worker import TimerWorker

    settings = get_settings()
    if settings.clock != "system":
        raise SystemExit("a separate worker runs on the system clock; a simulated clock lives in the service")
    logs.install(settings.log_format, settings.log_level)  # its timer lines as the service's (LOG_FORMAT)
    services = build_services(settings)
    prepare_schema(services.db, settings.migrate_on_start, services.clock)
    worker = TimerWorker(services, interval or settings.timer_poll_seconds)
    if not stopped.is_set():
        worker.start()
        stopped.wait()
        worker.stop()
    services.db.dispose()


def run_scenarios(files: list[str], database_url: str | None) -> None:
    """Runs the files one after another in one service built in-process; exits 1 at the first failure."""
    import secrets
    import tempfile
    import warnings
    from pathlib import Path

    with warnings.catch_warnings():
        # Starlette asks for httpx2 where the plain httpx this project ships is installed; the test
        # client works on either, and the warning tells a user of this command nothing.
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from starlette.testclient import TestClient

    from app.clock import SimulatedClock
    from app.main import create_app
    from app.scenarios import ScenarioError, load_scenario, run_scenario
    from app.scenarios.accounts import create_accounts
    from app.settings import Settings

    try:
        scenarios = [load_scenario(file) for file in files]
    except ScenarioError as error:
        raise SystemExit(str(error)) from None
    # The runner signs in as the administrator of this throwaway service.
    runner_password = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="eco-scenario-") as directory:
        settings = Settings(database_url=database_url or f"sqlite:///{Path(directory) / 'scenario.sqlite3'}",
                            clock="simulated", timer_worker=False,
                            bootstrap_admin=f"scenario-admin:{runner_password}")
        app = create_app(settings, SimulatedClock(scenarios[0].clock))
        # Errors of the service are answers (500) to report as a failed step, not exceptions of this client.
        with TestClient(app, raise_server_exceptions=False) as http:
            http.auth = ("scenario-admin", runner_password)
            for scenario in scenarios:
                create_accounts(app.state.services, scenario)
                result = run_scenario(http, scenario)
                print(result.report(), end="\n\n", flush=True)
                if not result.passed:
                    raise SystemExit(1)


if __name__ == "__main__":
    main()

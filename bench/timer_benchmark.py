#!/usr/bin/env python3
"""Timer benchmark: many timers due at one instant, fired by separate worker processes on PostgreSQL.

A script, not a test. It creates a fresh database bench_timers_<pid> on
postgresql://postgres@127.0.0.1:5432/postgres (trust auth), deploys tests/fixtures/bpmn/timer_due.bpmn
(start -> wait PT1H -> user task -> end) and starts the instances in-process through the service's
own start code, on a simulated clock standing one day in the past: every instance waits on a timer
due at the same instant, an hour after that clock. Then it runs `eco-orchestrator worker` processes
on the system clock, which stands past that instant, so that every timer is due for them at once;
it waits until no timer is left, checks that each instance fired exactly once (one `timer.fired`
event and one opened follow-up task per instance), stops the workers and drops the database. The
figures are printed last.

    .venv/bin/python bench/timer_benchmark.py                      # 10,000 timers, 2 workers
    .venv/bin/python bench/timer_benchmark.py --timers 2000 --workers 1 --verify

The headline is the time from the first firing (the instant the first worker's clock read when it
began, from the history) until no timer is left; the time from the workers' start adds their own
start-up (imports, schema check: seconds on a busy machine). The CPU of the workers and of their
PostgreSQL server processes, per firing, tells what a noisy machine's wall time cannot. See
docs/performance.md.
"""
from __future__ import annotations

import argparse
import os
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the service's code of this checkout, as the workers run it

from app.audit import ledger  # noqa: E402
from app.cases.instances import start_in_session  # noqa: E402
from app.clock import SimulatedClock  # noqa: E402
from app.context import Services  # noqa: E402
from app.definitions.deployments import deploy, latest_by_key  # noqa: E402
from app.main import build_services, first_start  # noqa: E402
from app.settings import Settings  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "bpmn" / "timer_due.bpmn"
PROCESS_KEY = "timer_due"
FOLLOW_UP_TASK = "act_on_expiry"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL_TEMPLATE = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
# Instances started per unit of work while building: the set-up is not what is measured.
STARTS_PER_UNIT = 100
# How long the workers may take before the run counts as failed.
LIMIT_SECONDS = 900


class BenchmarkError(RuntimeError):
    pass


@contextmanager
def fresh_database() -> Iterator[tuple[str, str]]:
    """A new PostgreSQL database, dropped at the end: (SQLAlchemy URL, libpq URL)."""
    name = f"bench_timers_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL_TEMPLATE.format(name=name), f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build_waiting_instances(services: Services, count: int) -> None:
    deploy(services, name="timer-benchmark", source=None, tenant_id=None,
           resources={FIXTURE.name: FIXTURE.read_bytes()}, duplicate_filtering=False, changed_only=False)
    started = 0
    while started < count:
        with services.db.write() as session:
            definition = latest_by_key(session, PROCESS_KEY)
            for _ in range(min(STARTS_PER_UNIT, count - started)):
                start_in_session(services, session, definition, {}, f"timer-{started}")
                started += 1
        print(f"  {started} instances waiting", file=sys.stderr, end="\r", flush=True)
    print(file=sys.stderr)


def start_worker(database_url: str, anchor_key: str, anchor_log: Path, log: Path) -> subprocess.Popen:
    settings = {name.upper() for name in Settings.model_fields}
    env = {key: value for key, value in os.environ.items() if key.upper() not in settings}
    env.update(DATABASE_URL=database_url, CLOCK="system", ANCHOR_SIGNING_KEY=anchor_key,
               ANCHOR_LOG=str(anchor_log), PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                                                   env.get("PYTHONPATH")])))
    with open(log, "wb") as output:
        return subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], cwd=ROOT, env=env,
                                stdout=output, stderr=subprocess.STDOUT)


def stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def wait_until_fired(connection: psycopg.Connection, workers: list[subprocess.Popen], logs: list[Path]) -> datetime:
    """The instant no instance waits on a timer any more (each firing removes its rows)."""
    begun = time.perf_counter()
    while True:
        left = connection.execute("SELECT count(*) FROM timer WHERE process_instance_id IS NOT NULL").fetchone()
        if left is not None and left[0] == 0:
            return datetime.now(UTC)
        for worker, log in zip(workers, logs, strict=True):
            if worker.poll() is not None:
                raise BenchmarkError(f"a worker exited with {worker.returncode}:\n{log.read_text(errors='replace')}")
        if time.perf_counter() - begun > LIMIT_SECONDS:
            raise BenchmarkError(f"{left[0] if left else '?'} timers still waiting after {LIMIT_SECONDS} s")
        time.sleep(0.1)  # polling the workers' progress; no timer waits on it


def backend_cpu_seconds(connection: psycopg.Connection) -> float | None:
    """CPU time of the database's other server processes so far (the workers' connections), read
    from /proc: PostgreSQL runs on this machine. None where /proc cannot tell."""
    pids = [row[0] for row in connection.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    try:
        fields = [Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split() for pid in pids]
    except OSError:
        return None
    return sum(int(stat[11]) + int(stat[12]) for stat in fields) / os.sysconf("SC_CLK_TCK")


def check_each_fired_once(connection: psycopg.Connection, count: int) -> datetime:
    """Raises unless every instance fired its timer once and opened its follow-up task once; the
    instant of the first firing (as the worker's clock read it)."""
    firings = connection.execute("SELECT count(DISTINCT process_instance_id), count(*), min(occurred_at) "
                                 "FROM history_event WHERE kind = 'timer.fired'").fetchone()
    follow_ups = connection.execute(
        "SELECT count(DISTINCT process_instance_id), count(*) FROM activity_instance WHERE activity_id = %s",
        (FOLLOW_UP_TASK,)).fetchone()
    open_tasks = connection.execute("SELECT count(*) FROM user_task WHERE task_definition_key = %s",
                                    (FOLLOW_UP_TASK,)).fetchone()
    assert firings is not None and follow_ups is not None and open_tasks is not None
    instances, events, first = firings
    if (instances, events) != (count, count):
        raise BenchmarkError(f"{events} timer.fired events over {instances} instances, expected {count} over {count}")
    if tuple(follow_ups) != (count, count) or open_tasks[0] != count:
        raise BenchmarkError(f"follow-up task started {follow_ups[1]} times in {follow_ups[0]} instances, "
                             f"{open_tasks[0]} open; expected {count} each")
    return first


def per_firing(seconds: float | None, count: int) -> str:
    return "n/a" if seconds is None else f"{seconds:.1f} s, {seconds / count * 1000:.2f} ms a firing"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timers", type=int, default=10_000, help="instances waiting on a due timer (default 10000)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--verify", action="store_true",
                        help="afterwards also recompute the history's hash chains and anchors (slow)")
    args = parser.parse_args(argv)
    if not 1 <= args.timers <= 1_000_000 or not 1 <= args.workers <= 32:
        parser.error("--timers 1..1000000, --workers 1..32")

    anchor_key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    # The clock the instances start on: every timer falls due an hour later, still a day ago.
    start = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="timer-bench-") as tmp, fresh_database() as (url, libpq_url):
        workdir = Path(tmp)
        settings = Settings(database_url=url, clock="simulated", timer_worker=False, anchor_signing_key=anchor_key,
                            anchor_log=str(workdir / "anchors.jsonl"),
                            bootstrap_admin=f"bench-admin:{secrets.token_urlsafe(16)}")
        services = build_services(settings, SimulatedClock(start))
        first_start(services)
        print(f"starting {args.timers} instances ...", file=sys.stderr, flush=True)
        begun = time.perf_counter()
        build_waiting_instances(services, args.timers)
        setup_seconds = time.perf_counter() - begun

        print(f"running {args.workers} worker(s) ...", file=sys.stderr, flush=True)
        logs = [workdir / f"worker-{number}.log" for number in range(args.workers)]
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        spawned = datetime.now(UTC)
        workers = [start_worker(url, anchor_key, workdir / "anchors.jsonl", log) for log in logs]
        try:
            with psycopg.connect(libpq_url, autocommit=True) as connection:
                done = wait_until_fired(connection, workers, logs)
                database_cpu = backend_cpu_seconds(connection)
                stop(workers)
                first = check_each_fired_once(connection, args.timers)
        except BenchmarkError as error:
            print(f"FAILED: {error}", file=sys.stderr)
            return 1
        finally:
            stop(workers)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        worker_cpu = (children.ru_utime + children.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
        checked = f"{args.timers} timer.fired events and follow-up tasks, one per instance"
        if args.verify:
            result = ledger.verify(services)
            if not result.intact:
                print(f"FAILED: the history is not intact: {result.problems[:5]}", file=sys.stderr)
                return 1
            checked += f"; history intact ({result.events} events, {result.anchors} anchors)"
        services.db.dispose()

    firing = (done - first).total_seconds()
    print()
    print(f"{args.timers} timers due at one instant, {args.workers} worker process(es), PostgreSQL, "
          f"{os.cpu_count()} CPU(s)")
    print(f"set-up, instances started in-process: {setup_seconds:.1f} s")
    print(f"checked: {checked}")
    print(f"workers' CPU, start-up included:      {per_firing(worker_cpu, args.timers)}")
    print(f"PostgreSQL CPU for the workers:       {per_firing(database_cpu, args.timers)}")
    print(f"from the workers' start to all fired: {(done - spawned).total_seconds():.1f} s (start-up included)")
    print(f"from the first firing to all fired:   {firing:.1f} s ({args.timers / firing:.0f} firings/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

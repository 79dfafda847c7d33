"""One step of an instance, in-process (no HTTP): its SQL statements and its time, at the first
round of a looping case and at its two-hundredth.

    .venv/bin/python bench/step_benchmark.py [--database sqlite|postgresql] [--rounds 200]

It builds the service's own use cases on a fresh database (a temporary SQLite file, or a database
`bench_step_<pid>` on postgresql://postgres@127.0.0.1:5432 that is dropped afterwards), deploys
tests/fixtures/bpmn/ten_step.bpmn and tests/fixtures/bpmn/loop_step.bpmn (user task `review` →
gateway → back, until `done`), and reports:
- the statements one complete sends (a middle step of ten_step, as an administrator), by kind;
- the median in-process time of a complete at loop rounds 1-10 and 191-200 (a median: one
  database checkpoint among ten rounds would make a mean of them read as growth), with the run kept in
  memory between steps (the service's default) and with it restored from the saved state every step
  (RUN_CACHE_SIZE=0), and the saved state's size at both points.
Figures are printed last.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.access.accounts import ADMINISTRATORS, Principal  # noqa: E402
from app.cases import instances, tasks  # noqa: E402
from app.context import Services  # noqa: E402
from app.definitions.deployments import deploy  # noqa: E402
from app.main import build_services, first_start  # noqa: E402
from app.persistence.models import ProcessInstance, UserTask  # noqa: E402
from app.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ADMIN = Principal("bench-admin", frozenset({ADMINISTRATORS}))


def services_on(url: str, run_cache_size: int) -> Services:
    settings = Settings(database_url=url, timer_worker=False, run_cache_size=run_cache_size,
                        bootstrap_admin="bench-admin:bench-admin-password")
    services = build_services(settings)
    first_start(services)
    return services


def open_task(services: Services, instance_id: str) -> str:
    with services.db.read() as session:
        return session.scalars(select(UserTask.id).where(UserTask.process_instance_id == instance_id)).one()


def statements_of_a_complete(services: Services) -> Counter[str]:
    instance, _ = instances.start_instance(services, key="ten_step", variables={"approved": True},
                                           business_key=None, actor=ADMIN)
    for _ in range(4):
        tasks.complete(services, open_task(services, instance.id), {}, actor=ADMIN)
    task_id = open_task(services, instance.id)
    seen: Counter[str] = Counter()

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split()
        kind = words[0].upper()
        table = next((words[index + 1] for index, word in enumerate(words[:-1])
                      if word.upper() in ("FROM", "INTO", "UPDATE")), "")
        seen[f"{kind} {table.strip(chr(34))}".strip()] += 1

    event.listen(services.db.engine, "before_cursor_execute", note)
    try:
        tasks.complete(services, task_id, {}, actor=ADMIN)
    finally:
        event.remove(services.db.engine, "before_cursor_execute", note)
    return seen


def loop_times(services: Services, rounds: int) -> dict[str, float]:
    instance, _ = instances.start_instance(services, key="loop_step", variables={"done": False},
                                           business_key=None, actor=ADMIN)
    times = []
    for _ in range(rounds):
        task_id = open_task(services, instance.id)
        began = time.perf_counter()
        tasks.complete(services, task_id, {"done": False}, actor=ADMIN)
        times.append((time.perf_counter() - began) * 1000)
    with services.db.read() as session:
        size = len(session.get_one(ProcessInstance, instance.id).state)
    return {"first": statistics.median(times[:10]), "last": statistics.median(times[-10:]), "state_bytes": size}


def run(url: str, rounds: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for label, cache in (("kept in memory", 1000), ("restored every step", 0)):
        services = services_on(url, cache)
        for name in ("ten_step.bpmn", "loop_step.bpmn"):
            deploy(services, name=name, source="bench", tenant_id=None,
                   resources={name: (ROOT / "tests/fixtures/bpmn" / name).read_bytes()},
                   duplicate_filtering=True, changed_only=False)
        if label == "kept in memory":
            figures["statements"] = statements_of_a_complete(services)
        figures[label] = loop_times(services, rounds)
        services.db.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=200)
    options = parser.parse_args()
    if options.database == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            figures = run(f"sqlite:///{folder}/bench.sqlite3", options.rounds)
    else:
        import psycopg
        name = f"bench_step_{__import__('os').getpid()}"
        admin = "postgresql://postgres@127.0.0.1:5432/postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        try:
            figures = run(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", options.rounds)
        finally:
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    statements: Counter[str] = figures["statements"]
    print(f"\nstatements of one complete ({options.database}): {sum(statements.values())}")
    for kind, count in sorted(statements.items()):
        print(f"  {count} × {kind}")
    print(f"\ncomplete, in-process, loop rounds 1-10 → {options.rounds - 9}-{options.rounds} (median ms; state bytes):")
    for label in ("kept in memory", "restored every step"):
        times = figures[label]
        print(f"  {label:20} {times['first']:6.2f} → {times['last']:6.2f} ms "
              f"({times['last'] / times['first']:.2f}×); state {times['state_bytes']} bytes")


if __name__ == "__main__":
    main()

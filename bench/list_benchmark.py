#!/usr/bin/env python3
"""List benchmark: the task and history lists an official opens, over HTTP, on a large PostgreSQL database.

    .venv/bin/python bench/list_benchmark.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/eco_million
    .venv/bin/python bench/list_benchmark.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/eco_lists \
        --fill 100000                                  # (re)create the database and fill it first
    .venv/bin/python bench/list_benchmark.py --database-url ... --explain   # and the plans, with EXPLAIN ANALYZE

The database is one bench/fill_instances.py made (`--fill N` makes it, dropping what the URL names).
The script brings it to the newest revision, saves two accounts (an administrator and `bench-member`,
a member of the candidate group `--group` and of nothing else: no region, no role), starts the
service as a separate process (uvicorn, one worker, loopback only; no timer worker, which would fire
the sample's timers, long due on its simulated calendar, while the lists are measured), signs in with
HTTP Basic on a keep-alive client per account, and times each request, round after round (one
request of each list a round), after warm-up rounds:

    member  GET /engine-rest/task?candidateGroup=G&maxResults=50          the group's first page
    member  GET /engine-rest/task/count?candidateGroup=G
    admin   GET /engine-rest/history/process-instance?maxResults=50       default order (startTime, id)
    admin   GET /engine-rest/history/process-instance?maxResults=50&sortBy=startTime&sortOrder=desc
    member  the same two history lists, of the cases the member may read
    admin   GET /engine-rest/task?maxResults=50 and /task/count

Each answer is checked against the database (the count against a count in SQL, the page's length
against it). Figures, p50 and p99 in ms, are printed last.
"""
from __future__ import annotations

import argparse
import os
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import Select
from sqlalchemy.dialects import postgresql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fill_instances  # noqa: E402
from rest_benchmark import AUTH, percentile, running_server  # noqa: E402

from app.access import accounts  # noqa: E402
from app.access.accounts import ADMINISTRATORS, Principal  # noqa: E402
from app.cases import history, listing, tasks  # noqa: E402
from app.main import build_services, first_start  # noqa: E402
from app.settings import Settings  # noqa: E402

MEMBER = ("bench-member", secrets.token_urlsafe(16))
PAGE = 50


@dataclass
class Measure:
    label: str
    who: str
    path: str
    params: dict[str, Any]
    # The rows or count the answer must hold, from SQL.
    expected: int
    milliseconds: list[float]


def prepare(database_url: str, group: str) -> None:
    """The newest schema and the two accounts, in-process, before the server starts."""
    settings = Settings(database_url=database_url, timer_worker=False,
                        anchor_signing_key=fill_instances.ephemeral_signing_key(),
                        bootstrap_admin=":".join(AUTH))
    services = build_services(settings)
    try:
        first_start(services)
        accounts.save_account(services, AUTH[0], AUTH[1], [ADMINISTRATORS], "benchmark administrator")
        accounts.save_account(services, MEMBER[0], MEMBER[1], [group], f"a member of {group}")
    finally:
        services.db.dispose()


def expectations(url: str, group: str) -> dict[str, int]:
    with psycopg.connect(url) as connection:
        def one(sql: str, *values: Any) -> int:
            return connection.execute(sql, values).fetchone()[0]

        member_sees = ("SELECT count(*) FROM process_instance p WHERE EXISTS (SELECT 1 FROM instance_participant i "
                       "WHERE i.process_instance_id = p.id AND ((i.kind = 'group' AND i.identity = %s) "
                       "OR (i.kind = 'user' AND i.identity = %s))) OR p.start_user_id = %s "
                       "OR EXISTS (SELECT 1 FROM user_task u WHERE u.process_instance_id = p.id AND u.assignee = %s)")
        return {
            "group tasks": one("SELECT count(*) FROM user_task u WHERE u.assignee IS NULL AND EXISTS (SELECT 1 FROM "
                               "task_candidate c WHERE c.task_id = u.id AND c.kind = 'group' AND c.identity = %s)",
                               group),
            "instances": one("SELECT count(*) FROM process_instance"),
            "member instances": one(member_sees, group, MEMBER[0], MEMBER[0], MEMBER[0]),
            "tasks": one("SELECT count(*) FROM user_task"),
        }


def measures(group: str, expected: dict[str, int]) -> list[Measure]:
    page = {"maxResults": PAGE}
    newest = {**page, "sortBy": "startTime", "sortOrder": "desc"}
    candidate = {"candidateGroup": group}
    rows = [("task list by candidate group", "member", "/task", {**candidate, **page}, "group tasks", True),
            ("task count by candidate group", "member", "/task/count", candidate, "group tasks", False),
            ("history list, default order", "admin", "/history/process-instance", page, "instances", True),
            ("history list, startTime desc", "admin", "/history/process-instance", newest, "instances", True),
            ("history list, default order", "member", "/history/process-instance", page, "member instances", True),
            ("history list, startTime desc", "member", "/history/process-instance", newest, "member instances", True),
            ("task list", "admin", "/task", page, "tasks", True),
            ("task count", "admin", "/task/count", {}, "tasks", False)]
    return [Measure(label, who, path, params, min(expected[key], PAGE) if paged else expected[key], [])
            for label, who, path, params, key, paged in rows]


def run(base_url: str, plan: list[Measure], warmup: int, requests: int) -> None:
    """Round after round, one request of each list: a noisy neighbour slows them all alike."""
    clients = {"admin": httpx.Client(base_url=f"{base_url}/engine-rest", auth=AUTH, timeout=60),
               "member": httpx.Client(base_url=f"{base_url}/engine-rest", auth=MEMBER, timeout=60)}
    try:
        for round_number in range(warmup + requests):
            for measure in plan:
                began = time.perf_counter()
                answer = clients[measure.who].get(measure.path, params=measure.params)
                spent = (time.perf_counter() - began) * 1000
                if answer.status_code != 200:
                    raise SystemExit(f"{measure.label}: HTTP {answer.status_code}: {answer.text[:300]}")
                body = answer.json()
                got = body["count"] if isinstance(body, dict) else len(body)
                if got != measure.expected:
                    raise SystemExit(f"{measure.label} ({measure.who}): {got} where the database says "
                                     f"{measure.expected}")
                if round_number >= warmup:
                    measure.milliseconds.append(spent)
    finally:
        for client in clients.values():
            client.close()


# ---------------------------------------------------------------- the plans

def explained_queries(group: str) -> list[tuple[str, Select]]:
    """The statements the service sends for the measured lists (built by its own use cases)."""
    member = Principal(MEMBER[0], frozenset({group}))
    admin = Principal(AUTH[0], frozenset({ADMINISTRATORS}))
    by_group = tasks.task_query(tasks.TaskFilter(candidate_group=group, viewer=member))
    oldest = history.historic_instance_query(history.InstanceFilter(viewer=admin))
    newest = history.historic_instance_query(history.InstanceFilter(viewer=admin, sort_desc={"startTime": True}))
    member_oldest = history.historic_instance_query(history.InstanceFilter(viewer=member))
    return [("task list by candidate group (member)", by_group.limit(PAGE)),
            ("task count by candidate group (member)", listing.counting(by_group)),
            ("history list, default order (admin)", oldest.limit(PAGE)),
            ("history list, startTime desc (admin)", newest.limit(PAGE)),
            ("history list, default order (member)", member_oldest.limit(PAGE)),
            ("task list (admin)", tasks.task_query(tasks.TaskFilter(viewer=admin)).limit(PAGE))]


def explain(url: str, group: str, show: Callable[[str], None]) -> None:
    with psycopg.connect(url) as connection:
        for label, query in explained_queries(group):
            sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
            plan = connection.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}").fetchall()
            show(f"\n--- {label}\n{sql}\n" + "\n".join(line for (line,) in plan))


# ---------------------------------------------------------------- report

def report(plan: list[Measure], args: argparse.Namespace, expected: dict[str, int]) -> None:
    print(f"\nlists over HTTP on {expected['instances']} instances ({expected['tasks']} open tasks; "
          f"{expected['group tasks']} unclaimed offered to {args.group}; the member reads "
          f"{expected['member instances']} cases): {args.requests} requests each after {args.warmup} warm-up, "
          f"1 client, 1 uvicorn worker")
    print(f"python {platform.python_version()}, {os.cpu_count()} CPU(s), {platform.platform()}")
    width = max(len(m.label) for m in plan) + 10
    print(f"{'':{width}}  {'p50 ms':>8}  {'p99 ms':>8}  {'rows':>8}")
    for m in plan:
        print(f"{m.label + ' (' + m.who + ')':{width}}  {percentile(m.milliseconds, 50):8.2f}  "
              f"{percentile(m.milliseconds, 99):8.2f}  {m.expected:8}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="postgresql+psycopg://... filled by fill_instances.py")
    parser.add_argument("--fill", type=int, metavar="N", help="drop and create the database, fill it with N instances")
    parser.add_argument("--group", default="js-env", help="the member's candidate group (default js-env)")
    parser.add_argument("--requests", type=int, default=200, help="timed rounds (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed rounds first (default 20)")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the measured queries first")
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 100_000 or not 0 <= args.warmup <= 10_000:
        parser.error("--requests 1..100000, --warmup 0..10000")
    url = fill_instances.psycopg_url(args.database_url)
    if args.fill:
        fill_instances.recreate(args.database_url)
        began = time.perf_counter()
        made = fill_instances.fill(args.database_url, args.fill)
        fill_instances.report(made, time.perf_counter() - began)
    print("preparing the database and the accounts ...", file=sys.stderr, flush=True)
    prepare(args.database_url, args.group)
    expected = expectations(url, args.group)
    if args.explain:
        explain(url, args.group, print)
    plan = measures(args.group, expected)
    # The service reads its settings from the environment: no timer worker, a signing key of its own.
    settings = {"TIMER_WORKER": "false", "ANCHOR_SIGNING_KEY": fill_instances.ephemeral_signing_key()}
    with tempfile.TemporaryDirectory(prefix="list-bench-") as workdir, \
            running_server(args.database_url, Path(workdir), [], settings=settings) as base:
        print(f"measuring {len(plan)} lists ...", file=sys.stderr, flush=True)
        run(base, plan, args.warmup, args.requests)
    report(plan, args, expected)
    return 0


if __name__ == "__main__":
    sys.exit(main())

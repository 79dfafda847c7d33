#!/usr/bin/env python3
"""Fill a PostgreSQL database with N instances of the shipped procedures, for the list benchmarks.

    .venv/bin/python bench/fill_instances.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/eco_million \
        --instances 1000000 --recreate

1. The schema is brought to the newest revision and every file of bpmn/ is deployed, as `serve` does.
2. A sample of cases runs through the service's own use cases, in-process, on a simulated clock: ISO14000
   designations and eco-industrial park creations in each of the 31 provinces, and agency
   registrations in Xinjiang, started by each province's e-government portal (an account of
   `systems`). Most stop at a user task offered to a province's department (`zj-env`, `zj-commerce`,
   ...) or to a national one (`cn-sepa`), some with three parallel tasks, some claimed by an officer;
   some end (an ineligible application), some are withdrawn (deleted).
3. The sample is copied in SQL (INSERT ... SELECT over generate_series) until there are N instances:
   process_instance, user_task, task_candidate, instance_participant and activity_instance, with new
   ids (md5 of the sample's id and the copy's number, so every table agrees), business keys suffixed
   with the copy's number, and every instant moved by the copy's offset, so that the starts of the N
   instances are spread evenly over five years. `--with-events` copies history_event too (about a
   dozen rows per instance: several GB at a million).

The copies are for reading: lists, counts, a case's variables and its historic activities (and its
events with `--with-events`). They wait on no timer, external task or message (those rows are not
copied, so no worker acts on them); their saved state and the head of their hash chain are the sample
case's and no anchor names them, so stepping, replaying or verifying a copy is not what they are for.

Secondary indexes, and the keys no foreign key refers to, are dropped during the copy and rebuilt
after it (one sort each instead of a million random insertions), and the tables are vacuumed and
analysed at the end (as autovacuum would do later), so that the plans are those of a settled
database. The copy runs as `session_replication_role = replica` (no per-row foreign-key checks: the
rows agree by construction), which needs a superuser such as postgres@127.0.0.1; without one it runs
with the checks.
"""
from __future__ import annotations

import argparse
import random
import secrets
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.access.accounts import ADMINISTRATORS, Principal  # noqa: E402
from app.cases import instances, tasks  # noqa: E402
from app.clock import SimulatedClock  # noqa: E402
from app.context import Services  # noqa: E402
from app.main import build_services, first_start  # noqa: E402
from app.persistence.models import Base, ProcessInstance, UserTask  # noqa: E402
from app.settings import PROJECT_ROOT, Settings  # noqa: E402

PROVINCES = ("bj", "tj", "he", "sx", "nm", "ln", "jl", "hl", "sh", "js", "zj", "ah", "fj", "jx", "sd", "ha", "hb",
             "hn", "gd", "gx", "hi", "cq", "sc", "gz", "yn", "xz", "sn", "gs", "qh", "nx", "xj")
# How many cases of each kind a province has in the sample (Xinjiang adds the agency registrations).
PLAN = {"iso_recommendation": 7, "iso_formal_review": 5, "iso_site_inspection": 3, "iso_ineligible": 5,
        "park_joint_review": 6, "park_env_reviewed": 4, "park_supplement": 3, "park_ineligible": 3,
        "park_withdrawn": 2}
XINJIANG_AGENCIES = 12
# Of the tasks left open, the share an officer of the group has claimed.
CLAIMED_SHARE = 0.15
# The N starts are spread over these five years.
FIRST_START = datetime(2021, 7, 1, 1, 0, tzinfo=UTC)
SPAN = timedelta(days=5 * 365)
ADMIN = Principal("fill-admin", frozenset({ADMINISTRATORS}))
# The tables a copy is made of, in an order their foreign keys allow.
COPIED = ("process_instance", "user_task", "task_candidate", "instance_participant", "activity_instance")


# ---------------------------------------------------------------- the sample, through the use cases

@dataclass
class Case:
    province: str
    kind: str
    number: int


def _iso_start(case: Case, eligible: bool) -> dict[str, Any]:
    zone = f"{case.province.upper()}-Z{case.number:04d}"
    return {"zone_id": zone, "zone_name": f"{zone}开发区", "province": case.province, "region_type": "park",
            "region_level": "provincial", "route": "province", "has_management_body": True,
            "certified_months": 18 if eligible else 4, "polluting_enterprises": 100,
            "certified_enterprises": 22 if eligible else 12, "has_measures": True, "has_emergency_drills": True}


def _park_start(case: Case, today: date, eligible: bool, complete_materials: bool) -> dict[str, Any]:
    park = f"{case.province.upper()}-P{case.number:04d}"
    # Complete materials prove three years of lawful operation; a plan's EIA needs no tracking
    # evaluation before five years.
    lawful_since = today - timedelta(days=(4 if complete_materials else 1) * 365)
    return {"park_id": park, "park_name": f"{park}经济技术开发区", "province": case.province,
            "has_legal_boundary": True, "has_management_body": eligible, "approving_government_level": "provincial",
            "scope_matches_management": eligible, "compliance_from": lawful_since.isoformat(),
            "discharge_units": 120, "lawful_discharge_units": 120,
            "plan_eia_date": (today - timedelta(days=2 * 365)).isoformat(), "has_tracking_evaluation": False}


# A case's process key, its start variables, and the tasks completed after the start: the task's key, the
# group whose task it is when several are open (a 会签 offers one to each department), and the values.
Script = tuple[str, dict[str, Any], list[tuple[str, str | None, dict[str, Any]]]]


def _script(case: Case, today: date) -> Script:
    recommend = ("provincial_recommendation", None, {"recommend": True, "recommendation_opinion": "同意推荐"})
    formal = ("formal_review", None, {"materials_complete": True})
    env = ("joint_review", f"{case.province}-env", {"joint_review_passed": True, "joint_review_opinion": "同意创建"})
    iso, park = "iso14000_designation", "eco_park_creation"
    scripts: dict[str, Script] = {
        "iso_recommendation": (iso, _iso_start(case, True), []),
        "iso_formal_review": (iso, _iso_start(case, True), [recommend]),
        "iso_site_inspection": (iso, _iso_start(case, True), [recommend, formal]),
        "iso_ineligible": (iso, _iso_start(case, False), []),
        "park_joint_review": (park, _park_start(case, today, True, True), []),
        "park_env_reviewed": (park, _park_start(case, today, True, True), [env]),
        "park_supplement": (park, _park_start(case, today, True, False), []),
        "park_ineligible": (park, _park_start(case, today, False, True), []),
        "park_withdrawn": (park, _park_start(case, today, True, True), []),
        "agency_review": ("clean_production_agency_registration", {
            "agency_id": f"AG-{case.number:04d}", "agency_name": f"新疆第{case.number}环境技术服务部",
            "legal_person": True, "qualified_technicians": True, "fairness_procedures": True}, []),
    }
    return scripts[case.kind]


def sample_cases(limit: int, rng: random.Random) -> list[Case]:
    kinds = [(province, kind) for province in PROVINCES for kind, count in PLAN.items() for _ in range(count)]
    kinds += [("xj", "agency_review")] * XINJIANG_AGENCIES
    # Numbered once: zones, parks and agencies are ids of registers, each applies once.
    cases = [Case(province, kind, number) for number, (province, kind) in enumerate(kinds)]
    rng.shuffle(cases)
    return cases[:limit]


def run_sample(services: Services, clock: SimulatedClock, cases: list[Case], step: timedelta,
               rng: random.Random) -> None:
    for index, case in enumerate(cases):
        clock.set(FIRST_START + index * step)
        key, variables, completions = _script(case, clock.now().astimezone(services.settings.zone).date())
        portal = Principal(f"{case.province}-gov-portal", frozenset({"systems"}))
        instance, _ = instances.start_instance(services, key=key, variables=variables,
                                               business_key=f"{case.province.upper()}-{case.number:04d}",
                                               actor=portal)
        for task_key, group, values in completions:
            clock.advance(step / 8)
            task_id = _open_task(services, instance.id, task_key, group)
            tasks.complete(services, task_id, values, actor=ADMIN)
        if case.kind == "park_withdrawn":
            clock.advance(step / 8)
            instances.delete_instance(services, instance.id, reason="申请单位撤回申请", actor=ADMIN)
        for task_id, group in _open_tasks_with_group(services, instance.id):
            if rng.random() < CLAIMED_SHARE:
                clock.advance(step / 16)
                officer = f"{group}-officer-{rng.randrange(3)}"
                tasks.claim(services, task_id, officer, actor=Principal(officer, frozenset({group})))


def _open_task(services: Services, instance_id: str, task_key: str, group: str | None) -> str:
    with services.db.read() as session:
        found = list(session.scalars(select(UserTask.id).where(UserTask.process_instance_id == instance_id,
                                                               UserTask.task_definition_key == task_key)))
        if group is not None:
            offered = tasks.candidates(session, found)
            found = [task_id for task_id in found if any(row.kind == "group" and row.identity == group
                                                         for row in offered[task_id])]
        [task_id] = found
        return task_id


def _open_tasks_with_group(services: Services, instance_id: str) -> list[tuple[str, str]]:
    with services.db.read() as session:
        found = []
        for task_id in session.scalars(select(UserTask.id).where(UserTask.process_instance_id == instance_id)
                                       .order_by(UserTask.id)):
            groups = [row.identity for row in tasks.candidates(session, [task_id])[task_id] if row.kind == "group"]
            if groups:
                found.append((task_id, groups[0]))
        return found


# ---------------------------------------------------------------- the copies, in SQL

def _new_id(expression: str) -> str:
    return f"md5({expression} || '/' || c.k)::uuid::text"


def _shifted(column: str) -> str:
    return f"t.{column} + c.shift"


# table → (how its rows find their instance, the columns a copy changes)
CHANGES: dict[str, tuple[str, dict[str, str]]] = {
    "process_instance": ("JOIN copy_of c ON c.old_id = t.id", {
        "id": "c.new_id", "business_key": "t.business_key || '~' || c.k",
        "start_time": _shifted("start_time"), "end_time": _shifted("end_time")}),
    "user_task": ("JOIN copy_of c ON c.old_id = t.process_instance_id", {
        "id": _new_id("t.id"), "process_instance_id": "c.new_id", "business_key": "t.business_key || '~' || c.k",
        "created": _shifted("created"), "last_updated": _shifted("last_updated"), "due": _shifted("due"),
        "follow_up": _shifted("follow_up")}),
    "task_candidate": ("JOIN user_task u ON u.id = t.task_id JOIN copy_of c ON c.old_id = u.process_instance_id",
                       {"task_id": _new_id("t.task_id")}),
    "instance_participant": ("JOIN copy_of c ON c.old_id = t.process_instance_id", {"process_instance_id": "c.new_id"}),
    "activity_instance": ("JOIN copy_of c ON c.old_id = t.process_instance_id", {
        "id": _new_id("t.id"), "process_instance_id": "c.new_id", "task_id": _new_id("t.task_id"),
        "start_time": _shifted("start_time"), "end_time": _shifted("end_time")}),
    "history_event": ("JOIN copy_of c ON c.old_id = t.process_instance_id", {
        "process_instance_id": "c.new_id", "task_id": _new_id("t.task_id"), "occurred_at": _shifted("occurred_at")}),
}


def copy_statement(table: str) -> str:
    join, changes = CHANGES[table]
    # The serial id of history events is the database's to give.
    columns = [column.name for column in Base.metadata.tables[table].columns
               if not (table == "history_event" and column.name == "id")]
    values = ", ".join(changes.get(column, f"t.{column}") for column in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} FROM {table} t {join}"


def _secondary_indexes(cursor: psycopg.Cursor, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, definition) of the indexes of the tables that back no constraint."""
    return cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(%s::regclass[]) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)", [list(tables)]).fetchall()


def _unreferenced_keys(cursor: psycopg.Cursor, tables: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(table, name, definition) of the primary and unique keys of the tables that no foreign key
    refers to: they can be rebuilt after the copy like an index."""
    return cursor.execute(
        "SELECT k.conrelid::regclass::text, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
        "WHERE k.conrelid = ANY(%s::regclass[]) AND k.contype IN ('p', 'u') "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = k.conindid)",
        [list(tables)]).fetchall()


def copy_sample(url: str, target: int, sample: int, step: timedelta, with_events: bool) -> dict[str, float]:
    tables = COPIED + (("history_event",) if with_events else ())
    copies = -(-target // sample) - 1
    seconds: dict[str, float] = {}
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        try:
            with connection.transaction():
                cursor.execute("SET LOCAL session_replication_role = replica")
                replica = True
        except psycopg.errors.InsufficientPrivilege:
            replica = False
        began = time.perf_counter()
        with connection.transaction():
            if replica:
                cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(
                "CREATE TEMP TABLE copy_of ON COMMIT DROP AS "
                "SELECT p.id AS old_id, g.k, md5(p.id || '/' || g.k)::uuid::text AS new_id, "
                "make_interval(secs => g.k * %(span)s) AS shift "
                "FROM (SELECT id, row_number() OVER (ORDER BY start_time, id) - 1 AS ordinal FROM process_instance) p "
                "JOIN generate_series(1, %(copies)s) g(k) ON g.k * %(sample)s + p.ordinal < %(target)s",
                {"span": sample * step.total_seconds(), "copies": copies, "sample": sample, "target": target})
            cursor.execute("ANALYZE copy_of")
            indexes, keys = _secondary_indexes(cursor, tables), _unreferenced_keys(cursor, tables)
            for name, _ in indexes:
                cursor.execute(f"DROP INDEX {name}")
            for table, name, _ in keys:
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
            seconds["prepare"] = time.perf_counter() - began
            for table in tables:
                began = time.perf_counter()
                cursor.execute(copy_statement(table))
                seconds[table] = time.perf_counter() - began
                print(f"  {table}: {cursor.rowcount} rows copied in {seconds[table]:.1f} s", flush=True)
            began = time.perf_counter()
            for table, name, definition in keys:
                cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
            for _, definition in indexes:
                cursor.execute(definition)
            seconds["indexes"] = time.perf_counter() - began
            print(f"  {len(keys)} keys and {len(indexes)} indexes rebuilt in {seconds['indexes']:.1f} s", flush=True)
    began = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as connection:
        for table in tables:
            connection.execute(f"VACUUM (ANALYZE) {table}")
    seconds["vacuum"] = time.perf_counter() - began
    return seconds


# ---------------------------------------------------------------- the whole fill

def psycopg_url(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def recreate(database_url: str) -> None:
    url = make_url(database_url)
    maintenance = url.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(psycopg_url(maintenance), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{url.database}"')


def ephemeral_signing_key() -> str:
    """The sample's anchors are signed with a key made for the fill (none is written to disk)."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode("ascii")


def fill(database_url: str, target: int, *, seed: int = 19, with_events: bool = False) -> dict[str, Any]:
    """Deploy, run the sample, copy it up to `target` instances; what was made, by the numbers."""
    clock = SimulatedClock(FIRST_START)
    settings = Settings(database_url=database_url, deploy_on_start=str(PROJECT_ROOT / "bpmn"), timer_worker=False,
                        clock="simulated", bootstrap_admin=f"fill-admin:{secrets.token_urlsafe(18)}",
                        anchor_signing_key=ephemeral_signing_key())
    services = build_services(settings, clock)
    try:
        first_start(services)
        with services.db.read() as session:
            if session.scalar(select(func.count()).select_from(ProcessInstance)):
                raise SystemExit("the database already holds instances: give an empty one, or --recreate")
        rng = random.Random(seed)
        step = SPAN / target
        cases = sample_cases(target, rng)
        began = time.perf_counter()
        run_sample(services, clock, cases, step, rng)
        sample_seconds = time.perf_counter() - began
        with services.db.read() as session:
            sample = session.scalar(select(func.count()).select_from(ProcessInstance)) or 0
    finally:
        services.db.dispose()
    print(f"sample: {sample} instances through the use cases in {sample_seconds:.0f} s", flush=True)
    seconds = copy_sample(psycopg_url(database_url), target, sample, step, with_events) if target > sample else {}
    return {"sample": sample, "sample_seconds": sample_seconds, "copy_seconds": seconds,
            **census(psycopg_url(database_url))}


def census(url: str) -> dict[str, Any]:
    with psycopg.connect(url) as connection:
        def rows(sql: str) -> list[tuple[Any, ...]]:
            return connection.execute(sql).fetchall()

        return {
            "instances": dict(rows("SELECT status, count(*) FROM process_instance GROUP BY 1 ORDER BY 1")),
            "rows": {table: rows(f"SELECT count(*) FROM {table}")[0][0] for table in (*COPIED, "history_event")},
            "open_tasks": rows("SELECT count(*), count(assignee) FROM user_task")[0],
            "groups": rows("SELECT identity, count(*) FROM task_candidate WHERE kind = 'group' "
                           "GROUP BY 1 ORDER BY 2 DESC, 1"),
            "starters": rows("SELECT count(DISTINCT start_user_id) FROM process_instance")[0][0],
            "tenants": rows("SELECT count(DISTINCT tenant_id) FROM process_instance")[0][0],
            "span": rows("SELECT min(start_time), max(start_time) FROM process_instance")[0],
            "size": rows("SELECT pg_size_pretty(pg_database_size(current_database()))")[0][0],
        }


def report(made: dict[str, Any], seconds: float) -> None:
    print(f"\n{sum(made['instances'].values())} instances in {seconds:.0f} s (sample {made['sample']} in "
          f"{made['sample_seconds']:.0f} s, the rest copied in SQL); database {made['size']}")
    print("  by status: " + ", ".join(f"{status} {count}" for status, count in made["instances"].items()))
    print("  rows: " + ", ".join(f"{table} {count}" for table, count in made["rows"].items()))
    open_tasks, claimed = made["open_tasks"]
    print(f"  open tasks {open_tasks}, claimed {claimed}; {made['starters']} starters, {made['tenants']} regions; "
          f"starts from {made['span'][0]:%Y-%m-%d} to {made['span'][1]:%Y-%m-%d}")
    groups = made["groups"]
    shown = ", ".join(f"{name} {count}" for name, count in groups[:8])
    print(f"  {len(groups)} candidate groups; most offered: {shown}; e.g. "
          + ", ".join(f"{name} {count}" for name, count in groups if name in ("zj-env", "zj-commerce", "xj-env")))
    if made["copy_seconds"]:
        print("  copy: " + ", ".join(f"{step} {spent:.0f} s" for step, spent in made["copy_seconds"].items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="postgresql+psycopg://... of an empty database")
    parser.add_argument("--instances", type=int, default=1_000_000, help="instances to make (default 1,000,000)")
    parser.add_argument("--recreate", action="store_true", help="drop and create the database first")
    parser.add_argument("--with-events", action="store_true", help="copy history_event too (several GB at 1M)")
    parser.add_argument("--seed", type=int, default=19, help="of the sample's choices (default 19)")
    args = parser.parse_args(argv)
    if not make_url(args.database_url).get_backend_name() == "postgresql":
        parser.error("--database-url must name a PostgreSQL database")
    if not 1 <= args.instances <= 100_000_000:
        parser.error("--instances 1..100000000")
    began = time.perf_counter()
    if args.recreate:
        recreate(args.database_url)
    made = fill(args.database_url, args.instances, seed=args.seed, with_events=args.with_events)
    report(made, time.perf_counter() - began)
    return 0


if __name__ == "__main__":
    sys.exit(main())

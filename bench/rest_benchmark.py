#!/usr/bin/env python3
"""REST benchmark: a 10-user-task process driven over HTTP, on SQLite and on PostgreSQL.

A script, not a test. It starts the service as a separate process (uvicorn, one worker, loopback
only), deploys tests/fixtures/bpmn/ten_step.bpmn and runs instances one after another with one
keep-alive HTTP client, the way a task list front end would:

    POST /process-definition/key/ten_step/start
    10 x (GET /task?processInstanceId=... ; POST /task/{id}/complete)

and prints instances per second (the whole lifecycle: start, task look-ups and completes), the
latency of task complete (p50 / p99), of start (p50), of the task look-up (p50), and the complete
latency of step_1 against step_10 (growth of the cost with the instance's own history).

    .venv/bin/python bench/rest_benchmark.py                  # both databases, 3 x 100 instances each
    .venv/bin/python bench/rest_benchmark.py --database sqlite --instances 300 --rounds 1

Profiling the server (it runs under the given command; py-spy and cProfile write on SIGINT/exit):

    bench/rest_benchmark.py --database sqlite --server-wrapper \
        "py-spy record -r 250 -f raw -o /tmp/server.txt -- .venv/bin/python"

cProfile as a wrapper sees only the event-loop thread, not the sync endpoints that run in the
thread pool; use a sampling profiler such as py-spy for the server.

SQLite runs on a fresh temporary file. PostgreSQL runs on a fresh database bench_<pid> created on
postgresql://postgres@127.0.0.1:5432/postgres (trust auth) and dropped at the end. The server
process is stopped in every case. See docs/performance.md for the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "bpmn" / "ten_step.bpmn"
PROCESS_KEY = "ten_step"
STEPS = 10
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL_TEMPLATE = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
START_BODY = {"variables": {"approved": {"value": True, "type": "Boolean"}}}
# Settings the service reads from the environment: the benchmark controls them, none leaks in.
SERVICE_SETTINGS = ("ENVIRONMENT", "DATABASE_URL", "DEPLOY_ON_START", "CLOCK", "TIMEZONE", "MAX_UPLOAD_BYTES",
                    "MAX_REQUEST_BYTES", "SPEC_CACHE_SIZE", "DB_POOL_SIZE", "BOOTSTRAP_ADMIN", "DEMO_ACCOUNTS")
# The benchmark signs in as the administrator it bootstraps, as a real client signs in.
AUTH = ("bench-admin", secrets.token_urlsafe(16))


class BenchmarkError(RuntimeError):
    pass


# ---------------------------------------------------------------- measurements

def percentile(samples: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Round:
    instances: int = 0
    seconds: float = 0.0
    start_ms: list[float] = field(default_factory=list)
    lookup_ms: list[float] = field(default_factory=list)
    complete_ms: list[float] = field(default_factory=list)
    # complete latency by step number (1..10)
    by_step_ms: dict[int, list[float]] = field(default_factory=lambda: {s: [] for s in range(1, STEPS + 1)})

    @property
    def per_second(self) -> float:
        return self.instances / self.seconds if self.seconds else float("nan")

    def summary(self) -> dict[str, float]:
        return {
            "instances_per_s": self.per_second,
            "complete_p50_ms": percentile(self.complete_ms, 50),
            "complete_p99_ms": percentile(self.complete_ms, 99),
            "start_p50_ms": percentile(self.start_ms, 50),
            "lookup_p50_ms": percentile(self.lookup_ms, 50),
            "step1_mean_ms": statistics.fmean(self.by_step_ms[1]),
            "step10_mean_ms": statistics.fmean(self.by_step_ms[STEPS]),
        }


# ---------------------------------------------------------------- server process

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_server(database_url: str, workdir: Path, wrapper: list[str]) -> Iterator[str]:
    """Start uvicorn as a child process, wait for /health, yield the base URL, stop it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k.upper() not in SERVICE_SETTINGS}
    env["DATABASE_URL"] = database_url
    env["BOOTSTRAP_ADMIN"] = ":".join(AUTH)
    # A profiler wrapper ("python -m cProfile -o FILE") runs the interpreter itself.
    command = [*(wrapper or [sys.executable]), "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning"]
    log_path = workdir / f"server-{port}.log"
    with open(log_path, "wb") as log:
        # Own process group: a wrapper (profiler) and the server it runs are stopped together.
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(timeout=5) as probe:
            while True:
                if process.poll() is not None:
                    raise BenchmarkError(f"the server exited with {process.returncode}:\n{_tail(log_path)}")
                if time.monotonic() > deadline:
                    raise BenchmarkError(f"the server did not answer /health within 60 s:\n{_tail(log_path)}")
                try:
                    if probe.get(f"{base}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        yield base
    finally:
        _stop(process, signal.SIGINT if wrapper else signal.SIGTERM)


def _stop(process: subprocess.Popen, first: signal.Signals) -> None:
    """Stop the server's process group (the group this script created for it, nothing else).

    uvicorn shuts down gracefully on SIGTERM and SIGINT; profilers such as py-spy write their
    output on SIGINT, hence SIGINT when the server runs under a wrapper."""
    group = process.pid  # start_new_session: the group id is the child's pid
    for sig, wait in ((first, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # the leader is gone; make sure no member of its group outlives it
        time.sleep(0.2)
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def sqlite_database(workdir: Path) -> Iterator[str]:
    yield f"sqlite:///{workdir / 'bench.sqlite3'}"


@contextmanager
def postgresql_database() -> Iterator[str]:
    import psycopg

    name = f"bench_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL_TEMPLATE.format(name=name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------- the workload

def _expect(response: httpx.Response, status: int, what: str) -> httpx.Response:
    if response.status_code != status:
        raise BenchmarkError(f"{what}: HTTP {response.status_code} (expected {status}): {response.text[:500]}")
    return response


def deploy(client: httpx.Client) -> None:
    files = [("data", (FIXTURE.name, FIXTURE.read_bytes(), "application/octet-stream"))]
    _expect(client.post("/deployment/create", data={"deployment-name": "rest-benchmark"}, files=files),
            200, "deploy")


def run_instance(client: httpx.Client, measured: Round | None) -> str:
    """One instance from start to end; timings go to `measured` unless it is a warm-up."""
    clock = time.perf_counter
    t0 = clock()
    started = _expect(client.post(f"/process-definition/key/{PROCESS_KEY}/start", json=START_BODY), 200, "start")
    t1 = clock()
    instance_id = started.json()["id"]
    lookups, completes = [], []
    for step in range(1, STEPS + 1):
        a = clock()
        listed = _expect(client.get("/task", params={"processInstanceId": instance_id}), 200, "task list").json()
        b = clock()
        if len(listed) != 1:
            raise BenchmarkError(f"instance {instance_id} step {step}: expected one open task, got {len(listed)}")
        task = listed[0]
        if task.get("taskDefinitionKey") not in (None, f"step_{step}"):
            raise BenchmarkError(f"instance {instance_id}: expected step_{step}, got {task.get('taskDefinitionKey')}")
        c = clock()
        _expect(client.post(f"/task/{task['id']}/complete", json={}), 204, f"complete step_{step}")
        d = clock()
        lookups.append((b - a) * 1000)
        completes.append((d - c) * 1000)
    if measured is not None:
        measured.start_ms.append((t1 - t0) * 1000)
        measured.lookup_ms.extend(lookups)
        measured.complete_ms.extend(completes)
        for step, ms in enumerate(completes, start=1):
            measured.by_step_ms[step].append(ms)
    return instance_id


def check_completed(client: httpx.Client, instance_ids: list[str]) -> None:
    for instance_id in instance_ids:
        state = _expect(client.get(f"/history/process-instance/{instance_id}"), 200, "historic instance").json()
        if state.get("state") != "COMPLETED":
            raise BenchmarkError(f"instance {instance_id} did not end: state {state.get('state')!r}")
    # and nothing is left open
    left = _expect(client.get("/task/count", params={"processDefinitionKey": PROCESS_KEY}), 200, "task count").json()
    if left.get("count"):
        raise BenchmarkError(f"{left['count']} tasks are still open after the run")


def benchmark(base_url: str, instances: int, warmup: int, rounds: int, check: str) -> list[Round]:
    results: list[Round] = []
    with httpx.Client(base_url=f"{base_url}/engine-rest", auth=AUTH, timeout=60) as client:
        deploy(client)
        for _ in range(warmup):
            run_instance(client, None)
        for _ in range(rounds):
            measured = Round()
            ids = []
            begun = time.perf_counter()
            for _ in range(instances):
                ids.append(run_instance(client, measured))
            measured.seconds = time.perf_counter() - begun
            measured.instances = instances
            check_completed(client, ids if check == "all" else ids[-1:])
            results.append(measured)
    return results


# ---------------------------------------------------------------- report

ROWS = [
    ("instances/s", "instances_per_s", "{:.1f}"),
    ("task complete p50 (ms)", "complete_p50_ms", "{:.2f}"),
    ("task complete p99 (ms)", "complete_p99_ms", "{:.2f}"),
    ("start p50 (ms)", "start_p50_ms", "{:.2f}"),
    ("task look-up p50 (ms)", "lookup_p50_ms", "{:.2f}"),
    ("complete step_1 mean (ms)", "step1_mean_ms", "{:.2f}"),
    ("complete step_10 mean (ms)", "step10_mean_ms", "{:.2f}"),
]


def medians(rounds: list[Round]) -> dict[str, float]:
    summaries = [r.summary() for r in rounds]
    return {key: statistics.median(s[key] for s in summaries) for key in summaries[0]}


def print_report(results: dict[str, list[Round]], args: argparse.Namespace) -> None:
    print()
    print(f"ten_step over HTTP: {args.instances} instances x {args.rounds} round(s) after {args.warmup} warm-up, "
          f"1 client, 1 uvicorn worker; median of rounds")
    print(f"python {platform.python_version()}, {os.cpu_count()} CPU(s), {platform.platform()}")
    names = list(results)
    table = {name: medians(rounds) for name, rounds in results.items()}
    width = max(len(label) for label, _, _ in ROWS)
    print(f"{'':{width}}  " + "  ".join(f"{n:>11}" for n in names))
    for label, key, fmt in ROWS:
        print(f"{label:{width}}  " + "  ".join(f"{fmt.format(table[n][key]):>11}" for n in names))
    if args.rounds > 1:
        for name, rounds in results.items():
            per = ", ".join(f"{r.per_second:.1f}" for r in rounds)
            print(f"  {name}: instances/s per round: {per}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"instances": args.instances, "rounds": args.rounds, "warmup": args.warmup,
             "python": platform.python_version(), "cpus": os.cpu_count(),
             "results": {n: {"median": table[n], "rounds": [r.summary() for r in results[n]]} for n in names}},
            indent=2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--instances", type=int, default=100, help="measured instances per round (default 100)")
    parser.add_argument("--warmup", type=int, default=5, help="instances run first and not counted (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds on the same server; "
                        "the report shows the median of rounds, as the peers' figures are (default 3)")
    parser.add_argument("--check", choices=["all", "last"], default="all",
                        help="check the end state of every instance or of the last one (after timing)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--server-wrapper", metavar="CMD", default="",
                        help="run the server's interpreter under this command (profiling only), e.g. "
                             "'py-spy record -f raw -o /tmp/server.txt -- .venv/bin/python'")
    args = parser.parse_args(argv)
    if not 1 <= args.instances <= 100_000 or not 0 <= args.warmup <= 1000 or not 1 <= args.rounds <= 20:
        parser.error("--instances 1..100000, --warmup 0..1000, --rounds 1..20")
    if not FIXTURE.is_file():
        parser.error(f"missing {FIXTURE}")
    wrapper = args.server_wrapper.split()

    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    results: dict[str, list[Round]] = {}
    with tempfile.TemporaryDirectory(prefix="rest-bench-") as tmp:
        workdir = Path(tmp)
        for name in databases:
            print(f"[{name}] starting the server ...", file=sys.stderr, flush=True)
            database = sqlite_database(workdir) if name == "sqlite" else postgresql_database()
            try:
                with database as url, running_server(url, workdir, wrapper) as base:
                    print(f"[{name}] running {args.warmup} warm-up + {args.rounds} x {args.instances} instances ...",
                          file=sys.stderr, flush=True)
                    results[name] = benchmark(base, args.instances, args.warmup, args.rounds, args.check)
            except BenchmarkError as error:
                print(f"[{name}] FAILED: {error}", file=sys.stderr)
                return 1
    print_report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""REST benchmark: this service beside camunda-python 0.1.2 (the peer), over HTTP, in the same run.

A script, not a test. It starts each engine's REST server as a separate process on 127.0.0.1 (the
service: uvicorn `app.main:app`; the peer: bench/peer_server.py in its own Python 3.12 environment,
made once in bench/.peer/ with pip) and drives them the way a task-list front end would. Three parts:

1. One client, ten-task instances (tests/fixtures/bpmn/ten_step.bpmn), 21 requests per instance:
       start   (service: POST /process-definition/key/ten_step/start; peer: POST /process-instance)
       10 x (GET /task?processInstanceId=... ; POST /task/{id}/complete)
   instances/s over the whole lifecycle, complete p50 / p99, start and look-up p50, and the server's
   CPU per instance (user + system time of its processes, from /proc; PostgreSQL's own not counted),
   which varies less than latency on a shared machine. Rounds are interleaved (service, peer,
   service, peer, ...) so that the machine's noise hits both.
2. Growth: an instance looping over one user task (tests/fixtures/bpmn/loop_step.bpmn: task ->
   gateway -> back, `done` ends it), complete latency at iterations 1, 10, 50, 100 and 200, the
   engines' steps interleaved. Each figure is the median over the instances and the 5 iterations
   nearest the mark (1-5, 8-12, ..., 196-200).
3. With PostgreSQL: 16 concurrent clients (threads, one keep-alive connection each) running
   ten-task instances for --seconds after a warm-up; completions/s of the service on PostgreSQL
   with 1 and 2 uvicorn workers against the peer (one process: it keeps its engine state in
   memory) on SQLite and on PostgreSQL.

Parts 1 and 2 run on each database of --database; part 3 when it includes PostgreSQL. The goals
(ratios first), then the figures, are printed last; progress goes to stderr.

    .venv/bin/python bench/rest_benchmark.py                         # everything: about 10 minutes
    .venv/bin/python bench/rest_benchmark.py --database sqlite --no-peer --instances 300 --rounds 1
    .venv/bin/python bench/rest_benchmark.py --baseline /tmp/old-checkout   # beside earlier code

--baseline DIR also measures the service from another checkout (e.g. `git worktree add --detach
/tmp/old <commit>`), interleaved like the peer, with --baseline-python (default: this interpreter);
repeat it to measure several (labelled by their directories' names).

Profiling the service (it runs under the given command; py-spy writes on SIGINT):

    bench/rest_benchmark.py --database sqlite --no-peer --growth 0 --server-wrapper \
        "py-spy record -r 250 -f raw -o /tmp/server.txt -- .venv/bin/python"

SQLite runs on fresh files in a temporary directory (WAL, synchronous=NORMAL for both engines).
PostgreSQL runs on fresh databases bench_<pid>_<n> created on postgresql://postgres@127.0.0.1:5432
(trust auth) and dropped at the end. Every server is stopped in every case. See docs/performance.md.
"""
from __future__ import annotations

import argparse
import functools
import itertools
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
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"
FIXTURE = FIXTURES / "ten_step.bpmn"
LOOP_FIXTURE = FIXTURES / "loop_step.bpmn"
PROCESS_KEY = "ten_step"
LOOP_KEY = "loop_step"
STEPS = 10
GROWTH_MARKS = (1, 10, 50, 100, 200)
GROWTH_WINDOW = 5
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL_TEMPLATE = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
START_VARIABLES = {"approved": {"value": True, "type": "Boolean"}}
# Settings the service reads from the environment: the benchmark controls them, none leaks in.
SERVICE_SETTINGS = ("ENVIRONMENT", "DATABASE_URL", "DEPLOY_ON_START", "CLOCK", "TIMEZONE", "MAX_UPLOAD_BYTES",
                    "MAX_REQUEST_BYTES", "SPEC_CACHE_SIZE", "DB_POOL_SIZE", "BOOTSTRAP_ADMIN", "DEMO_ACCOUNTS",
                    "TIMER_WORKER", "TIMER_POLL_SECONDS", "ANCHOR_SIGNING_KEY", "ANCHOR_LOG")
# The benchmark signs in as the administrator it bootstraps, as a real client signs in.
AUTH = ("bench-admin", secrets.token_urlsafe(16))
# The peer's own environment: Python >= 3.12, camunda-python with its REST extra, and psycopg for
# its PostgreSQL mode. Made once; delete bench/.peer/ to make it again.
PEER_DIR = ROOT / "bench" / ".peer"
PEER_REQUIREMENTS = ("camunda-python[api]==0.1.2", "psycopg[binary]>=3.1")
PEER_PYTHONS = ("python3.12", "/root/.pyenv/versions/3.12.1/bin/python", "python3.13", "python3")
PEER_SERVER = ROOT / "bench" / "peer_server.py"


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


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


@dataclass
class Round:
    instances: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # the server's
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
            "server_cpu_ms_per_instance": self.cpu_seconds * 1000 / self.instances if self.instances else float("nan"),
            "complete_p50_ms": percentile(self.complete_ms, 50),
            "complete_p99_ms": percentile(self.complete_ms, 99),
            "start_p50_ms": percentile(self.start_ms, 50),
            "lookup_p50_ms": percentile(self.lookup_ms, 50),
            "step1_mean_ms": statistics.fmean(self.by_step_ms[1]),
            "step10_mean_ms": statistics.fmean(self.by_step_ms[STEPS]),
        }


def medians(rounds: list[Round]) -> dict[str, float]:
    summaries = [r.summary() for r in rounds]
    return {key: statistics.median(s[key] for s in summaries) for key in summaries[0]}


# ---------------------------------------------------------------- server processes

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _serving(command: list[str], cwd: Path, env: dict[str, str], log_path: Path, port: int,
             interrupt: bool = False) -> Iterator[str]:
    """Run a server process until the block ends; yield its base URL once /health answers 200."""
    with open(log_path, "wb") as log:
        # Own process group: a wrapper (profiler), uvicorn's worker processes and the server are stopped together.
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    _groups[base] = process.pid  # start_new_session: the group id is the child's pid
    try:
        deadline = time.monotonic() + 120
        with httpx.Client(timeout=5) as probe:
            while True:
                if process.poll() is not None:
                    raise BenchmarkError(f"the server exited with {process.returncode}:\n{_tail(log_path)}")
                if time.monotonic() > deadline:
                    raise BenchmarkError(f"the server did not answer /health within 120 s:\n{_tail(log_path)}")
                try:
                    if probe.get(f"{base}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        yield base
    finally:
        _groups.pop(base, None)
        _stop(process, signal.SIGINT if interrupt else signal.SIGTERM)


# The process group of each running server by its base URL, for its CPU time.
_groups: dict[str, int] = {}


def server_cpu_seconds(base_url: str) -> float:
    """User + system CPU time so far of every live process of the server's group (Linux /proc):
    less noisy than latency on a shared machine, and it counts uvicorn's worker processes."""
    group, ticks = _groups[base_url], 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[2]) == group:  # after the name: state, ppid, pgrp, ..., utime (12), stime (13)
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def running_server(database_url: str, workdir: Path, wrapper: list[str] | tuple[str, ...] = (), *,
                   workers: int = 1, root: Path = ROOT, python: str | None = None,
                   settings: dict[str, str] | None = None) -> Iterator[str]:
    """Start the service (uvicorn app.main:app, code of `root`) as a child process signed in as
    AUTH's administrator, with `settings` (environment names) over its defaults; yield its base URL
    (without /engine-rest) once /health answers; stop it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k.upper() not in SERVICE_SETTINGS}
    env.update(settings or {})
    env["DATABASE_URL"] = database_url
    env["BOOTSTRAP_ADMIN"] = ":".join(AUTH)
    # A profiler wrapper ("py-spy record ... -- python") runs the interpreter itself.
    command = [*(wrapper or [python or sys.executable]), "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    with _serving(command, root, env, workdir / f"server-{port}.log", port, interrupt=bool(wrapper)) as base:
        yield base


def signed_in_client(base_url: str, **options: Any) -> httpx.Client:
    """A keep-alive client of the service's engine-rest API, signed in as AUTH's administrator."""
    return httpx.Client(base_url=f"{base_url}/engine-rest", auth=AUTH, timeout=options.pop("timeout", 60), **options)


def peer_python() -> Path:
    """The interpreter of the peer's environment, made on first use (needs PyPI)."""
    python = PEER_DIR / "venv" / "bin" / "python"
    ready = PEER_DIR / "venv" / "installed.txt"
    if ready.is_file() and ready.read_text() == "\n".join(PEER_REQUIREMENTS) and python.exists():
        return python
    base = next((found for name in PEER_PYTHONS if (found := _python_at_least(name, (3, 12)))), None)
    if base is None:
        raise BenchmarkError(f"camunda-python needs Python >= 3.12; none of {', '.join(PEER_PYTHONS)} is one")
    print(f"[peer] making its environment in {PEER_DIR} with {base} ...", file=sys.stderr, flush=True)
    subprocess.run([base, "-m", "venv", "--clear", str(PEER_DIR / "venv")], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PEER_REQUIREMENTS], check=True)
    ready.write_text("\n".join(PEER_REQUIREMENTS))
    return python


def _python_at_least(name: str, version: tuple[int, int]) -> str | None:
    try:
        answer = subprocess.run([name, "-c", "import sys; print(sys.executable, *sys.version_info[:2])"],
                                capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if answer.returncode != 0:
        return None
    executable, major, minor = answer.stdout.split()
    return executable if (int(major), int(minor)) >= version else None


@contextmanager
def running_peer(database_url: str, workdir: Path) -> Iterator[str]:
    """Start the peer's REST server (bench/peer_server.py) on `database_url`; yield its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k.upper() not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    command = [str(peer_python()), str(PEER_SERVER), "--database-url", database_url, "--port", str(port)]
    with _serving(command, workdir, env, workdir / f"peer-{port}.log", port) as base:
        yield base


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


_databases = itertools.count(1)


@contextmanager
def sqlite_database(workdir: Path) -> Iterator[str]:
    yield f"sqlite:///{workdir / f'bench-{next(_databases)}.sqlite3'}"


@contextmanager
def postgresql_database() -> Iterator[str]:
    import psycopg

    name = f"bench_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL_TEMPLATE.format(name=name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database(kind: str, workdir: Path) -> Any:
    return sqlite_database(workdir) if kind == "sqlite" else postgresql_database()


# ---------------------------------------------------------------- the engines' APIs

def _expect(response: httpx.Response, status: int, what: str) -> httpx.Response:
    if response.status_code != status:
        raise BenchmarkError(f"{what}: HTTP {response.status_code} (expected {status}): {response.text[:500]}")
    return response


@dataclass(frozen=True)
class Engine:
    """A running REST server and the few ways in which the two engines' APIs differ."""

    label: str
    base_url: str
    peer: bool = False

    def client(self) -> httpx.Client:
        if self.peer:
            return httpx.Client(base_url=f"{self.base_url}/engine-rest", timeout=60)
        return signed_in_client(self.base_url)

    def deploy(self, client: httpx.Client, path: Path) -> None:
        files = [("data", (path.name, path.read_bytes(), "application/octet-stream"))]
        _expect(client.post("/deployment/create", data={"deployment-name": "rest-benchmark"}, files=files),
                200, f"{self.label}: deploy {path.name}")

    def start(self, client: httpx.Client, key: str, variables: dict[str, Any]) -> str:
        if self.peer:
            started = client.post("/process-instance", json={"definitionKey": key, "variables": variables})
        else:
            started = client.post(f"/process-definition/key/{key}/start", json={"variables": variables})
        return _expect(started, 200, f"{self.label}: start {key}").json()["id"]

    def open_task(self, client: httpx.Client, instance_id: str, expected_key: str) -> str:
        listed = _expect(client.get("/task", params={"processInstanceId": instance_id}), 200,
                         f"{self.label}: task list").json()
        if len(listed) != 1 or listed[0].get("taskDefinitionKey") not in (None, expected_key):
            raise BenchmarkError(f"{self.label}: instance {instance_id}: expected one open task {expected_key}, "
                                 f"got {[task.get('taskDefinitionKey') for task in listed]}")
        return listed[0]["id"]

    def complete(self, client: httpx.Client, task_id: str, variables: dict[str, Any] | None = None) -> None:
        body = {"variables": variables} if variables else {}
        # The peer answers 200 with a small body; the service 204, as Camunda does.
        _expect(client.post(f"/task/{task_id}/complete", json=body), 200 if self.peer else 204,
                f"{self.label}: complete")

    def check_completed(self, client: httpx.Client, instance_ids: list[str]) -> None:
        for instance_id in instance_ids:
            state = _expect(client.get(f"/history/process-instance/{instance_id}"), 200,
                            f"{self.label}: historic instance").json().get("state")
            if state != "COMPLETED":
                raise BenchmarkError(f"{self.label}: instance {instance_id} did not end: state {state!r}")


# ---------------------------------------------------------------- part 1: one client, ten-task instances

def run_instance(engine: Engine, client: httpx.Client, measured: Round | None) -> str:
    """One ten-task instance from start to end; timings go to `measured` unless it is a warm-up."""
    clock = time.perf_counter
    t0 = clock()
    instance_id = engine.start(client, PROCESS_KEY, START_VARIABLES)
    t1 = clock()
    lookups, completes = [], []
    for step in range(1, STEPS + 1):
        a = clock()
        task_id = engine.open_task(client, instance_id, f"step_{step}")
        b = clock()
        engine.complete(client, task_id)
        c = clock()
        lookups.append((b - a) * 1000)
        completes.append((c - b) * 1000)
    if measured is not None:
        measured.start_ms.append((t1 - t0) * 1000)
        measured.lookup_ms.extend(lookups)
        measured.complete_ms.extend(completes)
        for step, ms in enumerate(completes, start=1):
            measured.by_step_ms[step].append(ms)
    return instance_id


def one_client(engines: list[Engine], instances: int, warmup: int, rounds: int, check: str
               ) -> dict[str, list[Round]]:
    """Rounds of `instances` ten-task instances, the engines taking turns round by round."""
    results: dict[str, list[Round]] = {engine.label: [] for engine in engines}
    with ExitStack() as stack:
        clients = {engine.label: stack.enter_context(engine.client()) for engine in engines}
        for engine in engines:
            engine.deploy(clients[engine.label], FIXTURE)
            for _ in range(warmup):
                run_instance(engine, clients[engine.label], None)
        for number in range(1, rounds + 1):
            for engine in engines:
                client, measured, ids = clients[engine.label], Round(), []
                begun, cpu = time.perf_counter(), server_cpu_seconds(engine.base_url)
                for _ in range(instances):
                    ids.append(run_instance(engine, client, measured))
                measured.seconds = time.perf_counter() - begun
                measured.cpu_seconds = server_cpu_seconds(engine.base_url) - cpu
                measured.instances = instances
                engine.check_completed(client, ids if check == "all" else ids[-1:])
                results[engine.label].append(measured)
                print(f"  round {number} {engine.label}: {measured.per_second:.1f} instances/s",
                      file=sys.stderr, flush=True)
    return results


# ---------------------------------------------------------------- part 2: growth with an instance's age

def growth(engines: list[Engine], iterations: int, instances: int) -> dict[str, dict[int, float]]:
    """Complete latency (ms) at each mark of GROWTH_MARKS up to `iterations`, per engine: looping
    instances driven step by step, the engines taking turns at every step."""
    marks = [mark for mark in GROWTH_MARKS if mark <= iterations]
    samples: dict[str, list[list[float]]] = {engine.label: [] for engine in engines}
    with ExitStack() as stack:
        clients = {engine.label: stack.enter_context(engine.client()) for engine in engines}
        for engine in engines:
            engine.deploy(clients[engine.label], LOOP_FIXTURE)
        for number in range(instances + 1):  # the first is a warm-up of a few steps
            steps = 3 if number == 0 else iterations
            running = {engine.label: engine.start(clients[engine.label], LOOP_KEY,
                                                  {"done": {"value": False, "type": "Boolean"}})
                       for engine in engines}
            timings: dict[str, list[float]] = {engine.label: [] for engine in engines}
            for iteration in range(1, steps + 1):
                done = {"done": {"value": iteration == steps, "type": "Boolean"}}
                for engine in engines:
                    client = clients[engine.label]
                    task_id = engine.open_task(client, running[engine.label], "review")
                    began = time.perf_counter()
                    engine.complete(client, task_id, done)
                    timings[engine.label].append((time.perf_counter() - began) * 1000)
            for engine in engines:
                engine.check_completed(clients[engine.label], [running[engine.label]])
                if number:
                    samples[engine.label].append(timings[engine.label])
            if number:
                print(f"  growth instance {number}: " + ", ".join(
                    f"{label} {statistics.fmean(timings[label][:GROWTH_WINDOW]):.1f} -> "
                    f"{statistics.fmean(timings[label][-GROWTH_WINDOW:]):.1f} ms" for label in timings),
                    file=sys.stderr, flush=True)
    result: dict[str, dict[int, float]] = {}
    for label, runs in samples.items():
        result[label] = {}
        for mark in marks:
            first = min(max(mark - GROWTH_WINDOW // 2, 1), iterations - GROWTH_WINDOW + 1)
            window = range(first, first + GROWTH_WINDOW)
            result[label][mark] = statistics.median(run[i - 1] for run in runs for i in window)
    return result


# ---------------------------------------------------------------- part 3: many clients at once

@dataclass
class Load:
    """What concurrent clients achieved in one round's measured window."""

    clients: int
    seconds: float
    completes: int
    complete_ms: list[float]
    errors: int
    cpu_seconds: float  # the server's, in the window

    @property
    def per_second(self) -> float:
        return self.completes / self.seconds

    def summary(self) -> dict[str, float]:
        cpu_ms = self.cpu_seconds * 1000 / self.completes if self.completes else float("nan")
        return {"completes_per_s": self.per_second, "server_cpu_ms_per_complete": cpu_ms,
                "complete_p50_ms": percentile(self.complete_ms, 50),
                "complete_p99_ms": percentile(self.complete_ms, 99), "errors": self.errors}


def concurrent_round(engine: Engine, clients: int, warmup: float, seconds: float) -> Load:
    """`clients` threads, each running ten-task instances one after another on its own connection;
    the completes that end inside the window after the warm-up are counted."""
    stop = threading.Event()
    done: list[tuple[float, float]] = []  # (when it ended, its latency in ms); list.append is atomic
    failures: list[str] = []

    def client_loop() -> None:
        with engine.client() as client:
            while not stop.is_set():
                try:
                    instance_id = engine.start(client, PROCESS_KEY, START_VARIABLES)
                    for step in range(1, STEPS + 1):
                        task_id = engine.open_task(client, instance_id, f"step_{step}")
                        began = time.perf_counter()
                        engine.complete(client, task_id)
                        ended = time.perf_counter()
                        done.append((ended, (ended - began) * 1000))
                        if stop.is_set():
                            return
                except (BenchmarkError, httpx.HTTPError) as error:
                    failures.append(str(error))
                    if len(failures) > 100:
                        return

    threads = [threading.Thread(target=client_loop, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(warmup)
    window_start, cpu = time.perf_counter(), server_cpu_seconds(engine.base_url)
    time.sleep(seconds)
    window_end, cpu = time.perf_counter(), server_cpu_seconds(engine.base_url) - cpu
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    if len(failures) > 100:
        raise BenchmarkError(f"{engine.label}: more than 100 failed requests, e.g. {failures[0]}")
    counted = [ms for ended, ms in done if window_start <= ended < window_end]
    return Load(clients, window_end - window_start, len(counted), counted, len(failures), cpu)


def many_clients(engines: list[Engine], clients: int, warmup: float, seconds: float, rounds: int
                 ) -> dict[str, list[Load]]:
    results: dict[str, list[Load]] = {engine.label: [] for engine in engines}
    for engine in engines:
        with engine.client() as client:
            engine.deploy(client, FIXTURE)
    for number in range(1, rounds + 1):
        for engine in engines:
            load = concurrent_round(engine, clients, warmup, seconds)
            results[engine.label].append(load)
            print(f"  round {number} {engine.label}: {load.per_second:.0f} completions/s"
                  + (f", {load.errors} failed requests" if load.errors else ""), file=sys.stderr, flush=True)
    return results


# ---------------------------------------------------------------- the run

@dataclass
class Contender:
    """An engine to start: its label and how to start it on a database URL."""

    label: str
    start: Callable[[str], Any]
    peer: bool = False


def contenders(args: argparse.Namespace, workdir: Path, workers: int = 1, suffix: str = "") -> list[Contender]:
    wrapper = args.server_wrapper.split()
    chosen = [Contender(f"service{suffix}", lambda url: running_server(url, workdir, wrapper, workers=workers))]
    for root in args.baseline:
        name = "baseline" if len(args.baseline) == 1 else f"baseline {Path(root).name}"
        chosen.append(Contender(f"{name}{suffix}", functools.partial(
            _baseline_server, root=Path(root), workdir=workdir, workers=workers, python=args.baseline_python)))
    return chosen


def _baseline_server(url: str, *, root: Path, workdir: Path, workers: int, python: str | None) -> Any:
    return running_server(url, workdir, workers=workers, root=root, python=python)


def peer_contender(workdir: Path, label: str = "peer") -> Contender:
    return Contender(label, lambda url: running_peer(url, workdir), peer=True)


@contextmanager
def started(chosen: list[tuple[Contender, str]], workdir: Path) -> Iterator[list[Engine]]:
    """Each contender on a fresh database of its kind; all running until the block ends."""
    with ExitStack() as stack:
        engines = []
        for contender, kind in chosen:
            print(f"[{contender.label}] starting on {kind} ...", file=sys.stderr, flush=True)
            url = stack.enter_context(database(kind, workdir))
            engines.append(Engine(contender.label, stack.enter_context(contender.start(url)), contender.peer))
        yield engines


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    report: dict[str, Any] = {"one_client": {}, "growth": {}, "many_clients": {}}
    for kind in kinds:
        chosen = [(c, kind) for c in contenders(args, workdir)]
        if args.peer:
            chosen.append((peer_contender(workdir), kind))
        with started(chosen, workdir) as engines:
            print(f"[{kind}] one client: {args.warmup} warm-up + {args.rounds} x {args.instances} instances "
                  "per engine ...", file=sys.stderr, flush=True)
            report["one_client"][kind] = one_client(engines, args.instances, args.warmup, args.rounds, args.check)
            if args.growth:
                print(f"[{kind}] growth: {args.growth_instances} looping instance(s) of {args.growth} iterations "
                      "per engine ...", file=sys.stderr, flush=True)
                report["growth"][kind] = growth(engines, args.growth, args.growth_instances)
    if args.clients and "postgresql" in kinds:
        chosen = [(c, "postgresql") for workers in (1, 2)
                  for c in contenders(args, workdir, workers, f" ({workers}w)")]
        if args.peer:
            chosen += [(peer_contender(workdir, "peer (sqlite)"), "sqlite"),
                       (peer_contender(workdir, "peer (postgresql)"), "postgresql")]
        with started(chosen, workdir) as engines:
            print(f"[postgresql] {args.clients} clients: {args.rounds} round(s) of {args.warmup_seconds:g} s warm-up "
                  f"+ {args.seconds:g} s per engine ...", file=sys.stderr, flush=True)
            report["many_clients"]["postgresql"] = many_clients(engines, args.clients, args.warmup_seconds,
                                                                args.seconds, args.rounds)
    return report


# ---------------------------------------------------------------- report

ROWS = [
    ("instances/s", "instances_per_s", "{:.1f}"),
    ("server CPU per instance (ms)", "server_cpu_ms_per_instance", "{:.1f}"),
    ("task complete p50 (ms)", "complete_p50_ms", "{:.2f}"),
    ("task complete p99 (ms)", "complete_p99_ms", "{:.2f}"),
    ("start p50 (ms)", "start_p50_ms", "{:.2f}"),
    ("task look-up p50 (ms)", "lookup_p50_ms", "{:.2f}"),
    ("complete step_1 mean (ms)", "step1_mean_ms", "{:.2f}"),
    ("complete step_10 mean (ms)", "step10_mean_ms", "{:.2f}"),
]


def _table(title: str, columns: list[str], rows: list[tuple[str, list[str]]]) -> list[str]:
    width = max([len(label) for label, _ in rows] + [len(title)])
    cells = max([len(c) for c in columns] + [len(v) for _, values in rows for v in values] + [9])
    lines = [f"{title:{width}}  " + "  ".join(f"{c:>{cells}}" for c in columns)]
    lines += [f"{label:{width}}  " + "  ".join(f"{v:>{cells}}" for v in values) for label, values in rows]
    return lines


def goals(report: dict[str, Any]) -> list[str]:
    """The issue's goals as ratios of this service to the peer (and to the baseline when measured)."""
    lines = []
    for kind, results in report["one_client"].items():
        table = {label: medians(rounds) for label, rounds in results.items()}
        service = table["service"]
        for other in (label for label in table if label != "service"):
            lines.append(f"{kind}, 1 client, instances/s: service / {other} = "
                         f"{ratio(service['instances_per_s'], table[other]['instances_per_s']):.2f}x"
                         + ("   (goal >= 3x)" if other == "peer" and kind == "sqlite" else ""))
        lines.append(f"{kind}, 1 client, service complete p50 / p99: {service['complete_p50_ms']:.2f} / "
                     f"{service['complete_p99_ms']:.2f} ms" + ("   (goal <= 1.5 / 5 ms)" if kind == "sqlite" else ""))
    for kind, table in report["growth"].items():
        for label, by_mark in table.items():
            last = max(by_mark)
            goal = "   (goal <= 1.3x)" if label == "service" else ""
            lines.append(f"{kind}, growth, {label}: complete at iteration {last} / iteration 1 = "
                         f"{ratio(by_mark[last], by_mark[1]):.2f}x{goal}")
    for kind, results in report["many_clients"].items():
        rates = {label: statistics.median(load.per_second for load in loads) for label, loads in results.items()}
        peer = rates.get("peer (sqlite)")
        for label in (label for label in rates if label.startswith("service")):
            if peer:
                lines.append(f"{kind}, many clients, completions/s: {label} / peer (sqlite) = "
                             f"{ratio(rates[label], peer):.2f}x   (goal >= 3x; 500/s to aim at)")
            suffix = label.removeprefix("service")
            for other in (other for other in rates if other.startswith("baseline") and other.endswith(suffix)):
                lines.append(f"{kind}, many clients, completions/s: {label} / {other} = "
                             f"{ratio(rates[label], rates[other]):.2f}x")
    return lines


def figures(report: dict[str, Any], args: argparse.Namespace) -> list[str]:
    lines = []
    for kind, results in report["one_client"].items():
        table = {label: medians(rounds) for label, rounds in results.items()}
        lines += ["", f"ten_step over HTTP on {kind}: {args.instances} instances x {args.rounds} round(s) after "
                      f"{args.warmup} warm-up, 1 client, 1 server process each; median of rounds"]
        lines += _table("", list(table), [(label, [fmt.format(table[n][key]) for n in table])
                                          for label, key, fmt in ROWS])
        for label, rounds in results.items():
            lines.append(f"  {label}: instances/s per round: " + ", ".join(f"{r.per_second:.1f}" for r in rounds))
    for kind, table in report["growth"].items():
        marks = list(next(iter(table.values())))
        lines += ["", f"growth on {kind}: complete latency (ms) at iteration n of a loop, median of "
                      f"{args.growth_instances} instance(s) x the {GROWTH_WINDOW} iterations nearest n"]
        lines += _table("iteration", [str(m) for m in marks],
                        [(label, [f"{by_mark[m]:.2f}" for m in marks]) for label, by_mark in table.items()])
    for kind, results in report["many_clients"].items():
        lines += ["", f"{args.clients} clients at once, ten_step, service on {kind} (w: uvicorn workers), "
                      f"{args.seconds:g} s after {args.warmup_seconds:g} s warm-up; median of rounds"]
        summaries = {label: [load.summary() for load in loads] for label, loads in results.items()}
        lines += _table("", ["completions/s", "CPU/complete", "complete p50", "complete p99", "errors"], [
            (label, [f"{statistics.median(s['completes_per_s'] for s in runs):.0f}",
                     f"{statistics.median(s['server_cpu_ms_per_complete'] for s in runs):.2f} ms",
                     f"{statistics.median(s['complete_p50_ms'] for s in runs):.1f} ms",
                     f"{statistics.median(s['complete_p99_ms'] for s in runs):.1f} ms",
                     f"{sum(int(s['errors']) for s in runs)}"]) for label, runs in summaries.items()])
        for label, loads in results.items():
            per_round = ", ".join(f"{load.per_second:.0f}" for load in loads)
            lines.append(f"  {label}: completions/s per round: {per_round}")
    return lines


def as_json(report: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    return {
        "options": {key: value for key, value in vars(args).items() if key != "json"},
        "python": platform.python_version(), "cpus": os.cpu_count(),
        "one_client": {kind: {label: {"median": medians(rounds), "rounds": [r.summary() for r in rounds]}
                              for label, rounds in results.items()} for kind, results in report["one_client"].items()},
        "growth": {kind: {label: {str(mark): ms for mark, ms in by_mark.items()} for label, by_mark in table.items()}
                   for kind, table in report["growth"].items()},
        "many_clients": {kind: {label: [load.summary() for load in loads] for label, loads in results.items()}
                         for kind, results in report["many_clients"].items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--peer", action=argparse.BooleanOptionalAction, default=True,
                        help="measure camunda-python 0.1.2 beside the service (default: yes)")
    parser.add_argument("--instances", type=int, default=100, help="measured instances per round (default 100)")
    parser.add_argument("--warmup", type=int, default=5, help="instances run first and not counted (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per engine, taken in turns; "
                        "the report shows the median of rounds (default 3)")
    parser.add_argument("--check", choices=["all", "last"], default="all",
                        help="check the end state of every instance or of the last one (after timing)")
    parser.add_argument("--growth", type=int, default=200, metavar="N",
                        help="iterations of the looping instance (default 200; 0 skips the growth part)")
    parser.add_argument("--growth-instances", type=int, default=3, metavar="N",
                        help="looping instances per engine (default 3)")
    parser.add_argument("--clients", type=int, default=16,
                        help="concurrent clients of the PostgreSQL part (default 16; 0 skips it)")
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per round of that part")
    parser.add_argument("--warmup-seconds", type=float, default=3, help="seconds run first in each such round")
    parser.add_argument("--baseline", metavar="DIR", action="append", default=[],
                        help="also measure the service from this checkout (repeatable)")
    parser.add_argument("--baseline-python", metavar="PYTHON", help="the interpreter for --baseline")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--server-wrapper", metavar="CMD", default="",
                        help="run the service's interpreter under this command (profiling only), e.g. "
                             "'py-spy record -f raw -o /tmp/server.txt -- .venv/bin/python'")
    args = parser.parse_args(argv)
    if not (1 <= args.instances <= 100_000 and 0 <= args.warmup <= 1000 and 1 <= args.rounds <= 20
            and (args.growth == 0 or GROWTH_WINDOW <= args.growth <= 10_000) and 1 <= args.growth_instances <= 50
            and 0 <= args.clients <= 256 and args.seconds > 0 and args.warmup_seconds >= 0):
        parser.error("--instances 1..100000, --warmup 0..1000, --rounds 1..20, --growth 0 or 5..10000, "
                     "--growth-instances 1..50, --clients 0..256, --seconds > 0")
    for needed in (FIXTURE, LOOP_FIXTURE):
        if not needed.is_file():
            parser.error(f"missing {needed}")
    for root in args.baseline:
        if not (Path(root) / "app" / "main.py").is_file():
            parser.error(f"--baseline {root}: not a checkout of the service")

    with tempfile.TemporaryDirectory(prefix="rest-bench-") as tmp:
        try:
            report = run(args, Path(tmp))
        except BenchmarkError as error:
            print(f"FAILED: {error}", file=sys.stderr)
            return 1
    print()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPU(s), {platform.platform()}")
    print("goals: this service against the others measured in the same run (ratios first)")
    for line in goals(report):
        print(f"  {line}")
    for line in figures(report, args):
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(as_json(report, args), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

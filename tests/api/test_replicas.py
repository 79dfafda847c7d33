"""Scale-out as operators run it: two service processes (replicas) and two timer workers on one
PostgreSQL database, all started at once on a fresh database, with clients alternating between the
replicas for every command. Nothing is lost or done twice, every case's history verifies, and a long
poll held on one replica wakes for work made through the other (LISTEN/NOTIFY: the replicas' own
rechecks are set far apart, so only the notification can answer it in time)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.databases import drop_database, fresh_database
from tests.support.paths import FIXTURES, ROOT
from tests.support.service import ADMIN_AUTH, free_port

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="replicas share a PostgreSQL database (SQLite serves one process); run on the PostgreSQL run")]

ROUND = FIXTURES / "constructs" / "replica_round.bpmn"
CASES = 12
# Far beyond the wake-up the test waits for: a long poll that answers in time was woken by NOTIFY.
RECHECK_SECONDS = "60"
WAKE_SECONDS = 15.0
PAST = "2026-01-01T00:00:00.000+0800"  # the cooling-off period has run out when the case gets there


@contextmanager
def processes(url: str) -> Iterator[list[httpx.Client]]:
    """Two replicas (timer thread off) and two timer workers on the database, started at once; a
    client for each replica once both answer."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "CLOCK": "system",
                   "BOOTSTRAP_ADMIN": ":".join(ADMIN_AUTH), "TIMER_WORKER": "false",
                   "LONG_POLL_RECHECK_SECONDS": RECHECK_SECONDS}
    ports = [free_port(), free_port()]
    started = [subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)],
                                env=environment, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True) for port in ports]
    started += [subprocess.Popen([sys.executable, "-m", "app.cli", "worker", "--interval", "0.05"],
                                 env=environment, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True) for _ in range(2)]
    clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=ADMIN_AUTH, timeout=60) for port in ports]
    try:
        for client, server in zip(clients, started, strict=False):
            _until(lambda client=client, server=server: _answers(client, server), "a replica to answer")
        yield clients
    finally:
        for client in clients:
            client.close()
        for process in started:
            process.terminate()
        outputs = [process.communicate(timeout=30)[0] for process in started]
        for output in outputs:
            assert "Traceback" not in output, output


def _answers(client: httpx.Client, server: subprocess.Popen) -> bool:
    assert server.poll() is None, "a replica stopped"
    try:
        return client.get("/health").status_code == 200
    except httpx.TransportError:
        return False


def _until(condition, what: str, seconds: float = 120) -> None:
    """Wait on the other processes (starting, firing due timers), never on a timer of a case."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.05)


def _one(client: httpx.Client, path: str, **params) -> dict:
    [row] = client.get(f"/engine-rest{path}", params=params).json()
    return row


def _fetch(client: httpx.Client, worker: str, wait_ms: int = 0) -> list[dict]:
    answer = client.post("/engine-rest/external-task/fetchAndLock", json={
        "workerId": worker, "maxTasks": 5, "asyncResponseTimeout": wait_ms,
        "topics": [{"topicName": "replica-notify", "lockDuration": 600_000}]})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_two_replicas_and_two_workers_lose_nothing_and_do_nothing_twice(tmp_path: Path):
    url = fresh_database(tmp_path)
    try:
        with processes(url) as replicas:
            _round_trip(replicas)
    finally:
        drop_database(url)


def _round_trip(replicas: list[httpx.Client]) -> None:
    a, b = replicas
    deployed = a.post("/engine-rest/deployment/create",
                      files=[("data", (ROUND.name, ROUND.read_bytes(), "application/xml"))])
    assert deployed.status_code == 200, deployed.text
    cases = []
    for number in range(CASES):
        started = replicas[number % 2].post("/engine-rest/process-definition/key/replica_round/start", json={
            "businessKey": f"R-{number}", "variables": {"coolingUntil": {"value": PAST}}})
        assert started.status_code == 200, started.text
        cases.append(started.json()["id"])

    # A long poll held on B is answered with the task made by completing the first review through A.
    polled: list[list[dict]] = []
    poll = threading.Thread(target=lambda: polled.append(_fetch(b, "waiting-worker", wait_ms=50_000)))
    poll.start()
    poll.join(0.5)  # the poll is (most likely) waiting now; if not yet, it finds the task at once
    first = _one(a, "/task", processInstanceId=cases[0])
    completed_at = time.monotonic()
    assert a.post(f"/engine-rest/task/{first['id']}/complete", json={}).status_code == 204
    poll.join(WAKE_SECONDS + 5)
    assert not poll.is_alive() and time.monotonic() - completed_at < WAKE_SECONDS
    assert [task["processInstanceId"] for task in polled[0]] == [cases[0]]
    locked = list(polled[0])

    for number, case in enumerate(cases[1:], start=1):
        task = _one(replicas[number % 2], "/task", processInstanceId=case)
        done = replicas[(number + 1) % 2].post(f"/engine-rest/task/{task['id']}/complete", json={})
        assert done.status_code == 204, done.text
    for turn in range(10):
        locked += _fetch(replicas[turn % 2], f"worker-{turn % 2}")
    assert sorted(task["processInstanceId"] for task in locked) == sorted(cases)  # each once
    for number, task in enumerate(locked):
        done = replicas[number % 2].post(f"/engine-rest/external-task/{task['id']}/complete",
                                         json={"workerId": task["workerId"]})
        assert done.status_code == 204, done.text

    # The workers fire each case's due timer; then the cases wait for the applicant's confirmation.
    def all_waiting_for_confirmation() -> bool:
        rows = a.get("/engine-rest/history/activity-instance",
                     params={"activityId": "confirmed", "maxResults": 1000}).json()
        return len(rows) == CASES
    _until(all_waiting_for_confirmation, "the timer workers to fire the due timers")
    for number in range(CASES):
        sent = replicas[number % 2].post("/engine-rest/message", json={
            "messageName": "replica_confirmed", "businessKey": f"R-{number}"})
        assert sent.status_code in (200, 204), sent.text

    for case in cases:
        assert b.get(f"/engine-rest/history/process-instance/{case}").json()["state"] == "COMPLETED"
        ran = Counter(row["activityId"] for row in a.get("/engine-rest/history/activity-instance", params={
            "processInstanceId": case, "maxResults": 100}).json())
        assert ran == Counter(["received", "review", "notify", "cooling", "confirmed", "closed"]), ran
    assert b.get("/engine-rest/job/count").json()["count"] == 0
    report = a.get("/api/history/verify").json()
    assert report["intact"] is True and report["instances"] == CASES, report

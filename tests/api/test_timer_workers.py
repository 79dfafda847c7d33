"""Several worker processes on one database fire each due timer exactly once, and a worker killed
mid-fire loses nothing."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select

from app.access.accounts import ADMINISTRATORS, Principal
from app.cases import instances, tasks
from app.persistence.models import HistoryEvent, Timer, UserTask
from tests.support.http import deploy
from tests.support.paths import FIXTURES
from tests.support.service import ADMIN_AUTH

ADMIN = Principal(ADMIN_AUTH[0], frozenset({ADMINISTRATORS}))

TIMERS = 1000


def _instances_waiting_on_due_timers(client, service, count: int) -> None:
    deploy(client, FIXTURES / "engine" / "timer_wait.bpmn")
    started = [instances.start_instance(service.services, key="publicity_wait", variables={"province": "gd"},
                                        business_key=f"t-{n}", actor=ADMIN)[0] for n in range(count)]
    for instance in started:
        with service.services.db.read() as session:
            task_id = session.scalar(select(UserTask.id).where(UserTask.process_instance_id == instance.id))
        tasks.complete(service.services, task_id, {}, actor=ADMIN)
    with service.services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Timer)) == count


def _start_worker(service) -> subprocess.Popen:
    # The timers fell due on the simulated clock of the service's past: on the system clock of the
    # workers they are all due now.
    environment = {**os.environ, "DATABASE_URL": service.services.db.url, "CLOCK": "system"}
    return subprocess.Popen([sys.executable, "-m", "app.cli", "worker", "--interval", "0.05"], env=environment)


def _wait_until_timers_left(service, most: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with service.services.db.read() as session:
            if session.scalar(select(func.count()).select_from(Timer)) <= most:
                return
        time.sleep(0.05)  # waiting on the workers, not on a timer: the timers are all due already
    raise AssertionError(f"the workers did not get down to {most} timers left")


def _record(service) -> tuple[dict[str, int], int, int]:
    """Timer firings per instance, follow-up tasks opened, and timers still waiting."""
    with service.services.db.read() as session:
        fired = dict(session.execute(
            select(HistoryEvent.process_instance_id, func.count()).where(HistoryEvent.kind == "timer.fired")
            .group_by(HistoryEvent.process_instance_id)).all())
        follow_up = session.scalar(select(func.count()).select_from(UserTask)
                                   .where(UserTask.task_definition_key == "publish_result"))
        waiting = session.scalar(select(func.count()).select_from(Timer))
    return fired, follow_up, waiting


def test_two_worker_processes_fire_a_thousand_due_timers_each_exactly_once(client, service):
    _instances_waiting_on_due_timers(client, service, TIMERS)
    workers = [_start_worker(service) for _ in range(2)]
    try:
        _wait_until_timers_left(service, 0)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            assert worker.wait(timeout=30) == 0
    fired, follow_up, _ = _record(service)
    assert len(fired) == TIMERS and set(fired.values()) == {1}
    assert follow_up == TIMERS


def test_a_worker_killed_mid_fire_loses_nothing_and_the_next_worker_fires_the_rest_once(client, service):
    count = 300
    _instances_waiting_on_due_timers(client, service, count)
    worker = _start_worker(service)
    _wait_until_timers_left(service, count - 50)
    worker.send_signal(signal.SIGKILL)  # no chance to finish its unit of work
    worker.wait(timeout=30)

    fired, follow_up, waiting = _record(service)
    # Every instance is whole: fired with its follow-up task, or still waiting on its timer.
    assert set(fired.values()) == {1} and follow_up == len(fired) and waiting == count - len(fired)

    survivor = _start_worker(service)
    try:
        _wait_until_timers_left(service, 0)
    finally:
        survivor.terminate()
        assert survivor.wait(timeout=30) == 0
    fired, follow_up, _ = _record(service)
    assert len(fired) == count and set(fired.values()) == {1} and follow_up == count

"""Several worker processes on one database fire each due timer exactly once."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from sqlalchemy import func, select

from app.persistence.models import HistoryEvent, Timer, UserTask
from app.services import instances, tasks
from tests.conftest import FIXTURES, deploy

TIMERS = 1000


def test_two_worker_processes_fire_a_thousand_due_timers_each_exactly_once(client, service):
    deploy(client, FIXTURES / "engine" / "timer_wait.bpmn")
    started = [instances.start_instance(service.services, key="publicity_wait", variables={"province": "gd"}, business_key=f"t-{n}")[0]
               for n in range(TIMERS)]
    for instance in started:
        with service.services.db.read() as session:
            task_id = session.scalar(select(UserTask.id).where(UserTask.process_instance_id == instance.id))
        tasks.complete(service.services, task_id, {})
    with service.services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Timer)) == TIMERS

    # The timers fell due on the simulated clock of the service's past: on the system clock of the
    # workers they are all due now.
    environment = {**os.environ, "DATABASE_URL": service.services.db.url, "CLOCK": "system"}
    workers = [subprocess.Popen([sys.executable, "-m", "app.cli", "worker", "--interval", "0.05"], env=environment)
               for _ in range(2)]
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with service.services.db.read() as session:
                if session.scalar(select(func.count()).select_from(Timer)) == 0:
                    break
            time.sleep(0.2)  # waiting on the workers, not on a timer: the timers are all due already
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            assert worker.wait(timeout=30) == 0

    with service.services.db.read() as session:
        fired = dict(session.execute(
            select(HistoryEvent.process_instance_id, func.count()).where(HistoryEvent.kind == "timer.fired")
            .group_by(HistoryEvent.process_instance_id)).all())
        follow_up = session.scalar(select(func.count()).select_from(UserTask)
                                   .where(UserTask.task_definition_key == "publish_result"))
    assert len(fired) == TIMERS and set(fired.values()) == {1}
    assert follow_up == TIMERS

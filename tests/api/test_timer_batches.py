"""Due timers fired many instances to a unit of work: one instance that fails or meets a concurrent
writer neither blocks nor loses the others, and every timer fires exactly once."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import func, make_url, select

from app.audit import ledger
from app.cases.timers import fire_due_timers
from app.errors import ProcessExecutionFailed
from app.persistence.models import HistoryEvent, Timer, UserTask
from tests.support.bpmn_text import process
from tests.support.http import deploy_bytes, start

# A reminder an hour into the preparation opens a supervision task for the province's supervisors;
# the preparation stays open (non-interrupting).
REMINDED = process("reminded_preparation", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare" />
  <bpmn:userTask id="prepare" name="准备材料" camunda:candidateGroups="clerks" />
  <bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="done" /><bpmn:endEvent id="done" />
  <bpmn:boundaryEvent id="reminder" attachedToRef="prepare" cancelActivity="false">
    <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:boundaryEvent>
  <bpmn:sequenceFlow id="f3" sourceRef="reminder" targetRef="supervise" />
  <bpmn:userTask id="supervise" name="督办" camunda:candidateGroups="${province}-supervisors" />
  <bpmn:sequenceFlow id="f4" sourceRef="supervise" targetRef="supervised" /><bpmn:endEvent id="supervised" />""")

# Two periods running side by side: every instance waits on two timers due at the same instant.
TWO_PERIODS = process("two_periods", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork" />
  <bpmn:parallelGateway id="fork" />
  <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="publicity" />
  <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="objection" />
  <bpmn:intermediateCatchEvent id="publicity"><bpmn:timerEventDefinition>
    <bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
  <bpmn:intermediateCatchEvent id="objection"><bpmn:timerEventDefinition>
    <bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f4" sourceRef="publicity" targetRef="publish" />
  <bpmn:sequenceFlow id="f5" sourceRef="objection" targetRef="hear" />
  <bpmn:userTask id="publish" name="公布结果" camunda:candidateGroups="clerks" />
  <bpmn:userTask id="hear" name="听取异议" camunda:candidateGroups="clerks" />
  <bpmn:sequenceFlow id="f6" sourceRef="publish" targetRef="end_publish" /><bpmn:endEvent id="end_publish" />
  <bpmn:sequenceFlow id="f7" sourceRef="hear" targetRef="end_hear" /><bpmn:endEvent id="end_hear" />""")


def _started(client, key: str, count: int, **variables) -> list[str]:
    return [start(client, key, f"{key}-{n}", **variables).json()["id"] for n in range(count)]


def _fired(service, instance_id: str) -> list[str]:
    """The timers whose firing the instance's history records, by timer id."""
    with service.services.db.read() as session:
        return list(session.scalars(select(HistoryEvent.task_id).where(
            HistoryEvent.process_instance_id == instance_id, HistoryEvent.kind == "timer.fired")))


def _opened(service, instance_id: str, task_key: str) -> int:
    with service.services.db.read() as session:
        return session.scalar(select(func.count()).select_from(UserTask).where(
            UserTask.process_instance_id == instance_id, UserTask.task_definition_key == task_key)) or 0


def _waiting(service, instance_id: str) -> int:
    with service.services.db.read() as session:
        return session.scalar(select(func.count()).select_from(Timer).where(
            Timer.process_instance_id == instance_id)) or 0


def test_a_failing_step_leaves_its_instance_waiting_and_the_others_of_its_unit_fire_once(client, service):
    deploy_bytes(client, "reminded.bpmn", REMINDED).raise_for_status()
    good = _started(client, "reminded_preparation", 5, province="gd")
    # No province: its supervision task's candidate group cannot be evaluated when the reminder fires.
    bad = start(client, "reminded_preparation", "without-province").json()["id"]
    service.clock.advance(timedelta(hours=1))

    with pytest.raises(ProcessExecutionFailed, match="province"):
        fire_due_timers(service.services, per_unit=10)  # all six in one unit: it fails on the bad one
    for instance_id in good:
        assert len(_fired(service, instance_id)) == 1 and _opened(service, instance_id, "supervise") == 1
    assert _fired(service, bad) == [] and _waiting(service, bad) == 1

    # The next call tries it again (the worker's next round, not a loop), and no other instance fires again.
    with pytest.raises(ProcessExecutionFailed):
        fire_due_timers(service.services, per_unit=10)
    assert all(len(_fired(service, instance_id)) == 1 for instance_id in good)

    # Once its variable is set, it fires like the others did.
    client.put(f"/process-instance/{bad}/variables/province", json={"value": "gd"}).raise_for_status()
    assert fire_due_timers(service.services, per_unit=10) == 1
    assert len(_fired(service, bad)) == 1 and _opened(service, bad, "supervise") == 1
    assert ledger.verify(service.services).intact


def test_two_callers_at_once_fire_each_of_two_timers_of_every_instance_exactly_once(client, service):
    deploy_bytes(client, "two_periods.bpmn", TWO_PERIODS).raise_for_status()
    started = _started(client, "two_periods", 30)
    service.clock.advance(timedelta(hours=1))

    def fire_until_none_waits() -> None:
        # Units of three rows split instances between claims: the rest of an instance's due timers
        # are taken by the claiming unit, or the instance is left to whoever holds them.
        deadline = time.monotonic() + 120
        while any(_waiting(service, instance_id) for instance_id in started):
            assert time.monotonic() < deadline, "the timers were not all fired"
            fire_due_timers(service.services, per_unit=3)

    callers = [threading.Thread(target=fire_until_none_waits) for _ in range(2)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()

    for instance_id in started:
        fired = _fired(service, instance_id)
        assert len(fired) == 2 and len(set(fired)) == 2
        assert _opened(service, instance_id, "publish") == 1 and _opened(service, instance_id, "hear") == 1
    assert ledger.verify(service.services).intact


def test_a_unit_that_meets_a_concurrent_writer_is_redone_one_instance_at_a_time(client, service):
    if service.services.settings.is_sqlite:
        pytest.skip("SQLite lets one writer in at a time: no other unit of work can commit during a unit")
    deploy_bytes(client, "reminded.bpmn", REMINDED).raise_for_status()
    started = _started(client, "reminded_preparation", 4, province="gd")
    contested = started[1]
    [prepare] = client.get("/task", params={"processInstanceId": contested}).json()
    service.clock.advance(timedelta(hours=1))

    url = make_url(service.services.db.url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as holder, psycopg.connect(url, autocommit=True) as observer:
        # Hold the unit in the middle of the contested instance's step: it waits to record the
        # supervisors as the case's participants while another transaction inserts the same row.
        holder.execute("INSERT INTO instance_participant (process_instance_id, kind, identity) "
                       "VALUES (%s, 'group', 'gd-supervisors')", (contested,))
        fired: list[int] = []
        unit = threading.Thread(target=lambda: fired.append(fire_due_timers(service.services, per_unit=10)))
        unit.start()
        deadline = time.monotonic() + 30
        while not observer.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                   "AND wait_event_type = 'Lock'").fetchone()[0]:
            assert time.monotonic() < deadline, "the unit did not reach the held row"
            time.sleep(0.01)  # waiting for the unit to block on the held row, not for a timer
        # Meanwhile a clerk claims the contested instance's task: the instance changes under the unit.
        client.post(f"/task/{prepare['id']}/claim", json={"userId": "clerk-1"}).raise_for_status()
        holder.rollback()
        unit.join(timeout=60)

    assert fired == [4]
    for instance_id in started:
        assert len(_fired(service, instance_id)) == 1 and _opened(service, instance_id, "supervise") == 1
    assert client.get(f"/task/{prepare['id']}").json()["assignee"] == "clerk-1"
    assert ledger.verify(service.services).intact

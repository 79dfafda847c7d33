"""Timer cycles written as cron expressions, as Camunda 7 reads a timeCycle that does not start with
R: six fields, seconds first (`0 0 9 ? * MON-FRI`: each weekday at 9:00), and a year after them as
Camunda 7.23 and earlier read it, read in the service's time
zone on the injected clock; on timer start events, non-interrupting boundary events and event
subprocesses. What the service does not read is refused at deploy naming the element. A cycle
shorter than a minute skips the firings it missed, as Camunda's do."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.bpmn_text import process
from tests.support.http import deploy, deploy_bytes, refusal
from tests.support.paths import FIXTURES

DAILY_BATCH = FIXTURES / "constructs" / "cron_daily_batch.bpmn"
REMINDERS = FIXTURES / "constructs" / "cron_reminders.bpmn"


def batch_starts(client) -> list[str]:
    batches = client.get("/history/process-instance", params={"processDefinitionKey": "cron_daily_batch"}).json()
    return sorted(batch["startTime"] for batch in batches)


def test_a_cron_start_event_starts_one_batch_each_weekday_morning(client, root):
    # The clock starts on Monday 2026-09-28 at 9:00 in Shanghai: the next weekday morning is Tuesday's.
    [definition_id] = deploy(client, DAILY_BATCH)["deployedProcessDefinitions"]
    [job] = client.get("/job", params={"processDefinitionId": definition_id}).json()
    assert job["processInstanceId"] is None and job["dueDate"] == "2026-09-29T09:00:00.000+0800"

    root.post("/api/clock", json={"set": "2026-09-29T08:59:59+08:00"}).raise_for_status()
    assert batch_starts(client) == []
    root.post("/api/clock", json={"set": "2026-10-04T12:00:00+08:00"}).raise_for_status()  # a Sunday
    assert batch_starts(client) == ["2026-09-29T09:00:00.000+0800", "2026-09-30T09:00:00.000+0800",
                                    "2026-10-01T09:00:00.000+0800", "2026-10-02T09:00:00.000+0800"]
    [job] = client.get("/job", params={"processDefinitionId": definition_id}).json()
    assert job["dueDate"] == "2026-10-05T09:00:00.000+0800"  # not on the weekend
    root.post("/api/clock", json={"set": "2026-10-05T09:00:00+08:00"}).raise_for_status()
    assert len(batch_starts(client)) == 5
    assert {t["taskDefinitionKey"] for t in client.get("/task").json()} == {"compile_batch"}


def open_tasks(client, instance_id: str) -> list[str]:
    return sorted(t["taskDefinitionKey"] for t in client.get("/task", params={"processInstanceId": instance_id}).json())


def test_a_cron_boundary_timer_chases_each_weekday_and_a_cron_event_subprocess_reports_at_month_end(client, root):
    deploy(client, REMINDERS)
    case = client.post("/process-definition/key/cron_reminders/start", json={}).json()["id"]
    due = sorted(job["dueDate"] for job in client.get("/job", params={"processInstanceId": case}).json())
    assert due == ["2026-09-29T09:00:00.000+0800", "2026-09-30T17:00:00.000+0800"]

    root.post("/api/clock", json={"set": "2026-09-30T18:00:00+08:00"}).raise_for_status()
    assert open_tasks(client, case) == ["chase_reviewer", "chase_reviewer", "report_progress", "review"]
    root.post("/api/clock", json={"set": "2026-10-04T23:00:00+08:00"}).raise_for_status()  # Thursday, Friday
    assert open_tasks(client, case).count("chase_reviewer") == 4
    due = sorted(job["dueDate"] for job in client.get("/job", params={"processInstanceId": case}).json())
    assert due == ["2026-10-05T09:00:00.000+0800", "2026-10-31T17:00:00.000+0800"]

    [review] = [t for t in client.get("/task", params={"processInstanceId": case}).json()
                if t["taskDefinitionKey"] == "review"]
    client.post(f"/task/{review['id']}/complete", json={}).raise_for_status()
    # The chase went with the task; the month-end report goes on while the case has open tasks.
    [job] = client.get("/job", params={"processInstanceId": case}).json()
    assert job["dueDate"] == "2026-10-31T17:00:00.000+0800"
    root.post("/api/clock", json={"set": "2026-11-30T18:00:00+08:00"}).raise_for_status()
    assert open_tasks(client, case).count("chase_reviewer") == 4
    assert open_tasks(client, case).count("report_progress") == 3


def scheduler(key: str, cycle: str) -> bytes:
    return process(key, f'''<bpmn:startEvent id="tick"><bpmn:timerEventDefinition>
      <bpmn:timeCycle>{cycle}</bpmn:timeCycle></bpmn:timerEventDefinition>
      </bpmn:startEvent><bpmn:sequenceFlow id="f1" sourceRef="tick" targetRef="sweep"/>
      <bpmn:userTask id="sweep"/><bpmn:sequenceFlow id="f2" sourceRef="sweep" targetRef="e"/><bpmn:endEvent id="e"/>''')


def starts_of(client, key: str) -> list[str]:
    cases = client.get("/history/process-instance", params={"processDefinitionKey": key}).json()
    return sorted(case["startTime"] for case in cases)


def test_a_scheduler_drawn_for_quartz_with_a_year_runs_in_its_years_and_fires_once_when_they_have_passed(client, root):
    """Camunda 7.23 and earlier read a seventh field, the year, as Quartz does (Sunday is day 1); a
    scheduler whose years are over has no due date there, and a job without one runs at once, once."""
    # On the first Monday of each month in 2026 and 2027 (Quartz's day 2), at 16:15 in Shanghai.
    assert deploy_bytes(client, "monthly.bpmn", scheduler("monthly_sweep", "0 15 16 ? * 2#1 2026-2027")).status_code == 200
    [job] = client.get("/job", params={"processDefinitionKey": "monthly_sweep"}).json()
    assert job["dueDate"] == "2026-10-05T16:15:00.000+0800"
    root.post("/api/clock", json={"set": "2028-03-01T00:00:00+08:00"}).raise_for_status()
    starts = starts_of(client, "monthly_sweep")
    assert len(starts) == 15 and starts[0] == "2026-10-05T16:15:00.000+0800"
    assert starts[-1] == "2027-12-06T16:15:00.000+0800"
    assert client.get("/job/count", params={"processDefinitionKey": "monthly_sweep"}).json()["count"] == 0

    assert deploy_bytes(client, "parked.bpmn", scheduler("parked_sweep", "0 0 0 1 * ? 2025")).status_code == 200
    [job] = client.get("/job", params={"processDefinitionKey": "parked_sweep"}).json()
    assert job["dueDate"] == "2028-03-01T00:00:00.000+0800"  # due at once
    root.post("/api/clock", json={"set": "2028-06-01T00:00:00+08:00"}).raise_for_status()
    assert starts_of(client, "parked_sweep") == ["2028-03-01T00:00:00.000+0800"]
    assert len(starts_of(client, "parked_sweep")) == 1
    assert client.get("/job/count", params={"processDefinitionKey": "parked_sweep"}).json()["count"] == 0


@pytest.mark.parametrize(("cycle", "reason"), [
    ("0 0 9 * *", "six fields"),
    ("0 0 9 ? * 0 2027", "from 1 (Sunday) to 7 (Saturday)"),
    ("0 0 9 ? * * 2100", "years from 1970 to 2099"),
    ("0 0 9 L-3 * ?", "L-3 and LW are not"),
    ("0 0 9 30 2 ?", "at least once in"),
])
def test_a_cron_cycle_the_service_does_not_read_is_refused_naming_the_element(client, cycle, reason):
    body = refusal(client, f"""<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t"/>
      <bpmn:userTask id="t"/>
      <bpmn:boundaryEvent id="chase" attachedToRef="t" cancelActivity="false"><bpmn:timerEventDefinition>
        <bpmn:timeCycle>{cycle}</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>""")
    assert reason in body["message"] and "chase" in body["message"]


@pytest.mark.parametrize("cycle", ["0 0/5 * * * ?", "R/PT5M"])
def test_a_cycle_on_an_intermediate_catch_event_fires_once_at_its_first_instant(client, root, cycle):
    """A token passes a catch event once: as in Camunda, its cycle fires at its first instant and no
    job is left (a cycle keeps repeating only on start events, boundary events and event subprocesses)."""
    body = ('<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>'
            f'<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeCycle>{cycle}'
            '</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
            '<bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="check"/><bpmn:userTask id="check"/>'
            '<bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="e"/><bpmn:endEvent id="e"/>')
    assert deploy_bytes(client, "once.bpmn", process("cycle_once", body)).status_code == 200
    case = client.post("/process-definition/key/cycle_once/start", json={}).json()["id"]
    assert client.get("/job/count", params={"processInstanceId": case}).json()["count"] == 1
    assert client.get("/task", params={"processInstanceId": case}).json() == []
    assert root.post("/api/clock", json={"advance": "PT6M"}).status_code == 200
    assert client.get("/job/count", params={"processInstanceId": case}).json()["count"] == 0
    [task] = client.get("/task", params={"processInstanceId": case}).json()
    assert client.post(f"/task/{task['id']}/complete", json={}).status_code == 204
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"


def test_cycles_shorter_than_a_minute_run_and_skip_what_they_missed_as_camunda_does(client, root, service):
    body = ('<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
            '<bpmn:userTask id="t"/><bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>'
            '<bpmn:boundaryEvent id="poll" attachedToRef="t" cancelActivity="false"><bpmn:timerEventDefinition>'
            '<bpmn:timeCycle>R/PT10S</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
            '<bpmn:sequenceFlow id="f3" sourceRef="poll" targetRef="polled"/><bpmn:userTask id="polled"/>')
    assert deploy_bytes(client, "poll.bpmn", process("poll", body)).status_code == 200
    case = client.post("/process-definition/key/poll/start", json={}).json()["id"]
    root.post("/api/clock", json={"advance": "PT30S"}).raise_for_status()  # running: each firing on time
    assert open_tasks(client, case).count("polled") == 3
    # The service was down for an hour: one firing when it is back, the others skipped, the next 10 s on.
    service.clock.set(service.clock.now() + timedelta(hours=1, seconds=5))
    root.post("/api/clock", json={"advance": "PT0S"}).raise_for_status()
    assert open_tasks(client, case).count("polled") == 4
    [job] = client.get("/job", params={"processInstanceId": case}).json()
    assert job["dueDate"] == "2026-09-28T10:00:40.000+0800"
    # A cron every five seconds on a start event, as Camunda's examples poll.
    every_five = ('<bpmn:startEvent id="tick"><bpmn:timerEventDefinition><bpmn:timeCycle>0/5 * * * * ?'
                  '</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>'
                  '<bpmn:sequenceFlow id="f1" sourceRef="tick" targetRef="e"/><bpmn:endEvent id="e"/>')
    assert deploy_bytes(client, "tick.bpmn", process("tick", every_five)).status_code == 200
    service.clock.set(service.clock.now() + timedelta(hours=1))
    root.post("/api/clock", json={"advance": "PT0S"}).raise_for_status()
    ticks = client.get("/history/process-instance/count", params={"processDefinitionKey": "tick"}).json()
    assert ticks == {"count": 1}
    [job] = client.get("/job", params={"processDefinitionKey": "tick"}).json()
    assert job["dueDate"] == "2026-09-28T11:00:40.000+0800"

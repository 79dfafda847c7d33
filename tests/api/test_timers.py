"""Timers on the simulated clock: they fire when the clock reaches them, in due order, exactly once."""
from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

PUBLICITY = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="publicity" name="Publicity" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare_notice" />
    <bpmn:userTask id="prepare_notice" name="Prepare notice" camunda:candidateGroups="mee-sti" />
    <bpmn:sequenceFlow id="f2" sourceRef="prepare_notice" targetRef="publicity_period" />
    <bpmn:intermediateCatchEvent id="publicity_period" name="15 days">
      <bpmn:timerEventDefinition><bpmn:timeDuration>P15D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="publicity_period" targetRef="naming" />
    <bpmn:userTask id="naming" name="Naming" camunda:candidateGroups="mee-leaders" />
    <bpmn:boundaryEvent id="reminder" attachedToRef="naming" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration>P10D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="reminder" targetRef="chase" />
    <bpmn:userTask id="chase" name="Chase the naming" camunda:candidateGroups="mee-sti" />
    <bpmn:sequenceFlow id="f5" sourceRef="chase" targetRef="chased" />
    <bpmn:endEvent id="chased" />
    <bpmn:boundaryEvent id="naming_deadline" attachedToRef="naming">
      <bpmn:timerEventDefinition><bpmn:timeDuration>${namingPeriod}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f6" sourceRef="naming_deadline" targetRef="lapsed" />
    <bpmn:endEvent id="lapsed" />
    <bpmn:sequenceFlow id="f7" sourceRef="naming" targetRef="named" />
    <bpmn:endEvent id="named" />
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def clock_api(service):
    with httpx.Client(base_url=service.base_url, timeout=30) as http:
        yield http


def open_tasks(client, instance_id):
    return sorted(t["taskDefinitionKey"] for t in client.get("/task", params={"processInstanceId": instance_id}).json())


def test_publicity_waits_fifteen_days_then_naming_is_chased_and_lapses(client, clock_api):
    client.post("/deployment/create", data={"deployment-name": "publicity"},
                files=[("data", ("publicity.bpmn", PUBLICITY, "application/xml"))]).raise_for_status()
    instance = client.post("/process-definition/key/publicity/start", json={
        "variables": {"namingPeriod": {"value": "P30D"}}}).json()
    [task] = client.get("/task", params={"processInstanceId": instance["id"]}).json()
    started = datetime.fromisoformat(clock_api.get("/api/clock").json()["now"])
    client.post(f"/task/{task['id']}/complete", json={}).raise_for_status()

    [job] = client.get("/job", params={"processInstanceId": instance["id"], "timers": "true"}).json()
    due = datetime.fromisoformat(job["dueDate"])
    assert due - started == timedelta(days=15)

    assert clock_api.post("/api/clock", json={"advance": "P14D"}).json()["instancesAdvanced"] == 0
    assert open_tasks(client, instance["id"]) == []
    moved = clock_api.post("/api/clock", json={"advance": "P1D"}).json()
    assert moved["instancesAdvanced"] == 1
    assert open_tasks(client, instance["id"]) == ["naming"]

    # Ten days on, the non-interrupting reminder opens a chase task; the naming task stays open.
    clock_api.post("/api/clock", json={"advance": "P10D"}).raise_for_status()
    assert open_tasks(client, instance["id"]) == ["chase", "naming"]
    # At thirty days the interrupting deadline ends the naming task.
    clock_api.post("/api/clock", json={"advance": "P20D"}).raise_for_status()
    assert open_tasks(client, instance["id"]) == ["chase"]
    ends = client.get("/history/activity-instance", params={"processInstanceId": instance["id"],
                                                           "activityId": "lapsed"}).json()
    assert len(ends) == 1 and ends[0]["endTime"]
    canceled = client.get("/history/activity-instance", params={"processInstanceId": instance["id"],
                                                               "canceled": "true"}).json()
    assert "naming" in [a["activityId"] for a in canceled]


def test_clock_refuses_bad_moves(clock_api):
    assert clock_api.post("/api/clock", json={"advance": "fifteen days"}).status_code == 400
    assert clock_api.post("/api/clock", json={"advance": "P1D", "set": "2026-10-01T00:00:00+08:00"}).status_code == 400
    moved = clock_api.post("/api/clock", json={"set": "2026-10-01T09:00:00+08:00"}).json()
    assert moved["now"] == "2026-10-01T09:00:00.000+0800" and moved["mode"] == "simulated"

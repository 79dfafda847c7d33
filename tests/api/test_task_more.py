"""A user task throws a BPMN error (Camunda's handleBpmnError on a task) and a task of a process
instance cannot be deleted, over engine-rest."""
from __future__ import annotations

from sqlalchemy import select

from app.persistence.models import HistoryEvent
from tests.support.bpmn_text import process
from tests.support.http import deploy_bytes
from tests.support.service import ADMIN_AUTH

REVIEW = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:error id="incomplete" name="incomplete" errorCode="FILES_INCOMPLETE"
      camunda:errorMessage="${reason}" />
  <bpmn:process id="task_error" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" camunda:candidateGroups="reviewer" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="done" />
    <bpmn:endEvent id="done" />
    <bpmn:boundaryEvent id="caught" attachedToRef="review">
      <bpmn:errorEventDefinition errorRef="incomplete" camunda:errorCodeVariable="code"
          camunda:errorMessageVariable="why" />
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="caught" targetRef="supplement" />
    <bpmn:userTask id="supplement" />
    <bpmn:sequenceFlow id="f4" sourceRef="supplement" targetRef="end2" />
    <bpmn:endEvent id="end2" />
  </bpmn:process>
</bpmn:definitions>
"""


def start(client) -> tuple[str, str]:
    assert deploy_bytes(client, "task_error.bpmn", REVIEW).status_code == 200
    response = client.post("/process-definition/key/task_error/start", json={})
    assert response.status_code == 200, response.text
    instance = response.json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    return instance, task["id"]


def test_a_bpmn_error_from_a_user_task_takes_the_error_boundary_path(client, root, service):
    instance, task = start(client)
    assert client.post(f"/task/{task}/bpmnError", json={
        "errorCode": "FILES_INCOMPLETE", "errorMessage": "缺少环评报告",
        "variables": {"missing": {"value": 2, "type": "Integer"}}}).status_code == 204
    [after] = client.get("/task", params={"processInstanceId": instance}).json()
    assert after["taskDefinitionKey"] == "supplement"
    values = {name: v["value"] for name, v in client.get(f"/process-instance/{instance}/variables").json().items()}
    assert values == {"code": "FILES_INCOMPLETE", "why": "缺少环评报告", "missing": 2}
    [review] = client.get("/history/activity-instance", params={"processInstanceId": instance,
                                                               "activityId": "review"}).json()
    assert review["canceled"] is True and review["endTime"] is not None
    with service.services.db.read() as session:
        thrown = session.scalars(select(HistoryEvent).where(HistoryEvent.process_instance_id == instance,
                                                            HistoryEvent.kind == "task.bpmnError")).one()
    assert (thrown.user_id, thrown.payload["error_code"]) == (ADMIN_AUTH[0], "FILES_INCOMPLETE")
    assert client.get(f"/task/{task}").status_code == 404
    replay = root.get(f"/api/process-instances/{instance}/replay").json()
    assert replay["reproduced"] is True, replay


def test_an_error_no_boundary_catches_and_bad_requests_are_refused(client):
    instance, task = start(client)
    uncaught = client.post(f"/task/{task}/bpmnError", json={"errorCode": "OTHER"})
    assert uncaught.status_code == 400 and "OTHER" in uncaught.json()["message"]
    missing = client.post(f"/task/{task}/bpmnError", json={"errorMessage": "x"})
    assert missing.status_code == 400
    assert (missing.json()["type"], missing.json()["message"]) == ("InvalidRequestException", "errorCode is required")
    assert client.post(f"/task/{task}/bpmnError", json={"errorCode": 5}).status_code == 400
    unknown = client.post("/task/no-such-task/bpmnError", json={"errorCode": "FILES_INCOMPLETE"})
    assert unknown.status_code == 404
    [still] = client.get("/task", params={"processInstanceId": instance}).json()
    assert still["id"] == task


def test_a_task_of_a_process_instance_cannot_be_deleted(client):
    instance, task = start(client)
    refused = client.delete(f"/task/{task}")
    assert refused.status_code == 400
    assert (refused.json()["type"], refused.json()["message"]) == (
        "InvalidRequestException", "The task cannot be deleted because is part of a running process")
    assert client.get(f"/task/{task}").status_code == 200
    assert client.delete("/task/no-such-task").status_code == 404


def test_a_due_date_given_as_a_duration_counts_from_when_the_task_opens(client, root):
    # As Camunda's due date calendar reads a text starting with P: a period from now.
    deploy_bytes(client, "relative_due.bpmn", process("relative_due", """
      <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
      <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H
      </bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
      <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="review" />
      <bpmn:userTask id="review" camunda:dueDate="${answerWithin}" camunda:followUpDate="P1M" />
      <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />""")
                 ).raise_for_status()
    opened = root.get("/api/clock").json()
    started = client.post("/process-definition/key/relative_due/start",
                          json={"variables": {"answerWithin": {"value": "P2DT2H30M"}}})
    assert started.status_code == 200, started.text
    root.post("/api/clock", json={"advance": "PT1H"}).raise_for_status()
    [task] = client.get("/task", params={"processInstanceId": started.json()["id"]}).json()
    assert opened["now"].startswith("2026-09-28T09:00")
    assert task["due"] == "2026-09-30T12:30:00.000+0800"
    assert task["followUp"] == "2026-10-28T10:00:00.000+0800"
    # Months count on the official calendar: 05:00 on 31 January in Beijing is still 30 January in UTC.
    root.post("/api/clock", json={"set": "2027-01-31T05:00:00+08:00"}).raise_for_status()
    monthly = client.post("/process-definition/key/relative_due/start",
                          json={"variables": {"answerWithin": {"value": "P1M"}}})
    root.post("/api/clock", json={"advance": "PT1H"}).raise_for_status()
    [task] = client.get("/task", params={"processInstanceId": monthly.json()["id"]}).json()
    assert task["due"] == "2027-02-28T06:00:00.000+0800"
    # A text that is neither a date nor a duration stops the step that opens the task, saying why.
    deploy_bytes(client, "due_at_once.bpmn", process("due_at_once", """
      <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
      <bpmn:userTask id="review" camunda:dueDate="${answerWithin}" />""")).raise_for_status()
    refused = client.post("/process-definition/key/due_at_once/start",
                          json={"variables": {"answerWithin": {"value": "P2X"}}})
    assert refused.status_code == 400 and "'P2X' is not an ISO 8601 duration" in refused.json()["message"]

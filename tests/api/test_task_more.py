"""A user task throws a BPMN error (Camunda's handleBpmnError on a task) and a task of a process
instance cannot be deleted, over engine-rest."""
from __future__ import annotations

from sqlalchemy import select

from app.persistence.models import HistoryEvent
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

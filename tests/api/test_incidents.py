"""Incidents as operators handle them: a note on one, the refusal Camunda gives to resolving a
failed external task's incident by hand, and every incident kept in /history/incident, open,
resolved by new retries, or deleted with its case."""
from __future__ import annotations

import pytest

from app.access import accounts
from tests.support.bpmn_text import process
from tests.support.http import as_user, deploy_bytes

NOTICE = process("incident_case", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="publish" />
  <bpmn:serviceTask id="publish" camunda:type="external" camunda:topic="publish-notice" />
  <bpmn:sequenceFlow id="f2" sourceRef="publish" targetRef="end" /><bpmn:endEvent id="end" />""")


def _fail(client, instance_id: str) -> str:
    [locked] = client.post("/external-task/fetchAndLock", json={
        "workerId": "w1", "maxTasks": 1,
        "topics": [{"topicName": "publish-notice", "lockDuration": 60000, "processInstanceId": instance_id}]}).json()
    client.post(f"/external-task/{locked['id']}/failure", json={
        "workerId": "w1", "errorMessage": "website down", "retries": 0, "retryTimeout": 0}).raise_for_status()
    return locked["id"]


@pytest.fixture
def failed(service, client):
    deploy_bytes(client, "incident_case.bpmn", NOTICE).raise_for_status()
    instance = client.post("/process-definition/key/incident_case/start", json={}).json()["id"]
    task = _fail(client, instance)
    [incident] = client.get("/incident", params={"processInstanceId": instance}).json()
    return instance, task, incident["id"]


def test_an_operator_annotates_an_incident_and_the_case_records_it(service, client, root, failed):
    instance, _, incident = failed
    accounts.save_account(service.services, "ops", "ops-password", ["systems"])
    accounts.save_account(service.services, "li", "li-password", ["xj-env"])
    with as_user(service, "ops") as ops, as_user(service, "li") as li:
        assert ops.put(f"/incident/{incident}/annotation", json={"annotation": "门户网站维护，明日重试"}
                       ).status_code == 204
        assert li.put(f"/incident/{incident}/annotation", json={"annotation": "x"}).status_code == 403
    assert client.get(f"/incident/{incident}").json()["annotation"] == "门户网站维护，明日重试"
    assert client.put(f"/incident/{incident}/annotation", json={"annotation": "x" * 4001}).status_code == 400
    assert client.delete(f"/incident/{incident}/annotation").status_code == 204
    assert client.get(f"/incident/{incident}").json()["annotation"] is None
    events = root.get(f"/api/process-instances/{instance}/export").json()["events"]
    notes = [(event["userId"], event["payload"]["annotation"]) for event in events
             if event["kind"] == "incident.annotated"]
    assert notes == [("ops", "门户网站维护，明日重试"), ("test-admin", None)]
    assert client.put("/incident/unknown/annotation", json={"annotation": "x"}).status_code == 404


def test_a_failed_external_tasks_incident_is_not_resolved_by_hand(client, failed):
    _, _, incident = failed
    refused = client.delete(f"/incident/{incident}")
    assert refused.status_code == 400 and refused.json() == {
        "type": "BadUserRequestException", "message": "Cannot resolve an incident of type failedExternalTask",
        "code": 400}
    assert client.get(f"/incident/{incident}").json()["id"] == incident
    assert client.delete("/incident/unknown").status_code == 404


def test_the_history_keeps_every_incident_open_resolved_or_deleted(client, failed):
    instance, task, first = failed
    [open_one] = client.get("/history/incident", params={"open": "true"}).json()
    assert (open_one["id"], open_one["open"], open_one["resolved"], open_one["deleted"]) == (first, True, False, False)
    assert open_one["processDefinitionKey"] == "incident_case" and open_one["endTime"] is None
    client.put(f"/external-task/{task}/retries", json={"retries": 1}).raise_for_status()
    assert client.get("/incident").json() == []
    [resolved] = client.get("/history/incident", params={"resolved": "true"}).json()
    assert resolved["id"] == first and resolved["endTime"] is not None and resolved["open"] is False
    second = _fail(client, instance)
    assert second == task
    client.delete(f"/process-instance/{instance}").raise_for_status()
    [deleted] = client.get("/history/incident", params={"deleted": "true"}).json()
    assert deleted["id"] != first and deleted["deleted"] is True
    assert client.get("/history/incident/count", params={"processDefinitionKey": "incident_case"}).json() == {
        "count": 2}
    assert client.get("/history/incident/count", params={"processDefinitionKey": "other"}).json() == {"count": 0}
    assert client.get("/history/incident/count", params={"createTimeAfter": "2099-01-01T00:00:00.000+0800"}
                      ).json() == {"count": 0}

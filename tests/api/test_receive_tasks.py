"""Receive tasks without a message, as Camunda 7 runs them: the token waits in an execution that
GET /execution lists, until POST /execution/{id}/signal (Camunda's "Trigger Execution") moves it on
with the variables sent. An intermediate catch event without an event definition is refused at deploy."""
from __future__ import annotations

from app.access import accounts
from tests.support.bpmn_text import process
from tests.support.http import as_user, deploy, deploy_bytes, start
from tests.support.paths import FIXTURES

RECEIVE = FIXTURES / "constructs" / "receive_task.bpmn"


def open_tasks(client, instance: str) -> list[str]:
    return [task["taskDefinitionKey"] for task in client.get("/task", params={"processInstanceId": instance}).json()]


def test_a_receive_task_waits_until_its_execution_is_signalled(client, root):
    deploy(client, RECEIVE)
    case = start(client, "receive_task", "EIA-1").json()["id"]
    other = start(client, "receive_task", "EIA-2").json()["id"]
    assert open_tasks(client, case) == []
    [waiting] = client.get("/execution", params={"processInstanceId": case, "activityId": "paper_arrives"}).json()
    assert waiting["processInstanceId"] == case and waiting["ended"] is False and waiting["id"] != case
    assert client.get(f"/execution/{waiting['id']}").json() == waiting
    # The instance's own execution is listed too, as Camunda lists the process instance's.
    listed = {row["id"] for row in client.get("/execution", params={"processInstanceId": case}).json()}
    assert listed == {case, waiting["id"]}
    assert client.get("/execution/count", params={"activityId": "paper_arrives"}).json() == {"count": 2}

    signalled = client.post(f"/execution/{waiting['id']}/signal", json={"variables": {
        "pages": {"value": 42, "type": "Integer"}, "courier": {"value": "EMS", "type": "String"}}})
    assert signalled.status_code == 204, signalled.text
    assert open_tasks(client, case) == ["check_paper"]
    variables = client.get(f"/process-instance/{case}/variables").json()
    assert variables["pages"]["value"] == 42 and variables["courier"]["value"] == "EMS"
    assert client.get(f"/execution/{waiting['id']}").status_code == 404
    rows = client.get("/history/activity-instance", params={"processInstanceId": case, "activityId": "paper_arrives"}
                      ).json()
    assert [(row["activityType"], row["endTime"] is not None) for row in rows] == [("receiveTask", True)]
    # The other case still waits; the instance's own id names the execution of its only receive task.
    assert open_tasks(client, other) == []
    assert client.post(f"/execution/{other}/signal", json={}).status_code == 204
    assert open_tasks(client, other) == ["check_paper"]
    entries = root.get(f"/api/process-instances/{other}/timeline").json()
    assert ("trigger.received", "test-admin") in {(entry["kind"], entry["who"]) for entry in entries}
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"]


def test_signalling_what_does_not_wait_answers_as_camunda_does(client):
    deploy(client, RECEIVE)
    case = start(client, "receive_task").json()["id"]
    missing = client.post("/execution/no-such-execution/signal", json={})
    assert missing.status_code == 404 and missing.json()["type"] == "RestException"
    assert "no-such-execution" in missing.json()["message"]
    assert client.get("/execution/no-such-execution").status_code == 404
    [waiting] = client.get("/execution", params={"activityId": "paper_arrives"}).json()
    bad = client.post(f"/execution/{waiting['id']}/signal", json={"variables": {"pages": {"value": "many",
                                                                                            "type": "Integer"}}})
    assert bad.status_code == 400 and bad.json()["type"] == "InvalidRequestException"
    assert open_tasks(client, case) == []  # nothing moved
    client.post(f"/execution/{waiting['id']}/signal", json={}).raise_for_status()
    # Once it moved on, the instance has no receive task waiting: its id is no longer signalled.
    again = client.post(f"/execution/{case}/signal", json={})
    assert again.status_code == 400 and "no receive task" in again.json()["message"]


def test_an_intermediate_catch_event_without_an_event_definition_is_refused_at_deploy(client):
    xml = ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
           'id="d" targetNamespace="t"><bpmn:process id="refused" isExecutable="true"><bpmn:startEvent id="s"/>'
           '<bpmn:intermediateCatchEvent id="wait"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="wait"/>'
           '</bpmn:process></bpmn:definitions>')
    answer = deploy_bytes(client, "refused.bpmn", xml.encode())
    assert answer.status_code == 400, answer.text
    assert answer.json()["type"] == "ParseException"
    assert "'wait'" in answer.json()["message"] and "needs what it waits for" in answer.json()["message"]


def test_a_multi_instance_receive_task_waits_for_each_of_its_executions(client):
    body = ('<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="copies"/>'
            '<bpmn:receiveTask id="copies"><bpmn:multiInstanceLoopCharacteristics>'
            '<bpmn:loopCardinality>3</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:receiveTask>'
            '<bpmn:sequenceFlow id="f2" sourceRef="copies" targetRef="e"/><bpmn:endEvent id="e"/>')
    assert deploy_bytes(client, "copies.bpmn", process("three_copies", body)).status_code == 200
    case = start(client, "three_copies").json()["id"]
    waiting = client.get("/execution", params={"processInstanceId": case, "activityId": "copies"}).json()
    assert len(waiting) == 3
    for execution in waiting:
        assert client.get(f"/history/process-instance/{case}").json()["state"] == "ACTIVE"
        assert client.post(f"/execution/{execution['id']}/signal", json={}).status_code == 204
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"


def test_the_instances_execution_holds_the_cases_variables(service, client):
    deploy(client, RECEIVE)
    case = client.post("/process-definition/key/receive_task/start",
                       json={"variables": {"pages": {"value": 12}}}).json()["id"]
    [waiting] = client.get("/execution", params={"processInstanceId": case, "activityId": "paper_arrives"}).json()
    assert client.get(f"/execution/{case}/localVariables").json() == {
        "pages": {"type": "Integer", "value": 12, "valueInfo": {}}}
    assert client.put(f"/execution/{case}/localVariables/stamp", json={"value": "已盖章"}).status_code == 204
    assert client.post(f"/execution/{case}/localVariables",
                       json={"modifications": {"copies": {"value": 2}}, "deletions": ["pages"]}).status_code == 204
    assert client.delete(f"/execution/{case}/localVariables/copies").status_code == 204
    assert client.get(f"/execution/{case}/localVariables/stamp").json()["value"] == "已盖章"
    assert client.get(f"/execution/{case}/localVariables/copies").status_code == 404
    assert client.get(f"/process-instance/{case}/variables").json() == {
        "stamp": {"type": "String", "value": "已盖章", "valueInfo": {}}}
    # A waiting token keeps no variables of its own; an unknown execution is not found.
    token = client.get(f"/execution/{waiting['id']}/localVariables")
    assert token.status_code == 400 and "instance's execution" in token.json()["message"]
    assert client.get("/execution/nope/localVariables").status_code == 404
    # Setting them is setting the case's: for administrators, as PUT /process-instance/{id}/variables.
    accounts.save_account(service.services, "li", "li-password", ["xj-env"])
    with as_user(service, "li") as li:
        refused = li.put(f"/execution/{case}/localVariables/stamp", json={"value": "x"})
        assert refused.status_code == 403 and refused.json()["type"] == "AuthorizationException"

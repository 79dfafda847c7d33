"""Elements nobody works on, as Camunda runs them: a plain task and a manual task pass, a branch that
ends without an end event ends its token there, a link throw goes on at its catch, a message throw
without an implementation passes and a message end event with camunda:type="external" waits for its
worker. And what cannot run is refused at deploy, in words."""
from __future__ import annotations

from tests.support.http import deploy, deploy_bytes
from tests.support.paths import FIXTURES

PASSING = FIXTURES / "constructs" / "passing_elements.bpmn"


def test_a_case_runs_through_elements_nobody_works_on_to_its_worker_and_its_end(client):
    deploy(client, PASSING)
    started = client.post("/process-definition/key/passing_elements/start", json={})
    assert started.status_code == 200, started.text
    case = started.json()["id"]
    [review] = client.get("/task", params={"processInstanceId": case}).json()
    assert review["taskDefinitionKey"] == "review"
    assert client.post(f"/task/{review['id']}/complete", json={}).status_code == 204
    locked = client.post("/external-task/fetchAndLock", json={
        "workerId": "notifier", "maxTasks": 1, "topics": [{"topicName": "notify-applicant", "lockDuration": 60_000}]})
    [notice] = locked.json()
    assert notice["activityId"] == "notified" and notice["processInstanceId"] == case
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "ACTIVE"
    done = client.post(f"/external-task/{notice['id']}/complete", json={"workerId": "notifier"})
    assert done.status_code == 204, done.text
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    passed = {row["activityId"]: row["activityType"] for row in client.get(
        "/history/activity-instance", params={"processInstanceId": case, "maxResults": 100}).json()}
    assert passed == {"received": "startEvent", "split": "parallelGateway", "file_copy": "task",
                      "check_paper": "manualTask", "to_review": "intermediateNoneThrowEvent",
                      "at_review": "intermediateLinkCatch", "announce": "intermediateMessageThrowEvent",
                      "review": "userTask", "notified": "messageEndEvent"}


def refusal(client, body: str) -> dict:
    xml = ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
           'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">'
           f'<bpmn:process id="refused" isExecutable="true">{body}</bpmn:process></bpmn:definitions>')
    response = deploy_bytes(client, "refused.bpmn", xml.encode())
    assert response.status_code == 400, response.text
    return response.json()


def test_a_link_that_goes_nowhere_or_to_two_places_is_refused_naming_the_event(client):
    lost = refusal(client, '<bpmn:startEvent id="s"/><bpmn:intermediateThrowEvent id="jump">'
                           '<bpmn:linkEventDefinition name="nowhere"/></bpmn:intermediateThrowEvent>'
                           '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="jump"/>')
    assert "'jump'" in lost["message"] and "no link catch" in lost["message"]
    twice = refusal(client, '<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="a">'
                            '<bpmn:linkEventDefinition name="L"/></bpmn:intermediateCatchEvent>'
                            '<bpmn:intermediateCatchEvent id="b"><bpmn:linkEventDefinition name="L"/>'
                            '</bpmn:intermediateCatchEvent>')
    assert "'b'" in twice["message"] and "two link catch events" in twice["message"]


def test_a_message_throw_with_another_implementation_or_a_signal_throw_is_refused(client):
    connector = refusal(client, '<bpmn:startEvent id="s"/><bpmn:endEvent id="e">'
                                '<bpmn:messageEventDefinition camunda:type="connector"/></bpmn:endEvent>'
                                '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/>')
    assert "'e'" in connector["message"] and "external task" in connector["message"]
    signal = refusal(client, '<bpmn:startEvent id="s"/><bpmn:intermediateThrowEvent id="t">'
                             '<bpmn:signalEventDefinition signalRef="sig"/></bpmn:intermediateThrowEvent>'
                             '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t"/>')
    assert "'t'" in signal["message"] and "signal" in signal["message"]

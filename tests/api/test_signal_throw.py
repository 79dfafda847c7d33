"""Signals thrown by processes, as Camunda 7 runs them: a signal throw or end event broadcasts the
signal to every subscription of its name (the throwing instance's own waiting catches, every other
instance's, and the signal start events of the deployed definitions) in the same unit of work as the
step that threw it, with the actor of the command that set it off. A chain of instances that throw to
each other in a loop is refused and changes nothing."""
from __future__ import annotations

from tests.support.http import deploy, deploy_bytes, start
from tests.support.paths import FIXTURES

CONSTRUCTS = FIXTURES / "constructs"
SENDER, RECEIVER, STARTED, ECHO, AFTER_THROW = (
    CONSTRUCTS / f"signal_{name}.bpmn" for name in ("sender", "receiver", "started", "echo", "after_throw"))


def open_tasks(client, instance: str) -> list[str]:
    return sorted(task["taskDefinitionKey"] for task in client.get("/task", params={"processInstanceId": instance}).json())


def task_of(client, instance: str, key: str) -> dict:
    [task] = client.get("/task", params={"processInstanceId": instance, "taskDefinitionKey": key}).json()
    return task


def instances_of(client, key: str) -> list[str]:
    return [row["id"] for row in client.get("/process-instance", params={"processDefinitionKey": key}).json()]


def activity_types(client, instance: str) -> dict[str, str]:
    rows = client.get("/history/activity-instance", params={"processInstanceId": instance, "maxResults": 100}).json()
    return {row["activityId"]: row["activityType"] for row in rows}


def test_a_thrown_signal_reaches_the_own_instance_other_instances_and_signal_start_events(client, root):
    deploy(client, SENDER, RECEIVER, STARTED)
    receiver = start(client, "signal_receiver").json()["id"]
    sender = start(client, "signal_sender").json()["id"]
    assert open_tasks(client, receiver) == [] and open_tasks(client, sender) == ["prepare"]
    assert instances_of(client, "signal_started") == []

    done = client.post(f"/task/{task_of(client, sender, 'prepare')['id']}/complete", json={})
    assert done.status_code == 204, done.text

    # The sender goes on past its throw, and its own catch, waiting when the signal was thrown, got it.
    assert open_tasks(client, sender) == ["after_announce", "own_followup"]
    assert open_tasks(client, receiver) == ["react"]
    [reviewing] = instances_of(client, "signal_started")
    assert open_tasks(client, reviewing) == ["review_policy"]
    sent = activity_types(client, sender)
    assert sent["announce"] == "intermediateSignalThrow" and sent["own_catch"] == "intermediateSignalCatch"
    assert activity_types(client, receiver)["wait_policy"] == "intermediateSignalCatch"
    assert activity_types(client, reviewing)["on_policy"] == "signalStartEvent"
    # The instances the signal woke or started record the actor of the command that threw it.
    received = [entry for entry in root.get(f"/api/process-instances/{receiver}/timeline").json()
                if entry["kind"] == "signal.received"]
    assert [(entry["who"], entry["what"]) for entry in received] == [("test-admin", "收到信号：policy_changed")]
    started = root.get(f"/api/process-instances/{reviewing}/timeline").json()[0]
    assert started["kind"] == "process.started" and started["who"] == "test-admin"
    thrown = [entry for entry in root.get(f"/api/process-instances/{sender}/timeline").json()
              if entry["kind"] == "signal.thrown"]
    assert [(entry["who"], entry["what"]) for entry in thrown] == [("test-admin", "发出信号：policy_changed")]

    # A signal end event throws as it ends its instance: the receiver's boundary event takes over.
    done = client.post(f"/task/{task_of(client, reviewing, 'review_policy')['id']}/complete", json={})
    assert done.status_code == 204, done.text
    assert client.get(f"/history/process-instance/{reviewing}").json()["state"] == "COMPLETED"
    assert activity_types(client, reviewing)["announce_reviewed"] == "signalEndEvent"
    assert client.get(f"/history/process-instance/{receiver}").json()["state"] == "COMPLETED"
    closed = activity_types(client, receiver)
    assert closed["reviewed"] == "boundarySignal" and closed["end_closed"] == "noneEndEvent"
    assert "end_reacted" not in closed
    # The sender waited for nothing of that name: it is as it was.
    assert open_tasks(client, sender) == ["after_announce", "own_followup"]
    # Every woken case replays from its record to the same state.
    for instance in (sender, receiver, reviewing):
        replayed = root.get(f"/api/process-instances/{instance}/replay").json()
        assert replayed["reproduced"], replayed


def test_a_catch_reached_after_the_throw_does_not_receive_it(client):
    deploy(client, AFTER_THROW, RECEIVER)
    waiting = start(client, "signal_receiver").json()["id"]
    thrower = start(client, "signal_after_throw").json()["id"]
    # As in Camunda, the signal reaches what waited when it was thrown, not the thrower's next catch.
    assert open_tasks(client, waiting) == ["react"]
    assert open_tasks(client, thrower) == []
    assert activity_types(client, thrower) == {"start": "startEvent", "announce": "intermediateSignalThrow",
                                               "wait_next": "intermediateSignalCatch"}
    # The next signal of the name moves it on.
    client.post("/signal", json={"name": "policy_changed"}).raise_for_status()
    assert open_tasks(client, thrower) == ["react"]


def test_instances_that_throw_to_each_other_in_a_loop_are_refused_and_nothing_changes(client):
    deploy(client, ECHO)
    answer = client.post("/signal", json={"name": "echo"})
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["type"] == "ProcessEngineException" and "loop" in body["message"] and "'echo'" in body["message"]
    assert instances_of(client, "signal_echo") == []
    assert client.get("/history/process-instance", params={"processDefinitionKey": "signal_echo"}).json() == []


def test_a_signal_thrown_in_a_tenants_instance_reaches_that_tenant_and_no_other(client):
    for tenant in ("zj", "js"):
        deployed = client.post("/deployment/create", data={"deployment-name": tenant, "tenant-id": tenant},
                               files=[("data", (path.name, path.read_bytes(), "application/octet-stream"))
                                      for path in (SENDER, RECEIVER)])
        assert deployed.status_code == 200, deployed.text
    receivers = {}
    for tenant in ("zj", "js"):
        answer = client.post(f"/process-definition/key/signal_receiver/tenant-id/{tenant}/start", json={})
        assert answer.status_code == 200, answer.text
        receivers[tenant] = answer.json()["id"]
    sender = client.post("/process-definition/key/signal_sender/tenant-id/zj/start", json={}).json()["id"]
    client.post(f"/task/{task_of(client, sender, 'prepare')['id']}/complete", json={}).raise_for_status()
    assert open_tasks(client, receivers["zj"]) == ["react"]
    assert open_tasks(client, receivers["js"]) == []


REFUSED_THROWS = {
    "a signal throw naming no signal": (
        '<bpmn:startEvent id="s"/><bpmn:intermediateThrowEvent id="t"><bpmn:signalEventDefinition signalRef="nothing"/>'
        '</bpmn:intermediateThrowEvent><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t"/>', "needs a signalRef"),
    "a payload mapping that is not understood": (
        '<bpmn:startEvent id="s"/><bpmn:intermediateThrowEvent id="t"><bpmn:signalEventDefinition signalRef="sig">'
        '<bpmn:extensionElements><camunda:in variables="some"/></bpmn:extensionElements></bpmn:signalEventDefinition>'
        '</bpmn:intermediateThrowEvent><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t"/>', "variables=\"all\""),
    "a payload mapping without a target": (
        '<bpmn:startEvent id="s"/><bpmn:intermediateThrowEvent id="t"><bpmn:signalEventDefinition signalRef="sig">'
        '<bpmn:extensionElements><camunda:in source="x"/></bpmn:extensionElements></bpmn:signalEventDefinition>'
        '</bpmn:intermediateThrowEvent><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t"/>', "needs a target"),
}


def test_a_signal_throw_that_cannot_be_broadcast_is_refused_at_deploy(client):
    for body, words in REFUSED_THROWS.values():
        xml = ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
               'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">'
               f'<bpmn:process id="refused" isExecutable="true">{body}</bpmn:process>'
               '<bpmn:signal id="sig" name="alert"/></bpmn:definitions>')
        answer = deploy_bytes(client, "refused.bpmn", xml.encode())
        assert answer.status_code == 400, answer.text
        assert answer.json()["type"] == "ParseException" and "'t'" in answer.json()["message"]
        assert words in answer.json()["message"]


PAYLOAD = CONSTRUCTS / "signal_payload.bpmn"


def variables_of(client, instance: str) -> dict:
    return {name: value["value"] for name, value in client.get(f"/process-instance/{instance}/variables").json().items()}


def historic_names(client, instance: str) -> set[str]:
    rows = client.get("/history/variable-instance", params={"processInstanceId": instance}).json()
    return {row["name"] for row in rows}


def test_a_thrown_signal_carries_the_variables_and_business_key_its_camunda_in_mappings_give(client, root):
    """Camunda's signal payload: `camunda:in` on the throw's signalEventDefinition (source/target,
    sourceExpression, businessKey) gives each receiver those variables, and the instances a signal
    start event starts that business key; `variables="all" local="true"` on a signal end event passes
    its own input parameters, which never become the thrower's variables."""
    deploy(client, PAYLOAD, RECEIVER, STARTED)
    receiver = start(client, "signal_receiver").json()["id"]
    sender = start(client, "signal_payload_sender", "POLICY-9", policyNo="环-2026-7", level=2).json()["id"]
    done = client.post(f"/task/{task_of(client, sender, 'prepare')['id']}/complete", json={})
    assert done.status_code == 204, done.text

    assert open_tasks(client, receiver) == ["react"]
    assert variables_of(client, receiver) == {"changedPolicy": "环-2026-7", "nextLevel": 3}
    [reviewing] = client.get("/process-instance", params={"processDefinitionKey": "signal_started"}).json()
    assert reviewing["businessKey"] == "POLICY-9"
    assert variables_of(client, reviewing["id"]) == {"changedPolicy": "环-2026-7", "nextLevel": 3}

    done = client.post(f"/task/{task_of(client, sender, 'archive')['id']}/complete", json={})
    assert done.status_code == 204, done.text
    # The end event's signal ended the receiver through its boundary event, bringing only the end
    # event's own variable; the sender ended without it.
    assert client.get(f"/history/process-instance/{receiver}").json()["state"] == "COMPLETED"
    assert historic_names(client, receiver) == {"changedPolicy", "nextLevel", "closingNote"}
    assert client.get(f"/history/process-instance/{sender}").json()["state"] == "COMPLETED"
    assert historic_names(client, sender) == {"policyNo", "level"}
    for instance in (sender, receiver, reviewing["id"]):
        assert root.get(f"/api/process-instances/{instance}/replay").json()["reproduced"] is True


def test_camunda_in_on_a_signal_catch_is_refused_at_deploy_in_plain_words(client):
    text = STARTED.read_text().replace(
        '<bpmn:signalEventDefinition id="SignalStart_policy" signalRef="Signal_policy_changed" />',
        '<bpmn:signalEventDefinition id="SignalStart_policy" signalRef="Signal_policy_changed"><bpmn:extensionElements>'
        '<camunda:in source="a" target="b" /></bpmn:extensionElements></bpmn:signalEventDefinition>')
    response = deploy_bytes(client, "catch.bpmn", text.encode())
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "ParseException" and "on_policy" in response.json()["message"]

"""Suspension (挂起) as Camunda 7 does it: a suspended case keeps its tokens where they are (no task
handed on or completed, no external task fetched, no message or signal delivered, no timer fired)
until it is activated; a suspended process starts no case. Every change is recorded with who made it."""
from __future__ import annotations

import httpx
import pytest

from app.access import accounts
from tests.support.http import as_user, deploy
from tests.support.paths import FIXTURES

SUSPENSION = FIXTURES / "constructs" / "suspension.bpmn"
KEY = "suspendable_review"
TOPIC = {"topicName": "publish-review", "lockDuration": 60_000}


@pytest.fixture
def definition_id(client) -> str:
    [definition] = deploy(client, SUSPENSION)["deployedProcessDefinitions"].values()
    return definition["id"]


def start(client, business_key: str) -> str:
    response = client.post(f"/process-definition/key/{KEY}/start", json={"businessKey": business_key})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def suspend(client, instance_id: str, suspended: bool = True) -> None:
    response = client.put(f"/process-instance/{instance_id}/suspended", json={"suspended": suspended})
    assert response.status_code == 204, response.text


def open_tasks(client, instance_id: str) -> list[str]:
    return sorted(task["taskDefinitionKey"] for task in client.get("/task", params={"processInstanceId": instance_id}).json())


def fetch(client, worker: str = "publisher") -> list[dict]:
    response = client.post("/external-task/fetchAndLock", json={"workerId": worker, "maxTasks": 5, "topics": [TOPIC]})
    assert response.status_code == 200, response.text
    return response.json()


def refused_as_suspended(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "SuspendedEntityInteractionException"
    assert "suspended" in response.json()["message"]


def test_a_suspended_case_keeps_its_tokens_until_it_is_activated(client, root, definition_id):
    instance = start(client, "SUS-1")
    [review] = client.get("/task", params={"processInstanceId": instance}).json()
    suspend(client, instance)

    assert client.get(f"/process-instance/{instance}").json()["suspended"] is True
    assert client.get(f"/task/{review['id']}").json()["suspended"] is True
    [external] = client.get("/external-task", params={"processInstanceId": instance}).json()
    assert external["suspended"] is True
    [job] = client.get("/job", params={"processInstanceId": instance}).json()
    assert job["suspended"] is True
    assert client.get(f"/history/process-instance/{instance}").json()["state"] == "SUSPENDED"

    # Nothing moves its tokens: no claim, hand-over or completion, no fetch, no message.
    refused_as_suspended(client.post(f"/task/{review['id']}/claim", json={"userId": "wang"}))
    refused_as_suspended(client.post(f"/task/{review['id']}/assignee", json={"userId": "wang"}))
    refused_as_suspended(client.post(f"/task/{review['id']}/delegate", json={"userId": "wang"}))
    refused_as_suspended(client.post(f"/task/{review['id']}/complete", json={}))
    assert fetch(client) == []
    message = client.post("/message", json={"messageName": "materials_received", "businessKey": "SUS-1"})
    assert message.status_code == 400 and "No process definition or execution matches" in message.json()["message"]
    # Its review timer falls due while it is suspended: it waits.
    moved = root.post("/api/clock", json={"advance": "PT2H"}).json()
    assert moved["instancesAdvanced"] == 0
    assert open_tasks(client, instance) == ["review"]
    assert client.get(f"/task/{review['id']}").json()["assignee"] is None
    # Its data may still change.
    changed = client.put(f"/process-instance/{instance}/variables/note", json={"value": "待补正", "type": "String"})
    assert changed.status_code == 204

    suspend(client, instance, False)
    assert client.get(f"/process-instance/{instance}").json()["suspended"] is False
    assert client.get(f"/history/process-instance/{instance}").json()["state"] == "ACTIVE"
    # The timer that fell due fires at the worker's next round; the rest goes on as before.
    assert root.post("/api/clock", json={"advance": "PT1S"}).json()["instancesAdvanced"] == 1
    assert open_tasks(client, instance) == ["escalate"]
    [locked] = fetch(client)
    assert locked["processInstanceId"] == instance and locked["suspended"] is False
    assert client.post(f"/external-task/{locked['id']}/complete", json={"workerId": "publisher"}).status_code == 204
    assert client.post("/message", json={"messageName": "materials_received", "businessKey": "SUS-1"}
                       ).status_code == 204
    assert client.get("/variable-instance", params={"processInstanceIdIn": instance, "variableName": "note"}
                      ).json()[0]["value"] == "待补正"

    log = client.get("/history/user-operation", params={"processInstanceId": instance}).json()
    changes = [(e["userId"], e["entityType"], e["operationType"], e["property"], e["newValue"]) for e in log
               if e["operationType"] in ("Suspend", "Activate")]
    assert changes == [("test-admin", "ProcessInstance", "Suspend", "suspensionState", "suspended"),
                       ("test-admin", "ProcessInstance", "Activate", "suspensionState", "active")]
    timeline = [entry["kind"] for entry in root.get(f"/api/process-instances/{instance}/timeline").json()]
    assert timeline.index("process.suspended") < timeline.index("process.activated") < timeline.index("timer.fired")
    assert root.get("/api/history/verify").json()["intact"] is True
    replayed = root.get(f"/api/process-instances/{instance}/replay")
    assert replayed.status_code == 200 and replayed.json()["reproduced"] is True, replayed.text


def test_a_worker_holding_a_lock_cannot_report_on_a_suspended_case(client, definition_id):
    instance = start(client, "SUS-2")
    [locked] = fetch(client)
    suspend(client, instance)
    refused_as_suspended(client.post(f"/external-task/{locked['id']}/complete", json={"workerId": "publisher"}))
    refused_as_suspended(client.post(f"/external-task/{locked['id']}/failure", json={
        "workerId": "publisher", "errorMessage": "网站不可用", "retries": 1, "retryTimeout": 0}))
    refused_as_suspended(client.post(f"/external-task/{locked['id']}/bpmnError", json={
        "workerId": "publisher", "errorCode": "SITE_DOWN"}))
    suspend(client, instance, False)
    assert client.post(f"/external-task/{locked['id']}/complete", json={"workerId": "publisher"}).status_code == 204
    assert client.get("/external-task", params={"processInstanceId": instance}).json() == []


def test_a_suspended_process_starts_no_case_and_takes_its_cases_along_when_asked(client, root, definition_id):
    running = start(client, "SUS-3")
    response = client.put(f"/process-definition/{definition_id}/suspended", json={"suspended": True})
    assert response.status_code == 204, response.text
    assert client.get(f"/process-definition/{definition_id}").json()["suspended"] is True
    refused_as_suspended(client.post(f"/process-definition/key/{KEY}/start", json={}))
    refused_as_suspended(client.post(f"/process-definition/{definition_id}/start", json={}))
    # Its running case goes on.
    assert client.get(f"/process-instance/{running}").json()["suspended"] is False
    [review] = client.get("/task", params={"processInstanceId": running}).json()
    assert client.post(f"/task/{review['id']}/claim", json={"userId": "wang"}).status_code == 204

    response = client.put(f"/process-definition/key/{KEY}/suspended",
                          json={"suspended": True, "includeProcessInstances": True})
    assert response.status_code == 204, response.text
    assert client.get(f"/process-instance/{running}").json()["suspended"] is True
    refused_as_suspended(client.post(f"/task/{review['id']}/complete", json={}))

    response = client.put(f"/process-definition/{definition_id}/suspended",
                          json={"suspended": False, "includeProcessInstances": True, "executionDate": None})
    assert response.status_code == 204, response.text
    assert client.get(f"/process-instance/{running}").json()["suspended"] is False
    assert client.get(f"/process-definition/{definition_id}").json()["suspended"] is False
    assert client.post(f"/task/{review['id']}/complete", json={}).status_code == 204
    start(client, "SUS-4")

    events = [(e["kind"], e["subject"], e["userId"], e["payload"]["include_process_instances"], e["payload"]["instances"])
              for e in root.get("/api/history/admin-events").json() if e["kind"].startswith("definition.")]
    subject = f"process-definition:{definition_id}"
    assert events == [("definition.suspended", subject, "test-admin", False, 0),
                      ("definition.suspended", subject, "test-admin", True, 1),
                      ("definition.activated", subject, "test-admin", True, 1)]
    log = client.get("/history/user-operation", params={"processInstanceId": running, "operationType": "Suspend"})
    assert [entry["userId"] for entry in log.json()] == ["test-admin"]


def test_messages_and_signals_pass_a_suspended_case_and_process_by(client):
    deploy(client, FIXTURES / "events" / "enterprise_listed.bpmn")

    def listed(code: str) -> httpx.Response:
        return client.post("/message", json={"messageName": "enterprise_listed", "businessKey": code,
                                              "processVariables": {"enterprise": {"value": code}},
                                              "resultEnabled": True})

    instance = listed("E1").json()[0]["processInstance"]["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    client.post(f"/task/{task['id']}/complete", json={}).raise_for_status()
    suspend(client, instance)
    assert client.post("/signal", json={"name": "policy_changed"}).status_code == 204
    assert client.get(f"/history/process-instance/{instance}").json()["state"] == "SUSPENDED"
    suspend(client, instance, False)
    assert client.post("/signal", json={"name": "policy_changed"}).status_code == 204
    assert client.get(f"/history/process-instance/{instance}").json()["state"] == "COMPLETED"

    # A suspended process's message start event starts nothing.
    client.put("/process-definition/key/mandatory_audit/suspended", json={"suspended": True}).raise_for_status()
    refused = listed("E2")
    assert refused.status_code == 400 and "No process definition or execution matches" in refused.json()["message"]
    client.put("/process-definition/key/mandatory_audit/suspended", json={"suspended": False}).raise_for_status()
    assert listed("E2").status_code == 200


def test_a_suspended_case_s_receive_task_is_not_triggered(client):
    deploy(client, FIXTURES / "constructs" / "receive_task.bpmn")
    instance = client.post("/process-definition/key/receive_task/start", json={}).json()["id"]
    suspend(client, instance)
    refused_as_suspended(client.post(f"/execution/{instance}/signal", json={}))
    suspend(client, instance, False)
    assert client.post(f"/execution/{instance}/signal", json={}).status_code == 204
    assert open_tasks(client, instance) == ["check_paper"]


def test_variables_set_while_suspended_reach_the_conditional_events_on_activation(client, root):
    deploy(client, FIXTURES / "constructs" / "conditional_events.bpmn")
    instance = client.post("/process-definition/key/conditional_events/start", json={"variables": {
        "score": {"value": 0}, "urgent": {"value": False}, "withdrawn": {"value": False}}}).json()["id"]
    suspend(client, instance)
    client.put(f"/process-instance/{instance}/variables/urgent", json={"value": True}).raise_for_status()
    assert open_tasks(client, instance) == ["assess"]
    suspend(client, instance, False)
    assert open_tasks(client, instance) == ["assess", "expedite"]
    # Activating again changes nothing: the condition did not become true again.
    suspend(client, instance)
    suspend(client, instance, False)
    assert open_tasks(client, instance) == ["assess", "expedite"]
    replayed = root.get(f"/api/process-instances/{instance}/replay")
    assert replayed.status_code == 200 and replayed.json()["reproduced"] is True, replayed.text


def test_a_suspended_case_may_be_deleted(client, definition_id):
    instance = start(client, "SUS-D")
    suspend(client, instance)
    assert client.delete(f"/process-instance/{instance}").status_code == 204
    assert client.get(f"/history/process-instance/{instance}").json()["state"] == "EXTERNALLY_TERMINATED"
    assert client.get("/task", params={"processInstanceId": instance}).json() == []
    assert client.put(f"/process-instance/{instance}/suspended", json={"suspended": False}).status_code == 404


def test_lists_filter_by_suspension_state(client, definition_id):
    active, suspended = start(client, "SUS-A"), start(client, "SUS-S")
    suspend(client, suspended)

    def ids(path: str, field: str = "processInstanceId", **params) -> list[str]:
        return sorted(row[field] for row in client.get(path, params={"processDefinitionKey": KEY, **params}).json())

    assert ids("/process-instance", "id", suspended="true") == [suspended]
    assert ids("/process-instance", "id", active="true") == [active]
    assert ids("/process-instance", "id") == sorted([active, suspended])
    assert client.get("/process-instance/count", params={"suspended": "true"}).json() == {"count": 1}
    assert client.post("/process-instance", json={"active": True}).json()[0]["id"] == active
    assert ids("/task", suspended="true") == [suspended]
    assert ids("/task", active="true") == [active]
    assert ids("/external-task", suspended="true") == [suspended]
    assert ids("/external-task", active="true") == [active]
    assert ids("/history/process-instance", "id", state="SUSPENDED") == [suspended]
    assert ids("/history/process-instance", "id", state="ACTIVE") == [active]
    assert ids("/history/process-instance", "id", suspended="true") == [suspended]
    assert client.get("/process-definition", params={"suspended": "true"}).json() == []
    client.put(f"/process-definition/{definition_id}/suspended", json={"suspended": True}).raise_for_status()
    assert [d["id"] for d in client.get("/process-definition", params={"suspended": "true"}).json()] == [definition_id]
    assert client.get("/process-definition", params={"active": "true"}).json() == []
    assert client.get("/task", params={"suspended": "maybe"}).status_code == 400


def test_cases_are_suspended_together_by_process_or_by_list(client, definition_id):
    first, second, third = (start(client, f"SUS-{n}") for n in "123")

    def states() -> list[bool]:
        return [client.get(f"/process-instance/{i}").json()["suspended"] for i in (first, second, third)]

    by_key = client.put("/process-instance/suspended", json={"processDefinitionKey": KEY, "suspended": True,
                                                              "processDefinitionWithoutTenantId": True})
    assert by_key.status_code == 204, by_key.text
    assert states() == [True, True, True]
    by_ids = client.put("/process-instance/suspended", json={"processInstanceIds": [first, third], "suspended": False})
    assert by_ids.status_code == 204, by_ids.text
    assert states() == [False, True, False]
    by_id = client.put("/process-instance/suspended", json={"processDefinitionId": definition_id, "suspended": False})
    assert by_id.status_code == 204, by_id.text
    assert states() == [False, False, False]
    # One unknown case in the list: nothing changes.
    unknown = client.put("/process-instance/suspended", json={"processInstanceIds": [first, "unknown"],
                                                               "suspended": True})
    assert unknown.status_code == 404
    assert states() == [False, False, False]
    # Every version of the key, with their cases.
    every = client.put("/process-definition/suspended", json={"processDefinitionKey": KEY, "suspended": True,
                                                               "includeProcessInstances": True})
    assert every.status_code == 204, every.text
    assert states() == [True, True, True]
    assert client.get(f"/process-definition/{definition_id}").json()["suspended"] is True


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/process-instance/{instance}/suspended", {}, 400),
    ("/process-instance/{instance}/suspended", {"suspended": "yes"}, 400),
    ("/process-instance/unknown/suspended", {"suspended": True}, 404),
    ("/process-instance/suspended", {"suspended": True}, 400),
    ("/process-instance/suspended", {"processDefinitionId": "{definition}", "processDefinitionKey": KEY,
                                     "suspended": True}, 400),
    ("/process-instance/suspended", {"processInstanceIds": ["{instance}"], "processDefinitionKey": KEY,
                                     "suspended": True}, 400),
    ("/process-instance/suspended", {"processInstanceQuery": {"businessKey": "SUS-X"}, "suspended": True}, 400),
    ("/process-instance/suspended", {"processInstanceIds": "{instance}", "suspended": 1}, 400),
    ("/process-instance/suspended", {"processDefinitionKey": "unknown", "suspended": True}, 404),
    ("/process-definition/{definition}/suspended", {"includeProcessInstances": True}, 400),
    ("/process-definition/{definition}/suspended", {"suspended": True, "executionDate": "2999-01-01T00:00:00.000+0800"},
     400),
    ("/process-definition/{definition}/suspended", {"suspended": True, "executionDate": "tomorrow"}, 400),
    ("/process-definition/{definition}/suspended", {"suspended": True, "includeProcessInstances": "maybe"}, 400),
    ("/process-definition/unknown/suspended", {"suspended": True}, 404),
    ("/process-definition/key/unknown/suspended", {"suspended": True}, 404),
    ("/process-definition/suspended", {"suspended": True}, 400),
])
def test_bad_requests_are_refused_and_change_nothing(client, definition_id, path, body, status):
    instance = start(client, "SUS-X")
    fill = {"{instance}": instance, "{definition}": definition_id}
    for placeholder, value in fill.items():
        path = path.replace(placeholder, value)
    body = {key: fill.get(value, value) if isinstance(value, str) else value for key, value in body.items()}
    response = client.put(path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["type"] == ("InvalidRequestException" if status == 400 else "RestException")
    assert client.get(f"/process-instance/{instance}").json()["suspended"] is False
    assert client.get(f"/process-definition/{definition_id}").json()["suspended"] is False
    assert client.get("/history/user-operation", params={"operationType": "Suspend"}).json() == []


def test_only_administrators_suspend_or_activate(service, client, definition_id):
    accounts.save_account(service.services, "wang", "wang-password", ["reviewers"])
    instance = start(client, "SUS-6")
    with as_user(service, "wang") as official:
        for path in (f"/process-instance/{instance}/suspended", "/process-instance/suspended",
                     f"/process-definition/{definition_id}/suspended", f"/process-definition/key/{KEY}/suspended"):
            response = official.put(path, json={"suspended": True, "processDefinitionKey": KEY})
            assert response.status_code == 403, (path, response.text)
            assert response.json()["type"] == "AuthorizationException"
    assert client.get(f"/process-instance/{instance}").json()["suspended"] is False
    assert client.get(f"/process-definition/{definition_id}").json()["suspended"] is False


def test_a_suspended_case_is_not_moved_by_a_modification_or_a_return(client, definition_id):
    instance = start(client, "SUS-MOD")
    [review] = client.get("/task", params={"processInstanceId": instance}).json()
    suspend(client, instance)
    refused_as_suspended(client.post(f"/process-instance/{instance}/modification", json={
        "instructions": [{"type": "cancel", "activityInstanceId": review["id"]}]}))
    refused_as_suspended(client.post(f"../api/tasks/{review['id']}/return",
                                     json={"targetActivityId": review["taskDefinitionKey"], "opinion": "退回"}))
    assert [t["id"] for t in client.get("/task", params={"processInstanceId": instance}).json()] == [review["id"]]

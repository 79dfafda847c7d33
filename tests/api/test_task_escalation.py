"""A user task escalates (Camunda's handleEscalation, POST /task/{id}/bpmnEscalation): the escalation
boundary event or event subprocess catching the code takes over, interrupting the task or beside it as
drawn; recorded in the case's history and replayed. An escalation nothing catches changes nothing."""
from __future__ import annotations

from sqlalchemy import select

from app.persistence.models import HistoryEvent
from tests.support.http import deploy
from tests.support.paths import FIXTURES
from tests.support.service import ADMIN_AUTH

PROCESS = FIXTURES / "rest" / "task_escalation.bpmn"


def start(client) -> tuple[str, str]:
    deploy(client, PROCESS)
    response = client.post("/process-definition/key/task_escalation/start", json={})
    assert response.status_code == 200, response.text
    instance = response.json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    return instance, task["id"]


def open_tasks(client, instance: str) -> set[str]:
    return {task["taskDefinitionKey"] for task in client.get("/task", params={"processInstanceId": instance}).json()}


def values(client, instance: str) -> dict:
    return {name: v["value"] for name, v in client.get(f"/process-instance/{instance}/variables").json().items()}


def escalate(client, task: str, code: str, **variables):
    return client.post(f"/task/{task}/bpmnEscalation", json={
        "escalationCode": code, "variables": {name: {"value": value} for name, value in variables.items()}})


def test_an_interrupting_escalation_boundary_event_takes_the_task_over(client, root, service):
    instance, task = start(client)
    assert escalate(client, task, "FILES_MISSING", missing="环评报告").status_code == 204
    assert open_tasks(client, instance) == {"supplement"}
    assert client.get(f"/task/{task}").status_code == 404
    assert values(client, instance) == {"escalated": "FILES_MISSING", "missing": "环评报告"}
    [review] = client.get("/history/activity-instance", params={"processInstanceId": instance,
                                                               "activityId": "review"}).json()
    assert review["canceled"] is True
    with service.services.db.read() as session:
        event = session.scalars(select(HistoryEvent).where(HistoryEvent.process_instance_id == instance,
                                                           HistoryEvent.kind == "task.escalation")).one()
    assert (event.user_id, event.payload["escalation_code"]) == (ADMIN_AUTH[0], "FILES_MISSING")
    said = [entry["what"] for entry in root.get(f"/api/process-instances/{instance}/timeline").json()]
    assert "上报：审查材料" in said
    assert root.get(f"/api/process-instances/{instance}/replay").json()["reproduced"] is True


def test_a_non_interrupting_escalation_leaves_the_task_open_beside_its_path(client, root):
    instance, task = start(client)
    assert escalate(client, task, "RUNNING_LATE").status_code == 204
    assert open_tasks(client, instance) == {"review", "inform_lead"}
    assert escalate(client, task, "RUNNING_LATE").status_code == 204  # it goes on listening
    informs = [t for t in client.get("/task", params={"processInstanceId": instance}).json()
               if t["taskDefinitionKey"] == "inform_lead"]
    assert len(informs) == 2
    assert client.post(f"/task/{task}/complete", json={}).status_code == 204
    assert open_tasks(client, instance) == {"inform_lead"}
    assert root.get(f"/api/process-instances/{instance}/replay").json()["reproduced"] is True


def test_an_escalation_event_subprocess_catches_what_no_boundary_event_does(client, root):
    instance, task = start(client)
    assert escalate(client, task, "TO_DIRECTOR").status_code == 204
    assert open_tasks(client, instance) == {"director_decides"}
    assert values(client, instance)["escalated"] == "TO_DIRECTOR"
    [decide] = client.get("/task", params={"processInstanceId": instance}).json()
    assert client.post(f"/task/{decide['id']}/complete", json={}).status_code == 204
    assert client.get(f"/history/process-instance/{instance}").json()["state"] == "COMPLETED"
    assert root.get(f"/api/process-instances/{instance}/replay").json()["reproduced"] is True


def test_an_escalation_nothing_catches_is_refused_and_changes_nothing(client, service):
    instance, task = start(client)
    uncaught = escalate(client, task, "UNKNOWN_CODE", note="x")
    assert uncaught.status_code == 400
    assert (uncaught.json()["type"], uncaught.json()["message"]) == (
        "ProcessEngineException", "ENGINE-01043 Execution with id 'review' throws an escalation event with "
                                  "escalationCode 'UNKNOWN_CODE', but no escalation handler was defined. ")
    assert open_tasks(client, instance) == {"review"} and "note" not in values(client, instance)
    with service.services.db.read() as session:
        assert not session.scalars(select(HistoryEvent).where(HistoryEvent.kind == "task.escalation")).all()
    missing = client.post(f"/task/{task}/bpmnEscalation", json={})
    assert (missing.status_code, missing.json()["message"]) == (400, "escalationCode is null")
    blank = client.post(f"/task/{task}/bpmnEscalation", json={"escalationCode": " "})
    assert (blank.status_code, blank.json()["message"]) == (400, "escalationCode is empty")
    assert client.post(f"/task/{task}/bpmnEscalation", json={"escalationCode": 7}).status_code == 400
    assert escalate(client, "no-such-task", "FILES_MISSING").status_code == 404


def test_only_those_who_may_work_on_the_task_escalate_it(client, service):
    from app.access import accounts

    instance, task = start(client)
    accounts.save_account(service.services, "outsider", "outsider-password", ["xj-urumqi-env"])
    response = client.post(f"/task/{task}/bpmnEscalation", json={"escalationCode": "FILES_MISSING"},
                           auth=("outsider", "outsider-password"))
    assert response.status_code == 403
    assert open_tasks(client, instance) == {"review"}


def test_an_escalation_from_inside_a_subprocess_reaches_the_scopes_around_it(client, root):
    deploy(client, FIXTURES / "constructs" / "event_subprocess_escalations.bpmn")
    instance = client.post("/process-definition/key/esp_escalations/start", json={}).json()["id"]
    [inspect] = [task for task in client.get("/task", params={"processInstanceId": instance}).json()
                 if task["taskDefinitionKey"] == "inspect_site"]
    before = [task["taskDefinitionKey"] for task in client.get("/task", params={"processInstanceId": instance}).json()]
    assert sorted(before) == ["inform_applicant", "inform_applicant", "inspect_site"]
    # The boundary event on the subprocess catches it, beside the task; then the process's event subprocess.
    assert escalate(client, inspect["id"], "INSPECTION_DELAYED").status_code == 204
    after = [task["taskDefinitionKey"] for task in client.get("/task", params={"processInstanceId": instance}).json()]
    assert sorted(after) == ["inform_applicant", "inform_applicant", "inform_applicant", "inspect_site"]
    assert escalate(client, inspect["id"], "LEADERSHIP").status_code == 204
    assert "supervise" in open_tasks(client, instance) and "inspect_site" in open_tasks(client, instance)
    assert root.get(f"/api/process-instances/{instance}/replay").json()["reproduced"] is True


def test_a_code_or_message_too_long_to_keep_is_refused_first_and_not_echoed(client):
    instance, task = start(client)
    huge = "E" * 1_000_000
    for path, body in ((f"/task/{task}/bpmnEscalation", {"escalationCode": huge}),
                       ("/task/no-such-task/bpmnEscalation", {"escalationCode": "E" * 256}),
                       (f"/task/{task}/bpmnError", {"errorCode": huge}),
                       (f"/task/{task}/bpmnError", {"errorCode": "E", "errorMessage": huge}),
                       ("/external-task/no-such-task/bpmnError", {"workerId": "w", "errorCode": huge})):
        answer = client.post(path, json=body)
        assert answer.status_code == 400, (path, answer.text[:200])
        assert answer.json()["type"] == "InvalidRequestException" and len(answer.text) < 300, answer.text[:300]
        assert "more than" in answer.json()["message"]
    assert open_tasks(client, instance) == {"review"}
    uncaught = escalate(client, task, "E" * 255)
    assert uncaught.status_code == 400 and uncaught.json()["type"] == "ProcessEngineException"

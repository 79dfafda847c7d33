"""Only the right authority acts: tasks are worked by their candidates and assignee, processes are
started by the groups they name, deployments by designers, messages and external tasks by systems,
and everything else that changes a case by administrators. A refusal is Camunda's 403
AuthorizationException and changes nothing."""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from app.access import accounts
from app.persistence.models import HistoryEvent, ProcessInstance
from tests.support.bpmn_text import process
from tests.support.http import deploy_bytes

REVIEW = process("review_case", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review" name="审查" camunda:candidateGroups="xj-urumqi-env" camunda:candidateUsers="wang" />
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />""").replace(
    b'<bpmn:process id="review_case" isExecutable="true">',
    b'<bpmn:process id="review_case" isExecutable="true" camunda:candidateStarterGroups="enterprises">')
OPEN = process("open_case", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end" />
  <bpmn:endEvent id="end" />""")

ACCOUNTS = {"urumqi": ["xj-urumqi-env"], "kashgar": ["xj-kashgar-env"], "wang": [], "firm": ["enterprises"],
            "designer": ["designers"], "system": ["systems"]}


@pytest.fixture
def signed(service, client):
    for user, groups in ACCOUNTS.items():
        accounts.save_account(service.services, user, f"{user}-password", groups)
    deploy_bytes(client, "review.bpmn", REVIEW).raise_for_status()
    deploy_bytes(client, "open.bpmn", OPEN).raise_for_status()
    opened = []

    def as_user(user: str) -> httpx.Client:
        http = httpx.Client(base_url=f"{service.base_url}/engine-rest", auth=(user, f"{user}-password"), timeout=30)
        opened.append(http)
        return http

    yield as_user
    for http in opened:
        http.close()


def refused(response: httpx.Response, permission: str, resource_type: str) -> bool:
    body = response.json()
    return (response.status_code == 403 and body["type"] == "AuthorizationException"
            and body["missingAuthorizations"][0]["permissionName"] == permission
            and body["missingAuthorizations"][0]["resourceName"] == resource_type and body["userId"])


def test_a_process_is_started_by_the_groups_it_names(signed, client):
    assert refused(signed("urumqi").post("/process-definition/key/review_case/start", json={}),
                   "CREATE_INSTANCE", "ProcessDefinition")
    assert client.get("/process-instance/count").json() == {"count": 0}
    started = signed("firm").post("/process-definition/key/review_case/start", json={"businessKey": "C-1"})
    assert started.status_code == 200
    assert signed("kashgar").post("/process-definition/key/open_case/start", json={}).status_code == 200
    history = client.get("/history/process-instance", params={"processInstanceBusinessKey": "C-1"}).json()
    assert history[0]["startUserId"] == "firm"


def test_a_task_is_worked_by_its_candidates_and_assignee_only(signed, client, service):
    instance = signed("firm").post("/process-definition/key/review_case/start", json={}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    for user in ("kashgar", "firm", "designer"):
        assert refused(signed(user).post(f"/task/{task['id']}/complete", json={}), "UPDATE", "Task")
        assert refused(signed(user).post(f"/task/{task['id']}/claim", json={"userId": user}), "UPDATE", "Task")
    assert client.get(f"/task/{task['id']}").json()["assignee"] is None  # nothing changed
    assert signed("wang").post(f"/task/{task['id']}/claim", json={"userId": "wang"}).status_code == 204
    assert signed("urumqi").post(f"/task/{task['id']}/complete", json={}).status_code == 204
    with service.services.db.read() as session:
        done = session.scalars(select(HistoryEvent).where(HistoryEvent.process_instance_id == instance,
                                                          HistoryEvent.kind.in_(("task.claimed", "task.completed")))
                               .order_by(HistoryEvent.sequence)).all()
        assert [(event.kind, event.user_id) for event in done] == [("task.claimed", "wang"),
                                                                    ("task.completed", "urumqi")]
        assert session.get(ProcessInstance, instance).status == "COMPLETED"


@pytest.mark.parametrize(("method", "path", "permission", "resource_type", "allowed"), [
    ("post", "/deployment/create", "CREATE", "Deployment", "designer"),
    ("post", "/message", "CREATE", "Message", "system"),
    ("post", "/signal", "CREATE", "Message", "system"),
    ("post", "/external-task/fetchAndLock", "UPDATE", "ExternalTask", "system"),
    ("post", "/external-task/some-task/complete", "UPDATE", "ExternalTask", "system"),
    ("delete", "/process-instance/some-instance", "UPDATE", "ProcessInstance", None),
    ("post", "/process-instance/some-instance/variables", "UPDATE", "ProcessInstance", None),
    ("put", "/process-instance/some-instance/variables/x", "UPDATE", "ProcessInstance", None),
])
def test_roles_guard_their_commands(signed, method, path, permission, resource_type, allowed):
    for user in ACCOUNTS:
        answer = signed(user).request(method, path, json={} if method != "delete" else None)
        if user == allowed:
            assert answer.status_code != 403, (user, answer.text)
        else:
            assert refused(answer, permission, resource_type), (user, answer.status_code, answer.text)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", "/api/clock", {"advance": "P1D"}), ("put", "/api/calendar/2026", {"notice": "x", "days": []}),
    ("put", "/api/parks/JS-01/standing", {}), ("post", "/api/experts", {}), ("post", "/api/expert-draws", {})])
def test_the_clock_calendar_and_registers_are_changed_by_administrators(service, signed, root, method, path, body):
    signed("urumqi")  # the accounts exist
    with httpx.Client(base_url=service.base_url, auth=("urumqi", "urumqi-password"), timeout=30) as official:
        assert official.request(method, path, json=body).status_code == 403
    assert root.request(method, path, json=body).status_code != 403


def test_the_user_operation_log_shows_who_gave_which_command_to_those_who_may_read_the_case(signed, client):
    instance = signed("firm").post("/process-definition/key/review_case/start", json={}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    assert signed("wang").post(f"/task/{task['id']}/claim", json={"userId": "wang"}).status_code == 204
    assert signed("wang").post(f"/task/{task['id']}/complete", json={}).status_code == 204
    log = client.get("/history/user-operation", params={"processInstanceId": instance}).json()
    assert [(entry["userId"], entry["entityType"], entry["operationType"], entry["newValue"]) for entry in log] == [
        ("firm", "ProcessInstance", "Create", None), ("wang", "Task", "Claim", "wang"),
        ("wang", "Task", "Complete", None)]
    assert log[1]["taskId"] == task["id"] and log[1]["category"] == "TaskWorker"
    assert client.get("/history/user-operation/count", params={"operationType": "Complete",
                                                               "processInstanceId": instance}).json() == {"count": 1}
    assert signed("kashgar").get("/history/user-operation", params={"processInstanceId": instance}).json() == []


def test_variable_changes_and_deletions_name_the_administrator_who_made_them(service, signed, client):
    accounts.save_account(service.services, "operator", "operator-password", ["admins"])
    instance = signed("firm").post("/process-definition/key/review_case/start", json={}).json()["id"]
    operator = signed("operator")
    assert operator.put(f"/process-instance/{instance}/variables/note",
                        json={"value": "补正", "type": "String"}).status_code == 204
    assert operator.post(f"/process-instance/{instance}/variables",
                         json={"modifications": {"size": {"value": 3}}, "deletions": ["note"]}).status_code == 204
    assert operator.delete(f"/process-instance/{instance}/variables/size").status_code == 204
    assert operator.delete(f"/process-instance/{instance}", params={"deleteReason": "撤回申请"}).status_code == 204
    log = client.get("/history/user-operation", params={"processInstanceId": instance}).json()
    assert [(entry["userId"], entry["operationType"]) for entry in log] == [
        ("firm", "Create"), ("operator", "ModifyVariable"), ("operator", "ModifyVariable"),
        ("operator", "ModifyVariable"), ("operator", "Delete")]

"""驳回 (return a case to an earlier step its diagram allows, with a mandatory opinion) and 撤回 (take
back a completed task while the next step is untouched), over the service's API beside engine-rest."""
from __future__ import annotations

import httpx
import pytest

from app.access import accounts
from tests.support.bpmn_text import process, properties
from tests.support.history import verify
from tests.support.http import as_user, deploy, deploy_bytes
from tests.support.paths import FIXTURES

PERMIT = FIXTURES / "constructs" / "return_and_withdraw.bpmn"
OFFICIALS = {"wang": ["applicants"], "li": ["reviewers"], "sun": ["reviewers"], "zhao": ["approvers"]}


@pytest.fixture
def officials(service):
    for user, groups in OFFICIALS.items():
        accounts.save_account(service.services, user, f"{user}-password", groups)
    clients = {user: as_user(service, user) for user in OFFICIALS}
    yield clients
    for http in clients.values():
        http.close()


@pytest.fixture
def case(client, officials) -> str:
    deploy(client, PERMIT)
    response = client.post("/process-definition/key/permit_review/start", json={"businessKey": "PW-2026-7"})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def api(engine: httpx.Client) -> httpx.Client:
    """The same official on the service's own API (/api) instead of engine-rest."""
    return httpx.Client(base_url=engine.base_url.copy_with(path="/"), auth=engine.auth, timeout=30)


def only_task(client: httpx.Client, instance_id: str) -> dict:
    [task] = client.get("/task", params={"processInstanceId": instance_id}).json()
    return task


def complete(official: httpx.Client, client: httpx.Client, instance_id: str, key: str) -> str:
    task = only_task(client, instance_id)
    assert task["taskDefinitionKey"] == key
    response = official.post(f"/task/{task['id']}/complete", json={})
    assert response.status_code == 204, response.text
    return task["id"]


def return_to(official: httpx.Client, task_id: str, **body) -> httpx.Response:
    with api(official) as http:
        return http.post(f"/api/tasks/{task_id}/return", json=body)


def withdraw(official: httpx.Client, task_id: str, **body) -> httpx.Response:
    with api(official) as http:
        return http.post(f"/api/tasks/{task_id}/withdraw", json=body)


def rows(client: httpx.Client, instance_id: str, activity_id: str) -> list[dict]:
    return client.get("/history/activity-instance", params={"processInstanceId": instance_id,
                                                            "activityId": activity_id}).json()


def test_a_reviewer_returns_the_case_to_the_applicant_with_an_opinion(client, root, officials, case):
    wang, li = officials["wang"], officials["li"]
    complete(wang, client, case, "submit")
    review = only_task(client, case)
    assert client.get("/job", params={"processInstanceId": case}).json() != []  # the review's deadline
    response = return_to(li, review["id"], targetActivityId="submit", opinion="排污口位置图缺失，请补正。")
    assert response.status_code == 200, response.text
    again = only_task(client, case)
    assert again["taskDefinitionKey"] == "submit" and response.json()["openedTaskId"] == again["id"]
    assert client.get(f"/task/{review['id']}").status_code == 404
    assert client.get("/job", params={"processInstanceId": case}).json() == []
    [cancelled] = rows(client, case, "review")
    assert cancelled["canceled"] is True
    [comment] = client.get(f"/task/{review['id']}/comment").json()
    assert comment["message"] == "排污口位置图缺失，请补正。" and comment["userId"] == "li"
    said = [(entry["who"], entry["what"]) for entry in root.get(f"/api/process-instances/{case}/timeline").json()]
    assert ("li", "驳回至：提交材料") in said and ("li", "签署意见（初审）：排污口位置图缺失，请补正。") in said
    # Supplemented, the case goes the drawn way again.
    complete(wang, client, case, "submit")
    assert only_task(client, case)["taskDefinitionKey"] == "review"
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True
    assert verify(root, case)["intact"] is True


def test_a_return_goes_only_to_a_step_the_diagram_allows_and_the_case_has_passed(client, officials, case):
    wang, li, zhao = officials["wang"], officials["li"], officials["zhao"]
    complete(wang, client, case, "submit")
    review = only_task(client, case)
    refused = return_to(li, review["id"], targetActivityId="received", opinion="退回")
    assert refused.status_code == 400 and "may not return the case to 'received'" in refused.json()["message"]
    for body, says in [({"targetActivityId": "submit"}, "'opinion' is required"),
                       ({"targetActivityId": "submit", "opinion": "  "}, "'opinion' is required"),
                       ({"opinion": "退回"}, "'targetActivityId' is required")]:
        response = return_to(li, review["id"], **body)
        assert response.status_code == 400 and says in response.json()["message"], response.text
    # Somebody who may not work the task may not return it.
    denied = return_to(zhao, review["id"], targetActivityId="submit", opinion="退回")
    assert denied.status_code == 403 and denied.json()["type"] == "AuthorizationException"
    assert only_task(client, case)["id"] == review["id"]
    # A case moved straight to the approval has never passed through the review.
    moved = client.post(f"/process-instance/{case}/modification", json={"instructions": [
        {"type": "cancel", "activityId": "review"}, {"type": "startBeforeActivity", "activityId": "approve"}]})
    assert moved.status_code == 204, moved.text
    approve = only_task(client, case)
    unpassed = return_to(zhao, approve["id"], targetActivityId="review", opinion="重新初审")
    assert unpassed.status_code == 400 and "has not passed through 'review'" in unpassed.json()["message"]
    passed = return_to(zhao, approve["id"], targetActivityId="submit", opinion="重新提交")
    assert passed.status_code == 200, passed.text
    assert only_task(client, case)["taskDefinitionKey"] == "submit"


def test_the_applicant_withdraws_a_submission_nobody_has_touched(client, root, officials, case):
    wang = officials["wang"]
    submitted = complete(wang, client, case, "submit")
    review = only_task(client, case)
    assert withdraw(officials["li"], submitted).status_code == 403  # only who completed it
    response = withdraw(wang, submitted, reason="附件传错")
    assert response.status_code == 200, response.text
    again = only_task(client, case)
    assert again["taskDefinitionKey"] == "submit" and again["id"] == response.json()["openedTaskId"]
    assert again["id"] != submitted and again["assignee"] == "wang"
    assert client.get(f"/task/{review['id']}").status_code == 404
    [cancelled] = rows(client, case, "review")
    assert cancelled["canceled"] is True
    assert withdraw(wang, again["id"]).status_code == 400  # an open task is not withdrawn
    complete(wang, client, case, "submit")
    assert only_task(client, case)["taskDefinitionKey"] == "review"
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True
    assert verify(root, case)["intact"] is True


def test_returned_to_a_task_with_a_deadline_the_deadline_waits_again(client, root, officials, case):
    wang, li, zhao = officials["wang"], officials["li"], officials["zhao"]
    complete(wang, client, case, "submit")
    complete(li, client, case, "review")
    assert client.get("/job", params={"processInstanceId": case}).json() == []
    approve = only_task(client, case)
    response = return_to(zhao, approve["id"], targetActivityId="review", opinion="核算依据不足，请重新初审。")
    assert response.status_code == 200, response.text
    assert only_task(client, case)["taskDefinitionKey"] == "review"
    # The boundary timer listens again from the new review's start: ten days from now.
    [deadline] = client.get("/job", params={"processInstanceId": case, "activityId": "review_overdue"}).json()
    assert deadline["dueDate"].startswith("2026-10-08T09:00:00")
    complete(li, client, case, "review")
    complete(zhao, client, case, "approve")
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True


@pytest.mark.parametrize("next_step", ["claimed", "completed"])
def test_a_completion_is_not_withdrawn_once_the_next_step_was_taken_up(client, officials, case, next_step):
    wang, li = officials["wang"], officials["li"]
    submitted = complete(wang, client, case, "submit")
    review = only_task(client, case)
    if next_step == "claimed":
        assert li.post(f"/task/{review['id']}/claim", json={"userId": "li"}).status_code == 204
    else:
        complete(li, client, case, "review")
    before = only_task(client, case)
    response = withdraw(wang, submitted, reason="附件传错")
    assert response.status_code == 400 and "can no longer be withdrawn" in response.json()["message"]
    assert only_task(client, case)["id"] == before["id"]
    assert withdraw(wang, "no-such-task").status_code == 404


JOINT = process("joint_permit", f"""
  <bpmn:startEvent id="received" /><bpmn:sequenceFlow id="f1" sourceRef="received" targetRef="submit" />
  <bpmn:userTask id="submit" camunda:candidateGroups="applicants" />
  <bpmn:sequenceFlow id="f2" sourceRef="submit" targetRef="sign" />
  <bpmn:userTask id="sign" name="会签" camunda:candidateGroups="reviewers">{properties(returnTargets="submit")}
    <bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>3</bpmn:loopCardinality>
    </bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>
  <bpmn:sequenceFlow id="f3" sourceRef="sign" targetRef="done" /><bpmn:endEvent id="done" />""")


def test_one_department_returning_a_joint_signature_withdraws_the_whole_of_it(client, officials):
    """会签: a return by one signer cancels the other signers' open tasks; the case is at the step
    returned to, and signs anew from there."""
    deploy_bytes(client, "joint.bpmn", JOINT).raise_for_status()
    instance = client.post("/process-definition/key/joint_permit/start", json={}).json()["id"]
    complete(officials["wang"], client, instance, "submit")
    first, second, _third = client.get("/task", params={"processInstanceId": instance}).json()
    officials["li"].post(f"/task/{first['id']}/complete", json={}).raise_for_status()
    response = return_to(officials["sun"], second["id"], targetActivityId="submit", opinion="附件不全，请补正")
    assert response.status_code == 200, response.text
    assert [task["taskDefinitionKey"] for task in client.get("/task", params={"processInstanceId": instance}).json()] == [
        "submit"]
    complete(officials["wang"], client, instance, "submit")
    assert len(client.get("/task", params={"processInstanceId": instance}).json()) == 3

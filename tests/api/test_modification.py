"""Camunda's process instance modification over engine-rest: the activity instance tree of a running
case, and instructions that cancel activity instances and start tokens before or after activities,
applied in order as one step that the case's history records and replay reproduces."""
from __future__ import annotations

import httpx

from app.access import accounts
from tests.support.history import verify
from tests.support.http import as_user, deploy
from tests.support.paths import FIXTURES

SCOPES = FIXTURES / "constructs" / "modification_scopes.bpmn"
JOINT_REVIEW = FIXTURES / "constructs" / "joint_review.bpmn"


def start(client: httpx.Client) -> str:
    deploy(client, SCOPES)
    response = client.post("/process-definition/key/inspection_case/start", json={"businessKey": "JC-1"})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def open_tasks(client: httpx.Client, instance_id: str) -> list[dict]:
    return client.get("/task", params={"processInstanceId": instance_id}).json()


def complete_only_task(client: httpx.Client, instance_id: str, key: str, **variables) -> str:
    [task] = open_tasks(client, instance_id)
    assert task["taskDefinitionKey"] == key
    response = client.post(f"/task/{task['id']}/complete",
                           json={"variables": {name: {"value": value} for name, value in variables.items()}})
    assert response.status_code == 204, response.text
    return task["id"]


def modify(client: httpx.Client, instance_id: str, *instructions: dict, **extra) -> httpx.Response:
    return client.post(f"/process-instance/{instance_id}/modification",
                       json={"instructions": list(instructions), "skipCustomListeners": True, **extra})


def activity_rows(client: httpx.Client, instance_id: str, activity_id: str) -> list[dict]:
    return client.get("/history/activity-instance", params={"processInstanceId": instance_id,
                                                            "activityId": activity_id}).json()


def replayed(root: httpx.Client, instance_id: str) -> dict:
    return root.get(f"/api/process-instances/{instance_id}/replay").json()


def test_the_activity_instance_tree_shows_the_subprocess_and_the_task_inside_it(client):
    case = start(client)
    complete_only_task(client, case, "register")
    [task] = open_tasks(client, case)
    tree = client.get(f"/process-instance/{case}/activity-instances").json()
    definition_id = client.get(f"/process-instance/{case}").json()["definitionId"]
    assert tree["id"] == case and tree["parentActivityInstanceId"] is None
    assert tree["activityId"] == definition_id and tree["activityType"] == "processDefinition"
    assert tree["activityName"] == "现场检查（流程修改）" and tree["processInstanceId"] == case
    assert tree["childTransitionInstances"] == [] and tree["executionIds"] == [case]
    [materials] = tree["childActivityInstances"]
    assert (materials["activityId"], materials["activityType"], materials["activityName"]) == (
        "materials", "subProcess", "材料审查")
    assert materials["parentActivityInstanceId"] == case and materials["processDefinitionId"] == definition_id
    [check] = materials["childActivityInstances"]
    # A user task's activity instance is the task's id, as its historic activity instance is.
    assert check["id"] == task["id"] and check["activityId"] == "check_documents"
    assert check["parentActivityInstanceId"] == materials["id"] and check["childActivityInstances"] == []
    assert check["incidentIds"] == [] and check["incidents"] == []
    missing = client.get("/process-instance/no-such-case/activity-instances")
    assert missing.status_code == 404 and missing.json()["type"] == "RestException"


def test_cancel_and_start_before_returns_the_case_to_an_earlier_task(client, root):
    case = start(client)
    first_register = complete_only_task(client, case, "register")
    [check] = open_tasks(client, case)
    response = modify(client, case, {"type": "cancel", "activityId": "materials"},
                      {"type": "startBeforeActivity", "activityId": "register"}, annotation="登记信息有误，重新登记")
    assert response.status_code == 204, response.text
    [again] = open_tasks(client, case)
    assert again["taskDefinitionKey"] == "register" and again["id"] != first_register
    assert client.get(f"/task/{check['id']}").status_code == 404
    [checked] = activity_rows(client, case, "check_documents")
    assert checked["canceled"] is True and checked["endTime"]
    [scope] = activity_rows(client, case, "materials")
    assert scope["canceled"] is True
    assert len(activity_rows(client, case, "register")) == 2
    [logged] = client.get("/history/user-operation", params={"processInstanceId": case,
                                                             "operationType": "ModifyProcessInstance"}).json()
    assert logged["entityType"] == "ProcessInstance" and logged["userId"] == "test-admin"
    # The case goes on from there as drawn.
    complete_only_task(client, case, "register")
    complete_only_task(client, case, "check_documents")
    assert [task["taskDefinitionKey"] for task in open_tasks(client, case)] == ["check_site"]
    assert replayed(root, case)["reproduced"] is True
    assert verify(root, case)["intact"] is True


def test_start_after_an_activity_with_variables_takes_its_outgoing_flow(client, root):
    case = start(client)
    [register] = open_tasks(client, case)
    response = modify(client, case, {"type": "startAfterActivity", "activityId": "decide",
                                     "variables": {"penalize": {"value": True, "type": "Boolean"}}},
                      {"type": "cancel", "activityInstanceId": register["id"]})
    assert response.status_code == 204, response.text
    # The gateway after 'decide' reads the instruction's variable.
    [penalty] = open_tasks(client, case)
    assert penalty["taskDefinitionKey"] == "penalty"
    assert client.get(f"/process-instance/{case}/variables/penalize").json()["value"] is True
    assert activity_rows(client, case, "decide") == []
    [cancelled] = activity_rows(client, case, "register")
    assert cancelled["canceled"] is True
    complete_only_task(client, case, "penalty")
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    assert replayed(root, case)["reproduced"] is True


def test_start_before_an_activity_inside_the_running_subprocess_in_the_given_order(client, root):
    case = start(client)
    complete_only_task(client, case, "register")
    [check] = open_tasks(client, case)
    # Starting first keeps the subprocess running when its only task is then cancelled.
    response = modify(client, case, {"type": "startBeforeActivity", "activityId": "check_site"},
                      {"type": "cancel", "activityInstanceId": check["id"]})
    assert response.status_code == 204, response.text
    [site] = open_tasks(client, case)
    assert site["taskDefinitionKey"] == "check_site"
    [materials] = client.get(f"/process-instance/{case}/activity-instances").json()["childActivityInstances"]
    assert [child["activityId"] for child in materials["childActivityInstances"]] == ["check_site"]
    complete_only_task(client, case, "check_site")
    assert [task["taskDefinitionKey"] for task in open_tasks(client, case)] == ["decide"]
    [scope] = activity_rows(client, case, "materials")
    assert scope["canceled"] is False and scope["endTime"]
    assert replayed(root, case)["reproduced"] is True


def test_start_before_an_activity_of_a_finished_subprocess_starts_the_subprocess_again(client, root):
    case = start(client)
    complete_only_task(client, case, "register")
    complete_only_task(client, case, "check_documents")
    complete_only_task(client, case, "check_site")
    [decide] = open_tasks(client, case)
    response = modify(client, case, {"type": "cancel", "activityInstanceId": decide["id"]},
                      {"type": "startBeforeActivity", "activityId": "check_site"})
    assert response.status_code == 204, response.text
    [materials] = client.get(f"/process-instance/{case}/activity-instances").json()["childActivityInstances"]
    assert materials["activityId"] == "materials"
    assert [child["activityId"] for child in materials["childActivityInstances"]] == ["check_site"]
    # The subprocess runs from the started activity: its start event and first task do not run again.
    assert len(activity_rows(client, case, "check_documents")) == 1
    assert len(activity_rows(client, case, "materials_start")) == 1
    complete_only_task(client, case, "check_site")
    complete_only_task(client, case, "decide", penalize=False)
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    assert len(activity_rows(client, case, "materials")) == 2
    assert replayed(root, case)["reproduced"] is True
    assert verify(root, case)["intact"] is True


def test_cancelling_the_last_token_ends_the_case_as_camunda_does(client, root):
    case = start(client)
    response = modify(client, case, {"type": "cancel", "activityId": "register"})
    assert response.status_code == 204, response.text
    assert client.get(f"/process-instance/{case}").status_code == 404
    historic = client.get(f"/history/process-instance/{case}").json()
    assert historic["state"] == "EXTERNALLY_TERMINATED"
    assert historic["deleteReason"] == "Cancellation due to process instance modification"
    assert open_tasks(client, case) == []
    assert replayed(root, case)["reproduced"] is True
    assert verify(root, case)["intact"] is True


def test_instructions_that_cannot_be_carried_out_are_refused_and_change_nothing(client):
    case = start(client)
    [register] = open_tasks(client, case)
    refusals = [
        ({"type": "startBeforeActivity", "activityId": "nowhere"},
         "Cannot perform instruction: Start before activity 'nowhere'; Activity 'nowhere' does not exist"),
        ({"type": "startAfterActivity", "activityId": "penalty_needed"}, "more than one outgoing sequence flow"),
        ({"type": "startTransition", "transitionId": "g99"}, "Transition 'g99' does not exist"),
        ({"type": "cancel", "activityInstanceId": "no-such-instance"},
         "Activity instance 'no-such-instance' does not exist"),
        ({"type": "cancel", "activityId": "nowhere"}, "Activity 'nowhere' does not exist"),
        ({"type": "startBeforeActivity", "activityId": "g5"}, "Activity 'g5' does not exist"),
        ({"type": "startBeforeActivity"}, "For instruction type 'startBeforeActivity': 'activityId' must be set"),
        ({"type": "moveToken", "activityId": "decide"}, "Instruction type 'moveToken' is not supported"),
        ({"type": "cancel"}, "exactly one"),
    ]
    for instruction, says in refusals:
        # The valid first instruction is undone with the refused one: one step, all or nothing.
        response = modify(client, case, {"type": "cancel", "activityInstanceId": register["id"]}, instruction)
        assert response.status_code == 400, (instruction, response.text)
        assert response.json()["type"] == "InvalidRequestException" and says in response.json()["message"]
    assert [task["id"] for task in open_tasks(client, case)] == [register["id"]]
    assert activity_rows(client, case, "register")[0]["canceled"] is False
    assert modify(client, case).status_code == 400


def test_a_multi_instance_activity_is_started_as_its_body(client):
    deploy(client, JOINT_REVIEW)
    body = {"variables": {"departments": {"value": '["xj-eco-env"]', "type": "Json"},
                          "experts": {"value": '["expert-wang", "expert-li"]', "type": "Json"},
                          "rejected": {"value": False}}}
    case = client.post("/process-definition/key/joint_review/start", json=body).json()["id"]
    refused = modify(client, case, {"type": "startBeforeActivity", "activityId": "first_expert"})
    assert refused.status_code == 400 and "first_expert#multiInstanceBody" in refused.json()["message"]
    response = modify(client, case, {"type": "cancel", "activityId": "countersign#multiInstanceBody"},
                      {"type": "startBeforeActivity", "activityId": "first_expert#multiInstanceBody"})
    assert response.status_code == 204, response.text
    assert sorted(task["assignee"] for task in open_tasks(client, case)) == ["expert-li", "expert-wang"]
    [body_node] = client.get(f"/process-instance/{case}/activity-instances").json()["childActivityInstances"]
    assert (body_node["activityId"], body_node["activityType"]) == ("first_expert#multiInstanceBody",
                                                                   "multiInstanceBody")
    assert [child["activityId"] for child in body_node["childActivityInstances"]] == ["first_expert"] * 2
    [countersign] = activity_rows(client, case, "countersign")
    assert countersign["canceled"] is True


def test_only_administrators_modify_and_only_readers_see_the_tree(service, client):
    accounts.save_account(service.services, "clerk-li", "clerk-li-password", ["clerks"])
    accounts.save_account(service.services, "outsider", "outsider-password", ["xj-drc"])
    case = start(client)
    with as_user(service, "clerk-li") as clerk:
        assert clerk.get(f"/process-instance/{case}/activity-instances").status_code == 200
        refused = clerk.post(f"/process-instance/{case}/modification",
                             json={"instructions": [{"type": "cancel", "activityId": "register"}]})
        assert refused.status_code == 403 and refused.json()["type"] == "AuthorizationException"
    with as_user(service, "outsider") as outsider:
        assert outsider.get(f"/process-instance/{case}/activity-instances").status_code == 403
    assert [task["taskDefinitionKey"] for task in open_tasks(client, case)] == ["register"]

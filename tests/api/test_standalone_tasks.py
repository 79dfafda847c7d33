"""Standalone tasks (Camunda's POST /task/create): an official's own to-do, of no process. It takes
its creator's region; its assignee, owner, candidates and creator, the officials of its region and
auditors see it, nobody else; it is claimed, updated, given variables and completed as a task of a
case is, and deleted by its creator, while a task of a process still refuses deletion. Every command
on it is in the administrative history, and /history/task shows how it ended."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from app.access import accounts
from tests.support.bpmn_text import process
from tests.support.http import as_user, deploy_bytes

CASE = process("standalone_neighbour", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review" name="审查" camunda:candidateGroups="cn-sepa" />
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />""")
# user → (groups, region)
ACCOUNTS = {"urumqi-clerk": ([], "xj-urumqi"), "urumqi-officer": ([], "xj-urumqi"),
            "xj-director": ([], "xj"), "sepa-reviewer": (["cn-sepa"], None), "sepa-second": (["cn-sepa"], None),
            "zj-clerk": (["zj-env"], "zj"),
            "auditor": (["auditors"], None)}
TO_DO = {"id": "call-back-1", "name": "回电企业", "description": "询问园区污水处理厂的整改进度", "priority": 60,
         "due": "2026-12-20T17:00:00.000+0800", "assignee": None, "owner": None, "delegationState": None,
         "followUp": None, "parentTaskId": None, "caseInstanceId": None, "tenantId": None}


@pytest.fixture
def officials(service):
    for user, (groups, region) in ACCOUNTS.items():
        accounts.save_account(service.services, user, f"{user}-password", groups, region=region)


def create(service, user: str, **fields):
    with as_user(service, user) as http:
        return http.post("/task/create", json={**TO_DO, **fields})


def seen_by(service, user: str, **params) -> list[str]:
    with as_user(service, user) as http:
        listed = http.get("/task", params=params)
        assert listed.status_code == 200, listed.text
        count = http.get("/task/count", params=params).json()["count"]
    ids = [row["id"] for row in listed.json()]
    assert count == len(ids)
    return ids


def admin_kinds(root, task_id: str) -> list[tuple[str, str]]:
    events = root.get("/api/history/admin-events", params={"subject": f"task:{task_id}"}).json()
    return [(event["kind"], event["userId"]) for event in events]


def test_a_to_do_is_created_worked_and_completed_and_its_history_stays(service, client, root, officials):
    created = create(service, "urumqi-clerk")
    assert created.status_code == 204, created.text
    with as_user(service, "urumqi-clerk") as clerk:
        task = clerk.get("/task/call-back-1").json()
        assert {key: task[key] for key in ("name", "assignee", "priority", "processInstanceId", "processDefinitionId",
                                           "executionId", "taskDefinitionKey", "tenantId", "suspended")} == {
            "name": "回电企业", "assignee": None, "priority": 60, "processInstanceId": None,
            "processDefinitionId": None, "executionId": None, "taskDefinitionKey": None, "tenantId": "xj-urumqi",
            "suspended": False}
        assert task["due"].startswith("2026-12-20T17:00:00")
        offered = clerk.post("/task/call-back-1/identity-links", json={"groupId": "cn-sepa", "type": "candidate"})
        assert offered.status_code == 204, offered.text
    # Its due date is one of the group's deadlines, a to-do of no case.
    [deadline] = root.get("/api/deadlines", params={"candidateGroup": "cn-sepa"}).json()
    assert (deadline["taskId"], deadline["processInstanceId"], deadline["kind"]) == ("call-back-1", None, "task")
    # Its candidate group sees it offered; an official of another region with no part in it does not.
    assert "call-back-1" in seen_by(service, "sepa-reviewer", candidateGroup="cn-sepa")
    assert seen_by(service, "zj-clerk") == []
    with as_user(service, "zj-clerk") as outsider:
        assert outsider.get("/task/call-back-1").status_code == 404
        assert outsider.get("/task/call-back-1/variables").status_code == 404
        assert outsider.post("/task/call-back-1/claim", json={"userId": "zj-clerk"}).status_code == 403
    # The officials of its region and of the regions above read it, as they read the region's cases.
    assert seen_by(service, "xj-director") == ["call-back-1"]
    # A query naming a process leaves it out.
    deploy_bytes(client, "neighbour.bpmn", CASE).raise_for_status()
    instance = client.post("/process-definition/key/standalone_neighbour/start", json={}).json()["id"]
    assert seen_by(service, "sepa-reviewer", processDefinitionKey="standalone_neighbour") != []
    assert "call-back-1" not in seen_by(service, "sepa-reviewer", processInstanceId=instance)
    assert "call-back-1" not in seen_by(service, "sepa-reviewer", processDefinitionKey="standalone_neighbour")

    with as_user(service, "sepa-reviewer") as reviewer:
        assert reviewer.post("/task/call-back-1/claim", json={"userId": "sepa-reviewer"}).status_code == 204
        assert seen_by(service, "sepa-reviewer", assignee="sepa-reviewer") == ["call-back-1"]
        commented = reviewer.post("/task/call-back-1/comment/create", json={"message": "已联系，企业下周回复"})
        assert commented.status_code == 200, commented.text
        assert commented.json()["processInstanceId"] is None
        updated = reviewer.put("/task/call-back-1", json={"name": "回电企业（第二次）", "priority": 70})
        assert updated.status_code == 204, updated.text
        put = reviewer.post("/task/call-back-1/variables", json={"modifications": {
            "phone": {"value": "0991-1234567", "type": "String"}, "attempts": {"value": 2, "type": "Integer"}}})
        assert put.status_code == 204, put.text
        assert reviewer.put("/task/call-back-1/localVariables/note",
                            json={"value": "上午无人接听", "type": "String"}).status_code == 204
        variables = reviewer.get("/task/call-back-1/variables").json()
        assert {name: value["value"] for name, value in variables.items()} == {
            "phone": "0991-1234567", "attempts": 2, "note": "上午无人接听"}
        assert reviewer.get("/task/call-back-1/localVariables/attempts").json()["value"] == 2
        assert reviewer.get("/task/call-back-1/form-variables").json() == {}
        assert reviewer.get("/task/report/candidate-group-count").json() == [{"groupName": "cn-sepa", "taskCount": 2}]
        dated = reviewer.put("/task/call-back-1/variables/when", json={"value": "2026-12-01T10:00:00.000+0800",
                                                                      "type": "Date"})
        assert dated.status_code == 400 and "JSON types" in dated.json()["message"]
        thrown = reviewer.post("/task/call-back-1/bpmnError", json={"errorCode": "E1"})
        assert thrown.status_code == 400 and "belongs to no process" in thrown.json()["message"]
        done = reviewer.post("/task/call-back-1/complete", json={"variables": {"reached": {"value": True}},
                                                                  "withVariablesInReturn": True})
        assert done.status_code == 200, done.text
        assert done.json()["reached"]["value"] is True and done.json()["phone"]["value"] == "0991-1234567"
        assert reviewer.get("/task/call-back-1").status_code == 404
        assert reviewer.post("/task/call-back-1/complete", json={}).status_code == 409
    assert seen_by(service, "sepa-reviewer", candidateGroup="cn-sepa", includeAssignedTasks="true") != []
    assert "call-back-1" not in seen_by(service, "sepa-reviewer", candidateGroup="cn-sepa", includeAssignedTasks="true")

    with as_user(service, "sepa-reviewer") as reviewer:
        # Its comments stay readable after it ended, and no longer change.
        assert [c["message"] for c in reviewer.get("/task/call-back-1/comment").json()] == ["已联系，企业下周回复"]
        assert reviewer.post("/task/call-back-1/comment/create", json={"message": "补充"}).status_code == 400
    with as_user(service, "zj-clerk") as outsider:
        assert outsider.get("/task/call-back-1/comment").status_code == 404
    [historic] = client.get("/history/task", params={"taskId": "call-back-1"}).json()
    assert {key: historic[key] for key in ("name", "assignee", "priority", "processInstanceId", "deleteReason",
                                           "taskState", "tenantId")} == {
        "name": "回电企业（第二次）", "assignee": "sepa-reviewer", "priority": 70, "processInstanceId": None,
        "deleteReason": "completed", "taskState": "Completed", "tenantId": "xj-urumqi"}
    assert historic["startTime"] is not None and historic["endTime"] is not None
    assert client.get("/history/task/count", params={"finished": "true", "taskId": "call-back-1"}).json() == {
        "count": 1}
    assert client.get("/history/task", params={"processInstanceId": instance}).json()[0]["id"] != "call-back-1"
    with as_user(service, "auditor") as auditor:
        assert [row["id"] for row in auditor.get("/history/task", params={"taskId": "call-back-1"}).json()] == [
            "call-back-1"]
    with as_user(service, "zj-clerk") as outsider:
        assert outsider.get("/history/task", params={"taskId": "call-back-1"}).json() == []
    logged = client.get("/history/user-operation", params={"taskId": "call-back-1"}).json()
    assert [(row["operationType"], row["entityType"], row["userId"], row["processInstanceId"], row["tenantId"])
            for row in logged][:3] == [("Create", "Task", "urumqi-clerk", None, "xj-urumqi"),
                                       ("AddGroupLink", "IdentityLink", "urumqi-clerk", None, "xj-urumqi"),
                                       ("Claim", "Task", "sepa-reviewer", None, "xj-urumqi")]
    assert logged[-1]["operationType"] == "Complete"
    assert client.get("/history/user-operation", params={"processInstanceId": instance}).json() != []
    assert all(row["processInstanceId"] == instance for row in client.get(
        "/history/user-operation", params={"processInstanceId": instance}).json())
    with as_user(service, "zj-clerk") as outsider:
        assert outsider.get("/history/user-operation", params={"taskId": "call-back-1"}).json() == []
    assert admin_kinds(root, "call-back-1") == [
        ("task.created", "urumqi-clerk"), ("task.candidateGroupAdded", "urumqi-clerk"),
        ("task.claimed", "sepa-reviewer"), ("task.commented", "sepa-reviewer"), ("task.updated", "sepa-reviewer"),
        ("variables.modified", "sepa-reviewer"), ("task.localVariablesModified", "sepa-reviewer"),
        ("variables.modified", "sepa-reviewer"), ("task.completed", "sepa-reviewer")]


def test_its_creator_deletes_it_and_a_task_of_a_process_still_refuses_deletion(service, client, root, officials):
    assert create(service, "urumqi-clerk", id=None, assignee="urumqi-officer").status_code == 204
    [task_id] = seen_by(service, "urumqi-officer", assignee="urumqi-officer")
    with as_user(service, "urumqi-officer") as officer:
        assert officer.get(f"/task/{task_id}").json()["assignee"] == "urumqi-officer"
        refused = officer.delete(f"/task/{task_id}")
        assert refused.status_code == 403 and "'DELETE' permission" in refused.json()["message"]
        handed = officer.post(f"/task/{task_id}/assignee", json={"userId": "zj-clerk"})
        assert handed.status_code == 204
    # Its new assignee sees it, though of another region.
    with as_user(service, "zj-clerk") as assignee:
        assert assignee.get(f"/task/{task_id}").status_code == 200
    with as_user(service, "urumqi-clerk") as clerk:
        assert clerk.delete(f"/task/{task_id}").status_code == 204
        assert clerk.get(f"/task/{task_id}").status_code == 404
    [historic] = client.get("/history/task", params={"taskId": task_id}).json()
    assert (historic["deleteReason"], historic["taskState"], historic["assignee"]) == ("deleted", "Deleted", "zj-clerk")
    assert client.get("/history/task/count", params={"taskId": task_id, "unfinished": "true"}).json() == {"count": 0}
    assert [kind for kind, _ in admin_kinds(root, task_id)] == ["task.created", "task.assigned", "task.deleted"]
    deleted = client.get("/history/user-operation", params={"taskId": task_id, "operationType": "Delete"}).json()
    assert [(row["userId"], row["newValue"]) for row in deleted] == [("urumqi-clerk", "deleted")]

    deploy_bytes(client, "neighbour.bpmn", CASE).raise_for_status()
    instance = client.post("/process-definition/key/standalone_neighbour/start", json={}).json()["id"]
    [of_case] = client.get("/task", params={"processInstanceId": instance}).json()
    refused = client.delete(f"/task/{of_case['id']}")
    assert refused.status_code == 400
    assert refused.json()["message"] == "The task cannot be deleted because is part of a running process"
    assert client.get(f"/task/{of_case['id']}").status_code == 200


def test_what_a_standalone_task_cannot_be(service, client, officials):
    for field, value, words in (("parentTaskId", "other", "sub tasks"), ("caseInstanceId", "case-1", "CMMN")):
        refused = create(service, "urumqi-clerk", **{field: value})
        assert refused.status_code == 400 and words in refused.json()["message"], refused.text
    assert create(service, "urumqi-clerk", tenantId="zj").status_code == 403
    assert create(service, "urumqi-clerk").status_code == 204
    duplicate = create(service, "urumqi-officer")
    assert duplicate.status_code == 400 and "exists" in duplicate.json()["message"]
    anonymous = as_user(service, None)
    with anonymous:
        assert anonymous.post("/task/create", json=TO_DO).status_code == 401
    with as_user(service, "urumqi-clerk") as clerk:
        attached = clerk.post("/task/call-back-1/attachment/create", data={"attachment-name": "记录",
                                                                           "url": "https://example.org/a"})
        assert attached.status_code == 400 and "belongs to no process" in attached.json()["message"], attached.text
        assert clerk.get("/task/call-back-1/attachment").json() == []
    with as_user(service, "auditor") as auditor:
        assert auditor.get("/task/call-back-1").status_code == 200
        assert auditor.post("/task/call-back-1/claim", json={"userId": "auditor"}).status_code == 403
        assert auditor.delete("/task/call-back-1").status_code == 403


def test_the_web_inbox_and_task_page_show_a_task_of_no_case(service, officials):
    assert create(service, "urumqi-clerk", assignee="urumqi-officer").status_code == 204
    with httpx.Client(base_url=service.base_url) as http:
        token = re.search(r'name="csrf" value="([^"]+)"', http.get("/app/signin").text).group(1)
        signed_in = http.post("/app/signin", data={"username": "urumqi-officer", "password": "urumqi-officer-password",
                                                   "csrf": token})
        assert signed_in.status_code == 303
        inbox = http.get("/app/")
        assert inbox.status_code == 200 and "回电企业" in inbox.text and "个人待办" in inbox.text
        page = http.get("/app/tasks/call-back-1")
        assert page.status_code == 200 and "回电企业" in page.text and "/app/cases/None" not in page.text


def test_two_officials_claiming_one_to_do_at_once_one_gets_it(service, officials):
    reviewers = ("sepa-reviewer", "sepa-second")
    for round_number in range(4):
        task_id = f"shared-{round_number}"
        assert create(service, "urumqi-clerk", id=task_id).status_code == 204
        with as_user(service, "urumqi-clerk") as clerk:
            clerk.post(f"/task/{task_id}/identity-links", json={"groupId": "cn-sepa", "type": "candidate"}
                       ).raise_for_status()

        def claim(user: str, task_id: str = task_id) -> int:
            with as_user(service, user) as http:
                return http.post(f"/task/{task_id}/claim", json={"userId": user}).status_code

        with ThreadPoolExecutor(2) as pool:
            statuses = dict(zip(reviewers, pool.map(claim, reviewers), strict=True))
        assert sorted(statuses.values()) == [204, 409], statuses
        [winner] = [user for user, status in statuses.items() if status == 204]
        with as_user(service, "urumqi-clerk") as clerk:
            assert clerk.get(f"/task/{task_id}").json()["assignee"] == winner


def test_a_to_do_is_delegated_resolved_and_completed_by_its_owner(service, client, root, officials):
    assert create(service, "urumqi-clerk", assignee="urumqi-officer").status_code == 204
    with as_user(service, "urumqi-officer") as officer:
        assert officer.post("/task/call-back-1/unclaim").status_code == 204
        assert officer.get("/task/call-back-1").status_code == 200  # of its region still
        assert officer.post("/task/call-back-1/unclaim").status_code == 403  # no longer its assignee
    with as_user(service, "urumqi-clerk") as clerk:
        assert clerk.post("/task/call-back-1/claim", json={"userId": "urumqi-clerk"}).status_code == 204
        assert clerk.post("/task/call-back-1/delegate", json={"userId": "zj-clerk"}).status_code == 204
        delegated = clerk.get("/task/call-back-1").json()
        assert (delegated["assignee"], delegated["owner"], delegated["delegationState"]) == (
            "zj-clerk", "urumqi-clerk", "PENDING")
        refused = clerk.post("/task/call-back-1/complete", json={})
        assert refused.status_code == 400 and "delegated" in refused.json()["message"]
    with as_user(service, "zj-clerk") as delegate:
        escalated = delegate.post("/task/call-back-1/bpmnEscalation", json={"escalationCode": "E"})
        assert escalated.status_code == 400 and "belongs to no process" in escalated.json()["message"]
        resolved = delegate.post("/task/call-back-1/resolve", json={"variables": {"answer": {"value": "已整改"}}})
        assert resolved.status_code == 204, resolved.text
        assert delegate.get("/task/call-back-1").status_code == 404  # no part in it any more
    with as_user(service, "urumqi-clerk") as clerk:
        task = clerk.get("/task/call-back-1").json()
        assert (task["assignee"], task["delegationState"]) == ("urumqi-clerk", "RESOLVED")
        assert clerk.get("/task/call-back-1/variables/answer").json()["value"] == "已整改"
        assert clerk.post("/task/call-back-1/submit-form", json={}).status_code == 204
    [historic] = client.get("/history/task", params={"taskId": "call-back-1"}).json()
    assert (historic["owner"], historic["deleteReason"]) == ("urumqi-clerk", "completed")
    assert [kind for kind, _ in admin_kinds(root, "call-back-1")] == [
        "task.created", "task.unclaimed", "task.claimed", "task.delegated", "task.resolved", "variables.modified",
        "task.completed"]


def test_an_id_that_cannot_name_a_path_is_refused(service, officials):
    for task_id in ("a/b", "a\r\nb", "a\x00b", "..", ".", "a b", "办事"):
        refused = create(service, "urumqi-clerk", id=task_id)
        assert refused.status_code == 400, (task_id, refused.text)
        assert refused.json()["type"] == "InvalidRequestException" and "letters, digits" in refused.json()["message"]
    with as_user(service, "urumqi-clerk") as clerk:
        assert clerk.get("/task/count").json() == {"count": 0}
    assert create(service, "urumqi-clerk", id="park:call-back_1.v2").status_code == 204
    with as_user(service, "urumqi-clerk") as clerk:
        assert clerk.get("/task/park:call-back_1.v2").json()["name"] == "回电企业"
        assert clerk.delete("/task/park:call-back_1.v2").status_code == 204


def test_texts_longer_than_a_task_keeps_are_refused_on_create_and_update(service, client, officials):
    for field, most in (("assignee", 255), ("owner", 255), ("name", 255), ("description", 4000), ("tenantId", 64)):
        refused = client.post("/task/create", json={**TO_DO, field: "x" * (most + 1)})
        assert refused.status_code == 400, (field, refused.text)
        assert refused.json()["message"] == f"'{field}' has at most {most} characters"
    assert client.get("/task/count").json() == {"count": 0}
    assert create(service, "urumqi-clerk", assignee="u" * 255).status_code == 204
    deploy_bytes(client, "neighbour.bpmn", CASE).raise_for_status()
    client.post("/process-definition/key/standalone_neighbour/start", json={}).raise_for_status()
    [of_case] = [task["id"] for task in client.get("/task").json() if task["processInstanceId"]]
    for task_id in ("call-back-1", of_case):
        for field in ("assignee", "owner"):
            refused = client.put(f"/task/{task_id}", json={"name": "n", field: "x" * 256})
            assert refused.status_code == 400 and field in refused.json()["message"], refused.text
        assert client.get(f"/task/{task_id}").json()["name"] != "n"


def test_the_variables_of_a_to_do_are_bounded_together(service, officials, monkeypatch):
    monkeypatch.setattr(service.services.settings, "standalone_task_variables_bytes", 4096)
    assert create(service, "urumqi-clerk", assignee="urumqi-clerk").status_code == 204
    with as_user(service, "urumqi-clerk") as clerk:
        def put(path: str, name: str, size: int):
            return clerk.post(f"/task/call-back-1/{path}", json={"modifications": {name: {"value": "x" * size}}})

        assert put("variables", "first", 3000).status_code == 204
        refused = put("variables", "second", 3000)
        assert refused.status_code == 400 and "at most 4096 bytes" in refused.json()["message"], refused.text
        assert put("localVariables", "second", 3000).status_code == 400
        assert put("variables", "first", 3900).status_code == 204  # replacing a value counts it once
        completed = clerk.post("/task/call-back-1/complete", json={"variables": {"more": {"value": "x" * 500}}})
        assert completed.status_code == 400, completed.text
        assert clerk.get("/task/call-back-1/variables").json().keys() == {"first"}
        assert clerk.post("/task/call-back-1/complete", json={}).status_code == 204

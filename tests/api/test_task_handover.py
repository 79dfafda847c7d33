"""Hand-over (转办), delegation (委派) and 加签 as Camunda's task calls: the delegate works the task
for its owner and gives it back by resolving it, the owner then completes it; a task is offered to
one more group or user; a task's name, priority and follow-up change, its due date only by an
administrator. Each is recorded with who did it and why, and only those who may work the task do it."""
from __future__ import annotations

import pytest

from app.access import accounts
from tests.support.bpmn_text import process
from tests.support.history import verify
from tests.support.http import as_user, deploy_bytes

REVIEW = process("handover_case", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review" name="审查" camunda:candidateGroups="xj-env" camunda:dueDate="${due}" />
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />""")
ACCOUNTS = {"li": ["xj-env"], "wang": ["xj-env"], "expert": [], "zhao": ["xj-drc"]}


@pytest.fixture
def case(service, client):
    for user, groups in ACCOUNTS.items():
        accounts.save_account(service.services, user, f"{user}-password", groups)
    deploy_bytes(client, "handover.bpmn", REVIEW).raise_for_status()
    started = client.post("/process-definition/key/handover_case/start",
                          json={"variables": {"due": {"value": "2026-12-20T17:00:00.000+0800", "type": "String"}}})
    instance = started.json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    return instance, task["id"]


def operations(client, instance):
    rows = client.get("/history/user-operation", params={"processInstanceId": instance}).json()
    return [(row["operationType"], row["userId"], row["newValue"]) for row in rows]


def test_a_delegate_works_the_task_for_its_owner_who_then_completes_it(service, client, root, case):
    instance, task = case
    with as_user(service, "li") as li, as_user(service, "expert") as expert:
        li.post(f"/task/{task}/claim", json={"userId": "li"}).raise_for_status()
        delegated = li.post(f"/task/{task}/delegate", json={"userId": "expert", "reason": "请专家出具技术意见"})
        assert delegated.status_code == 204, delegated.text
        shown = client.get(f"/task/{task}").json()
        assert (shown["assignee"], shown["owner"], shown["delegationState"]) == ("expert", "li", "PENDING")
        assert [t["id"] for t in client.get("/task", params={"delegationState": "PENDING", "owner": "li"}).json()] \
            == [task]
        # The expert, named by nobody before, now reads the case and works the task; the owner waits.
        assert expert.get(f"/process-instance/{instance}").status_code == 200
        for someone in (li, expert):
            blocked = someone.post(f"/task/{task}/complete", json={})
            assert blocked.status_code == 400 and "delegated" in blocked.json()["message"], blocked.text
        resolved = expert.post(f"/task/{task}/resolve", json={"variables": {"expert_opinion": {"value": "可行"}}})
        assert resolved.status_code == 204, resolved.text
        shown = client.get(f"/task/{task}").json()
        assert (shown["assignee"], shown["owner"], shown["delegationState"]) == ("li", "li", "RESOLVED")
        assert client.get(f"/process-instance/{instance}/variables").json()["expert_opinion"]["value"] == "可行"
        again = expert.post(f"/task/{task}/resolve", json={})
        assert again.status_code == 403, again.text
        li.post(f"/task/{task}/complete", json={}).raise_for_status()
    assert client.get(f"/history/process-instance/{instance}").json()["state"] == "COMPLETED"
    assert operations(client, instance)[-4:] == [
        ("Delegate", "li", "expert"), ("Resolve", "expert", "li"), ("ModifyVariable", "expert", None),
        ("Complete", "li", None)]
    assert verify(root, instance)["intact"] is True
    replayed = root.get(f"/api/process-instances/{instance}/replay").json()
    assert replayed["reproduced"] is True, replayed


def test_hand_over_with_a_reason_and_offer_to_one_more_group(service, client, case):
    instance, task = case
    with as_user(service, "li") as li, as_user(service, "zhao") as zhao:
        assert zhao.post(f"/task/{task}/identity-links", json={"groupId": "xj-drc", "type": "candidate"}
                         ).status_code == 403
        added = li.post(f"/task/{task}/identity-links", json={"groupId": "xj-drc", "type": "candidate"})
        assert added.status_code == 204, added.text
        links = li.get(f"/task/{task}/identity-links").json()
        assert {"userId": None, "groupId": "xj-drc", "type": "candidate"} in links
        # The added department sees the task in its list and reads the case.
        assert [t["id"] for t in zhao.get("/task", params={"candidateGroup": "xj-drc"}).json()] == [task]
        handed = li.post(f"/task/{task}/assignee", json={"userId": "zhao", "reason": "属发改委职责"})
        assert handed.status_code == 204, handed.text
        removed = zhao.post(f"/task/{task}/identity-links/delete", json={"groupId": "xj-env", "type": "candidate"})
        assert removed.status_code == 204, removed.text
        assert {(link["groupId"], link["type"]) for link in zhao.get(f"/task/{task}/identity-links").json()} == {
            ("xj-drc", "candidate"), (None, "assignee")}
    log = client.get("/history/user-operation", params={"processInstanceId": instance}).json()
    assert [(row["operationType"], row["newValue"]) for row in log][-3:] == [
        ("AddGroupLink", "xj-drc"), ("Assign", "zhao"), ("DeleteGroupLink", "xj-env")]
    said = [entry["what"] for entry in client.get(f"../api/process-instances/{instance}/timeline").json()]
    assert "加签（部门）：审查" in said and "指派：审查" in said


def test_updating_a_task(service, client, case):
    _, task = case
    with as_user(service, "li") as li:
        current = li.get(f"/task/{task}").json()
        # Camunda's clients send the whole task back with their changes.
        changed = li.put(f"/task/{task}", json={**current, "name": "审查（加急）", "priority": 80,
                                                "followUp": "2026-12-10T09:00:00.000+0800"})
        assert changed.status_code == 204, changed.text
        shown = li.get(f"/task/{task}").json()
        assert (shown["name"], shown["priority"], shown["due"]) == ("审查（加急）", 80, current["due"])
        assert shown["followUp"].startswith("2026-12-10T09:00:00")
        moved = li.put(f"/task/{task}", json={"due": "2027-01-20T17:00:00.000+0800"})
        assert moved.status_code == 403 and moved.json()["type"] == "AuthorizationException"
        sneaky = li.put(f"/task/{task}", json={"assignee": "li"})
        assert sneaky.status_code == 400 and "its own call" in sneaky.json()["message"]
    assert client.put(f"/task/{task}", json={"due": "2027-01-20T17:00:00.000+0800"}).status_code == 204
    assert client.get(f"/task/{task}").json()["due"].startswith("2027-01-20T17:00:00")


@pytest.mark.parametrize("path, body, says", [
    ("delegate", {}, "'userId' is required"),
    ("resolve", {}, "not delegated"),
    ("identity-links", {"type": "candidate"}, "either a 'userId'"),
    ("identity-links", {"groupId": "g", "userId": "u", "type": "candidate"}, "either a 'userId'"),
    ("identity-links", {"groupId": "g", "type": "assignee"}, "either a 'userId'"),
    ("identity-links", {"userId": "u", "type": "watcher"}, "'type' is"),
    ("assignee", {"userId": "li", "reason": 7}, "'reason'"),
])
def test_bad_commands_are_refused_and_change_nothing(client, case, path, body, says):
    instance, task = case
    before = operations(client, instance)
    answer = client.post(f"/task/{task}/{path}", json=body)
    assert answer.status_code == 400 and says in answer.json()["message"], answer.text
    assert operations(client, instance) == before


def test_bad_task_updates(client, case):
    _, task = case
    for body, says in [({"priority": "high"}, "'priority'"), ({"due": 5}, "'due'"), ({"name": "长" * 256}, "255"),
                       ({"followUp": "tomorrow"}, "Cannot convert")]:
        answer = client.put(f"/task/{task}", json=body)
        assert answer.status_code == 400 and says in answer.json()["message"], (body, answer.text)
    assert client.put("/task/nope", json={}).status_code == 404
    assert client.get("/task", params={"delegationState": "SOMETIMES"}).status_code == 400


def test_whoever_works_a_task_sets_the_cases_variables_through_it(service, client, root, case):
    instance, task = case
    with as_user(service, "li") as li, as_user(service, "zhao") as zhao:
        changed = li.post(f"/task/{task}/variables", json={
            "modifications": {"checked": {"value": True}, "site_visit": {"value": "2026-12-08", "type": "String"},
                              "draft": {"value": "草稿"}}})
        assert changed.status_code == 204, changed.text
        assert li.post(f"/task/{task}/variables", json={"deletions": ["draft"]}).status_code == 204
        assert li.put(f"/task/{task}/variables/score", json={"value": 88}).status_code == 204
        assert li.get(f"/task/{task}/variables/score").json()["value"] == 88
        assert li.delete(f"/task/{task}/variables/site_visit").status_code == 204
        assert li.get(f"/task/{task}/variables/site_visit").status_code == 404
        assert zhao.put(f"/task/{task}/variables/score", json={"value": 1}).status_code == 403
    values = client.get(f"/process-instance/{instance}/variables").json()
    assert {name: row["value"] for name, row in values.items()} == {
        "due": "2026-12-20T17:00:00.000+0800", "checked": True, "score": 88}
    bad = client.post(f"/task/{task}/variables", json={"deletions": "due"})
    assert bad.status_code == 400 and "'deletions'" in bad.json()["message"]
    assert [op for op, _, _ in operations(client, instance)].count("ModifyVariable") == 4
    assert root.get(f"/api/process-instances/{instance}/replay").json()["reproduced"] is True

"""Opinions (审批意见) as Camunda's task comments: written by whoever may work the open task, read by
whoever may read the case, kept in the case's chained history (verified, replayed, on the timeline)
and readable after the task is done."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.access import accounts
from tests.support.bpmn_text import process
from tests.support.history import verify
from tests.support.http import as_user, deploy_bytes

REVIEW = process("opinion_case", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review" name="初审" camunda:candidateGroups="xj-env" />
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="decide" />
  <bpmn:userTask id="decide" name="审定" camunda:candidateGroups="xj-env" />
  <bpmn:sequenceFlow id="f3" sourceRef="decide" targetRef="end" /><bpmn:endEvent id="end" />""")


@pytest.fixture
def case(service, client):
    for user, groups in {"li": ["xj-env"], "zhao": ["xj-drc"]}.items():
        accounts.save_account(service.services, user, f"{user}-password", groups)
    deploy_bytes(client, "opinion.bpmn", REVIEW).raise_for_status()
    instance = client.post("/process-definition/key/opinion_case/start", json={"businessKey": "CPA-7"}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    return instance, task["id"]


def test_an_official_writes_an_opinion_that_stays_with_the_case(service, client, root, case):
    instance, task = case
    with as_user(service, "li") as li:
        created = li.post(f"/task/{task}/comment/create", json={"message": "材料齐全，同意受理。"})
        assert created.status_code == 200, created.text
        comment = created.json()
        assert comment["userId"] == "li" and comment["taskId"] == task
        assert comment["processInstanceId"] == instance and comment["message"] == "材料齐全，同意受理。"
        assert comment["links"][0]["href"].endswith(f"/engine-rest/task/{task}/comment/{comment['id']}")
        assert li.get(f"/task/{task}/comment/{comment['id']}").json()["message"] == "材料齐全，同意受理。"
        li.post(f"/task/{task}/comment/create", json={"message": "补充：已核对营业执照。"}).raise_for_status()
        li.post(f"/task/{task}/complete", json={}).raise_for_status()
        # Done, the task's opinions are still read through it, in the order they were written.
        listed = li.get(f"/task/{task}/comment")
        assert listed.status_code == 200, listed.text
        assert [c["message"] for c in listed.json()] == ["材料齐全，同意受理。", "补充：已核对营业执照。"]
        # A done task takes no more opinions: Camunda answers 400 for a task it cannot find open.
        late = li.post(f"/task/{task}/comment/create", json={"message": "迟到的意见"})
        assert late.status_code == 400 and late.json()["type"] == "InvalidRequestException"
        [second] = li.get("/task", params={"processInstanceId": instance}).json()
        li.post(f"/task/{second['id']}/comment/create", json={"message": "同意。"}).raise_for_status()
    on_case = client.get(f"/process-instance/{instance}/comment").json()
    assert [(c["taskId"], c["message"]) for c in on_case] == [
        (task, "材料齐全，同意受理。"), (task, "补充：已核对营业执照。"), (second["id"], "同意。")]
    assert verify(root, instance)["intact"] is True
    said = [entry["what"] for entry in root.get(f"/api/process-instances/{instance}/timeline").json()
            if entry["kind"] == "task.commented"]
    assert said[0] == "签署意见（初审）：材料齐全，同意受理。"
    replayed = root.get(f"/api/process-instances/{instance}/replay")
    assert replayed.status_code == 200 and replayed.json()["reproduced"] is True, replayed.text


def test_only_those_who_work_the_task_write_and_only_readers_of_the_case_read(service, client, case):
    instance, task = case
    with as_user(service, "zhao") as zhao:
        refused = zhao.post(f"/task/{task}/comment/create", json={"message": "越权意见"})
        assert refused.status_code == 403 and refused.json()["type"] == "AuthorizationException"
        assert zhao.get(f"/task/{task}/comment").status_code == 403
        assert zhao.get(f"/process-instance/{instance}/comment").status_code == 403
    assert client.get(f"/task/{task}/comment").json() == []


@pytest.mark.parametrize("body, says", [
    ({}, "needs a 'message'"), ({"message": "   "}, "needs a 'message'"), ({"message": 5}, "needs a 'message'"),
    ({"message": "长" * 4001}, "at most 4000 characters"),
    ({"message": "意见", "processInstanceId": "someone-else"}, "belongs to process instance"),
])
def test_a_bad_opinion_is_refused_and_nothing_is_written(client, case, body, says):
    instance, task = case
    answer = client.post(f"/task/{task}/comment/create", json=body)
    assert answer.status_code == 400 and says in answer.json()["message"], answer.text
    assert client.get(f"/task/{task}/comment").json() == []


def test_unknown_tasks_and_comments(client, case):
    _, task = case
    assert client.post("/task/nope/comment/create", json={"message": "x"}).status_code == 400
    assert client.get("/task/nope/comment").status_code == 404
    missing = client.get(f"/task/{task}/comment/nope")
    assert missing.status_code == 404 and "does not exist" in missing.json()["message"]
    assert client.get("/process-instance/nope/comment").status_code == 404


@pytest.fixture
def colleague(service):
    accounts.save_account(service.services, "wu", "wu-password", ["xj-env"])


def _messages(http, path):
    return [(c["userId"], c["message"]) for c in http.get(path).json()]


def test_the_author_edits_and_deletes_an_opinion_and_the_history_keeps_what_was_first_written(
        service, client, root, case, colleague):
    instance, task = case
    with as_user(service, "li") as li:
        first = li.post(f"/task/{task}/comment/create", json={"message": "同意受理。"}).json()["id"]
        second = li.post(f"/task/{task}/comment/create", json={"message": "请补充监测报告。"}).json()["id"]
        service.clock.advance(timedelta(minutes=5))
        edited = li.put(f"/task/{task}/comment", json={"id": first, "message": "同意受理，材料齐全。"})
        assert edited.status_code == 204, edited.text
        assert _messages(li, f"/task/{task}/comment") == [("li", "同意受理，材料齐全。"), ("li", "请补充监测报告。")]
        assert li.get(f"/task/{task}/comment/{first}").json()["message"] == "同意受理，材料齐全。"
    with as_user(service, "wu") as wu:
        # wu works the same task, but the opinions are li's.
        for answer in (wu.put(f"/task/{task}/comment", json={"id": first, "message": "改写"}),
                       wu.delete(f"/task/{task}/comment/{first}"), wu.delete(f"/task/{task}/comment"),
                       wu.put(f"/process-instance/{instance}/comment", json={"id": first, "message": "改写"})):
            assert answer.status_code == 403 and answer.json()["type"] == "AuthorizationException", answer.text
    with as_user(service, "zhao") as zhao:  # neither works the task nor reads the case
        assert zhao.delete(f"/task/{task}/comment/{second}").status_code == 403
    # An administrator deletes one through the case; a comment that is not there is nothing to delete.
    assert root.delete(f"/engine-rest/process-instance/{instance}/comment/{second}").status_code == 204
    assert client.delete(f"/task/{task}/comment/{second}").status_code == 204
    assert _messages(client, f"/task/{task}/comment") == [("li", "同意受理，材料齐全。")]
    assert _messages(client, f"/process-instance/{instance}/comment") == [("li", "同意受理，材料齐全。")]

    log = client.get("/history/user-operation", params={"processInstanceId": instance, "entityType": "Comment"})
    assert [(e["userId"], e["operationType"], e["property"], e["orgValue"], e["newValue"], e["taskId"])
            for e in log.json()] == [
        ("li", "UpdateComment", "comment", "同意受理。", "同意受理，材料齐全。", task),
        ("test-admin", "DeleteComment", "comment", None, None, task)]
    assert client.get("/history/user-operation/count", params={"operationType": "UpdateComment",
                                                               "userId": "li"}).json() == {"count": 1}
    newest = client.get("/history/user-operation", params={"processInstanceId": instance, "sortBy": "timestamp",
                                                           "sortOrder": "desc", "maxResults": 1}).json()
    assert [e["operationType"] for e in newest] == ["DeleteComment"]
    said = [e["what"] for e in root.get(f"/api/process-instances/{instance}/timeline").json()]
    assert said[-4:] == ["签署意见（初审）：同意受理。", "签署意见（初审）：请补充监测报告。",
                         "修改意见（初审）：同意受理，材料齐全。", "删除意见（初审）"]
    assert verify(root, instance)["intact"] is True
    assert root.get(f"/api/process-instances/{instance}/replay").json()["reproduced"] is True


def test_deleting_all_of_a_tasks_opinions_is_refused_whole_unless_all_are_ones_own(service, client, case, colleague):
    instance, task = case
    with as_user(service, "li") as li:
        li.post(f"/task/{task}/comment/create", json={"message": "初审意见"}).raise_for_status()
    with as_user(service, "wu") as wu:
        wu.post(f"/task/{task}/comment/create", json={"message": "会审意见"}).raise_for_status()
        assert wu.delete(f"/task/{task}/comment").status_code == 403
        assert len(wu.get(f"/task/{task}/comment").json()) == 2
    assert client.delete(f"/task/{task}/comment").status_code == 204
    assert client.get(f"/task/{task}/comment").json() == []
    assert client.get("/history/user-operation/count", params={"processInstanceId": instance,
                                                               "operationType": "DeleteComment"}).json() == {"count": 2}


def test_opinions_of_an_ended_case_are_read_and_no_longer_changed(service, client, case):
    instance, task = case
    with as_user(service, "li") as li:
        comment = li.post(f"/task/{task}/comment/create", json={"message": "同意。"}).json()["id"]
        li.post(f"/task/{task}/complete", json={}).raise_for_status()
        # The task is done: Camunda answers 400 for a task it finds no longer open.
        for answer in (li.put(f"/task/{task}/comment", json={"id": comment, "message": "改"}),
                       li.delete(f"/task/{task}/comment/{comment}"), li.delete(f"/task/{task}/comment")):
            assert answer.status_code == 400 and "No task exists" in answer.json()["message"], answer.text
        [second] = li.get("/task", params={"processInstanceId": instance}).json()
        li.post(f"/task/{second['id']}/complete", json={}).raise_for_status()
        assert li.get(f"/history/process-instance/{instance}").json()["state"] == "COMPLETED"
        assert _messages(li, f"/task/{task}/comment") == [("li", "同意。")]
        assert _messages(li, f"/process-instance/{instance}/comment") == [("li", "同意。")]
        assert li.get(f"/task/{task}/comment/{comment}").json()["message"] == "同意。"
        ended = li.put(f"/process-instance/{instance}/comment", json={"id": comment, "message": "改"})
        assert ended.status_code == 400 and "No processInstance exists" in ended.json()["message"], ended.text
        assert li.delete(f"/process-instance/{instance}/comment").status_code == 400


@pytest.mark.parametrize("body, status, says", [
    ({"message": "改"}, 400, "commentId"), ({"id": "nope", "message": "改"}, 400, "No comment exists"),
    ({"id": None, "message": "改"}, 400, "commentId"), (None, 400, "commentId"),
])
def test_a_bad_edit_is_refused(client, case, body, status, says):
    instance, task = case
    comment = client.post(f"/task/{task}/comment/create", json={"message": "原意见"}).json()["id"]
    for path in (f"/task/{task}/comment", f"/process-instance/{instance}/comment"):
        answer = client.put(path, json=body)
        assert answer.status_code == status and says in answer.json()["message"], answer.text
    for message in ("", "长" * 4001):
        assert client.put(f"/task/{task}/comment", json={"id": comment, "message": message}).status_code == 400
    assert [c["message"] for c in client.get(f"/task/{task}/comment").json()] == ["原意见"]
    assert client.put("/task/nope/comment", json={"id": comment, "message": "改"}).status_code == 404
    assert client.delete("/process-instance/nope/comment").status_code == 404

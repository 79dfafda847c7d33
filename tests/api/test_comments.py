"""Opinions (审批意见) as Camunda's task comments: written by whoever may work the open task, read by
whoever may read the case, kept in the case's chained history (verified, replayed, on the timeline)
and readable after the task is done."""
from __future__ import annotations

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

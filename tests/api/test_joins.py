"""Joins as Camunda 7 joins: an inclusive gateway waits for every token that can still reach it and
goes on with those that came when no other can; a parallel gateway waits for a token from each
flow; both join each round of a loop on its own."""
from __future__ import annotations

from tests.support.bpmn_text import process
from tests.support.http import deploy, deploy_bytes
from tests.support.paths import FIXTURES

ROUNDS = FIXTURES / "constructs" / "review_rounds.bpmn"


def open_tasks(client, case: str) -> list[str]:
    return sorted(task["taskDefinitionKey"] for task in client.get("/task", params={"processInstanceId": case}).json())


def complete(client, case: str, key: str, **variables) -> None:
    [task] = client.get("/task", params={"processInstanceId": case, "taskDefinitionKey": key}).json()
    answer = client.post(f"/task/{task['id']}/complete", json={
        "variables": {name: {"value": value} for name, value in variables.items()}})
    assert answer.status_code == 204, answer.text


def begin(client, needs_site: bool) -> str:
    deploy(client, ROUNDS)
    answer = client.post("/process-definition/key/review_rounds/start",
                         json={"variables": {"needs_site": {"value": needs_site}}})
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def test_the_join_waits_for_each_review_of_every_round_of_supplements(client, root):
    case = begin(client, needs_site=True)
    assert open_tasks(client, case) == ["expert_review", "site_check"]
    complete(client, case, "site_check", site_opinion="第一轮：需补正")
    assert open_tasks(client, case) == ["expert_review"]  # the expert's review can still reach the join
    complete(client, case, "expert_review", expert_opinion="第一轮：材料不全")
    complete(client, case, "conclude", supplement=True)
    # The second round: the first round's reviews are not counted again.
    assert open_tasks(client, case) == ["expert_review", "site_check"]
    complete(client, case, "expert_review", expert_opinion="第二轮：同意")
    assert open_tasks(client, case) == ["site_check"]
    complete(client, case, "site_check", site_opinion="第二轮：符合")
    assert open_tasks(client, case) == ["conclude"]
    values = client.get(f"/process-instance/{case}/variables").json()
    assert (values["site_opinion"]["value"], values["expert_opinion"]["value"]) == ("第二轮：符合", "第二轮：同意")
    complete(client, case, "conclude", supplement=False)
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    joins = [row for row in client.get("/history/activity-instance", params={
        "processInstanceId": case, "activityId": "review_join"}).json()]
    assert len(joins) == 4  # one per token that arrived, in each of the two rounds, as Camunda records a join
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True


def test_a_join_goes_on_with_the_only_token_that_was_sent(client):
    case = begin(client, needs_site=False)
    assert open_tasks(client, case) == ["expert_review"]
    complete(client, case, "expert_review", expert_opinion="同意")
    assert open_tasks(client, case) == ["conclude"]
    # In the next round the site check is asked for too: the join waits for both.
    complete(client, case, "conclude", supplement=True, needs_site=True)
    assert open_tasks(client, case) == ["expert_review", "site_check"]
    complete(client, case, "site_check", site_opinion="符合")
    assert open_tasks(client, case) == ["expert_review"]


EARLY = process("join_order", """
  <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="split" />
  <bpmn:inclusiveGateway id="split" />
  <bpmn:sequenceFlow id="direct" sourceRef="split" targetRef="join" />
  <bpmn:sequenceFlow id="to_check" sourceRef="split" targetRef="check" /><bpmn:userTask id="check" />
  <bpmn:sequenceFlow id="checked" sourceRef="check" targetRef="join" />
  <bpmn:inclusiveGateway id="join" /><bpmn:sequenceFlow id="f9" sourceRef="join" targetRef="after" />
  <bpmn:userTask id="after" /><bpmn:sequenceFlow id="f10" sourceRef="after" targetRef="e" /><bpmn:endEvent id="e" />""")

ENDED_BRANCH = process("join_left", """
  <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="split" />
  <bpmn:inclusiveGateway id="split" />
  <bpmn:sequenceFlow id="fa" sourceRef="split" targetRef="a" /><bpmn:userTask id="a" />
  <bpmn:sequenceFlow id="ja" sourceRef="a" targetRef="join" />
  <bpmn:sequenceFlow id="fb" sourceRef="split" targetRef="b" /><bpmn:userTask id="b" />
  <bpmn:sequenceFlow id="fx" sourceRef="b" targetRef="x" /><bpmn:exclusiveGateway id="x" default="away" />
  <bpmn:sequenceFlow id="back" sourceRef="x" targetRef="join">
    <bpmn:conditionExpression>${go}</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="away" sourceRef="x" targetRef="gone" /><bpmn:endEvent id="gone" />
  <bpmn:inclusiveGateway id="join" /><bpmn:sequenceFlow id="f9" sourceRef="join" targetRef="after" />
  <bpmn:userTask id="after" /><bpmn:sequenceFlow id="f10" sourceRef="after" targetRef="e" /><bpmn:endEvent id="e" />""")


def test_a_join_waits_for_a_task_its_split_opened_after_the_flow_that_came_first(client):
    assert deploy_bytes(client, "early.bpmn", EARLY).status_code == 200
    case = client.post("/process-definition/key/join_order/start", json={}).json()["id"]
    assert open_tasks(client, case) == ["check"]
    complete(client, case, "check")
    assert open_tasks(client, case) == ["after"]  # once


def test_a_join_no_other_token_can_reach_goes_on_with_the_cases_current_variables(client):
    assert deploy_bytes(client, "left.bpmn", ENDED_BRANCH).status_code == 200
    case = client.post("/process-definition/key/join_left/start", json={"variables": {
        "x": {"value": 0}, "go": {"value": False}}}).json()["id"]
    complete(client, case, "a")
    client.put(f"/process-instance/{case}/variables/note", json={"value": "等待中补记"}).raise_for_status()
    complete(client, case, "b", x=1)  # its branch ends; the join has nothing more to wait for
    assert open_tasks(client, case) == ["after"]
    values = client.get(f"/process-instance/{case}/variables").json()
    assert (values["x"]["value"], values["note"]["value"]) == (1, "等待中补记")


PARALLEL_ROUNDS = process("parallel_rounds", """
  <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="merge" />
  <bpmn:exclusiveGateway id="merge" /><bpmn:sequenceFlow id="f1" sourceRef="merge" targetRef="split" />
  <bpmn:parallelGateway id="split" />
  <bpmn:sequenceFlow id="fa" sourceRef="split" targetRef="a" /><bpmn:userTask id="a" />
  <bpmn:sequenceFlow id="fb" sourceRef="split" targetRef="b" /><bpmn:userTask id="b" />
  <bpmn:sequenceFlow id="ja" sourceRef="a" targetRef="join" /><bpmn:sequenceFlow id="jb" sourceRef="b" targetRef="join" />
  <bpmn:parallelGateway id="join" /><bpmn:sequenceFlow id="fd" sourceRef="join" targetRef="decide" />
  <bpmn:userTask id="decide" /><bpmn:sequenceFlow id="fx" sourceRef="decide" targetRef="again" />
  <bpmn:exclusiveGateway id="again" default="done" />
  <bpmn:sequenceFlow id="back" sourceRef="again" targetRef="merge">
    <bpmn:conditionExpression>${supplement}</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="done" sourceRef="again" targetRef="e" /><bpmn:endEvent id="e" />""")


def test_a_parallel_join_waits_for_both_reviews_whatever_order_each_round_takes(client, root):
    assert deploy_bytes(client, "rounds.bpmn", PARALLEL_ROUNDS).status_code == 200
    case = client.post("/process-definition/key/parallel_rounds/start", json={}).json()["id"]
    complete(client, case, "a")
    complete(client, case, "b")
    complete(client, case, "decide", supplement=True)
    complete(client, case, "b")  # the second round ends in the other order
    assert open_tasks(client, case) == ["a"]
    complete(client, case, "a")
    assert open_tasks(client, case) == ["decide"]
    complete(client, case, "decide", supplement=False)
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True

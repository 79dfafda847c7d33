"""The inclusive gateway's join as Camunda 7 joins: it waits for every token that can still reach it,
goes on with those that came when no other can, and joins each round of a loop on its own."""
from __future__ import annotations

from tests.support.http import deploy
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

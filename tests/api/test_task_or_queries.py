"""Camunda's orQueries and taskVariables on the task list: a task meets at least one filter of each
or-query besides every filter of the query itself (conjunctive normal form), over SQL filters,
process variables and a task's own variables alike, in a saved filter too."""
from __future__ import annotations

import pytest

from app.access import accounts
from tests.api.test_query_filters import TASKS
from tests.support.http import as_user, deploy_bytes, listed, start

EVERY = ["t_assigned", "t_group", "t_user"]


def _eq(name: str, value) -> dict:
    return {"name": name, "operator": "eq", "value": value}


@pytest.fixture
def two_cases(client) -> dict[str, str]:
    """Two cases of three open tasks each: BK-1 in zj, whose expert task has an opinion of its own, and
    BK-2 in xj."""
    deploy_bytes(client, "tasks.bpmn", TASKS).raise_for_status()
    cases = {key: start(client, "filter_tasks", business_key=key, region=region).json()["id"]
             for key, region in (("BK-1", "zj"), ("BK-2", "xj"))}
    [expert] = client.get("/task", params={"processInstanceId": cases["BK-1"], "taskDefinitionKey": "t_user"}).json()
    client.put(f"/task/{expert['id']}/localVariables/opinion", json={"value": "同意"}).raise_for_status()
    return cases


def _found(client, body: dict) -> list[str]:
    """The tasks found, as `<business key>/<task>`; the count is checked to agree."""
    business = {row["id"]: row["businessKey"] for row in client.get("/process-instance").json()}
    return sorted(f"{business[task['processInstanceId']]}/{task['taskDefinitionKey']}"
                  for task in listed(client, "/task", "POST", **body))


def _both(*tasks: str) -> list[str]:
    return sorted(f"{key}/{task}" for key in ("BK-1", "BK-2") for task in tasks)


def test_an_or_query_keeps_the_tasks_meeting_one_of_its_filters(client, two_cases):
    # Assigned to wang, or offered to eco-dept.
    assert _found(client, {"orQueries": [{"assignee": "wang", "candidateGroup": "eco-dept"}]}) == _both(
        "t_assigned", "t_group")
    # Every filter of the query itself holds beside it.
    assert _found(client, {"processInstanceBusinessKey": "BK-2", "orQueries": [
        {"assignee": "wang", "candidateGroup": "eco-dept"}]}) == ["BK-2/t_assigned", "BK-2/t_group"]
    # Two or-queries: one filter of each.
    assert _found(client, {"orQueries": [{"assignee": "wang", "candidateUser": "zhao"},
                                         {"nameLike": "%复核", "processInstanceBusinessKey": "BK-1"}]}) == [
        "BK-1/t_assigned", "BK-1/t_user", "BK-2/t_user"]
    # candidateGroup and candidateGroups: both at the top, either in an or-query, as in Camunda.
    assert _found(client, {"candidateGroup": "eco-dept", "candidateGroups": ["sh-drc"]}) == []
    assert _found(client, {"orQueries": [{"candidateGroup": "sh-drc", "candidateGroups": ["eco-dept"]}]}) == _both(
        "t_group")
    # The bounds of one date: all at the top, one in an or-query (due 2026-12-01).
    bounds = {"dueBefore": "2026-11-01T00:00:00.000+0800", "dueAfter": "2026-11-15T00:00:00.000+0800"}
    assert _found(client, bounds) == []
    assert _found(client, {"orQueries": [bounds]}) == _both("t_group")
    # An or-query that gives no filter keeps every task; a switch given as false is no filter.
    assert _found(client, {"orQueries": [{}]}) == _both(*EVERY)
    assert _found(client, {"orQueries": [{"withCandidateGroups": False, "taskDefinitionKey": "t_user"}]}) == _both(
        "t_user")


def test_task_variables_and_process_variables_in_an_or_query(client, two_cases):
    opinion = [_eq("opinion", "同意")]
    assert _found(client, {"taskVariables": opinion}) == ["BK-1/t_user"]
    listed = client.get("/task", params={"taskVariables": "opinion_eq_同意"}).json()
    assert [task["taskDefinitionKey"] for task in listed] == ["t_user"]
    assert client.get("/task/count", params={"taskVariables": "opinion_eq_反对"}).json() == {"count": 0}
    # A task's own variables are not its case's, nor the other way round.
    assert _found(client, {"processVariables": opinion}) == []
    assert _found(client, {"taskVariables": [_eq("region", "zj")]}) == []
    # At the top every condition holds; in an or-query one does.
    regions = [_eq("region", "zj"), _eq("region", "xj")]
    assert _found(client, {"processVariables": regions}) == []
    assert _found(client, {"orQueries": [{"processVariables": regions}]}) == _both(*EVERY)
    assert _found(client, {"orQueries": [{"processVariables": [_eq("region", "xj")], "taskVariables": opinion}]}) == [
        "BK-1/t_user", "BK-2/t_assigned", "BK-2/t_group", "BK-2/t_user"]
    # A filter on columns and one on variables in one or-query: either.
    assert _found(client, {"orQueries": [{"assignee": "wang", "processVariables": [_eq("region", "xj")]}]}) == [
        "BK-1/t_assigned", "BK-2/t_assigned", "BK-2/t_group", "BK-2/t_user"]
    # Beside the query's own filters and another or-query, with paging.
    body = {"taskDefinitionKeyIn": ["t_group", "t_user"], "orQueries": [
        {"assignee": "wang", "processVariables": [_eq("region", "xj")]}, {"candidateGroup": "eco-dept"}]}
    assert _found(client, body) == ["BK-2/t_group"]
    paged = client.post("/task", params={"maxResults": 2}, json={"orQueries": [
        {"processVariables": [_eq("region", "xj")]}]})
    assert len(paged.json()) == 2


def test_a_standalone_tasks_variables_are_its_own(client, two_cases):
    client.post("/task/create", json={"id": "call-back", "name": "回电企业"}).raise_for_status()
    client.put("/task/call-back/localVariables/opinion", json={"value": "同意"}).raise_for_status()
    opinion = [_eq("opinion", "同意")]
    agreed = client.post("/task", json={"taskVariables": opinion}).json()
    assert sorted(task["id"] for task in agreed if task["processInstanceId"] is None) == ["call-back"]
    assert len(agreed) == 2
    # It has no case, so no case's variables.
    assert [task["id"] for task in client.post("/task", json={"orQueries": [
        {"processVariables": opinion, "name": "回电企业"}]}).json()] == ["call-back"]
    assert client.post("/task/count", json={"processVariables": opinion}).json() == {"count": 0}


def test_what_an_or_query_may_not_give_is_refused_by_name(client, two_cases):
    refused = [
        ({"orQueries": [{"sortBy": "name"}]}, "sortBy"),
        ({"orQueries": [{"sorting": [{"sortBy": "name", "sortOrder": "asc"}]}]}, "sorting"),
        ({"orQueries": [{"withCandidateGroups": True}]}, "withCandidateGroups"),
        ({"orQueries": [{"withoutCandidateUsers": True}]}, "withoutCandidateUsers"),
        ({"orQueries": [{"orQueries": [{"assignee": "wang"}]}]}, "orQueries"),
        ({"orQueries": {"assignee": "wang"}}, "orQueries"),
        ({"orQueries": ["assignee"]}, "orQueries"),
        ({"orQueries": [{"assignee": f"user{number}"} for number in range(21)]}, "at most 20"),
        ({"orQueries": [{"caseInstanceId": "case-1"}]}, "caseInstanceId"),
        ({"orQueries": [{"priority": "high"}]}, "priority"),
        ({"orQueries": [{"taskVariables": [{"name": "x", "operator": "near", "value": 1}]}]}, "taskVariables"),
    ]
    for body, named in refused:
        for path in ("/task", "/task/count"):
            answer = client.post(path, json=body)
            assert answer.status_code == 400, (body, answer.text)
            assert answer.json()["type"] == "InvalidRequestException" and named in answer.json()["message"], body
    # Lists in or-queries count toward what one statement binds, as the query's own do.
    many = [{"taskIdIn": [f"task-{query}-{number}" for number in range(10_000)]} for query in range(7)]
    answer = client.post("/task", json={"orQueries": many})
    assert answer.status_code == 400 and "more than one query can take (65535)" in answer.json()["message"]
    # Camunda reads orQueries from a body only; in a query string it would be passed by and find more.
    answer = client.get("/task", params={"orQueries": '[{"assignee": "wang"}]'})
    assert answer.status_code == 400 and "orQueries" in answer.json()["message"]


def test_a_saved_filter_with_or_queries_runs_them_for_its_caller(service, client, two_cases):
    accounts.save_account(service.services, "wang", "wang-password", [])
    accounts.save_account(service.services, "zhang", "zhang-password", ["eco-dept"])
    created = client.post("/filter/create", json={"resourceType": "Task", "name": "我的或本组", "query": {
        "orQueries": [{"assigneeExpression": "${currentUser()}",
                       "candidateGroupsExpression": "${currentUserGroups()}"}]}})
    assert created.status_code == 200, created.text
    mine = created.json()["id"]
    with as_user(service, "wang") as wang, as_user(service, "zhang") as zhang:
        assert [task["taskDefinitionKey"] for task in wang.get(f"/filter/{mine}/list").json()] == ["t_assigned"] * 2
        assert [task["taskDefinitionKey"] for task in zhang.get(f"/filter/{mine}/list").json()] == ["t_group"] * 2
        # The caller's or-queries are added to the filter's, as Camunda extends a query.
        extended = zhang.post(f"/filter/{mine}/list", json={"orQueries": [{"processInstanceBusinessKey": "BK-2"}]})
        assert [task["processInstanceId"] for task in extended.json()] == [two_cases["BK-2"]]
        assert zhang.post(f"/filter/{mine}/count", json={"orQueries": [{"processInstanceBusinessKey": "BK-2"}]}
                          ).json() == {"count": 1}
        refused = zhang.post(f"/filter/{mine}/list", json={"orQueries": {"processInstanceBusinessKey": "BK-2"}})
        assert refused.status_code == 400 and "orQueries" in refused.json()["message"]
    for query in ({"orQueries": [{"withCandidateUsers": True}]}, {"orQueries": [{"caseInstanceId": "c"}]},
                  {"orQueries": [{"assigneeExpression": "${execution.getVariable('x')}"}]},
                  {"orQueries": "assignee"}):
        refused = client.post("/filter/create", json={"resourceType": "Task", "name": "拒", "query": query})
        assert refused.status_code == 400, (query, refused.text)
        assert client.put(f"/filter/{mine}", json={"name": "拒", "query": query}).status_code == 400
    assert client.get(f"/filter/{mine}").json()["name"] == "我的或本组"

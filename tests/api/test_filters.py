"""Saved filters of the task lists (Camunda's /filter): each official keeps their own, an
administrator shares one with everyone, and a filter runs for whoever opens it (its
${currentUser()} is the caller), extended by the caller's own query."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.access import accounts
from tests.support.bpmn_text import process
from tests.support.http import as_user, deploy_bytes

REVIEW = process("filter_case", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review" name="审查" camunda:candidateGroups="xj-env" camunda:dueDate="${due}" />
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />""")
ACCOUNTS = {"li": ["xj-env"], "wang": ["xj-env"], "zhao": ["xj-drc"]}
MINE = {"resourceType": "Task", "name": "我的待办", "query": {"assigneeExpression": "${currentUser()}"},
        "properties": {"color": "#3e4d2f", "priority": 1}}


@pytest.fixture
def cases(service, client):
    for user, groups in ACCOUNTS.items():
        accounts.save_account(service.services, user, f"{user}-password", groups)
    deploy_bytes(client, "filter_case.bpmn", REVIEW).raise_for_status()
    start = service.clock.now()
    tasks = {}
    for number, days in ((1, 1), (2, 5), (3, 10)):
        due = (start + timedelta(days=days)).isoformat(timespec="milliseconds")
        started = client.post("/process-definition/key/filter_case/start", json={
            "businessKey": f"XJ-{number}", "variables": {"due": {"value": due, "type": "String"}}}).json()
        [task] = client.get("/task", params={"processInstanceId": started["id"]}).json()
        tasks[f"XJ-{number}"] = task["id"]
    return tasks


def _ids(answer) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [row["id"] for row in answer.json()]


def test_my_filter_shows_what_i_hold_and_nobody_else_sees_it(service, cases):
    with as_user(service, "li") as li, as_user(service, "wang") as wang:
        created = li.post("/filter/create", json=MINE)
        assert created.status_code == 200, created.text
        mine = created.json()
        assert {key: mine[key] for key in ("resourceType", "name", "owner", "query", "properties")} == {
            **MINE, "owner": "li"}
        assert li.get(f"/filter/{mine['id']}/list").json() == []
        li.post(f"/task/{cases['XJ-2']}/claim", json={"userId": "li"}).raise_for_status()
        assert _ids(li.get(f"/filter/{mine['id']}/list")) == [cases["XJ-2"]]
        assert li.get(f"/filter/{mine['id']}", params={"itemCount": "true"}).json()["itemCount"] == 1
        # Wang neither lists it nor reads, changes or runs it.
        assert wang.get("/filter").json() == []
        for answer in (wang.get(f"/filter/{mine['id']}"), wang.put(f"/filter/{mine['id']}", json=MINE),
                       wang.delete(f"/filter/{mine['id']}"), wang.get(f"/filter/{mine['id']}/list")):
            assert answer.status_code == 403 and answer.json()["type"] == "AuthorizationException"
        assert li.get("/filter/count").json() == {"count": 1}


def test_a_filter_is_owned_by_its_creator_unless_an_administrator_shares_it(service, client, cases):
    with as_user(service, "li") as li:
        mine = li.post("/filter/create", json={**MINE, "owner": "li"}).json()
        assert mine["owner"] == "li"
        refused = li.post("/filter/create", json={**MINE, "owner": "wang"})
        assert refused.status_code == 403
    shared = client.post("/filter/create", json={"resourceType": "Task", "name": "本组待办",
                                                 "query": {"candidateGroupsExpression": "${currentUserGroups()}",
                                                           "sorting": [{"sortBy": "dueDate", "sortOrder": "asc"}]}})
    assert shared.status_code == 200 and shared.json()["owner"] is None
    group_tasks = shared.json()["id"]
    with as_user(service, "li") as li, as_user(service, "zhao") as zhao:
        assert {row["name"] for row in li.get("/filter", params={"sortBy": "name"}).json()} == {"我的待办", "本组待办"}
        assert _ids(li.get(f"/filter/{group_tasks}/list")) == [cases["XJ-1"], cases["XJ-2"], cases["XJ-3"]]
        assert [row["name"] for row in zhao.get("/filter").json()] == ["本组待办"]
        assert zhao.get(f"/filter/{group_tasks}/list").json() == []
        assert zhao.put(f"/filter/{group_tasks}", json={"name": "改", "query": {}}).status_code == 403


def test_a_filter_runs_extended_by_the_callers_query_with_paging(service, client, cases):
    shared = client.post("/filter/create", json={"resourceType": "Task", "name": "本组待办",
                                                 "query": {"candidateGroupsExpression": "${currentUserGroups()}"}}
                         ).json()["id"]
    with as_user(service, "wang") as wang:
        narrowed = wang.post(f"/filter/{shared}/list", json={"processInstanceBusinessKey": "XJ-3"})
        assert _ids(narrowed) == [cases["XJ-3"]]
        paged = wang.post(f"/filter/{shared}/list", params={"firstResult": 1, "maxResults": 1},
                          json={"sorting": [{"sortBy": "dueDate", "sortOrder": "desc"}]})
        assert _ids(paged) == [cases["XJ-2"]]
        assert wang.post(f"/filter/{shared}/count", json={"processInstanceBusinessKey": "XJ-1"}).json() == {"count": 1}
        assert wang.get(f"/filter/{shared}/count").json() == {"count": 3}
        # A key the caller gives replaces the filter's expression of that key.
        assert wang.post(f"/filter/{shared}/count", json={"candidateGroups": ["xj-drc"]}).json() == {"count": 0}
        single = wang.post(f"/filter/{shared}/singleResult", json={"processInstanceBusinessKey": "XJ-2"})
        assert single.status_code == 200 and single.json()["id"] == cases["XJ-2"]
        assert wang.post(f"/filter/{shared}/singleResult", json={"processInstanceBusinessKey": "none"}
                         ).status_code == 204
        several = wang.get(f"/filter/{shared}/singleResult")
        assert several.status_code == 400
        assert several.json()["message"] == "Filter does not returns a valid single result"


def test_date_expressions_count_from_the_services_clock(service, client, cases):
    soon = client.post("/filter/create", json={"resourceType": "Task", "name": "三日内到期",
                                               "query": {"dueBeforeExpression": "${dateTime().plusDays(3)}"}}
                       ).json()["id"]
    assert _ids(client.get(f"/filter/{soon}/list")) == [cases["XJ-1"]]
    service.clock.set(service.clock.now() + timedelta(days=4))
    assert sorted(_ids(client.get(f"/filter/{soon}/list"))) == sorted([cases["XJ-1"], cases["XJ-2"]])
    overdue = client.post("/filter/create", json={"resourceType": "Task", "name": "已超期",
                                                  "query": {"dueBeforeExpression": "${now()}"}}).json()["id"]
    assert _ids(client.get(f"/filter/{overdue}/list")) == [cases["XJ-1"]]


def test_filters_that_cannot_run_are_refused_when_saved(client):
    for query in ({"assigneeExpression": "${execution.getVariable('x')}"},
                  {"candidateGroupsExpression": "${currentUser()}"},
                  {"dueBeforeExpression": "${dateTime().plusDays(99999)}"},
                  {"processInstanceIdExpression": "${currentUser()}"}):
        refused = client.post("/filter/create", json={"resourceType": "Task", "name": "x", "query": query})
        assert refused.status_code == 400 and "cannot be run" in refused.json()["message"], query
    for body in ({"resourceType": "ProcessInstance", "name": "x", "query": {}},
                 {"resourceType": "Task", "query": {}},
                 {"resourceType": "Task", "name": "x", "query": []}):
        assert client.post("/filter/create", json=body).status_code == 400, body
    missing = client.get("/filter/no-such-filter")
    assert missing.status_code == 404


def test_the_owner_changes_and_deletes_a_filter(service, root, cases):
    with as_user(service, "li") as li:
        mine = li.post("/filter/create", json=MINE).json()["id"]
        renamed = {**MINE, "name": "我的待办（改）", "query": {"candidateUserExpression": "${currentUser()}"}}
        assert li.put(f"/filter/{mine}", json=renamed).status_code == 204
        assert li.get(f"/filter/{mine}").json()["name"] == "我的待办（改）"
        assert li.delete(f"/filter/{mine}").status_code == 204
        assert li.get(f"/filter/{mine}").status_code == 404
    kinds = [event["kind"] for event in root.get("/api/history/admin-events", params={"subject": f"filter:{mine}"}
                                                 ).json()]
    assert kinds == ["filter.created", "filter.updated", "filter.deleted"]

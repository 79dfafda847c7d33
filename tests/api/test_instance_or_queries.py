"""Camunda's orQueries on the process instance queries, runtime and historic, on the historic task
query and on the batches a query names: a row meets at least one filter of each or-query besides every
filter of the query itself."""
from __future__ import annotations

from app.rest.camunda import history, queries
from app.rest.camunda.unread import NOT_READ
from app.settings import Settings
from tests.api.test_query_filters import REVIEW, TASKS
from tests.support.http import deploy_bytes, listed, start

EVERY = ["BK-1", "ECO-1", "ECO-2"]


def _region(value: str) -> dict:
    return {"name": "region", "operator": "eq", "value": value}


def _cases(client) -> dict[str, str]:
    """ECO-1 (zj) and ECO-2 (xj) of one procedure waiting at their review, BK-1 (xj) of another."""
    for name, content in (("review.bpmn", REVIEW), ("tasks.bpmn", TASKS)):
        deploy_bytes(client, name, content).raise_for_status()
    return {key: start(client, definition, business_key=key, region=region).json()["id"]
            for key, definition, region in (("ECO-1", "filter_review", "zj"), ("ECO-2", "filter_review", "xj"),
                                             ("BK-1", "filter_tasks", "xj"))}


def _found(client, body: dict) -> list[str]:
    return sorted(row["businessKey"] for row in listed(client, "/process-instance", "POST", **body))


def test_an_or_query_keeps_the_cases_meeting_one_of_its_filters(client):
    cases = _cases(client)
    either = {"businessKey": "ECO-1", "processDefinitionKey": "filter_tasks"}
    assert _found(client, {"orQueries": [either]}) == ["BK-1", "ECO-1"]
    assert _found(client, {"processDefinitionKey": "filter_review", "orQueries": [either]}) == ["ECO-1"]
    # Two or-queries: one filter of each.
    assert _found(client, {"orQueries": [{"businessKeyLike": "ECO%", "activityIdIn": ["t_user"]},
                                         {"businessKey": "ECO-2", "processDefinitionKey": "filter_tasks"}]}) == [
        "BK-1", "ECO-2"]
    # Variables: at the top every condition holds, in an or-query one does; beside other filters, either.
    assert _found(client, {"variables": [_region("zj"), _region("xj")]}) == []
    assert _found(client, {"orQueries": [{"variables": [_region("zj"), _region("xj")]}]}) == EVERY
    assert _found(client, {"orQueries": [{"variables": [_region("zj")], "processDefinitionKey": "filter_tasks"}]}) == [
        "BK-1", "ECO-1"]
    assert _found(client, {"processDefinitionKey": "filter_review", "orQueries": [
        {"variables": [_region("xj")], "businessKey": "none"}]}) == ["ECO-2"]
    # An or-query that gives no filter (a name Camunda does not know is passed by) keeps every case.
    assert _found(client, {"orQueries": [{"someClientField": 1}]}) == EVERY
    client.put(f"/process-instance/{cases['ECO-2']}/suspended", json={"suspended": True}).raise_for_status()
    assert _found(client, {"orQueries": [{"suspended": True, "businessKey": "ECO-1"}]}) == ["ECO-1", "ECO-2"]
    assert _found(client, {"orQueries": [{"suspended": False, "businessKey": "ECO-1"}]}) == ["ECO-1"]


def test_a_batch_named_by_a_query_with_or_queries_acts_on_those_cases_only(client):
    _cases(client)
    batch = client.post("/process-instance/suspended-async", json={"suspended": True, "processInstanceQuery": {
        "orQueries": [{"businessKey": "ECO-1", "variables": [_region("xj")]}],
        "processDefinitionKey": "filter_review"}})
    assert batch.status_code == 200, batch.text
    assert batch.json()["totalJobs"] == 2


def test_what_an_instance_or_query_may_not_give_is_refused_by_name(client):
    _cases(client)
    for nested, named in (({"sortBy": "businessKey"}, "sortBy"), ({"orQueries": [{}]}, "orQueries"),
                          ({"caseInstanceId": "case-1"}, "caseInstanceId"), ({"withIncident": "maybe"}, "withIncident"),
                          ({"variables": [{"name": "region", "operator": "near"}]}, "variables")):
        answer = client.post("/process-instance", json={"orQueries": [nested]})
        assert answer.status_code == 400 and named in answer.json()["message"], (nested, answer.text)
    answer = client.get("/process-instance", params={"orQueries": '[{"businessKey": "ECO-1"}]'})
    assert answer.status_code == 400 and "orQueries" in answer.json()["message"]
    assert client.post("/process-instance/count", json={"orQueries": [{}] * 21}).status_code == 400
    # Every case read is checked against each variable condition: together they are bounded as one list is.
    conditions = [_region(f"r{number}") for number in range(6_000)]
    answer = client.post("/process-instance", json={"orQueries": [{"variables": conditions}] * 2})
    assert answer.status_code == 400 and "12000 variable conditions" in answer.json()["message"]
    assert client.post("/process-instance/count", json={"orQueries": [{"variables": conditions}]}).json() == {
        "count": 0}


class _Reading(dict):
    """A query that notes each name read from it."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


class _Services:
    settings = Settings(database_url="sqlite://")


def test_every_filter_of_the_queries_is_a_condition_of_its_own_in_an_or_query():
    # A filter read by a query but missing from its list would be dropped from an or-query, which would
    # then keep more rows than asked when it gave that filter alone.
    for name, read, filters in (
            ("process-instance", lambda query: queries.instance_query(query, None), queries.INSTANCE_FILTERS),
            ("history/process-instance", lambda query: queries.historic_instance_filter(query, _Services(), None),
             queries.HISTORIC_INSTANCE_FILTERS),
            ("history/task", lambda query: history._task_filter(query, _Services(), None),
             history.HISTORIC_TASK_FILTERS)):
        query = _Reading()
        read(query)
        assert query.read - NOT_READ[name] - {"sortBy", "sortOrder", "sorting"} == set(filters), name
        assert len(filters) == len(set(filters)), name


def test_historic_or_queries_keep_the_cases_and_tasks_meeting_one_of_their_filters(client):
    cases = _cases(client)
    client.delete(f"/process-instance/{cases['ECO-2']}").raise_for_status()

    def found(path: str, body: dict) -> list[str]:
        return sorted(row.get("businessKey") or row.get("taskDefinitionKey")
                      for row in listed(client, path, "POST", **body))

    instances = "/history/process-instance"
    assert found(instances, {"orQueries": [{"finished": True, "processInstanceBusinessKey": "ECO-1"}]}) == [
        "ECO-1", "ECO-2"]
    assert found(instances, {"processDefinitionKey": "filter_review", "orQueries": [
        {"finished": True, "processInstanceBusinessKey": "BK-1"}]}) == ["ECO-2"]
    assert found(instances, {"orQueries": [{"variables": [_region("zj")], "processDefinitionKey": "filter_tasks"}]}
                 ) == ["BK-1", "ECO-1"]
    tasks = "/history/task"
    assert found(tasks, {"orQueries": [{"taskAssignee": "wang", "taskName": "初审"}]}) == [
        "review", "review", "t_assigned"]
    assert found(tasks, {"processFinished": True, "orQueries": [{"taskAssignee": "wang", "taskName": "初审"}]}) == [
        "review"]
    assert found(tasks, {"orQueries": [{"processVariables": [_region("zj")], "taskDefinitionKey": "t_user"}]}) == [
        "review", "t_user"]
    for path, nested in ((instances, {"sortBy": "startTime"}), (tasks, {"withCandidateGroups": True}),
                         (tasks, {"orQueries": [{}]})):
        answer = client.post(path, json={"orQueries": [nested]})
        assert answer.status_code == 400 and next(iter(nested)) in answer.json()["message"], (path, answer.text)
    # A batch named by a historic query with or-queries acts on those cases only.
    batch = client.post("/process-instance/delete", json={"deleteReason": "合并办理", "historicProcessInstanceQuery": {
        "unfinished": True, "orQueries": [{"processInstanceBusinessKey": "ECO-1", "variables": [_region("xj")]}]}})
    assert batch.status_code == 200, batch.text
    assert batch.json()["totalJobs"] == 2

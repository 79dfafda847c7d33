"""Typed variables, task queries, claims and history as Camunda clients use them."""
from __future__ import annotations

import re

import pytest

from tests.support.bpmn_text import process
from tests.support.http import deploy, deploy_bytes
from tests.support.paths import FIXTURES

CAMUNDA_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$")


def start(client, **variables):
    response = client.post("/process-definition/key/eco_review/start", json={
        "businessKey": variables.pop("business_key", "bk"), "withVariablesInReturn": True,
        "variables": {"province": {"value": "gd"}, "applicant": {"value": "alice"}, **variables}})
    assert response.status_code == 200, response.text
    return response.json()


def test_typed_and_untyped_variables_round_trip(client):
    deploy(client, FIXTURES / "eco_review.bpmn")
    instance = start(client, area={"value": 12.5, "type": "Double"}, employees={"value": "300", "type": "Long"},
                     certified={"value": "true", "type": "Boolean"},
                     since={"value": "2026-05-01T10:00:00.000+0800", "type": "Date"},
                     scope={"value": '{"districts": ["南山", "福田"]}', "type": "Json"}, note={"value": None})
    values = instance["variables"]
    assert values["area"] == {"type": "Double", "value": 12.5, "valueInfo": {}}
    assert values["employees"]["value"] == 300 and values["certified"]["value"] is True
    assert values["since"] == {"type": "Date", "value": "2026-05-01T10:00:00.000+0800", "valueInfo": {}}
    assert values["scope"]["type"] == "Json" and "南山" in values["scope"]["value"]
    fetched = client.get(f"/process-instance/{instance['id']}/variables").json()
    assert fetched == values
    assert client.get(f"/process-instance/{instance['id']}/variables/area").json()["value"] == 12.5

    client.put(f"/process-instance/{instance['id']}/variables/area",
               json={"value": 20, "type": "Integer"}).raise_for_status()
    client.post(f"/process-instance/{instance['id']}/variables",
                json={"modifications": {"stage": {"value": "审查"}}, "deletions": ["note"]}).raise_for_status()
    fetched = client.get(f"/process-instance/{instance['id']}/variables").json()
    assert fetched["area"]["value"] == 20 and fetched["stage"]["value"] == "审查" and "note" not in fetched
    assert client.delete(f"/process-instance/{instance['id']}/variables/stage").status_code == 204
    assert client.get(f"/process-instance/{instance['id']}/variables/stage").status_code == 404


def test_wrongly_typed_variables_are_refused_and_nothing_starts(client):
    deploy(client, FIXTURES / "eco_review.bpmn")
    for bad in [{"value": "abc", "type": "Integer"}, {"value": "yes", "type": "Boolean"},
                {"value": "tomorrow", "type": "Date"}, {"value": 1, "type": "Bytes"},
                {"value": "{not json", "type": "Json"}, {"value": 1, "type": "String"},
                {"value": {"typename": "BpmnWorkflow"}, "type": "Json"}, "not an object"]:
        response = client.post("/process-definition/key/eco_review/start",
                               json={"variables": {"x": bad, "province": {"value": "gd"}}})
        assert response.status_code == 400, bad
        assert response.json()["type"] == "InvalidRequestException"
    assert client.get("/process-instance/count").json() == {"count": 0}
    assert client.post("/process-definition/key/eco_review/start", content=b"[1,2]",
                       headers={"content-type": "application/json"}).status_code == 400


def test_task_shape_queries_claims_and_counts(client):
    deploy(client, FIXTURES / "eco_review.bpmn")
    first = start(client, business_key="park-A")
    start(client, business_key="park-B", province={"value": "zj"})
    [task] = client.get("/task", params={"processInstanceBusinessKey": "park-A"}).json()
    for key in ["id", "name", "assignee", "created", "due", "followUp", "delegationState", "description",
                "executionId", "owner", "parentTaskId", "priority", "processDefinitionId", "processInstanceId",
                "taskDefinitionKey", "caseExecutionId", "caseInstanceId", "caseDefinitionId", "suspended",
                "formKey", "tenantId"]:
        assert key in task
    assert CAMUNDA_DATE.match(task["created"]) and task["processInstanceId"] == first["id"]

    # Lists arrive as repeated keys or comma-separated, and as a JSON body.
    both = client.get("/task", params=[("candidateGroups", "gd-eco-env"), ("candidateGroups", "zj-eco-env")]).json()
    assert len(both) == 2
    assert len(client.get("/task", params={"candidateGroups": "gd-eco-env,zj-eco-env"}).json()) == 2
    assert client.post("/task/count", json={"candidateGroups": ["zj-eco-env"]}).json() == {"count": 1}
    body = client.post("/task", params={"maxResults": 1},
                       json={"processDefinitionKey": "eco_review",
                             "sorting": [{"sortBy": "created", "sortOrder": "desc"}]}).json()
    assert len(body) == 1

    assert client.post(f"/task/{task['id']}/claim", json={"userId": "wang"}).status_code == 204
    assert client.get(f"/task/{task['id']}").json()["assignee"] == "wang"
    # A claimed task leaves the group's queue, as in Camunda, unless assigned tasks are asked for.
    assert client.get("/task", params={"candidateGroup": "gd-eco-env"}).json() == []
    assert len(client.get("/task", params={"candidateGroup": "gd-eco-env", "includeAssignedTasks": "true"}).json()) == 1
    taken = client.post(f"/task/{task['id']}/claim", json={"userId": "li"})
    assert taken.status_code == 409 and taken.json()["type"] == "TaskAlreadyClaimedException"
    assert client.post(f"/task/{task['id']}/unclaim").status_code == 204
    assert client.post(f"/task/{task['id']}/assignee", json={"userId": "li"}).status_code == 204
    assert client.get("/task", params={"assignee": "li"}).json()[0]["id"] == task["id"]
    assert client.get("/task", params={"sortBy": "bogus"}).status_code == 400

    form = client.get(f"/task/{task['id']}/form-variables").json()
    assert set(form) == {"decision", "opinion", "score"} and form["decision"]["type"] == "String"

    client.post(f"/task/{task['id']}/complete", json={"variables": {
        "decision": {"value": "reject"}, "opinion": {"value": "不符合"}}}).raise_for_status()
    activities = client.get("/history/activity-instance",
                            params={"processInstanceId": first["id"], "sortBy": "occurrence",
                                    "sortOrder": "asc"}).json()
    assert [a["activityId"] for a in activities] == ["application_received", "provincial_review",
                                                    "decision_gateway", "rejected_end"]
    review = activities[1]
    assert review["assignee"] == "li" and review["taskId"] == task["id"] and review["endTime"]


def test_deleting_an_instance_ends_it_and_keeps_its_history(client):
    deploy(client, FIXTURES / "eco_review.bpmn")
    instance = start(client)
    assert client.delete(f"/process-instance/{instance['id']}", params={"deleteReason": "撤回申请"}).status_code == 204
    assert client.get(f"/process-instance/{instance['id']}").status_code == 404
    assert client.get("/task", params={"processInstanceId": instance["id"]}).json() == []
    historic = client.get(f"/history/process-instance/{instance['id']}").json()
    assert historic["state"] == "EXTERNALLY_TERMINATED" and historic["deleteReason"] == "撤回申请"
    canceled = client.get("/history/activity-instance", params={"processInstanceId": instance["id"],
                                                               "canceled": "true"}).json()
    assert [a["activityId"] for a in canceled] == ["provincial_review"]
    assert client.delete(f"/process-instance/{instance['id']}").status_code == 404
    assert client.delete(f"/process-instance/{instance['id']}", params={"failIfNotExists": "false"}).status_code == 204


def test_version_health_and_openapi(client, service):
    import httpx

    assert client.get("/version").json()["version"].startswith("7.")
    root = httpx.get(f"{service.base_url}/health").json()
    assert root["status"] == "UP"
    assert "/engine-rest/task" in httpx.get(f"{service.base_url}/openapi.json").json()["paths"]


PUBLICITY_TIMER = '<bpmn:timerEventDefinition><bpmn:timeDuration>P7D</bpmn:timeDuration></bpmn:timerEventDefinition>'
WAITS = {
    "a timer": f'<bpmn:intermediateCatchEvent id="wait">{PUBLICITY_TIMER}</bpmn:intermediateCatchEvent>'
               '<bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="publish" />',
    "an event-based gateway": '<bpmn:eventBasedGateway id="wait" />'
               '<bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="over" />'
               f'<bpmn:intermediateCatchEvent id="over">{PUBLICITY_TIMER}</bpmn:intermediateCatchEvent>'
               '<bpmn:sequenceFlow id="f3" sourceRef="over" targetRef="publish" />'
               '<bpmn:sequenceFlow id="f4" sourceRef="wait" targetRef="objection" />'
               '<bpmn:intermediateCatchEvent id="objection"><bpmn:signalEventDefinition signalRef="sg" />'
               '</bpmn:intermediateCatchEvent><bpmn:sequenceFlow id="f5" sourceRef="objection" targetRef="publish" />',
    "a message": '<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="mg" />'
                 '</bpmn:intermediateCatchEvent><bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="publish" />',
}


@pytest.mark.parametrize("waiting_at", WAITS)
def test_variables_changed_while_the_case_waits_keep_their_values_when_it_goes_on(client, root, waiting_at):
    body = ('<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait" />'
            + WAITS[waiting_at] + '<bpmn:userTask id="publish" />'
            '<bpmn:sequenceFlow id="f9" sourceRef="publish" targetRef="e" /><bpmn:endEvent id="e" />')
    xml = process("publicity_wait", body).replace(b"<bpmn:process ", b'<bpmn:signal id="sg" name="objection" />'
                                                                     b'<bpmn:message id="mg" name="report" />'
                                                                     b"<bpmn:process ")
    assert deploy_bytes(client, "wait.bpmn", xml).status_code == 200
    case = client.post("/process-definition/key/publicity_wait/start", json={"variables": {
        "opinion": {"value": "无异议"}, "objections": {"value": 0}, "draft": {"value": "初稿"}}}).json()["id"]
    client.put(f"/process-instance/{case}/variables/opinion", json={"value": "收到异议一件"}).raise_for_status()
    client.post(f"/process-instance/{case}/variables", json={
        "modifications": {"objections": {"value": 1}}, "deletions": ["draft"]}).raise_for_status()
    root.post("/api/clock", json={"advance": "P1D"}).raise_for_status()  # a timer refresh, nothing due
    if waiting_at == "a message":
        client.post("/message", json={"messageName": "report", "processInstanceId": case}).raise_for_status()
    else:
        root.post("/api/clock", json={"advance": "P7D"}).raise_for_status()
    [task] = client.get("/task", params={"processInstanceId": case}).json()
    assert task["taskDefinitionKey"] == "publish"
    values = client.get(f"/process-instance/{case}/variables").json()
    assert (values["opinion"]["value"], values["objections"]["value"]) == ("收到异议一件", 1)
    assert "draft" not in values
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True


THREE_BRANCHES = process("three_branches", """
  <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="split" />
  <bpmn:parallelGateway id="split" />
  <bpmn:sequenceFlow id="fa" sourceRef="split" targetRef="a" /><bpmn:userTask id="a" />
  <bpmn:sequenceFlow id="fb" sourceRef="split" targetRef="b" /><bpmn:userTask id="b" />
  <bpmn:sequenceFlow id="fc" sourceRef="split" targetRef="c" /><bpmn:userTask id="c" />
  <bpmn:sequenceFlow id="ja" sourceRef="a" targetRef="join" /><bpmn:sequenceFlow id="jb" sourceRef="b" targetRef="join" />
  <bpmn:sequenceFlow id="jc" sourceRef="c" targetRef="join" />
  <bpmn:parallelGateway id="join" /><bpmn:sequenceFlow id="fd" sourceRef="join" targetRef="decide" />
  <bpmn:userTask id="decide" /><bpmn:sequenceFlow id="fe" sourceRef="decide" targetRef="e" /><bpmn:endEvent id="e" />""")


@pytest.mark.parametrize("order", [("a", "b"), ("b", "a")])
def test_a_variable_one_branch_sets_is_the_cases_at_once_and_after_the_join(client, root, order):
    assert deploy_bytes(client, "three.bpmn", THREE_BRANCHES).status_code == 200
    case = client.post("/process-definition/key/three_branches/start", json={"variables": {
        "fee_paid": {"value": False}, "status": {"value": "受理"}}}).json()["id"]
    tasks = {task["taskDefinitionKey"]: task["id"] for task in client.get("/task", params={"processInstanceId": case}).json()}
    first, second = order
    sets = {"a": {"fee_paid": {"value": True}}, "b": {"status": {"value": "现场核查完毕"}}}
    client.post(f"/task/{tasks[first]}/complete", json={"variables": sets[first]}).raise_for_status()
    values = client.get(f"/process-instance/{case}/variables").json()
    assert {name: values[name]["value"] for name in sets[first]} == {name: v["value"] for name, v in sets[first].items()}
    # The other branch's task sees it too, as in Camunda, where the variable is the instance's.
    seen = client.get(f"/task/{tasks[second]}/variables").json()
    assert {name: seen[name]["value"] for name in sets[first]} == {name: v["value"] for name, v in sets[first].items()}
    client.post(f"/task/{tasks[second]}/complete", json={"variables": sets[second]}).raise_for_status()
    client.post(f"/task/{tasks['c']}/complete", json={}).raise_for_status()
    values = client.get(f"/process-instance/{case}/variables").json()
    assert (values["fee_paid"]["value"], values["status"]["value"]) == (True, "现场核查完毕")
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True


def test_the_last_write_wins_across_branches_and_a_deleted_variable_stays_deleted(client):
    assert deploy_bytes(client, "three.bpmn", THREE_BRANCHES).status_code == 200
    case = client.post("/process-definition/key/three_branches/start", json={"variables": {
        "stage": {"value": "受理"}, "draft": {"value": "初稿"}}}).json()["id"]
    tasks = {task["taskDefinitionKey"]: task["id"] for task in client.get("/task", params={"processInstanceId": case}).json()}
    client.post(f"/task/{tasks['a']}/complete", json={"variables": {"stage": {"value": "审查"}}}).raise_for_status()
    client.post(f"/task/{tasks['b']}/complete", json={"variables": {"stage": {"value": "受理"}}}).raise_for_status()
    client.delete(f"/process-instance/{case}/variables/draft").raise_for_status()
    client.post(f"/task/{tasks['c']}/complete", json={}).raise_for_status()
    values = client.get(f"/process-instance/{case}/variables").json()
    # b set the stage back to what it was before a: the last write, as in Camunda.
    assert values["stage"]["value"] == "受理" and "draft" not in values

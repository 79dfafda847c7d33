"""Task-local variables as Camunda's /task/{id}/localVariables: set on the open task alone by whoever
works it, seen by the task (its variables, its form, its completion), hiding a case variable of the
same name meanwhile, gone when the task completes; each change kept in the case's chained history
with who made it, replayed, and in the user operation log."""
from __future__ import annotations

import pytest

from app.access import accounts
from tests.support.bpmn_text import process
from tests.support.http import as_user, deploy_bytes

CASE = process("local_case", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review" name="初审" camunda:candidateGroups="xj-env">
    <bpmn:extensionElements><camunda:inputOutput>
      <camunda:inputParameter name="checklist">营业执照、监测报告</camunda:inputParameter>
      <camunda:outputParameter name="reviewedWith">${checklist}</camunda:outputParameter>
    </camunda:inputOutput></bpmn:extensionElements>
  </bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="decide" />
  <bpmn:userTask id="decide" name="审定" camunda:candidateGroups="xj-env" />
  <bpmn:sequenceFlow id="f3" sourceRef="decide" targetRef="end" /><bpmn:endEvent id="end" />""")


@pytest.fixture
def case(service, client):
    for user, groups in {"li": ["xj-env"], "zhao": ["xj-drc"]}.items():
        accounts.save_account(service.services, user, f"{user}-password", groups)
    deploy_bytes(client, "local.bpmn", CASE).raise_for_status()
    instance = client.post("/process-definition/key/local_case/start",
                           json={"variables": {"note": {"value": "案件备注"}}}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    return instance, task["id"]


def values(answer) -> dict:
    assert answer.status_code == 200, answer.text
    return {name: row["value"] for name, row in answer.json().items()}


def test_a_local_variable_lives_on_the_task_and_goes_when_it_completes(service, client, root, case):
    instance, task = case
    with as_user(service, "li") as li:
        put = li.put(f"/task/{task}/localVariables/note", json={"value": "初审草稿", "type": "String"})
        assert put.status_code == 204, put.text
        posted = li.post(f"/task/{task}/localVariables", json={
            "modifications": {"score": {"value": 85, "type": "Integer"}, "checked": {"value": True}}})
        assert posted.status_code == 204, posted.text
        # The task's own: its input parameter and what was set on it.
        assert values(li.get(f"/task/{task}/localVariables")) == {
            "checklist": "营业执照、监测报告", "note": "初审草稿", "score": 85, "checked": True}
        single = li.get(f"/task/{task}/localVariables/score").json()
        assert (single["type"], single["value"]) == ("Integer", 85)
        # The task sees its own over the case's; the case does not see them.
        assert values(li.get(f"/task/{task}/variables"))["note"] == "初审草稿"
    assert values(client.get(f"/process-instance/{instance}/variables")) == {"note": "案件备注"}
    # The case's variable changes meanwhile; the task's own stays.
    assert client.put(f"/process-instance/{instance}/variables/note",
                      json={"value": "案件备注（更新）", "type": "String"}).status_code == 204
    assert values(client.get(f"/task/{task}/localVariables"))["note"] == "初审草稿"
    with as_user(service, "li") as li:
        li.put(f"/task/{task}/localVariables/checklist", json={"value": "营业执照"}).raise_for_status()
        li.post(f"/task/{task}/complete", json={"variables": {"opinion": {"value": "同意"}}}).raise_for_status()
    # Gone with the task: the case has its own note back, the output parameter read the input.
    assert values(client.get(f"/process-instance/{instance}/variables")) == {
        "note": "案件备注（更新）", "opinion": "同意", "reviewedWith": "营业执照"}
    [decide] = client.get("/task", params={"processInstanceId": instance}).json()
    assert values(client.get(f"/task/{decide['id']}/localVariables")) == {}

    log = client.get("/history/user-operation", params={"processInstanceId": instance, "entityType": "Variable"})
    assert [(e["userId"], e["operationType"], e["taskId"], e["category"]) for e in log.json()] == [
        ("li", "ModifyVariable", task, "TaskWorker"), ("li", "ModifyVariable", task, "TaskWorker"),
        ("test-admin", "ModifyVariable", None, "Operator"), ("li", "ModifyVariable", task, "TaskWorker")]
    said = [e["what"] for e in root.get(f"/api/process-instances/{instance}/timeline").json()]
    assert said.count("修改待办数据：初审") == 3
    assert root.get("/api/history/verify", params={"processInstanceId": instance}).json()["intact"] is True
    replayed = root.get(f"/api/process-instances/{instance}/replay").json()
    assert replayed["reproduced"] is True, replayed


def test_deleting_a_local_variable_shows_the_case_value_again(client, case):
    instance, task = case
    client.put(f"/task/{task}/localVariables/note", json={"value": "草稿"}).raise_for_status()
    assert client.delete(f"/task/{task}/localVariables/note").status_code == 204
    assert values(client.get(f"/task/{task}/variables"))["note"] == "案件备注"
    missing = client.get(f"/task/{task}/localVariables/note")
    assert missing.status_code == 404 and "does not exist" in missing.json()["message"]
    # The case's variable is not the task's own: removing it there changes nothing.
    assert client.delete(f"/task/{task}/localVariables/note").status_code == 204
    client.post(f"/task/{task}/localVariables", json={"modifications": {"x": {"value": 1}}, "deletions": ["x"]}
                ).raise_for_status()
    assert values(client.get(f"/task/{task}/localVariables")) == {"checklist": "营业执照、监测报告"}
    assert values(client.get(f"/process-instance/{instance}/variables")) == {"note": "案件备注"}


def test_only_those_who_work_the_task_set_them_and_only_readers_of_the_case_read_them(service, case):
    _, task = case
    with as_user(service, "zhao") as zhao:
        refused = zhao.put(f"/task/{task}/localVariables/note", json={"value": "越权"})
        assert refused.status_code == 403 and refused.json()["type"] == "AuthorizationException"
        assert zhao.post(f"/task/{task}/localVariables", json={"deletions": ["checklist"]}).status_code == 403
        assert zhao.delete(f"/task/{task}/localVariables/checklist").status_code == 403
        assert zhao.get(f"/task/{task}/localVariables").status_code == 403


@pytest.mark.parametrize("body, says", [
    ({"value": "x", "type": "Integer"}, "to type Integer"), ({"value": {"typename": 1}, "type": "Json"}, "reserved"),
    ({"value": "x", "type": "Xml"}, "unsupported type"),
])
def test_bad_values_are_refused_and_nothing_is_set(client, case, body, says):
    _, task = case
    answer = client.put(f"/task/{task}/localVariables/bad", json=body)
    assert answer.status_code == 400 and says in answer.json()["message"], answer.text
    assert "bad" not in values(client.get(f"/task/{task}/localVariables"))


def test_unknown_and_done_tasks(client, case):
    _, task = case
    assert client.get("/task/nope/localVariables").status_code == 404
    assert client.put("/task/nope/localVariables/x", json={"value": 1}).status_code == 404
    client.post(f"/task/{task}/complete", json={}).raise_for_status()
    assert client.put(f"/task/{task}/localVariables/x", json={"value": 1}).status_code == 409


COUNTERSIGN = process("local_countersign", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sign" />
  <bpmn:userTask id="sign" name="会签" camunda:candidateGroups="xj-env">
    <bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>2</bpmn:loopCardinality>
    </bpmn:multiInstanceLoopCharacteristics>
  </bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="sign" targetRef="after" />
  <bpmn:userTask id="after" name="汇总" camunda:candidateGroups="xj-env" />
  <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end" /><bpmn:endEvent id="end" />""")


def test_an_instance_of_a_countersign_keeps_its_local_variables_to_itself(client):
    deploy_bytes(client, "countersign.bpmn", COUNTERSIGN).raise_for_status()
    instance = client.post("/process-definition/key/local_countersign/start",
                           json={"variables": {"draft": {"value": "案件稿"}}}).json()["id"]
    first, second = client.get("/task", params={"processInstanceId": instance}).json()
    client.put(f"/task/{first['id']}/localVariables/draft", json={"value": "甲的草稿"}).raise_for_status()
    assert values(client.get(f"/task/{first['id']}/variables"))["draft"] == "甲的草稿"
    assert values(client.get(f"/task/{second['id']}/variables"))["draft"] == "案件稿"
    assert values(client.get(f"/process-instance/{instance}/variables"))["draft"] == "案件稿"
    for task in (first, second):
        client.post(f"/task/{task['id']}/complete", json={"variables": {"signed": {"value": True}}}
                    ).raise_for_status()
    assert values(client.get(f"/process-instance/{instance}/variables")) == {"draft": "案件稿", "signed": True}

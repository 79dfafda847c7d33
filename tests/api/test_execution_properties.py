"""Camunda's `execution` in expressions: the instance's id, business key, definition and region, and
the activity the token is at, read by task names, inputs, conditions and call activities; a
property it does not have is an error naming it, and a replayed case reads the same values."""
from __future__ import annotations

from tests.support.bpmn_text import process
from tests.support.http import deploy_bytes, start

FILING = process("filing", """
  <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review" />
  <bpmn:userTask id="review" name="复核 ${execution.processBusinessKey}">
    <bpmn:extensionElements><camunda:inputOutput>
      <camunda:inputParameter name="where">${execution.currentActivityId}/${execution.currentActivityName}</camunda:inputParameter>
      <camunda:inputParameter name="instance">${execution.processInstanceId == execution.id}</camunda:inputParameter>
      <camunda:inputParameter name="definition">${execution.processDefinitionId}</camunda:inputParameter>
      <camunda:inputParameter name="region">${execution.tenantId}</camunda:inputParameter>
      <camunda:inputParameter name="shadowed">${execution.variables.execution}</camunda:inputParameter>
    </camunda:inputOutput></bpmn:extensionElements>
  </bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="gate" />
  <bpmn:exclusiveGateway id="gate" default="toOther" />
  <bpmn:sequenceFlow id="toCall" sourceRef="gate" targetRef="call">
    <bpmn:conditionExpression>${execution.businessKey == 'HP-2026-7'}</bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="toOther" sourceRef="gate" targetRef="other" />
  <bpmn:userTask id="other" /><bpmn:sequenceFlow id="f3" sourceRef="other" targetRef="e" />
  <bpmn:callActivity id="call" calledElement="filing_check">
    <bpmn:extensionElements>
      <camunda:in businessKey="check:#{execution.processBusinessKey}" />
      <camunda:in sourceExpression="${execution.processInstanceId}" target="caller" />
    </bpmn:extensionElements>
  </bpmn:callActivity>
  <bpmn:sequenceFlow id="f4" sourceRef="call" targetRef="e" /><bpmn:endEvent id="e" />""")

CHECK = process("filing_check", """
  <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="check" />
  <bpmn:userTask id="check" /><bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="e" />
  <bpmn:endEvent id="e" />""")

UNKNOWN = process("filing_engine", """
  <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t" />
  <bpmn:userTask id="t" camunda:assignee="${execution.processEngineServices.identityService}" />
  <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e" /><bpmn:endEvent id="e" />""")


def test_expressions_read_the_instance_as_camundas_execution(client):
    for name, content in (("check.bpmn", CHECK), ("filing.bpmn", FILING)):
        assert deploy_bytes(client, name, content).status_code == 200
    answer = start(client, "filing", "HP-2026-7", execution="a variable of that name")
    assert answer.status_code == 200, answer.text
    case = answer.json()
    [task] = client.get("/task", params={"processInstanceId": case["id"]}).json()
    assert task["name"] == "复核 HP-2026-7"  # as in Camunda, a user task's name is an expression
    seen = {name: row["value"] for name, row in client.get(f"/task/{task['id']}/variables").json().items()}
    assert seen["where"] == "review/复核 ${execution.processBusinessKey}"
    assert seen["instance"] is True and seen["definition"] == case["definitionId"] and seen["region"] is None
    # `execution` is the execution, as in Camunda; the variable is still the case's.
    assert seen["shadowed"] == "a variable of that name"
    assert client.post(f"/task/{task['id']}/complete", json={}).status_code == 204
    [child] = client.get("/process-instance", params={"superProcessInstance": case["id"]}).json()
    assert child["businessKey"] == "check:HP-2026-7"
    assert client.get(f"/process-instance/{child['id']}/variables/caller").json()["value"] == case["id"]
    [check] = client.get("/task", params={"processInstanceId": child["id"]}).json()
    assert client.post(f"/task/{check['id']}/complete", json={}).status_code == 204
    assert client.get(f"/history/process-instance/{case['id']}").json()["state"] == "COMPLETED"
    assert client.get(f"../api/process-instances/{case['id']}/replay").json()["reproduced"] is True


def test_the_gateway_reads_another_business_key_and_takes_the_default(client):
    for name, content in (("check.bpmn", CHECK), ("filing.bpmn", FILING)):
        assert deploy_bytes(client, name, content).status_code == 200
    case = start(client, "filing", "HP-2026-8").json()
    [task] = client.get("/task", params={"processInstanceId": case["id"]}).json()
    assert client.post(f"/task/{task['id']}/complete", json={}).status_code == 204
    assert [t["taskDefinitionKey"] for t in client.get("/task", params={"processInstanceId": case["id"]}).json()] \
        == ["other"]


def test_a_property_the_execution_does_not_have_is_named(client):
    assert deploy_bytes(client, "engine.bpmn", UNKNOWN).status_code == 200
    answer = start(client, "filing_engine", "HP-1")
    assert answer.status_code == 400
    message = answer.json()["message"]
    assert "'execution' has no property \"processEngineServices\"" in message and "processBusinessKey" in message
    assert "Traceback" not in message and "KeyError" not in message


def test_a_task_name_with_a_broken_expression_is_refused_at_deploy(client):
    broken = CHECK.replace(b'<bpmn:userTask id="check" />',
                           '<bpmn:userTask id="check" name="复核 ${applicant" />'.encode())
    answer = deploy_bytes(client, "broken.bpmn", broken)
    assert answer.status_code == 400
    assert "invalid expression in the name '复核 ${applicant'" in answer.json()["message"]


BESIDE = process("named_beside", """
  <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="split" />
  <bpmn:parallelGateway id="split" />
  <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="named" /><bpmn:userTask id="named" name="复核 ${applicant}" />
  <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="other" /><bpmn:userTask id="other" />""")


def test_a_task_name_is_evaluated_when_the_task_opens_and_stays(client):
    assert deploy_bytes(client, "beside.bpmn", BESIDE).status_code == 200
    case = start(client, "named_beside", "HP-9", applicant="张三").json()["id"]
    assert client.delete(f"/process-instance/{case}/variables/applicant").status_code == 204
    tasks = {task["taskDefinitionKey"]: task for task in client.get("/task", params={"processInstanceId": case}).json()}
    assert client.post(f"/task/{tasks['other']['id']}/complete", json={}).status_code == 204
    [named] = client.get("/task", params={"processInstanceId": case}).json()
    assert named["name"] == "复核 张三"

"""Input parameters (camunda:inputParameter) as Camunda's local variables of a task: set when the task
opens, seen by its expressions, its form and its worker, not by the case, gone when it completes
(a case variable of the same name is the case's again), and readable by its output parameters."""
from __future__ import annotations

import json

import pytest

from tests.support.bpmn_text import process
from tests.support.http import deploy_bytes

INPUTS = process("local_review", """
  <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review" />
  <bpmn:userTask id="review" name="审查" camunda:candidateGroups="${group}">
    <bpmn:extensionElements><camunda:inputOutput>
      <camunda:inputParameter name="group">xj-${region}-env</camunda:inputParameter>
      <camunda:inputParameter name="amount">${amount + 100}</camunda:inputParameter>
      <camunda:inputParameter name="label">征收标准复核</camunda:inputParameter>
      <camunda:outputParameter name="total">${amount}</camunda:outputParameter>
    </camunda:inputOutput></bpmn:extensionElements>
  </bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="notify" />
  <bpmn:serviceTask id="notify" camunda:type="external" camunda:topic="notify">
    <bpmn:extensionElements><camunda:inputOutput>
      <camunda:inputParameter name="text">${label2}：${total}</camunda:inputParameter>
    </camunda:inputOutput></bpmn:extensionElements>
  </bpmn:serviceTask>
  <bpmn:sequenceFlow id="f3" sourceRef="notify" targetRef="e" /><bpmn:endEvent id="e" />""")


def values(answer: dict) -> dict:
    return {name: row["value"] for name, row in answer.items()}


def test_a_tasks_input_parameters_are_its_own_variables(client):
    assert deploy_bytes(client, "local.bpmn", INPUTS).status_code == 200
    case = client.post("/process-definition/key/local_review/start", json={"variables": {
        "region": {"value": "urumqi"}, "amount": {"value": 100}, "label2": {"value": "应缴"}}}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": case}).json()
    # The task's candidate group is read from its own variable.
    assert client.get(f"/task/{task['id']}/identity-links").json()[0]["groupId"] == "xj-urumqi-env"
    seen = values(client.get(f"/task/{task['id']}/variables").json())
    assert (seen["amount"], seen["label"], seen["group"]) == (200, "征收标准复核", "xj-urumqi-env")
    case_values = values(client.get(f"/process-instance/{case}/variables").json())
    assert case_values["amount"] == 100 and "label" not in case_values and "group" not in case_values
    assert client.post(f"/task/{task['id']}/complete", json={}).status_code == 204
    case_values = values(client.get(f"/process-instance/{case}/variables").json())
    # The output parameter read the task's own amount; the case's amount is the case's again.
    assert (case_values["amount"], case_values["total"]) == (100, 200) and "label" not in case_values
    [locked] = client.post("/external-task/fetchAndLock", json={
        "workerId": "w", "maxTasks": 1, "topics": [{"topicName": "notify", "lockDuration": 1000}]}).json()
    assert locked["variables"]["text"]["value"] == "应缴：200"
    assert client.post(f"/external-task/{locked['id']}/complete", json={"workerId": "w"}).status_code == 204
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    assert "text" not in {row["name"] for row in client.get(
        "/history/variable-instance", params={"processInstanceId": case}).json()}
    assert client.get(f"../api/process-instances/{case}/replay").json()["reproduced"] is True


@pytest.mark.parametrize("body, says", [
    ('<bpmn:exclusiveGateway id="x"><bpmn:extensionElements><camunda:inputOutput><camunda:inputParameter '
     'name="a">1</camunda:inputParameter></camunda:inputOutput></bpmn:extensionElements></bpmn:exclusiveGateway>',
     "on a task, call activity, embedded subprocess, intermediate catch or throw event (its own"),
    ('<bpmn:subProcess id="x" triggeredByEvent="true"><bpmn:extensionElements><camunda:inputOutput>'
     '<camunda:inputParameter name="a">1</camunda:inputParameter></camunda:inputOutput></bpmn:extensionElements>'
     '<bpmn:startEvent id="es"><bpmn:signalEventDefinition signalRef="sig"/></bpmn:startEvent></bpmn:subProcess>',
     "on a task, call activity, embedded subprocess, intermediate catch or throw event (its own"),
    ('<bpmn:userTask id="x"><bpmn:extensionElements><camunda:inputOutput><camunda:inputParameter name="a">'
     '<camunda:script scriptFormat="groovy">1</camunda:script></camunda:inputParameter></camunda:inputOutput>'
     '</bpmn:extensionElements></bpmn:userTask>', "scripts are not supported"),
    ('<bpmn:userTask id="x"><bpmn:extensionElements><camunda:inputOutput><camunda:inputParameter name="1a">x'
     '</camunda:inputParameter></camunda:inputOutput></bpmn:extensionElements></bpmn:userTask>',
     "not a valid variable name"),
])
def test_input_parameters_the_service_does_not_read_are_refused(client, body, says):
    answer = deploy_bytes(client, "bad.bpmn", process("bad_inputs", '<bpmn:startEvent id="s"/>' + body))
    assert answer.status_code == 400 and says in answer.json()["message"], answer.text


SUBPROCESS = process("scoped_review", """
  <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review" />
  <bpmn:subProcess id="review">
    <bpmn:extensionElements><camunda:inputOutput>
      <camunda:inputParameter name="level">${level + 1}</camunda:inputParameter>
      <camunda:inputParameter name="office">province</camunda:inputParameter>
      <camunda:outputParameter name="reached">${level}</camunda:outputParameter>
    </camunda:inputOutput></bpmn:extensionElements>
    <bpmn:startEvent id="is" /><bpmn:sequenceFlow id="i1" sourceRef="is" targetRef="check" />
    <bpmn:userTask id="check" camunda:candidateGroups="${office}" />
    <bpmn:sequenceFlow id="i2" sourceRef="check" targetRef="ie" /><bpmn:endEvent id="ie" />
  </bpmn:subProcess>
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="after" /><bpmn:userTask id="after" />
  <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e" /><bpmn:endEvent id="e" />""")


def test_an_embedded_subprocesss_input_parameters_are_its_scopes_own_variables(client, root):
    """As Camunda's InputOutputTest.testSubprocessIoSupport: what runs inside sees and changes the
    subprocess's own variables; the case keeps its own of the same name, and an output parameter
    carries out what the inside left."""
    assert deploy_bytes(client, "scoped.bpmn", SUBPROCESS).status_code == 200
    case = client.post("/process-definition/key/scoped_review/start",
                       json={"variables": {"level": {"value": 1}}}).json()["id"]
    [check] = client.get("/task", params={"processInstanceId": case}).json()
    assert client.get(f"/task/{check['id']}/identity-links").json()[0]["groupId"] == "province"
    seen = values(client.get(f"/task/{check['id']}/variables").json())
    assert (seen["level"], seen["office"]) == (2, "province")
    assert values(client.get(f"/process-instance/{case}/variables").json()) == {"level": 1}
    done = client.post(f"/task/{check['id']}/complete", json={"variables": {"level": {"value": 5}}})
    assert done.status_code == 204, done.text
    # The inside wrote the subprocess's level: the case's is its own again, and the output carried it.
    assert values(client.get(f"/process-instance/{case}/variables").json()) == {"level": 1, "reached": 5}
    [after] = client.get("/task", params={"processInstanceId": case}).json()
    assert after["taskDefinitionKey"] == "after"
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True


LISTS_AND_MAPS = process("listed_review", """
  <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review" />
  <bpmn:userTask id="review">
    <bpmn:extensionElements><camunda:inputOutput>
      <camunda:inputParameter name="offices">
        <camunda:list><camunda:value>生态环境厅</camunda:value><camunda:value>${region}-env</camunda:value>
          <camunda:value></camunda:value></camunda:list>
      </camunda:inputParameter>
      <camunda:outputParameter name="summary">
        <camunda:map>
          <camunda:entry key="offices"><camunda:list><camunda:value>${offices[1]}</camunda:value>
            <camunda:map><camunda:entry key="level">${level * 2}</camunda:entry></camunda:map></camunda:list>
          </camunda:entry>
          <camunda:entry key="${region}">checked</camunda:entry>
          <camunda:entry key="none"></camunda:entry>
        </camunda:map>
      </camunda:outputParameter>
    </camunda:inputOutput></bpmn:extensionElements>
  </bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e" /><bpmn:endEvent id="e" />""")


def test_lists_and_maps_of_parameters_are_evaluated_into_lists_and_maps(client, root):
    """As the Modeler's Type: List / Type: Map write them, nested, keys from expressions, an empty
    value null (Camunda's InputOutputTest.testInputNested and its siblings)."""
    assert deploy_bytes(client, "lists.bpmn", LISTS_AND_MAPS).status_code == 200
    case = client.post("/process-definition/key/listed_review/start", json={"variables": {
        "region": {"value": "hami"}, "level": {"value": 2}}}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": case}).json()
    offices = client.get(f"/task/{task['id']}/variables").json()["offices"]
    # A list is a Json variable, as Camunda's REST shows a collection.
    assert offices["type"] == "Json" and json.loads(offices["value"]) == ["生态环境厅", "hami-env", None]
    assert client.post(f"/task/{task['id']}/complete", json={}).status_code == 204
    [summary] = client.get("/history/variable-instance", params={"processInstanceId": case,
                                                                  "variableName": "summary"}).json()
    assert json.loads(summary["value"]) == {"offices": ["hami-env", {"level": 4}], "hami": "checked", "none": None}
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True


@pytest.mark.parametrize("value, says", [
    ("<camunda:list><camunda:value>a</camunda:value></camunda:list><camunda:list/>", "more than one element"),
    ('<camunda:map><camunda:entry>x</camunda:entry></camunda:map>', "with a key"),
    ("<camunda:list>" * 9 + "</camunda:list>" * 9, "more than 8 deep"),
    ('<camunda:list><camunda:value>${oops</camunda:value></camunda:list>', "invalid expression"),
])
def test_a_list_or_map_the_service_cannot_read_is_refused_naming_the_element(client, value, says):
    body = ('<bpmn:startEvent id="s"/><bpmn:userTask id="x"><bpmn:extensionElements><camunda:inputOutput>'
            f'<camunda:inputParameter name="a">{value}</camunda:inputParameter></camunda:inputOutput>'
            '</bpmn:extensionElements></bpmn:userTask>')
    answer = deploy_bytes(client, "bad.bpmn", process("bad_lists", body))
    assert answer.status_code == 400 and says in answer.json()["message"] and "'x'" in answer.json()["message"], \
        answer.text


def test_a_list_parameter_cannot_multiply_a_value_without_bound(client):
    """Each parameter a list of ten of the one before: the third would hold 10 MB of a 10 KB text."""
    def tenfold(name: str) -> str:
        return "<camunda:list>" + f"<camunda:value>${{{name}}}</camunda:value>" * 10 + "</camunda:list>"

    body = process("multiplied", f"""
      <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="fill"/>
      <bpmn:userTask id="fill"><bpmn:extensionElements><camunda:inputOutput>
        <camunda:inputParameter name="a">{tenfold("x")}</camunda:inputParameter>
        <camunda:inputParameter name="b">{tenfold("a")}</camunda:inputParameter>
        <camunda:inputParameter name="c">{tenfold("b")}</camunda:inputParameter>
      </camunda:inputOutput></bpmn:extensionElements></bpmn:userTask>""")
    assert deploy_bytes(client, "multiplied.bpmn", body).status_code == 200
    answer = client.post("/process-definition/key/multiplied/start", json={"variables": {"x": {"value": "x" * 10_000}}})
    assert answer.status_code == 400, answer.text[:300]
    assert "more than 1 MiB" in answer.json()["message"] and "'fill'" in answer.json()["message"]
    assert client.get("/process-instance", params={"processDefinitionKey": "multiplied"}).json() == []



BESIDE_SUBPROCESS = process("scoped_beside", """
  <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="split" />
  <bpmn:parallelGateway id="split" />
  <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="other" /><bpmn:userTask id="other" />
  <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="review" />
  <bpmn:subProcess id="review">
    <bpmn:extensionElements><camunda:inputOutput>
      <camunda:inputParameter name="level">${level + 1}</camunda:inputParameter>
    </camunda:inputOutput></bpmn:extensionElements>
    <bpmn:startEvent id="is" /><bpmn:sequenceFlow id="i1" sourceRef="is" targetRef="check" />
    <bpmn:userTask id="check" /><bpmn:sequenceFlow id="i2" sourceRef="check" targetRef="ig" />
    <bpmn:exclusiveGateway id="ig" default="i4" />
    <bpmn:sequenceFlow id="i3" sourceRef="ig" targetRef="own_level">
      <bpmn:conditionExpression>${level == 2}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="i4" sourceRef="ig" targetRef="other_level" />
    <bpmn:userTask id="own_level" /><bpmn:userTask id="other_level" />
  </bpmn:subProcess>""")


def test_a_case_variable_set_beside_a_subprocess_leaves_the_subprocess_its_own(client):
    assert deploy_bytes(client, "beside.bpmn", BESIDE_SUBPROCESS).status_code == 200
    case = client.post("/process-definition/key/scoped_beside/start",
                       json={"variables": {"level": {"value": 1}}}).json()["id"]
    tasks = {task["taskDefinitionKey"]: task["id"] for task in client.get("/task", params={"processInstanceId": case}).json()}
    done = client.post(f"/task/{tasks['other']}/complete", json={"variables": {"level": {"value": 9}}})
    assert done.status_code == 204, done.text
    assert values(client.get(f"/task/{tasks['check']}/variables").json())["level"] == 2
    assert client.post(f"/task/{tasks['check']}/complete", json={}).status_code == 204
    assert [task["taskDefinitionKey"] for task in client.get("/task", params={"processInstanceId": case}).json()] \
        == ["own_level"]
    assert values(client.get(f"/process-instance/{case}/variables").json())["level"] == 9

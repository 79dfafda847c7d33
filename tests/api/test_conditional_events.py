"""Conditional events, as Camunda 7 runs them: a ${...} condition (read by the service's own
evaluator) is evaluated when the token arrives and whenever the case's variables change (a task
completed with variables, variables set on the instance). An intermediate conditional event waits
until its condition holds; an interrupting boundary event ends its activity when its condition holds;
a non-interrupting one opens its path each time its condition becomes true while the activity runs."""
from __future__ import annotations

import pytest

from tests.support.bpmn_text import process
from tests.support.http import deploy, deploy_bytes
from tests.support.paths import FIXTURES

CONDITIONAL = FIXTURES / "constructs" / "conditional_events.bpmn"
WAIT = FIXTURES / "constructs" / "conditional_wait.bpmn"


def begin(client, **variables) -> str:
    values = {"score": 0, "urgent": False, "withdrawn": False, **variables}
    answer = client.post("/process-definition/key/conditional_events/start",
                         json={"variables": {name: {"value": value} for name, value in values.items()}})
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def open_tasks(client, instance: str) -> list[str]:
    return sorted(task["taskDefinitionKey"] for task in client.get("/task", params={"processInstanceId": instance}).json())


def complete(client, instance: str, key: str, **variables) -> None:
    [task] = client.get("/task", params={"processInstanceId": instance, "taskDefinitionKey": key}).json()
    done = client.post(f"/task/{task['id']}/complete",
                       json={"variables": {name: {"value": value} for name, value in variables.items()}})
    assert done.status_code == 204, done.text


def put(client, instance: str, name: str, value) -> None:
    answer = client.put(f"/process-instance/{instance}/variables/{name}", json={"value": value})
    assert answer.status_code == 204, answer.text


def history(client, instance: str) -> list[tuple[str, str]]:
    rows = client.get("/history/activity-instance", params={"processInstanceId": instance, "maxResults": 100}).json()
    return sorted((row["activityId"], row["activityType"]) for row in rows)


def test_conditions_are_evaluated_whenever_the_cases_variables_change(client, root):
    deploy(client, CONDITIONAL)
    case = begin(client)
    assert open_tasks(client, case) == ["assess"]
    # A non-interrupting boundary event opens its path when its condition becomes true, and the task stays.
    put(client, case, "urgent", True)
    assert open_tasks(client, case) == ["assess", "expedite"]
    put(client, case, "urgent", True)  # still true: it does not become true again
    put(client, case, "score", 10)
    assert open_tasks(client, case) == ["assess", "expedite"]
    put(client, case, "urgent", False)
    put(client, case, "urgent", True)
    assert open_tasks(client, case) == ["assess", "expedite", "expedite"]
    # The intermediate event waits while its condition does not hold ...
    complete(client, case, "assess", score=50)
    assert open_tasks(client, case) == ["expedite", "expedite"]
    # ... and goes on when variables set on the instance make it hold.
    changed = client.post(f"/process-instance/{case}/variables",
                          json={"modifications": {"score": {"value": 75, "type": "Integer"}}})
    assert changed.status_code == 204, changed.text
    assert open_tasks(client, case) == ["certify", "expedite", "expedite"]
    assert history(client, case) == [
        ("assess", "userTask"), ("certify", "userTask"), ("expedite", "userTask"), ("expedite", "userTask"),
        ("score_reached", "intermediateConditional"), ("start", "startEvent"),
        ("urgent_raised", "boundaryConditional"), ("urgent_raised", "boundaryConditional")]
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"]


def test_a_condition_that_holds_on_arrival_fires_at_once_and_an_interrupting_one_ends_its_task(client):
    deploy(client, CONDITIONAL)
    case = begin(client, urgent=True, score=80)
    # Evaluated as the task is entered: the urgent path opens with it.
    assert open_tasks(client, case) == ["assess", "expedite"]
    # A task of another path completed with variables: the interrupting boundary event ends the assessment.
    complete(client, case, "expedite", withdrawn=True)
    assert open_tasks(client, case) == []
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    rows = {row["activityId"]: row for row in client.get(
        "/history/activity-instance", params={"processInstanceId": case, "maxResults": 100}).json()}
    assert rows["withdrawn"]["activityType"] == "boundaryConditional" and rows["assess"]["canceled"] is True
    assert "score_reached" not in rows and "withdrawn_end" in rows
    # An intermediate event whose condition holds when the token arrives passes at once.
    other = begin(client, score=80)
    complete(client, other, "assess")
    assert open_tasks(client, other) == ["certify"]


def test_a_message_that_brings_variables_makes_a_waiting_condition_hold(client):
    deploy(client, WAIT)
    case = client.post("/process-definition/key/conditional_wait/start",
                       json={"variables": {"documentsComplete": {"value": False}}}).json()["id"]
    assert open_tasks(client, case) == []
    sent = client.post("/message", json={"messageName": "documents_supplemented", "processInstanceId": case,
                                         "processVariables": {"documentsComplete": {"value": True}}})
    assert sent.status_code == 204, sent.text
    assert open_tasks(client, case) == ["approve", "file"]
    assert history(client, case)[1] == ("complete_docs", "intermediateConditional")


def test_a_condition_on_a_variable_the_case_does_not_have_refuses_the_step(client):
    deploy(client, CONDITIONAL)
    answer = client.post("/process-definition/key/conditional_events/start",
                         json={"variables": {"score": {"value": 0}, "urgent": {"value": False}}})
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["type"] == "ProcessEngineException" and "'withdrawn'" in body["message"]
    assert client.get("/process-instance", params={"processDefinitionKey": "conditional_events"}).json() == []


def condition(text: str, extra: str = "") -> str:
    return (f'<bpmn:conditionalEventDefinition id="c"{extra}><bpmn:condition xsi:type="bpmn:tFormalExpression">'
            f'{text}</bpmn:condition></bpmn:conditionalEventDefinition>')


REFUSED = {
    "a condition not written as ${...}": (
        f'<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="wait">{condition("ready == true")}'
        '</bpmn:intermediateCatchEvent><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="wait"/>',
        "wait", "written as ${...}"),
    "a condition that does not parse": (
        f'<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="wait">{condition("${ready ==}")}'
        '</bpmn:intermediateCatchEvent><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="wait"/>',
        "wait", "invalid expression"),
    "camunda:variableName": (
        '<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="wait">'
        + condition("${ready}", ' camunda:variableName="ready"') +
        '</bpmn:intermediateCatchEvent><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="wait"/>',
        "wait", "camunda:variableName"),
    "a conditional event after an event-based gateway": (
        '<bpmn:startEvent id="s"/><bpmn:eventBasedGateway id="g"/>'
        f'<bpmn:intermediateCatchEvent id="wait">{condition("${ready}")}</bpmn:intermediateCatchEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/><bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="wait"/>',
        "g", "conditional"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_conditional_event_the_service_cannot_run_is_refused_at_deploy(client, case):
    body, element, words = REFUSED[case]
    xml = ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
           'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           f'id="d" targetNamespace="t"><bpmn:process id="refused" isExecutable="true">{body}</bpmn:process>'
           '</bpmn:definitions>')
    answer = deploy_bytes(client, "refused.bpmn", xml.encode())
    assert answer.status_code == 400, answer.text
    assert answer.json()["type"] == "ParseException"
    assert f"'{element}'" in answer.json()["message"] and words in answer.json()["message"], answer.json()


def _with_conditional_event_subprocess(interrupting: bool) -> bytes:
    flag = "" if interrupting else ' isInterrupting="false"'
    return process("conditional_esp", f"""
      <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>
      <bpmn:userTask id="review"/><bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e"/><bpmn:endEvent id="e"/>
      <bpmn:subProcess id="escalate" triggeredByEvent="true">
        <bpmn:startEvent id="over_limit"{flag}><bpmn:conditionalEventDefinition>
          <bpmn:condition xsi:type="bpmn:tFormalExpression">${{amount > 1000}}</bpmn:condition>
        </bpmn:conditionalEventDefinition></bpmn:startEvent>
        <bpmn:sequenceFlow id="i1" sourceRef="over_limit" targetRef="leader"/><bpmn:userTask id="leader"/>
        <bpmn:sequenceFlow id="i2" sourceRef="leader" targetRef="ie"/><bpmn:endEvent id="ie"/>
      </bpmn:subProcess>""").replace(b'id="d"', b'id="d" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')


@pytest.mark.parametrize("interrupting, opened", [(True, ["leader"]), (False, ["leader", "review"])])
def test_a_conditional_event_subprocess_starts_when_its_condition_becomes_true(client, interrupting, opened):
    assert deploy_bytes(client, "esp.bpmn", _with_conditional_event_subprocess(interrupting)).status_code == 200
    case = client.post("/process-definition/key/conditional_esp/start",
                       json={"variables": {"amount": {"value": 10}}}).json()["id"]
    assert open_tasks(client, case) == ["review"]
    changed = client.put(f"/process-instance/{case}/variables/amount", json={"value": 5000})
    assert changed.status_code == 204, changed.text
    assert open_tasks(client, case) == opened
    types = {row["activityId"]: row["activityType"] for row in client.get(
        "/history/activity-instance", params={"processInstanceId": case}).json()}
    assert types["over_limit"] == "conditionalStartEvent"
    # Still true after another change: a started event subprocess is not started again.
    client.put(f"/process-instance/{case}/variables/amount", json={"value": 6000}).raise_for_status()
    assert open_tasks(client, case) == opened

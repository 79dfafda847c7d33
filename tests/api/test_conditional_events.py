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


def test_a_condition_on_a_variable_the_case_does_not_have_yet_holds_back_until_it_is_set(client):
    # As Camunda tries a conditional event: a variable not set makes the condition not hold, no error.
    deploy(client, CONDITIONAL)
    answer = client.post("/process-definition/key/conditional_events/start",
                         json={"variables": {"urgent": {"value": False}}})
    assert answer.status_code == 200, answer.text
    case = answer.json()["id"]
    assert open_tasks(client, case) == ["assess"]
    # The intermediate event waits for `score`, which nobody has set yet.
    complete(client, case, "assess")
    assert open_tasks(client, case) == []
    assert client.get(f"/process-instance/{case}/activity-instances").json()["childActivityInstances"][0][
        "activityId"] == "score_reached"
    put(client, case, "score", 60)
    assert open_tasks(client, case) == ["certify"]
    # A condition that fails for another reason still stops the step, in Camunda's words.
    other = begin(client)
    answer = client.post(f"/process-instance/{other}/variables",
                         json={"modifications": {"urgent": {"value": "yes"}}})
    assert answer.status_code == 400 and answer.json()["type"] == "ProcessEngineException", answer.text
    assert "urgent" in answer.json()["message"] and open_tasks(client, other) == ["assess"]


def test_a_start_condition_on_a_variable_not_given_starts_nothing(client):
    deploy_bytes(client, "approval_start.bpmn", _narrowed("approval_start", f"""
      <bpmn:startEvent id="s">{condition("${approved}")}</bpmn:startEvent>
      <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/><bpmn:endEvent id="e"/>""")).raise_for_status()
    answer = client.post("/condition", json={"variables": {"other": {"value": 1}}})
    assert answer.status_code == 200 and answer.json() == [], answer.text
    answer = client.post("/condition", json={"variables": {"approved": {"value": True}}})
    assert answer.status_code == 200 and len(answer.json()) == 1, answer.text


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
    "camunda:variableEvents naming no kind of change": (
        '<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="wait">'
        + condition("${ready}", ' camunda:variableName="ready" camunda:variableEvents="update, change"') +
        '</bpmn:intermediateCatchEvent><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="wait"/>',
        "wait", "'change' is none of create, update, delete"),
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


def _narrowed(key: str, body: str) -> bytes:
    return process(key, body).replace(b'id="d"', b'id="d" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')


def test_a_boundary_event_narrowed_to_a_variable_and_its_updates_listens_to_nothing_else(client, root):
    """camunda:variableName="level" camunda:variableEvents="update": once its task opens, the condition
    is evaluated again only when `level` is updated; a non-interrupting event then fires at each such
    update after which its condition holds, as Camunda fires it."""
    narrowed = condition("${level > 2}", ' camunda:variableName="level" camunda:variableEvents="update"')
    assert deploy_bytes(client, "narrowed.bpmn", _narrowed("narrowed_boundary", f"""
      <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="assess"/>
      <bpmn:userTask id="assess"/><bpmn:sequenceFlow id="f2" sourceRef="assess" targetRef="e"/><bpmn:endEvent id="e"/>
      <bpmn:boundaryEvent id="raised" attachedToRef="assess" cancelActivity="false">{narrowed}</bpmn:boundaryEvent>
      <bpmn:sequenceFlow id="f3" sourceRef="raised" targetRef="expedite"/><bpmn:userTask id="expedite"/>
      <bpmn:sequenceFlow id="f4" sourceRef="expedite" targetRef="e2"/><bpmn:endEvent id="e2"/>""")).status_code == 200
    case = client.post("/process-definition/key/narrowed_boundary/start",
                       json={"variables": {"level": {"value": 0}, "other": {"value": 0}}}).json()["id"]
    put(client, case, "other", 1)
    assert open_tasks(client, case) == ["assess"]
    put(client, case, "level", 3)
    assert open_tasks(client, case) == ["assess", "expedite"]
    put(client, case, "level", 4)  # another update after which it holds: it fires again
    put(client, case, "other", 2)  # not its variable: not evaluated
    assert open_tasks(client, case) == ["assess", "expedite", "expedite"]
    # Deleted and created again: neither is an update, so the condition is not evaluated (without
    # the narrowing the deletion would have stopped the step: `level` is read by the condition).
    assert client.delete(f"/process-instance/{case}/variables/level").status_code == 204
    put(client, case, "level", 9)
    assert open_tasks(client, case) == ["assess", "expedite", "expedite"]
    put(client, case, "level", 10)
    assert open_tasks(client, case) == ["assess", "expedite", "expedite", "expedite"]
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"]


def test_an_intermediate_event_narrowed_to_a_variable_waits_for_that_variable_to_change(client):
    narrowed = condition("${a + b > 10}", ' camunda:variableName="a"')
    assert deploy_bytes(client, "narrowed.bpmn", _narrowed("narrowed_wait", f"""
      <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
      <bpmn:intermediateCatchEvent id="wait">{narrowed}</bpmn:intermediateCatchEvent>
      <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="after"/><bpmn:userTask id="after"/>""")).status_code == 200
    case = client.post("/process-definition/key/narrowed_wait/start",
                       json={"variables": {"a": {"value": 1}, "b": {"value": 1}}}).json()["id"]
    put(client, case, "b", 20)  # the condition would hold, but `b` is not what it listens to
    assert open_tasks(client, case) == []
    put(client, case, "a", 2)
    assert open_tasks(client, case) == ["after"]


def test_a_narrowed_event_subprocess_is_evaluated_when_its_scope_starts(client):
    """As Camunda's testNonInterruptingVariableConditionWithHistory: narrowed to updates of `variable`,
    the condition is still evaluated once when the process starts, and holds then."""
    narrowed = condition("${variable == 1}", ' camunda:variableName="variable" camunda:variableEvents="update"')
    assert deploy_bytes(client, "narrowed.bpmn", _narrowed("narrowed_esp", f"""
      <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="before"/>
      <bpmn:userTask id="before"/><bpmn:sequenceFlow id="f2" sourceRef="before" targetRef="e"/><bpmn:endEvent id="e"/>
      <bpmn:subProcess id="sub" triggeredByEvent="true">
        <bpmn:startEvent id="cond" isInterrupting="false">{narrowed}</bpmn:startEvent>
        <bpmn:sequenceFlow id="i1" sourceRef="cond" targetRef="after"/><bpmn:userTask id="after"/>
        <bpmn:sequenceFlow id="i2" sourceRef="after" targetRef="ie"/><bpmn:endEvent id="ie"/>
      </bpmn:subProcess>""")).status_code == 200
    case = client.post("/process-definition/key/narrowed_esp/start",
                       json={"variables": {"variable": {"value": 1}, "donotloseme": {"value": "here"}}}).json()["id"]
    assert open_tasks(client, case) == ["after", "before"]
    put(client, case, "donotloseme", "there")  # not its variable
    assert open_tasks(client, case) == ["after", "before"]
    put(client, case, "variable", 1)  # the same value set again is no change here
    put(client, case, "variable", 2)
    put(client, case, "variable", 1)  # an update after which it holds: another one starts
    assert open_tasks(client, case) == ["after", "after", "before"]


def test_a_conditional_start_event_narrowed_to_a_variable_starts_only_when_it_is_given(client):
    narrowed = condition("${true}", ' camunda:variableName="foo"')
    assert deploy_bytes(client, "narrowed.bpmn", _narrowed("narrowed_start", f"""
      <bpmn:startEvent id="s">{narrowed}</bpmn:startEvent><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
      <bpmn:userTask id="t"/>""")).status_code == 200
    none = client.post("/condition", json={"variables": {"bar": {"value": 1}}})
    assert none.status_code == 200 and none.json() == [], none.text
    started = client.post("/condition", json={"variables": {"foo": {"value": 1}}})
    assert started.status_code == 200 and len(started.json()) == 1, started.text



RACE = process("conditional_race", """
  <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>
  <bpmn:eventBasedGateway id="g"/>
  <bpmn:sequenceFlow id="to_paid" sourceRef="g" targetRef="paid"/>
  <bpmn:intermediateCatchEvent id="paid"><bpmn:extensionElements><camunda:inputOutput>
      <camunda:outputParameter name="outcome">paid</camunda:outputParameter>
    </camunda:inputOutput></bpmn:extensionElements>
    <bpmn:conditionalEventDefinition camunda:variableName="fee">
      <bpmn:condition xsi:type="bpmn:tFormalExpression">${fee >= 100}</bpmn:condition>
    </bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="to_waived" sourceRef="g" targetRef="waived"/>
  <bpmn:intermediateCatchEvent id="waived"><bpmn:conditionalEventDefinition>
      <bpmn:condition xsi:type="bpmn:tFormalExpression">${waiver}</bpmn:condition>
    </bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="to_withdrawn" sourceRef="g" targetRef="withdrawn"/>
  <bpmn:intermediateCatchEvent id="withdrawn"><bpmn:messageEventDefinition messageRef="m"/></bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="p1" sourceRef="paid" targetRef="issue"/><bpmn:userTask id="issue"/>
  <bpmn:sequenceFlow id="p2" sourceRef="issue" targetRef="e1"/><bpmn:endEvent id="e1"/>
  <bpmn:sequenceFlow id="w1" sourceRef="waived" targetRef="exempt"/><bpmn:userTask id="exempt"/>
  <bpmn:sequenceFlow id="w2" sourceRef="exempt" targetRef="e2"/><bpmn:endEvent id="e2"/>
  <bpmn:sequenceFlow id="x1" sourceRef="withdrawn" targetRef="e3"/><bpmn:endEvent id="e3"/>""").replace(
    b'id="d"', b'id="d" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"').replace(
    b'<bpmn:process ', b'<bpmn:message id="m" name="withdrawn"/><bpmn:process ')


def _race(client, **variables) -> str:
    assert deploy_bytes(client, "race.bpmn", RACE).status_code == 200
    answer = client.post("/process-definition/key/conditional_race/start", json={
        "variables": {name: {"value": value} for name, value in {"fee": 0, "waiver": False, **variables}.items()}})
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def test_an_event_based_gateway_waits_on_conditions_and_goes_on_at_the_branch_whose_condition_holds(client, root):
    case = _race(client)
    assert open_tasks(client, case) == []
    put(client, case, "fee", 50)
    assert open_tasks(client, case) == []
    put(client, case, "waiver", True)  # the second conditional branch, not the first the library would take
    assert open_tasks(client, case) == ["exempt"]
    ids = [activity for activity, _ in history(client, case)]
    assert "waived" in ids and "paid" not in ids and "withdrawn" not in ids
    # The message the gateway also waited for is no longer awaited.
    assert client.get("/event-subscription", params={"processInstanceId": case}).json() == []
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True


def test_a_narrowed_condition_after_the_gateway_is_evaluated_when_its_variable_changes(client):
    case = _race(client)
    put(client, case, "other", 1)
    assert open_tasks(client, case) == []
    put(client, case, "fee", 120)
    assert open_tasks(client, case) == ["issue"]
    variables = client.get(f"/process-instance/{case}/variables").json()
    assert variables["outcome"]["value"] == "paid"  # the catch event's output parameter, as in Camunda


def test_a_condition_holding_when_the_token_reaches_the_gateway_wins_at_once(client):
    case = _race(client, fee=300)
    assert open_tasks(client, case) == ["issue"]


def test_the_message_still_wins_the_race_while_no_condition_holds(client):
    case = _race(client)
    answer = client.post("/message", json={"messageName": "withdrawn", "processInstanceId": case})
    assert answer.status_code == 204, answer.text
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    put_after = client.put(f"/process-instance/{case}/variables/waiver", json={"value": True})
    assert put_after.status_code == 404


def test_branches_of_the_gateway_reading_what_is_not_there_wait_as_camunda_tries_them(client):
    # Neither `fee` nor `waiver` is set, and one condition asks the execution for a property it lacks:
    # Camunda's tryEvaluate takes each as not holding, and the case waits at the gateway.
    odd = RACE.replace(b"${fee >= 100}", b"${execution.nope >= 100}")
    assert deploy_bytes(client, "race.bpmn", odd).status_code == 200
    answer = client.post("/process-definition/key/conditional_race/start", json={})
    assert answer.status_code == 200, answer.text
    case = answer.json()["id"]
    assert open_tasks(client, case) == []
    put(client, case, "fee", 500)  # the first branch can never hold: it reads no variable
    assert open_tasks(client, case) == []
    put(client, case, "waiver", True)
    assert open_tasks(client, case) == ["exempt"]

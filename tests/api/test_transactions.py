"""Transaction subprocesses as Camunda 7 runs them: a transaction that completes is an embedded
subprocess; a cancel end event in it compensates what the transaction completed, the last first,
and the case leaves through the transaction's cancel boundary event. What the service cannot run of
a transaction is refused at deploy, naming the element."""
from __future__ import annotations

import pytest

from tests.support.http import deploy, refusal
from tests.support.paths import FIXTURES

DEPOSIT = FIXTURES / "constructs" / "transaction_deposit.bpmn"


def open_tasks(client, case: str) -> list[str]:
    return sorted(t["taskDefinitionKey"] for t in client.get("/task", params={"processInstanceId": case}).json())


def work(client, case: str, key: str, **variables) -> None:
    [task] = [t for t in client.get("/task", params={"processInstanceId": case}).json()
              if t["taskDefinitionKey"] == key]
    answer = client.post(f"/task/{task['id']}/complete", json={
        "variables": {name: {"value": value} for name, value in variables.items()}})
    assert answer.status_code == 204, answer.text


def history(client, case: str) -> dict[str, dict]:
    rows = client.get("/history/activity-instance", params={"processInstanceId": case, "maxResults": 100}).json()
    return {row["activityId"]: row for row in rows}


def state(client, case: str) -> str:
    return client.get(f"/history/process-instance/{case}").json()["state"]


def test_a_verified_deposit_leaves_the_transaction_normally(client):
    deploy(client, DEPOSIT)
    case = client.post("/process-definition/key/transaction_deposit/start", json={}).json()["id"]
    work(client, case, "collect_deposit")
    work(client, case, "register_deposit", verified=True)
    assert open_tasks(client, case) == ["issue_receipt"]
    rows = history(client, case)
    assert rows["deposit"]["activityType"] == "transaction" and rows["deposit"]["canceled"] is False
    assert "refund_deposit" not in rows and "deposit_cancelled" not in rows
    work(client, case, "issue_receipt")
    assert state(client, case) == "COMPLETED"


def test_a_cancel_end_event_compensates_the_transaction_last_first_then_leaves_by_its_boundary(client):
    deploy(client, DEPOSIT)
    case = client.post("/process-definition/key/transaction_deposit/start", json={}).json()["id"]
    work(client, case, "collect_deposit")
    work(client, case, "register_deposit", verified=False)
    assert open_tasks(client, case) == ["void_registration"]  # registered last, undone first
    work(client, case, "void_registration")
    assert open_tasks(client, case) == ["refund_deposit"]
    work(client, case, "refund_deposit")
    assert open_tasks(client, case) == ["notify_applicant"]
    rows = history(client, case)
    assert rows["deposit_cancel"]["activityType"] == "cancelEndEvent"
    assert rows["deposit_cancelled"]["activityType"] == "cancelBoundaryCatch"
    assert rows["deposit"]["activityType"] == "transaction" and rows["deposit"]["endTime"] is not None
    assert "issue_receipt" not in rows and "deposit_done" not in rows
    work(client, case, "notify_applicant")
    assert state(client, case) == "COMPLETED"


TRANSACTION = """<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="tx"/>
  <bpmn:transaction id="tx"><bpmn:startEvent id="ts"/>{inside}</bpmn:transaction>{beside}
  <bpmn:sequenceFlow id="f2" sourceRef="tx" targetRef="done"/><bpmn:endEvent id="done"/>"""
CANCEL_END = '<bpmn:endEvent id="tc"><bpmn:cancelEventDefinition/></bpmn:endEvent>'
CANCEL_BOUNDARY = ('<bpmn:boundaryEvent id="cancelled" attachedToRef="tx"><bpmn:cancelEventDefinition/>'
                   '</bpmn:boundaryEvent>')


@pytest.mark.parametrize(("inside", "beside", "element", "reason"), [
    ('<bpmn:sequenceFlow id="t1" sourceRef="ts" targetRef="tc"/>' + CANCEL_END, "", "tx",
     "no cancel boundary event"),
    ('<bpmn:sequenceFlow id="t1" sourceRef="ts" targetRef="p"/><bpmn:parallelGateway id="p"/>'
     '<bpmn:sequenceFlow id="t2" sourceRef="p" targetRef="tc"/><bpmn:sequenceFlow id="t3" sourceRef="p" '
     'targetRef="u"/><bpmn:userTask id="u"/>' + CANCEL_END, CANCEL_BOUNDARY, "p", "side by side"),
    ('<bpmn:sequenceFlow id="t1" sourceRef="ts" targetRef="te"/><bpmn:endEvent id="te"/>',
     '<bpmn:boundaryEvent id="cancelled" attachedToRef="done_task"><bpmn:cancelEventDefinition/>'
     '</bpmn:boundaryEvent><bpmn:userTask id="done_task"/>', "cancelled", "attached to one"),
    ('<bpmn:sequenceFlow id="t1" sourceRef="ts" targetRef="tc"/>' + CANCEL_END,
     CANCEL_BOUNDARY + '<bpmn:boundaryEvent id="any_error" attachedToRef="tx"><bpmn:errorEventDefinition/>'
     '</bpmn:boundaryEvent>', "any_error", "catches every error"),
])
def test_what_a_transaction_cannot_run_is_refused_naming_the_element(client, inside, beside, element, reason):
    body = refusal(client, TRANSACTION.format(inside=inside, beside=beside))
    assert reason in body["message"] and f"'{element}'" in body["message"], body["message"]

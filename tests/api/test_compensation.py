"""Compensation as Camunda 7 runs it: a compensation throw or end event runs the handlers of the
completed activities of its process or subprocess (or of the one its activityRef names; from an
event subprocess, of the scope around it; of a completed subprocess without a handler, those of
the activities inside it), the last completed first, one after another; user-task and external-task handlers open and must be worked,
and the throw goes on only when the last has finished. The boundary event never shows in history.
What the service does not run of compensation is refused at deploy, naming the element."""
from __future__ import annotations

import pytest

from tests.support.bpmn_text import process
from tests.support.http import deploy, deploy_bytes, refusal
from tests.support.paths import FIXTURES

FEE_REFUND = FIXTURES / "constructs" / "compensation_fee_refund.bpmn"
PUBLICITY = FIXTURES / "constructs" / "compensation_publicity.bpmn"


def open_tasks(client, case: str) -> list[str]:
    return sorted(task["taskDefinitionKey"] for task in client.get("/task", params={"processInstanceId": case}).json())


def work(client, case: str, key: str, **variables) -> None:
    [task] = [task for task in client.get("/task", params={"processInstanceId": case}).json()
              if task["taskDefinitionKey"] == key]
    done = client.post(f"/task/{task['id']}/complete",
                       json={"variables": {name: {"value": value} for name, value in variables.items()}})
    assert done.status_code == 204, done.text


def fetch(client, topic: str) -> list[dict]:
    locked = client.post("/external-task/fetchAndLock", json={
        "workerId": "cashier", "maxTasks": 5, "topics": [{"topicName": topic, "lockDuration": 3_600_000}]})
    assert locked.status_code == 200, locked.text
    return locked.json()


def finish(client, external_task: dict) -> None:
    done = client.post(f"/external-task/{external_task['id']}/complete", json={"workerId": "cashier"})
    assert done.status_code == 204, done.text


def history(client, case: str) -> list[dict]:
    return client.get("/history/activity-instance", params={"processInstanceId": case, "maxResults": 100,
                                                            "sortBy": "startTime", "sortOrder": "asc"}).json()


def state(client, case: str) -> str:
    return client.get(f"/history/process-instance/{case}").json()["state"]


def start_and_reach_review(client) -> str:
    deploy(client, FEE_REFUND)
    started = client.post("/process-definition/key/fee_refund/start", json={})
    assert started.status_code == 200, started.text
    case = started.json()["id"]
    work(client, case, "reserve_slot")
    [charge] = fetch(client, "charge-fee")
    finish(client, charge)
    assert open_tasks(client, case) == ["review"]
    return case


def later(root) -> None:
    """Move the service's clock on, so that history tells the steps apart by their times."""
    assert root.post("/api/clock", json={"advance": "PT1M"}).status_code == 200


def test_a_rejection_undoes_what_was_done_last_first_and_waits_for_every_handler(client, root):
    case = start_and_reach_review(client)
    later(root)
    work(client, case, "review", approved=False)
    # The fee was charged last: its refund (an external task) comes first, and alone.
    [refund] = fetch(client, "refund-fee")
    assert refund["activityId"] == "refund_fee" and refund["processInstanceId"] == case
    assert open_tasks(client, case) == [] and state(client, case) == "ACTIVE"
    later(root)
    finish(client, refund)
    # Then the reservation is cancelled by a person; the throw still waits.
    assert open_tasks(client, case) == ["cancel_slot"]
    assert state(client, case) == "ACTIVE" and fetch(client, "refund-fee") == []
    later(root)
    work(client, case, "cancel_slot", slot_released=True)
    assert state(client, case) == "COMPLETED"
    by_id = {row["activityId"]: row for row in history(client, case)}
    assert by_id["undo_all"]["activityType"] == "intermediateCompensationThrowEvent"
    assert by_id["refund_fee"]["activityType"] == "serviceTask" and by_id["cancel_slot"]["activityType"] == "userTask"
    # The boundary events are no steps of their own, as in Camunda's history; nothing was granted.
    assert not {"reserve_slot_undo", "charge_fee_undo", "granted"} & by_id.keys()
    assert by_id["undo_all"]["startTime"] <= by_id["refund_fee"]["startTime"] < by_id["refund_fee"]["endTime"]
    assert by_id["refund_fee"]["endTime"] <= by_id["cancel_slot"]["startTime"] < by_id["cancel_slot"]["endTime"]
    assert by_id["undo_all"]["endTime"] == by_id["cancel_slot"]["endTime"] == by_id["withdrawn"]["endTime"]
    variables = client.get("/history/variable-instance", params={"processInstanceId": case}).json()
    assert {row["name"]: row["value"] for row in variables}["slot_released"] is True


def test_an_approval_throws_nothing_and_no_handler_ever_opens(client):
    case = start_and_reach_review(client)
    work(client, case, "review", approved=True)
    assert state(client, case) == "COMPLETED"
    assert fetch(client, "refund-fee") == []
    assert {row["activityId"] for row in history(client, case)}.isdisjoint({"cancel_slot", "refund_fee", "undo_all"})


def start_publicity(client) -> str:
    deploy(client, PUBLICITY)
    case = client.post("/process-definition/key/publicity_withdrawal/start", json={}).json()["id"]
    work(client, case, "post_notice")
    return case


def test_a_compensation_end_event_in_a_subprocess_undoes_only_the_activity_it_names(client):
    case = start_publicity(client)
    work(client, case, "hear_objections", decision="upheld")
    # record_notice completed too, but the end event names post_notice only.
    assert open_tasks(client, case) == ["withdraw_notice"]
    work(client, case, "withdraw_notice")
    assert open_tasks(client, case) == ["archive"]
    work(client, case, "archive")
    assert state(client, case) == "COMPLETED"
    kinds = {row["activityId"]: row["activityType"] for row in history(client, case)}
    assert kinds["undo_notice"] == "compensationEndEvent" and kinds["withdraw_notice"] == "userTask"
    assert "erase_record" not in kinds and "post_notice_undo" not in kinds


def test_a_throw_without_activity_ref_in_a_subprocess_undoes_all_it_did_last_first(client, root):
    case = start_publicity(client)
    work(client, case, "hear_objections", decision="withdrawn")
    # record_notice completed last, so its record is erased first; the subprocess waits meanwhile.
    assert open_tasks(client, case) == ["erase_record"]
    later(root)
    work(client, case, "erase_record")
    assert open_tasks(client, case) == ["withdraw_notice"]
    later(root)
    work(client, case, "withdraw_notice")
    assert open_tasks(client, case) == ["archive"]
    by_id = {row["activityId"]: row for row in history(client, case)}
    assert by_id["undo_everything"]["activityType"] == "intermediateCompensationThrowEvent"
    assert by_id["erase_record"]["endTime"] <= by_id["withdraw_notice"]["startTime"]
    assert by_id["undo_everything"]["endTime"] == by_id["publicity"]["endTime"] == by_id["withdraw_notice"]["endTime"]
    assert by_id["undo_everything"]["startTime"] < by_id["erase_record"]["endTime"]


def test_without_an_objection_the_subprocess_ends_without_compensating(client):
    case = start_publicity(client)
    work(client, case, "hear_objections", decision="none")
    assert open_tasks(client, case) == ["archive"]
    assert {row["activityId"] for row in history(client, case)}.isdisjoint(
        {"withdraw_notice", "erase_record", "undo_notice", "undo_everything"})


_FLOW = ('<bpmn:startEvent id="s"/><bpmn:userTask id="u"/><bpmn:endEvent id="e"/>'
         '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="u"/><bpmn:sequenceFlow id="f2" sourceRef="u" targetRef="e"/>')
_BOUNDARY = '<bpmn:boundaryEvent id="b" attachedToRef="u"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>'

REFUSED = {
    "a handler not marked for compensation": (
        _FLOW + _BOUNDARY + '<bpmn:userTask id="h"/><bpmn:association id="a" sourceRef="b" targetRef="h"/>',
        "h", "isForCompensation"),
    "a handler that is a call activity": (
        _FLOW + _BOUNDARY + '<bpmn:callActivity id="h" isForCompensation="true" calledElement="refund"/>'
        '<bpmn:association id="a" sourceRef="b" targetRef="h"/>', "h", "may be a user task"),
    "a multi-instance handler": (
        _FLOW + _BOUNDARY + '<bpmn:userTask id="h" isForCompensation="true"><bpmn:multiInstanceLoopCharacteristics '
        'camunda:collection="${xs}" camunda:elementVariable="x"/></bpmn:userTask>'
        '<bpmn:association id="a" sourceRef="b" targetRef="h"/>', "h", "each run once"),
    "a handler with a boundary event": (
        _FLOW + _BOUNDARY + '<bpmn:userTask id="h" isForCompensation="true"/><bpmn:association id="a" sourceRef="b" '
        'targetRef="h"/><bpmn:boundaryEvent id="late" attachedToRef="h"><bpmn:timerEventDefinition>'
        '<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>',
        "h", "cannot have boundary events"),
    "an activityRef to no activity of the scope": (
        _FLOW.replace('<bpmn:endEvent id="e"/>', '<bpmn:endEvent id="e"><bpmn:compensateEventDefinition '
                      'activityRef="ghost"/></bpmn:endEvent>'), "e", "no activity of the same process"),
    "a compensation event subprocess at the process's level": (
        _FLOW + '<bpmn:subProcess id="esp" triggeredByEvent="true"><bpmn:startEvent id="cs">'
        '<bpmn:compensateEventDefinition/></bpmn:startEvent><bpmn:endEvent id="ce"/>'
        '<bpmn:sequenceFlow id="c1" sourceRef="cs" targetRef="ce"/></bpmn:subProcess>', "esp",
        "belongs in an embedded subprocess"),
}


def test_a_compensation_boundary_event_without_handler_and_a_throw_naming_its_activity_undo_nothing(client):
    # As in Camunda, which deploys them and compensates nothing there.
    body = _FLOW.replace('<bpmn:endEvent id="e"/>', '<bpmn:endEvent id="e"><bpmn:compensateEventDefinition '
                         'activityRef="u"/></bpmn:endEvent>') + _BOUNDARY
    assert deploy_bytes(client, "nothing.bpmn", process("nothing_undone", body)).status_code == 200
    case = client.post("/process-definition/key/nothing_undone/start", json={}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": case}).json()
    assert client.post(f"/task/{task['id']}/complete", json={}).status_code == 204
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"


@pytest.mark.parametrize("case", REFUSED)
def test_compensation_the_service_cannot_run_is_refused_naming_the_element(client, case):
    body, element, words = REFUSED[case]
    answer = refusal(client, body)
    assert f"'{element}'" in answer["message"] and words in answer["message"], answer["message"]
    [error] = answer["details"]["refused.bpmn"]["errors"]
    assert error["mainElementId"] == element and words in error["message"]


SCOPES = FIXTURES / "constructs" / "compensation_scopes.bpmn"


def granted(client, root) -> str:
    """A permit case whose subprocess issued the permit and recorded it, waiting in the check after."""
    deploy(client, SCOPES)
    started = client.post("/process-definition/key/permit_withdrawal/start", json={"businessKey": "XK-1"})
    assert started.status_code == 200, started.text
    case = started.json()["id"]
    work(client, case, "issue_permit")
    later(root)
    work(client, case, "record_register")
    later(root)
    assert open_tasks(client, case) == ["verify"]
    return case


def test_a_throw_outside_a_completed_subprocess_undoes_what_it_did_last_first(client, root):
    """Camunda's default compensation of a subprocess without a handler of its own: the throw after
    it runs the handlers of the activities inside it, the last completed first."""
    case = granted(client, root)
    work(client, case, "verify", fraud=True)
    assert open_tasks(client, case) == ["strike_register"]
    work(client, case, "strike_register")
    assert open_tasks(client, case) == ["revoke_permit"]
    assert state(client, case) == "ACTIVE"
    work(client, case, "revoke_permit")
    assert state(client, case) == "COMPLETED"
    ran = [row["activityId"] for row in history(client, case)]
    assert ran.index("strike_register") < ran.index("revoke_permit")
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True


def test_a_kept_permit_ends_without_undoing_anything(client, root):
    case = granted(client, root)
    work(client, case, "verify", fraud=False)
    assert state(client, case) == "COMPLETED"
    assert not {"strike_register", "revoke_permit"} & {row["activityId"] for row in history(client, case)}


def test_a_throw_in_an_event_subprocess_undoes_the_scope_around_it(client, root):
    """The withdrawal (an interrupting message event subprocess) compensates the process it belongs
    to: the completed subprocess's activities, the last first, while the check is cancelled."""
    case = granted(client, root)
    sent = client.post("/message", json={"messageName": "permit_withdrawn", "businessKey": "XK-1"})
    assert sent.status_code in (200, 204), sent.text
    assert open_tasks(client, case) == ["strike_register"]
    work(client, case, "strike_register")
    work(client, case, "revoke_permit")
    assert state(client, case) == "COMPLETED"
    rows = {row["activityId"]: row for row in history(client, case)}
    assert rows["verify"]["canceled"] is True and rows["withdrawal_done"]["endTime"] is not None


def test_an_activity_ref_naming_a_subprocess_undoes_what_it_did(client, root):
    text = SCOPES.read_text().replace('<bpmn:compensateEventDefinition id="Compensate_all" />',
                                      '<bpmn:compensateEventDefinition id="Compensate_all" activityRef="grant" />')
    assert deploy_bytes(client, "scopes.bpmn", text.encode()).status_code == 200
    started = client.post("/process-definition/key/permit_withdrawal/start", json={})
    case = started.json()["id"]
    work(client, case, "issue_permit")
    later(root)
    work(client, case, "record_register")
    work(client, case, "verify", fraud=True)
    assert open_tasks(client, case) == ["strike_register"]
    work(client, case, "strike_register")
    work(client, case, "revoke_permit")
    assert state(client, case) == "COMPLETED"


COUNTERSIGN = FIXTURES / "constructs" / "compensation_countersign.bpmn"


def test_a_multi_instance_activity_is_undone_instance_by_instance_with_each_ones_variables(client, root):
    """会签 undone: each reviewer's signature is withdrawn by the handler, once per completed instance,
    the last signed first, each handler seeing its instance's element variable (its assignee here)
    as its own; the case's variables never hold it."""
    deploy(client, COUNTERSIGN)
    started = client.post("/process-definition/key/countersign_revoked/start", json={"variables": {
        "reviewers": {"value": '["li", "wang", "zhao"]', "type": "Json"}}})
    assert started.status_code == 200, started.text
    case = started.json()["id"]
    for reviewer in ("li", "wang", "zhao"):
        [task] = client.get("/task", params={"processInstanceId": case, "assignee": reviewer}).json()
        assert client.post(f"/task/{task['id']}/complete", json={}).status_code == 204
        later(root)
    work(client, case, "decide", revoke=True)
    withdrawn = []
    while state(client, case) == "ACTIVE":
        [handler] = client.get("/task", params={"processInstanceId": case}).json()
        assert handler["taskDefinitionKey"] == "withdraw_signature"
        own = client.get(f"/task/{handler['id']}/variables").json()
        assert own["reviewer"]["value"] == handler["assignee"]
        withdrawn.append(handler["assignee"])
        done = client.post(f"/task/{handler['id']}/complete", json={})
        assert done.status_code == 204, done.text
    assert withdrawn == ["zhao", "wang", "li"]
    assert state(client, case) == "COMPLETED"
    names = {row["name"] for row in client.get("/history/variable-instance", params={"processInstanceId": case}).json()}
    assert "reviewer" not in names and {"reviewers", "revoke"} <= names
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True


def _inspections(sequential: bool) -> bytes:
    return process("joint_inspection", f"""
      <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="inspect"/>
      <bpmn:subProcess id="inspect">
        <bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}"
          camunda:collection="${{offices}}" camunda:elementVariable="office"/>
        <bpmn:startEvent id="is"/><bpmn:sequenceFlow id="i1" sourceRef="is" targetRef="seal"/>
        <bpmn:userTask id="seal" camunda:assignee="${{office}}"/>
        <bpmn:boundaryEvent id="seal_undone" attachedToRef="seal"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
        <bpmn:userTask id="unseal" isForCompensation="true" camunda:assignee="${{office}}"/>
        <bpmn:association id="a" sourceRef="seal_undone" targetRef="unseal"/>
        <bpmn:sequenceFlow id="i2" sourceRef="seal" targetRef="ie"/><bpmn:endEvent id="ie"/>
      </bpmn:subProcess>
      <bpmn:sequenceFlow id="f2" sourceRef="inspect" targetRef="decide"/><bpmn:userTask id="decide"/>
      <bpmn:sequenceFlow id="f3" sourceRef="decide" targetRef="undo"/>
      <bpmn:intermediateThrowEvent id="undo"><bpmn:compensateEventDefinition/></bpmn:intermediateThrowEvent>
      <bpmn:sequenceFlow id="f4" sourceRef="undo" targetRef="e"/><bpmn:endEvent id="e"/>""")


@pytest.mark.parametrize("sequential", [False, True])
def test_a_multi_instance_subprocess_is_undone_by_what_each_instance_did(client, root, sequential):
    """As Camunda's default handler of a multi-instance subprocess (its
    parallelMultiInstanceCompensationDefaultHandlerProcess): a throw outside undoes what each instance
    did inside, the last first, each handler seeing its instance's variables."""
    assert deploy_bytes(client, "inspections.bpmn", _inspections(sequential)).status_code == 200
    started = client.post("/process-definition/key/joint_inspection/start", json={"variables": {
        "offices": {"value": '["hami", "turpan", "altay"]', "type": "Json"}}})
    assert started.status_code == 200, started.text
    case = started.json()["id"]
    # A sequential body opens its instances in the collection's order; parallel ones sign in any.
    signed = ["hami", "turpan", "altay"] if sequential else ["turpan", "hami", "altay"]
    for office in signed:
        [task] = client.get("/task", params={"processInstanceId": case, "assignee": office}).json()
        assert client.post(f"/task/{task['id']}/complete", json={}).status_code == 204
        later(root)
    work(client, case, "decide")
    undone = []
    while state(client, case) == "ACTIVE":
        [handler] = client.get("/task", params={"processInstanceId": case}).json()
        assert handler["taskDefinitionKey"] == "unseal"
        assert client.get(f"/task/{handler['id']}/variables").json()["office"]["value"] == handler["assignee"]
        undone.append(handler["assignee"])
        assert client.post(f"/task/{handler['id']}/complete", json={}).status_code == 204
    assert undone == signed[::-1]
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True


REFUND = process("fee_returned", """
  <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="charge"/>
  <bpmn:userTask id="charge"/>
  <bpmn:boundaryEvent id="charge_undone" attachedToRef="charge"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
  <bpmn:subProcess id="refund" isForCompensation="true">
    <bpmn:startEvent id="rs"/><bpmn:sequenceFlow id="r1" sourceRef="rs" targetRef="return_fee"/>
    <bpmn:userTask id="return_fee"/><bpmn:sequenceFlow id="r2" sourceRef="return_fee" targetRef="confirm"/>
    <bpmn:receiveTask id="confirm" messageRef="m"/><bpmn:sequenceFlow id="r3" sourceRef="confirm" targetRef="re"/>
    <bpmn:endEvent id="re"/>
  </bpmn:subProcess>
  <bpmn:association id="a" sourceRef="charge_undone" targetRef="refund"/>
  <bpmn:sequenceFlow id="f2" sourceRef="charge" targetRef="undo"/>
  <bpmn:intermediateThrowEvent id="undo"><bpmn:compensateEventDefinition/></bpmn:intermediateThrowEvent>
  <bpmn:sequenceFlow id="f3" sourceRef="undo" targetRef="after"/><bpmn:userTask id="after"/>""").replace(
    b"</bpmn:process>", b'</bpmn:process><bpmn:message id="m" name="bank_confirmed"/>')


def test_a_subprocess_handler_runs_its_inside_and_the_throw_waits_for_it(client, root):
    """As Camunda's testSubprocessCompensationHandler: the handler is an embedded subprocess marked for
    compensation; what it holds (a task, a receive task waiting for the bank) runs, and the throw
    goes on only when it has ended."""
    assert deploy_bytes(client, "refund.bpmn", REFUND).status_code == 200
    case = client.post("/process-definition/key/fee_returned/start", json={}).json()["id"]
    work(client, case, "charge")
    assert open_tasks(client, case) == ["return_fee"]
    work(client, case, "return_fee")
    assert open_tasks(client, case) == []
    sent = client.post("/message", json={"messageName": "bank_confirmed", "processInstanceId": case})
    assert sent.status_code == 204, sent.text
    assert open_tasks(client, case) == ["after"]
    done = {row["activityId"] for row in history(client, case) if row["endTime"]}
    assert {"refund", "return_fee", "confirm", "undo"} <= done
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True


def _booking(rethrow: str) -> bytes:
    """Camunda's booking example: a subprocess books a flight and a hotel, each with its handler, and
    its event subprocess started by compensation undoes it as a whole (rethrowing to what it names)."""
    return process("booking", f"""
      <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="book"/>
      <bpmn:subProcess id="book">
        <bpmn:startEvent id="bs"/><bpmn:sequenceFlow id="b1" sourceRef="bs" targetRef="book_flight"/>
        <bpmn:userTask id="book_flight"/><bpmn:sequenceFlow id="b2" sourceRef="book_flight" targetRef="book_hotel"/>
        <bpmn:userTask id="book_hotel"/><bpmn:sequenceFlow id="b3" sourceRef="book_hotel" targetRef="be"/>
        <bpmn:endEvent id="be"/>
        <bpmn:boundaryEvent id="flight_undone" attachedToRef="book_flight"><bpmn:compensateEventDefinition/>
        </bpmn:boundaryEvent>
        <bpmn:userTask id="cancel_flight" isForCompensation="true"/>
        <bpmn:association id="a1" sourceRef="flight_undone" targetRef="cancel_flight"/>
        <bpmn:boundaryEvent id="hotel_undone" attachedToRef="book_hotel"><bpmn:compensateEventDefinition/>
        </bpmn:boundaryEvent>
        <bpmn:userTask id="cancel_hotel" isForCompensation="true"/>
        <bpmn:association id="a2" sourceRef="hotel_undone" targetRef="cancel_hotel"/>
        <bpmn:subProcess id="undo_booking" triggeredByEvent="true">
          <bpmn:startEvent id="us"><bpmn:compensateEventDefinition/></bpmn:startEvent>
          <bpmn:sequenceFlow id="u1" sourceRef="us" targetRef="rethrow"/>
          <bpmn:intermediateThrowEvent id="rethrow"><bpmn:compensateEventDefinition{rethrow}/>
          </bpmn:intermediateThrowEvent>
          <bpmn:sequenceFlow id="u2" sourceRef="rethrow" targetRef="tell_customer"/>
          <bpmn:userTask id="tell_customer"/><bpmn:sequenceFlow id="u3" sourceRef="tell_customer" targetRef="ue"/>
          <bpmn:endEvent id="ue"/>
        </bpmn:subProcess>
      </bpmn:subProcess>
      <bpmn:sequenceFlow id="f2" sourceRef="book" targetRef="validate"/><bpmn:userTask id="validate"/>
      <bpmn:sequenceFlow id="f3" sourceRef="validate" targetRef="cancel_all"/>
      <bpmn:endEvent id="cancel_all"><bpmn:compensateEventDefinition/></bpmn:endEvent>""")


@pytest.mark.parametrize("rethrow, undone", [("", ["cancel_hotel", "cancel_flight"]),
                                             (' activityRef="book_flight"', ["cancel_flight"])])
def test_a_compensation_event_subprocess_undoes_its_subprocess_and_may_rethrow_inside(client, root, rethrow, undone):
    """As Camunda's testCompensationEventSubProcess / ...ReThrowCompensationEvent: compensating the
    completed subprocess starts its event subprocess (not the handlers inside); a throw there runs
    the handlers of what the subprocess did (all, the last first, or the one it names)."""
    assert deploy_bytes(client, "booking.bpmn", _booking(rethrow)).status_code == 200
    case = client.post("/process-definition/key/booking/start", json={}).json()["id"]
    for key in ("book_flight", "book_hotel", "validate"):
        work(client, case, key)
        later(root)
    ran = []
    while open_tasks(client, case) != ["tell_customer"]:
        [handler] = open_tasks(client, case)
        ran.append(handler)
        work(client, case, handler)
    assert ran == undone
    work(client, case, "tell_customer")
    assert state(client, case) == "COMPLETED"
    types = {row["activityId"]: row["activityType"] for row in history(client, case)}
    # As Camunda types them: an event subprocess is a subProcess.
    assert (types["undo_booking"], types["us"]) == ("subProcess", "compensationStartEvent")
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True


def test_a_compensation_event_subprocess_that_throws_nothing_leaves_the_insides_be(client):
    body = _booking("").replace(b'<bpmn:intermediateThrowEvent id="rethrow"><bpmn:compensateEventDefinition/>\n'
                                b'          </bpmn:intermediateThrowEvent>', b'<bpmn:task id="rethrow"/>')
    assert b'<bpmn:task id="rethrow"/>' in body
    assert deploy_bytes(client, "booking.bpmn", body).status_code == 200
    case = client.post("/process-definition/key/booking/start", json={}).json()["id"]
    for key in ("book_flight", "book_hotel", "validate"):
        work(client, case, key)
    assert open_tasks(client, case) == ["tell_customer"]
    work(client, case, "tell_customer")
    assert state(client, case) == "COMPLETED"


"""The statutory clock (计时暂停): the days a case has used of its statutory and promised limits,
counted in working days from the day after it started, without the days a special procedure ran
(an element marked clockStops, or a stop by hand with a reason), plus the extensions an
administrator granted; each stop on the case's timeline, and the clock recomputed from the record."""
from __future__ import annotations

import pytest

from app.access import accounts
from tests.support.bpmn_text import process, properties
from tests.support.http import as_user, deploy_bytes

LICENSING = process("licensing_case", f"""
  {properties(statutoryLimit="20 working days", promisedLimit="10个工作日")}
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="accept" />
  <bpmn:userTask id="accept" name="受理" camunda:candidateGroups="xj-env" />
  <bpmn:sequenceFlow id="f2" sourceRef="accept" targetRef="experts" />
  <bpmn:userTask id="experts" name="专家评审" camunda:candidateGroups="xj-env">{properties(clockStops="专家评审")}
  </bpmn:userTask>
  <bpmn:sequenceFlow id="f3" sourceRef="experts" targetRef="decide" />
  <bpmn:userTask id="decide" name="审批决定" camunda:candidateGroups="xj-env" />
  <bpmn:sequenceFlow id="f4" sourceRef="decide" targetRef="end" /><bpmn:endEvent id="end" />""")
UNTIMED = process("untimed_case", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
  <bpmn:userTask id="work" camunda:candidateGroups="xj-env" />""")


@pytest.fixture
def officials(service, client):
    for user, groups in {"li": ["xj-env"], "zhao": ["xj-drc"]}.items():
        accounts.save_account(service.services, user, f"{user}-password", groups)
    deploy_bytes(client, "licensing.bpmn", LICENSING).raise_for_status()
    deploy_bytes(client, "untimed.bpmn", UNTIMED).raise_for_status()


def at(root, instant: str) -> None:
    root.post("/api/clock", json={"set": instant}).raise_for_status()


def complete_open(http, instance: str) -> None:
    [task] = http.get("/task", params={"processInstanceId": instance}).json()
    http.post(f"/task/{task['id']}/complete", json={}).raise_for_status()


def test_special_procedures_and_extensions_on_the_statutory_clock(service, client, root, officials):
    at(root, "2026-12-07T09:00:00+08:00")  # a Monday
    instance = client.post("/process-definition/key/licensing_case/start", json={}).json()["id"]
    clock = root.get(f"/api/process-instances/{instance}/clock").json()
    assert clock["statutoryLimit"] == {"days": 20, "unit": "workingDays"}
    assert (clock["usedDays"], clock["remainingDays"], clock["promisedRemainingDays"]) == (0, 20, 10)
    with as_user(service, "li") as li:
        at(root, "2026-12-09T10:00:00+08:00")
        complete_open(li, instance)  # the expert review opens: the clock stops
        assert root.get(f"/api/process-instances/{instance}/clock").json()["paused"] is True
        at(root, "2026-12-14T11:00:00+08:00")
        complete_open(li, instance)
        clock = root.get(f"/api/process-instances/{instance}/clock").json()
        # Used: the 8th and the 14th; stopped at the close of the 9th, 10th and 11th.
        assert (clock["usedDays"], clock["pausedDays"], clock["remainingDays"], clock["paused"]) == (2, 3, 18, False)
        assert [(s["kind"], s["reason"], s["activityId"], s["days"]) for s in clock["stops"]] == [
            ("activity", "专家评审", "experts", 3)]
        at(root, "2026-12-15T09:00:00+08:00")
        paused = li.post(f"../api/process-instances/{instance}/clock/pause", json={"reason": "听证"})
        assert paused.status_code == 204, paused.text
        again = li.post(f"../api/process-instances/{instance}/clock/pause", json={"reason": "听证"})
        assert again.status_code == 409 and again.json()["type"] == "InvalidRequestException", again.text
        at(root, "2026-12-17T09:00:00+08:00")
        assert li.post(f"../api/process-instances/{instance}/clock/resume", json={}).status_code == 204
        assert li.post(f"../api/process-instances/{instance}/clock/resume", json={}).status_code == 409
        refused = li.post(f"../api/process-instances/{instance}/clock/extensions",
                          json={"workingDays": 5, "reason": "情况复杂"})
        assert refused.status_code == 403
    extended = root.post(f"/api/process-instances/{instance}/clock/extensions",
                         json={"workingDays": 5, "reason": "情况复杂，经批准延长", "approvedBy": "厅长"})
    assert extended.status_code == 204, extended.text
    clock = root.get(f"/api/process-instances/{instance}/clock").json()
    assert (clock["usedDays"], clock["pausedDays"], clock["extendedDays"], clock["remainingDays"]) == (3, 5, 5, 22)
    assert [(s["kind"], s["reason"], s["by"], s["days"]) for s in clock["stops"]][1] == ("manual", "听证", "li", 2)
    assert clock["extensions"][0]["approvedBy"] == "厅长" and clock["level"] == "normal"
    assert clock["lastDay"] > "2026-12-31"
    said = [e["what"] for e in root.get(f"/api/process-instances/{instance}/timeline").json()]
    for line in ("计时暂停（专家评审）：专家评审", "恢复计时：专家评审", "暂停计时：听证", "恢复计时",
                 "延期5个工作日：情况复杂，经批准延长"):
        assert line in said, said
    at(root, "2027-02-26T09:00:00+08:00")
    late = root.get(f"/api/process-instances/{instance}/clock").json()
    assert late["level"] == "overdue" and late["remainingDays"] < 0 and late["lastDay"] is None


def test_who_may_stop_the_clock_and_bad_requests(service, client, root, officials):
    instance = client.post("/process-definition/key/licensing_case/start", json={}).json()["id"]
    untimed = client.post("/process-definition/key/untimed_case/start", json={}).json()["id"]
    with as_user(service, "zhao") as zhao:
        assert zhao.post(f"../api/process-instances/{instance}/clock/pause", json={"reason": "x"}).status_code == 403
        assert zhao.get(f"../api/process-instances/{instance}/clock").status_code == 403
    for body, says in [({}, "needs a 'reason'"), ({"reason": 3}, "'reason'")]:
        answer = root.post(f"/api/process-instances/{instance}/clock/pause", json=body)
        assert answer.status_code == 400 and says in answer.json()["message"], answer.text
    for body in [{"workingDays": 0, "reason": "r"}, {"workingDays": "5", "reason": "r"}, {"workingDays": 5}]:
        assert root.post(f"/api/process-instances/{instance}/clock/extensions", json=body).status_code == 400
    no_clock = root.post(f"/api/process-instances/{untimed}/clock/pause", json={"reason": "听证"})
    assert no_clock.status_code == 400 and "statutoryLimit" in no_clock.json()["message"]
    plain = root.get(f"/api/process-instances/{untimed}/clock").json()
    assert plain["statutoryLimit"] is None and plain["remainingDays"] is None and plain["level"] is None
    assert root.get("/api/process-instances/nope/clock").status_code == 404


@pytest.mark.parametrize("extension, says", [
    (properties(statutoryLimit="soon"), "statutoryLimit"),
    (properties(promisedLimit="20 hours"), "promisedLimit"),
])
def test_an_unreadable_limit_is_refused_at_deploy(client, extension, says):
    answer = deploy_bytes(client, "bad.bpmn", process("bad_limit", extension + '<bpmn:startEvent id="s" />'))
    assert answer.status_code == 400 and says in answer.json()["message"], answer.text


def test_a_clock_stop_without_a_reason_is_refused_at_deploy(client):
    answer = deploy_bytes(client, "bad.bpmn", process("bad_stop", f"""<bpmn:startEvent id="s" />
      <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t" /><bpmn:userTask id="t">{properties(clockStops=" ")}
      </bpmn:userTask>"""))
    assert answer.status_code == 400 and "clockStops" in answer.json()["message"], answer.text


def test_a_running_clock_is_among_the_cases_deadlines(service, client, root, officials):
    at(root, "2026-12-07T09:00:00+08:00")
    instance = client.post("/process-definition/key/licensing_case/start", json={"businessKey": "LIC-1"}).json()["id"]
    [clock] = [d for d in root.get("/api/deadlines", params={"businessKey": "LIC-1"}).json() if d["kind"] == "statutory"]
    expected = root.get(f"/api/process-instances/{instance}/clock").json()
    assert (clock["processInstanceId"], clock["lastDay"], clock["workingDaysLeft"], clock["level"]) == (
        instance, expected["lastDay"], 20, "normal")
    # Stopped, the clock has no last day until it runs again.
    root.post(f"/api/process-instances/{instance}/clock/pause", json={"reason": "补正"}).raise_for_status()
    stopped = root.get("/api/deadlines", params={"processInstanceId": instance}).json()
    assert [d for d in stopped if d["kind"] == "statutory"] == []


REVIEW = process("review_case", f"""
  {properties(statutoryLimit="${statutory_limit}")}
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="experts" />
  <bpmn:userTask id="experts" name="专家评审" camunda:candidateGroups="xj-env">{properties(clockStops="专家评审")}
  </bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="experts" targetRef="decide" />
  <bpmn:userTask id="decide" name="审批决定" camunda:candidateGroups="xj-env" />""")


def set_limit(client, instance: str, value) -> None:
    client.post(f"/process-instance/{instance}/variables",
              json={"modifications": {"statutory_limit": {"value": value}}}).raise_for_status()


def test_a_limit_the_case_gives_in_a_variable(service, client, root, officials):
    """No regulation sets the limit: the process reads it from the case (a start variable or form
    field), and the clock counts before it is known."""
    deploy_bytes(client, "review.bpmn", REVIEW).raise_for_status()
    at(root, "2026-12-07T09:00:00+08:00")  # a Monday
    instance = client.post("/process-definition/key/review_case/start",
                           json={"businessKey": "REV-1"}).json()["id"]
    at(root, "2026-12-10T09:00:00+08:00")
    with as_user(service, "li") as li:
        complete_open(li, instance)  # the expert review ends: the 8th and the 9th stopped
    at(root, "2026-12-11T17:00:00+08:00")
    unknown = root.get(f"/api/process-instances/{instance}/clock").json()
    assert (unknown["statutoryLimit"], unknown["usedDays"], unknown["pausedDays"]) == (None, 2, 2)
    assert (unknown["remainingDays"], unknown["level"], unknown["lastDay"], unknown["problems"]) == (
        None, None, None, [])
    assert [d for d in root.get("/api/deadlines", params={"businessKey": "REV-1"}).json()
            if d["kind"] == "statutory"] == []
    # Unknown yet, the clock still stops by hand.
    root.post(f"/api/process-instances/{instance}/clock/pause", json={"reason": "听证"}).raise_for_status()
    root.post(f"/api/process-instances/{instance}/clock/resume", json={}).raise_for_status()

    set_limit(client, instance, "20个工作日")
    known = root.get(f"/api/process-instances/{instance}/clock").json()
    assert known["statutoryLimit"] == {"days": 20, "unit": "workingDays"}
    assert (known["usedDays"], known["remainingDays"], known["level"], known["problems"]) == (2, 18, "normal", [])
    [deadline] = [d for d in root.get("/api/deadlines", params={"businessKey": "REV-1"}).json()
                  if d["kind"] == "statutory"]
    assert deadline["workingDaysLeft"] == 18 and deadline["lastDay"] == known["lastDay"]

    for unreadable in ("soon", 20):
        set_limit(client, instance, unreadable)
        told = root.get(f"/api/process-instances/{instance}/clock").json()
        assert (told["statutoryLimit"], told["remainingDays"], told["usedDays"]) == (None, None, 2)
        [problem] = told["problems"]
        assert "statutoryLimit ${statutory_limit}" in problem and f"'{unreadable}'" in problem, problem


@pytest.mark.parametrize("limit, accepted", [
    ("${statutory_limit}", True), ("${case.limit}", True), ("${statutory_limit", False), ("20 hours", False)])
def test_a_limit_is_a_readable_text_or_an_expression_at_deploy(client, limit, accepted):
    answer = deploy_bytes(client, "limit.bpmn", process("limit_case", properties(statutoryLimit=limit)
                                                         + '<bpmn:startEvent id="s" />'))
    assert (answer.status_code == 200) is accepted, answer.text
    if not accepted:
        assert answer.status_code == 400 and "statutoryLimit" in answer.json()["message"], answer.text


PUBLICITY = process("publicity_case", f"""
  {properties(statutoryLimit="20 working days")}
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="publicity" />
  <bpmn:intermediateCatchEvent id="publicity" name="公示期满">{properties(clockStops="公示")}
    <bpmn:timerEventDefinition><bpmn:timeDate>2026-12-10T00:00:00+08:00</bpmn:timeDate></bpmn:timerEventDefinition>
  </bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f2" sourceRef="publicity" targetRef="decide" />
  <bpmn:userTask id="decide" name="审批决定" camunda:candidateGroups="xj-env" />""")


def test_a_publicity_that_ends_at_midnight_stops_its_last_day(client, root, officials):
    """The timer of a publicity fires at the close of its last day: that day was spent in publicity."""
    deploy_bytes(client, "publicity.bpmn", PUBLICITY).raise_for_status()
    at(root, "2026-12-07T09:00:00+08:00")  # a Monday
    instance = client.post("/process-definition/key/publicity_case/start", json={}).json()["id"]
    at(root, "2026-12-11T09:00:00+08:00")
    clock = root.get(f"/api/process-instances/{instance}/clock").json()
    # Stopped: the 8th and the 9th (the publicity ended as the 9th closed); used: the 10th and today.
    assert (clock["usedDays"], clock["pausedDays"], clock["remainingDays"]) == (2, 2, 18)
    assert [(s["activityId"], s["to"], s["days"]) for s in clock["stops"]] == [
        ("publicity", "2026-12-10T00:00:00.000+0800", 2)]

"""Messages, signals, errors and start events in the engine: delivered to the token the service
chose, repeated where Camunda repeats them, refused at deployment where they cannot run."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.clock import SimulatedClock, add_iso_duration
from app.engine import SEMANTICS, ProcessRun, RunContext, parse_deployment, schedule_start_timer
from app.engine.timers import TimerLimits, cron_next, next_start, on_clock, parse_cycle, start_timer_schedule
from app.errors import Conflict, InvalidProcessModel, InvalidRequest
from tests.support.bpmn_text import definitions

DECLARATIONS = """
  <bpmn:message id="m_objection" name="objection"/>
  <bpmn:message id="m_report" name="report"/>
  <bpmn:signal id="s_policy" name="policy_changed"/>
  <bpmn:error id="e_site" errorCode="SITE_DOWN"/>"""
CST = UTC


def model(body: str):
    return parse_deployment(definitions(body, root=DECLARATIONS))[0]


@pytest.fixture
def context() -> RunContext:
    return RunContext(SimulatedClock(datetime(2026, 9, 28, 1, 0, tzinfo=UTC)))


def refused(body: str) -> str:
    with pytest.raises(InvalidProcessModel) as caught:
        model(body)
    return caught.value.message


def test_the_waits_name_the_catch_event_and_a_delivery_moves_only_that_token(context):
    run, _ = ProcessRun.start(model("""
      <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="split"/>
      <bpmn:parallelGateway id="split"/>
      <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="objection"/>
      <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="policy"/>
      <bpmn:intermediateCatchEvent id="objection"><bpmn:messageEventDefinition messageRef="m_objection"/>
      </bpmn:intermediateCatchEvent>
      <bpmn:intermediateCatchEvent id="policy"><bpmn:signalEventDefinition signalRef="s_policy"/>
      </bpmn:intermediateCatchEvent>
      <bpmn:sequenceFlow id="f4" sourceRef="objection" targetRef="verify"/>
      <bpmn:userTask id="verify"/>
      <bpmn:sequenceFlow id="f5" sourceRef="policy" targetRef="reconsider"/>
      <bpmn:userTask id="reconsider"/>"""), {}, context)
    waits = {(w.activity_id, w.kind, w.event_name) for w in run.event_waits()}
    assert waits == {("objection", "message", "objection"), ("policy", "signal", "policy_changed")}
    [objection] = [w for w in run.event_waits() if w.kind == "message"]
    with pytest.raises(Conflict):
        run.deliver_event(objection.task_id, "message", "report", {})
    run.deliver_event(objection.task_id, "message", "objection", {"objector": "李四"})
    assert [t.task_definition_key for t in run.open_user_tasks()] == ["verify"]
    assert run.variables()["objector"] == "李四"
    assert [w.activity_id for w in run.event_waits()] == ["policy"]


def test_a_non_interrupting_message_boundary_keeps_listening_while_its_task_is_open(context):
    run, _ = ProcessRun.start(model("""
      <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="create"/>
      <bpmn:userTask id="create"/>
      <bpmn:boundaryEvent id="change" attachedToRef="create" cancelActivity="false">
        <bpmn:messageEventDefinition messageRef="m_report"/></bpmn:boundaryEvent>
      <bpmn:sequenceFlow id="f2" sourceRef="change" targetRef="assess"/><bpmn:userTask id="assess"/>
      <bpmn:sequenceFlow id="f3" sourceRef="create" targetRef="e"/><bpmn:endEvent id="e"/>"""), {}, context)
    for number in (1, 2, 3):
        [wait] = run.event_waits()
        changes = run.deliver_event(wait.task_id, "message", "report", {"report": number}).changes
        assert ("change", True, True) in [(c.activity_id, c.started, c.ended) for c in changes]
    assert sorted(t.task_definition_key for t in run.open_user_tasks()) == ["assess"] * 3 + ["create"]
    [create] = [t for t in run.open_user_tasks() if t.task_definition_key == "create"]
    changes = run.complete_user_task(create.id, {}).changes
    assert run.event_waits() == []
    # A boundary event that only listened leaves no trace in the activity record.
    assert "change" not in [c.activity_id for c in changes]


def test_an_error_inside_a_subprocess_is_caught_by_the_boundary_on_the_subprocess(context):
    run, _ = ProcessRun.start(model("""
      <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="publishing"/>
      <bpmn:subProcess id="publishing">
        <bpmn:startEvent id="ps"/><bpmn:sequenceFlow id="p1" sourceRef="ps" targetRef="publish"/>
        <bpmn:serviceTask id="publish" camunda:type="external" camunda:topic="publish-notice"/>
        <bpmn:sequenceFlow id="p2" sourceRef="publish" targetRef="pe"/><bpmn:endEvent id="pe"/>
      </bpmn:subProcess>
      <bpmn:boundaryEvent id="down" attachedToRef="publishing">
        <bpmn:errorEventDefinition errorRef="e_site" camunda:errorCodeVariable="code"/></bpmn:boundaryEvent>
      <bpmn:sequenceFlow id="f2" sourceRef="down" targetRef="by_hand"/><bpmn:userTask id="by_hand"/>
      <bpmn:sequenceFlow id="f3" sourceRef="publishing" targetRef="e"/><bpmn:endEvent id="e"/>"""), {}, context)
    [task] = run.open_external_tasks()
    assert (task.activity_id, task.topic, task.priority) == ("publish", "publish-notice", 0)
    with pytest.raises(InvalidRequest):
        run.throw_bpmn_error(task.id, "OTHER", None, {})
    run.throw_bpmn_error(task.id, "SITE_DOWN", "503", {})
    assert [t.task_definition_key for t in run.open_user_tasks()] == ["by_hand"]
    assert run.open_external_tasks() == [] and run.variables()["code"] == "SITE_DOWN"


def test_a_message_start_event_runs_only_when_the_instance_is_started_there(context):
    body = """
      <bpmn:startEvent id="plain"/><bpmn:sequenceFlow id="f1" sourceRef="plain" targetRef="by_hand"/>
      <bpmn:userTask id="by_hand"/>
      <bpmn:startEvent id="listed"><bpmn:messageEventDefinition messageRef="m_report"/></bpmn:startEvent>
      <bpmn:sequenceFlow id="f2" sourceRef="listed" targetRef="by_message"/><bpmn:userTask id="by_message"/>"""
    process = model(body)
    assert [(s.id, s.kind, s.event_name) for s in process.start_events] == [
        ("plain", "none", None), ("listed", "message", "report")]
    plain, _ = ProcessRun.start(process, {}, context)
    assert [t.task_definition_key for t in plain.open_user_tasks()] == ["by_hand"]
    assert plain.event_waits() == []  # the message start does not wait inside a running instance
    by_message, step = ProcessRun.start(process, {"enterprise": "E1"}, context, start_event="listed")
    assert [t.task_definition_key for t in by_message.open_user_tasks()] == ["by_message"]
    assert step.changes[0].activity_id == "listed" and by_message.variables()["enterprise"] == "E1"


def test_a_yearly_cycle_keeps_its_calendar_date_across_leap_years():
    assert add_iso_duration(datetime(2028, 2, 29, tzinfo=CST), "P1Y") == datetime(2029, 2, 28, tzinfo=CST)
    assert add_iso_duration(datetime(2027, 1, 31, tzinfo=CST), "P1M") == datetime(2027, 2, 28, tzinfo=CST)
    cycles, first, period = parse_cycle("R3/2027-01-01T00:00:00+08:00/P1Y", datetime(2026, 9, 28, tzinfo=CST), TimerLimits())
    due, repeat = first, {"cycles": cycles, "period": period}
    seen = []
    while True:
        seen.append(due.date().isoformat())
        following = next_start(due, repeat, ZoneInfo("Asia/Shanghai"), due, SEMANTICS)
        if following is None:
            break
        due, repeat = following
    assert seen == ["2027-01-01", "2028-01-01", "2029-01-01"]
    with pytest.raises(ValueError):
        parse_cycle("every year", datetime(2026, 9, 28, tzinfo=CST), TimerLimits())


def test_a_timer_start_event_is_scheduled_by_the_service(context):
    process = model("""
      <bpmn:startEvent id="yearly"><bpmn:timerEventDefinition>
        <bpmn:timeCycle>R/2027-03-31T09:00:00+08:00/P1Y</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>
      <bpmn:sequenceFlow id="f1" sourceRef="yearly" targetRef="publish_list"/><bpmn:userTask id="publish_list"/>""")
    due, repeat = schedule_start_timer(process, "yearly", context)
    assert due == datetime(2027, 3, 31, 1, 0, tzinfo=UTC) and repeat == {"cycles": -1, "period": "P1Y"}
    with pytest.raises(InvalidRequest):
        ProcessRun.start(process, {}, context)  # no plain start: only its timer starts it
    run, _ = ProcessRun.start(process, {}, context, start_event="yearly")
    assert [t.task_definition_key for t in run.open_user_tasks()] == ["publish_list"]
    assert run.pending_timers() == []


@pytest.mark.parametrize(("body", "reason"), [
    ("""<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t"/>
        <bpmn:intermediateThrowEvent id="t"><bpmn:signalEventDefinition signalRef="s_report"/>
        </bpmn:intermediateThrowEvent>""", "needs a signalRef naming a signal"),
    ("""<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t"/>
        <bpmn:sendTask id="t"/>""", "sendTask must be an external task"),
    ("""<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t"/>
        <bpmn:intermediateCatchEvent id="t"><bpmn:messageEventDefinition/></bpmn:intermediateCatchEvent>""",
     "needs a messageRef"),
    ("""<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t"/>
        <bpmn:receiveTask id="t" messageRef="nowhere"/>""", "messageRef names no message"),
    ("""<bpmn:startEvent id="s"/>
        <bpmn:subProcess id="esp" triggeredByEvent="true">
          <bpmn:startEvent id="es"/><bpmn:endEvent id="ee"/><bpmn:sequenceFlow id="ef" sourceRef="es" targetRef="ee"/>
        </bpmn:subProcess>""", "an event subprocess starts with one message, signal, timer, conditional, error or escalation"),
])
def test_events_the_service_cannot_run_are_refused_at_deployment(body, reason):
    assert reason in refused(body)


def test_timers_racing_after_an_event_based_gateway_fire_once_even_when_both_are_overdue(context):
    process = model("""
      <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="g"/>
      <bpmn:eventBasedGateway id="g"/>
      <bpmn:sequenceFlow id="g1" sourceRef="g" targetRef="late"/><bpmn:sequenceFlow id="g2" sourceRef="g" targetRef="early"/>
      <bpmn:intermediateCatchEvent id="late" name="期满"><bpmn:timerEventDefinition>
        <bpmn:timeDuration>P9D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
      <bpmn:intermediateCatchEvent id="early" name="期满"><bpmn:timerEventDefinition>
        <bpmn:timeDuration>P5D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
      <bpmn:sequenceFlow id="l1" sourceRef="late" targetRef="lapse"/><bpmn:userTask id="lapse"/>
      <bpmn:sequenceFlow id="e1" sourceRef="early" targetRef="remind"/><bpmn:userTask id="remind"/>""")
    run, _ = ProcessRun.start(process, {}, context)
    timers = run.pending_timers()
    assert sorted(t.activity_id for t in timers) == ["early", "late"] and len({t.task_id for t in timers}) == 2
    # The service was down past both instants: the earlier one wins alone (both carry one name).
    context.clock.set(datetime(2026, 10, 28, tzinfo=UTC))
    run.fire_due_timers()
    assert [t.task_definition_key for t in run.open_user_tasks()] == ["remind"]
    assert run.pending_timers() == []


@pytest.mark.parametrize(("cycle", "due"), [
    # Camunda 7's own examples (CycleBusinessCalendarTest), from Thursday 2010-02-11 17:23.
    ("0 0 * * * ?", "2010-02-11 18:00"), ("0 0 8-10 * * ?", "2010-02-12 08:00"),
    ("0 0/30 8-10 * * ?", "2010-02-12 08:00"), ("0 0 0 25 12 ?", "2010-12-25 00:00"),
    ("0 0 0 L 12 ?", "2010-12-31 00:00"), ("0 0 6,19 * * ?", "2010-02-11 19:00"),
    ("0 0 0 * * THUL", "2010-02-25 00:00"), ("0 0 0 1W * *", "2010-03-01 00:00"),
    ("0 0 0 ? * 5#2", "2010-02-12 00:00"), ("@monthly", "2010-03-01 00:00"), ("@weekly", "2010-02-14 00:00"),
    # Both days given: both must hold, as in Camunda (the next 13th that is a Monday).
    ("0 0 9 13 * MON", "2010-09-13 09:00"),
    # A year after the six fields: Quartz's cron, which Camunda 7.23 and earlier read, Sunday is 1.
    ("0 15 16 ? * * *", "2010-02-12 16:15"), ("0 0 9 ? * 1 *", "2010-02-14 09:00"),
    ("0 0 9 ? * 2-6 *", "2010-02-12 09:00"), ("0 0 0 ? * 6L 2010", "2010-02-26 00:00"),
    ("0 0 0 ? * 6#3 *", "2010-02-19 00:00"), ("0 0 0 1 * ? 2080", "2080-01-01 00:00"),
    ("0 0 0 1 1 ? 2010-2020/3", "2013-01-01 00:00"),
])
def test_a_cron_cycle_falls_due_as_camunda_reads_it(cycle, due):
    after = datetime(2010, 2, 11, 17, 23, tzinfo=CST)
    assert cron_next(cycle, after, CST).strftime("%Y-%m-%d %H:%M") == due


def test_a_cron_whose_years_have_passed_falls_due_at_once_and_never_again_as_in_camunda():
    after = datetime(2026, 12, 7, 21, tzinfo=CST)
    assert cron_next("0 0 0 1 * ? 2026", after, CST) is None
    assert cron_next("0 0 0 1 * ? 2026", datetime(2026, 11, 7, tzinfo=CST), CST) == datetime(2026, 12, 1, tzinfo=CST)
    with on_clock(SimulatedClock(after), CST):
        due, repeat = start_timer_schedule("timeCycle", "0 0 0 1 * ? 2020-2025", after, TimerLimits())
    assert due == after and next_start(due, repeat, CST, after, SEMANTICS) is None


@pytest.mark.parametrize(("cycle", "reason"), [
    ("0 0 9 ? * 0 2027", "from 1 (Sunday) to 7 (Saturday), not 0"),
    ("0 0 9 ? * * 2100", "years from 1970 to 2099"),
    ("0 0 9 ? * * next", "years from 1970 to 2099"),
    ("0 0 9 30 2 ? 2027", "in the years it names"),
    ("0 0 9 * * ? * *", "six fields"),
])
def test_a_cron_with_a_year_the_service_cannot_read_is_refused_in_plain_words(cycle, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        cron_next(cycle, datetime(2026, 12, 7, tzinfo=CST), CST)


def test_a_cron_start_timer_repeats_in_the_services_zone():
    shanghai = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 10, 2, 2, tzinfo=UTC)
    with on_clock(SimulatedClock(now), UTC):
        due, repeat = start_timer_schedule("timeCycle", "0 0 9 ? * MON-FRI", now, TimerLimits())
    assert due.isoformat() == "2026-10-02T09:00:00+00:00" and repeat == {"cycles": -1, "cron": "0 0 9 ? * MON-FRI"}
    fired = datetime(2026, 10, 2, 1, tzinfo=UTC)  # Friday 9:00 in Shanghai
    following = next_start(fired, repeat, shanghai, fired, SEMANTICS)
    assert following is not None and following[0] == datetime(2026, 10, 5, 9, tzinfo=shanghai)


def test_a_cycle_shorter_than_a_minute_skips_the_firings_it_missed_and_counts_them_as_camunda_does():
    due = datetime(2026, 9, 28, tzinfo=UTC)
    late = due + timedelta(minutes=1, seconds=5)  # the service was down: six firings of 10 s went by
    assert next_start(due, {"cycles": -1, "period": "PT10S"}, UTC, late, SEMANTICS) == (
        due + timedelta(minutes=1, seconds=10), {"cycles": -1, "period": "PT10S"})
    assert next_start(due, {"cycles": 9, "period": "PT10S"}, UTC, late, SEMANTICS) == (
        due + timedelta(minutes=1, seconds=10), {"cycles": 2, "period": "PT10S"})
    assert next_start(due, {"cycles": 5, "period": "PT10S"}, UTC, late, SEMANTICS) is None  # its repetitions went by
    cron = {"cycles": -1, "cron": "0/5 * * * * ?"}
    assert next_start(due, cron, UTC, late, SEMANTICS) == (due + timedelta(minutes=1, seconds=10), cron)
    # A minute or longer fires each firing it missed, one after another.
    assert next_start(due, {"cycles": -1, "period": "PT1M"}, UTC, late, SEMANTICS)[0] == due + timedelta(minutes=1)


def test_a_cycle_between_a_start_and_an_end_repeats_at_their_distance_as_camunda_reads_it():
    now = datetime(2026, 9, 28, tzinfo=UTC)
    with on_clock(SimulatedClock(now), UTC):
        cycles, first, period = parse_cycle("R2/2027-01-01T09:00:00+08:00/2027-01-02T09:00:00+08:00", now,
                                            TimerLimits())
        assert (cycles, first.isoformat(), period) == (2, "2027-01-01T09:00:00+08:00", "PT86400S")
        for refused in ("R2/P1D/2027-01-02T09:00:00+08:00", "R/2027-01-02T09:00:00+08:00/2027-01-01T09:00:00+08:00"):
            with pytest.raises(ValueError):
                parse_cycle(refused, now, TimerLimits())


MONTHLY = """
  <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="publicity"/>
  <bpmn:intermediateCatchEvent id="publicity" name="公示一个月"><bpmn:timerEventDefinition>
    <bpmn:timeDuration>P1M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f2" sourceRef="publicity" targetRef="rectify"/><bpmn:userTask id="rectify"/>
  <bpmn:boundaryEvent id="remind" attachedToRef="rectify" cancelActivity="false"><bpmn:timerEventDefinition>
    <bpmn:timeCycle>R2/P1M</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>
  <bpmn:sequenceFlow id="f3" sourceRef="remind" targetRef="reminded"/><bpmn:endEvent id="reminded"/>
  <bpmn:sequenceFlow id="f4" sourceRef="rectify" targetRef="done"/><bpmn:endEvent id="done"/>"""


@pytest.mark.parametrize(("semantics", "publicity_ends", "reminders"), [
    # As Camunda counts on its JVM's zone: a month from 1 March is 1 April, in Shanghai.
    (SEMANTICS, "2027-04-01T03:00", ["2027-05-01T03:00", "2027-06-01T03:00"]),
    # As versions deployed under rules 1 and 2 count, on UTC's calendar (28 February there), and replay.
    (2, "2027-03-29T03:00", ["2027-04-29T03:00", "2027-05-29T03:00"]),
])
def test_months_of_a_timer_are_counted_on_the_calendar_of_the_versions_rules(semantics, publicity_ends, reminders):
    shanghai = ZoneInfo("Asia/Shanghai")
    clock = SimulatedClock(datetime(2027, 3, 1, 3, 0, tzinfo=shanghai))  # 28 February 19:00 in UTC
    process, = parse_deployment(definitions(MONTHLY, root=DECLARATIONS), semantics=semantics)
    run, _ = ProcessRun.start(process, {}, RunContext(clock, zone=shanghai))

    def due() -> list[str]:
        return [timer.due.astimezone(shanghai).strftime("%Y-%m-%dT%H:%M") for timer in run.pending_timers()]

    assert due() == [publicity_ends]
    clock.set(datetime.fromisoformat(publicity_ends).replace(tzinfo=shanghai))
    run.fire_due_timers()
    assert [t.task_definition_key for t in run.open_user_tasks()] == ["rectify"]
    fired = []
    while due():
        fired.append(due()[0])
        clock.set(datetime.fromisoformat(due()[0]).replace(tzinfo=shanghai))
        run.fire_due_timers()
    assert fired == reminders


def test_a_monthly_start_timer_keeps_the_day_of_the_services_calendar():
    shanghai = ZoneInfo("Asia/Shanghai")
    now = datetime(2027, 1, 31, 2, 0, tzinfo=shanghai)  # 30 January in UTC
    for semantics, first, second in ((SEMANTICS, "2027-02-28", "2027-03-28"), (2, "2027-03-01", "2027-03-29")):
        process, = parse_deployment(definitions("""
          <bpmn:startEvent id="monthly"><bpmn:timerEventDefinition><bpmn:timeCycle>R/P1M</bpmn:timeCycle>
          </bpmn:timerEventDefinition></bpmn:startEvent>
          <bpmn:sequenceFlow id="f1" sourceRef="monthly" targetRef="report"/><bpmn:userTask id="report"/>""",
                                                root=DECLARATIONS), semantics=semantics)
        due, repeat = schedule_start_timer(process, "monthly", RunContext(SimulatedClock(now), zone=shanghai))
        following = next_start(due, repeat, shanghai, due, semantics)
        assert following is not None
        assert (due.astimezone(shanghai).date().isoformat(),
                following[0].astimezone(shanghai).date().isoformat()) == (first, second)


def test_days_are_counted_on_the_calendar_and_hours_as_time_elapsed_as_javas_calendar_adds_them():
    new_york = ZoneInfo("America/New_York")  # summer time begins 14 March 2027 at 02:00
    before = datetime(2027, 3, 13, 12, 0, tzinfo=new_york)
    assert add_iso_duration(before, "P1D") == datetime(2027, 3, 14, 12, 0, tzinfo=new_york)
    assert add_iso_duration(before, "PT24H") == datetime(2027, 3, 14, 13, 0, tzinfo=new_york)
    assert add_iso_duration(before, "P1DT1H") == datetime(2027, 3, 14, 13, 0, tzinfo=new_york)
    assert add_iso_duration(before, "PT24H").astimezone(UTC) - before.astimezone(UTC) == timedelta(hours=24)
    # Where the clock never changes (UTC, the offsets versions saved before), both count alike.
    assert add_iso_duration(before.astimezone(UTC), "PT24H") == add_iso_duration(before.astimezone(UTC), "P1D")

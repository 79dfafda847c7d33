"""Cycle timers as Camunda Modeler writes them (R3/P1Y, R/P1Y, R3/<start>/<period>) on a moved clock."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.clock import SimulatedClock
from app.engine import ProcessRun, RunContext, parse_deployment
from tests.support.bpmn_text import definitions

START = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)


def yearly(cycle: str):
    body = f"""
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="named_zone" />
    <bpmn:userTask id="named_zone" name="named zone" />
    <bpmn:boundaryEvent id="every_year" attachedToRef="named_zone" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeCycle>{cycle}</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="every_year" targetRef="annual_report" />
    <bpmn:userTask id="annual_report" name="annual report" />
    <bpmn:sequenceFlow id="f3" sourceRef="annual_report" targetRef="report_filed" />
    <bpmn:endEvent id="report_filed" />
    <bpmn:sequenceFlow id="f4" sourceRef="named_zone" targetRef="revoked" />
    <bpmn:endEvent id="revoked" />"""
    model, = parse_deployment(definitions(body))
    return model


def reports(run) -> int:
    return sum(1 for task in run.open_user_tasks() if task.task_definition_key == "annual_report")


@pytest.mark.parametrize("cycle, expected", [("R3/P1Y", [1, 2, 3, 3]), ("R/P1Y", [1, 2, 3, 4]),
                                             ("R2/2026-06-30T00:00:00+08:00/P1Y", [1, 2, 2, 2])])
def test_a_yearly_cycle_opens_one_report_a_year_as_often_as_it_says(cycle, expected):
    clock = SimulatedClock(START)
    run, _ = ProcessRun.start(yearly(cycle), {}, RunContext(clock))
    assert reports(run) == 0
    seen = []
    for _ in expected:
        clock.advance(timedelta(days=366))
        run.fire_due_timers()
        seen.append(reports(run))
    assert seen == expected
    assert [t.task_definition_key for t in run.open_user_tasks()].count("named_zone") == 1


def test_a_cycle_fires_at_its_due_instant_not_a_moment_later():
    clock = SimulatedClock(START)
    run, _ = ProcessRun.start(yearly("R/PT1H"), {}, RunContext(clock))
    [timer] = run.pending_timers()
    assert timer.due == START + timedelta(hours=1)
    clock.set(timer.due - timedelta(microseconds=1))
    run.fire_due_timers()
    assert reports(run) == 0
    clock.set(timer.due)
    run.fire_due_timers()
    assert reports(run) == 1

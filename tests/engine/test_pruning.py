"""The saved state keeps what a run still needs: it stays the same size however long a case loops,
and a run whose finished tasks were dropped behaves step for step as one that kept them all."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import app.engine.runtime as runtime
from app.clock import SimulatedClock
from app.engine import ProcessModel, ProcessRun, RunContext, parse_deployment
from tests.support.bpmn_text import definitions

START = datetime(2026, 9, 28, 1, 0, tzinfo=UTC)


def model_of(body: str) -> ProcessModel:
    model, = parse_deployment(definitions(body))
    return model


def flows(*pairs: tuple[str, str, str | None]) -> str:
    text = ""
    for index, (source, target, condition) in enumerate(pairs):
        expression = (f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}'
                      "</bpmn:conditionExpression>") if condition else ""
        text += f'<bpmn:sequenceFlow id="f{index}" sourceRef="{source}" targetRef="{target}">{expression}</bpmn:sequenceFlow>'
    return text


def user_tasks(*ids: str) -> str:
    return "".join(f'<bpmn:userTask id="{task_id}" name="{task_id}" />' for task_id in ids)


LOOP = ('<bpmn:startEvent id="start" />' + user_tasks("work", "decide")
        + '<bpmn:exclusiveGateway id="again_gw" /><bpmn:endEvent id="end" />'
        + flows(("start", "work", None), ("work", "decide", None), ("decide", "again_gw", None),
                ("again_gw", "work", "${again}"), ("again_gw", "end", "${not again}")))

PARALLEL_LOOP = ('<bpmn:startEvent id="start" /><bpmn:parallelGateway id="split" /><bpmn:parallelGateway id="join" />'
                 + user_tasks("a", "b", "c", "decide")
                 + '<bpmn:exclusiveGateway id="again_gw" /><bpmn:endEvent id="end" />'
                 + flows(("start", "split", None), ("split", "a", None), ("split", "b", None), ("split", "c", None),
                         ("a", "join", None), ("b", "join", None), ("c", "join", None), ("join", "decide", None),
                         ("decide", "again_gw", None), ("again_gw", "split", "${again}"),
                         ("again_gw", "end", "${not again}")))

INCLUSIVE_LOOP = ('<bpmn:startEvent id="start" /><bpmn:inclusiveGateway id="split" /><bpmn:inclusiveGateway id="join" />'
                  + user_tasks("a", "b", "c", "decide")
                  + '<bpmn:exclusiveGateway id="again_gw" /><bpmn:endEvent id="end" />'
                  + flows(("start", "split", None), ("split", "a", "${x}"), ("split", "b", "${y}"),
                          ("split", "c", "${z}"), ("a", "join", None), ("b", "join", None), ("c", "join", None),
                          ("join", "decide", None), ("decide", "again_gw", None), ("again_gw", "split", "${again}"),
                          ("again_gw", "end", "${not again}")))

SUBPROCESS_LOOP = ('<bpmn:startEvent id="start" /><bpmn:subProcess id="sub"><bpmn:startEvent id="sub_start" />'
                   + user_tasks("inner") + '<bpmn:endEvent id="sub_end" />'
                   + flows(("sub_start", "inner", None), ("inner", "sub_end", None)).replace('id="f', 'id="sf')
                   + "</bpmn:subProcess>" + user_tasks("decide")
                   + '<bpmn:exclusiveGateway id="again_gw" /><bpmn:endEvent id="end" />'
                   + flows(("start", "sub", None), ("sub", "decide", None), ("decide", "again_gw", None),
                           ("again_gw", "sub", "${again}"), ("again_gw", "end", "${not again}")))

REMINDER_LOOP = ('<bpmn:startEvent id="start" />' + user_tasks("work", "remind", "decide")
                 + '<bpmn:boundaryEvent id="late" attachedToRef="work" cancelActivity="false">'
                 '<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>'
                 '</bpmn:boundaryEvent><bpmn:endEvent id="reminded" />'
                 '<bpmn:exclusiveGateway id="again_gw" /><bpmn:endEvent id="end" />'
                 + flows(("start", "work", None), ("late", "remind", None), ("remind", "reminded", None),
                         ("work", "decide", None), ("decide", "again_gw", None), ("again_gw", "work", "${again}"),
                         ("again_gw", "end", "${not again}")))

TWO_ENDS = ('<bpmn:startEvent id="start" /><bpmn:parallelGateway id="split" />' + user_tasks("a", "b")
            + '<bpmn:endEvent id="end_a" /><bpmn:endEvent id="end_b" />'
            + flows(("start", "split", None), ("split", "a", None), ("split", "b", None), ("a", "end_a", None),
                    ("b", "end_b", None)))

COUNTERSIGN_LOOP = ('<bpmn:startEvent id="start" />'
                    '<bpmn:userTask id="sign" name="sign" camunda:candidateGroups="${department}">'
                    '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${departments}" '
                    'camunda:elementVariable="department"><bpmn:completionCondition>'
                    '${nrOfCompletedInstances &gt;= 2}</bpmn:completionCondition>'
                    '</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>' + user_tasks("decide")
                    + '<bpmn:exclusiveGateway id="again_gw" /><bpmn:endEvent id="end" />'
                    + flows(("start", "sign", None), ("sign", "decide", None), ("decide", "again_gw", None),
                            ("again_gw", "sign", "${again}"), ("again_gw", "end", "${not again}")))

# Each completed round of `work` is undone when the case gives up: its handler runs once per round.
COMPENSATION_LOOP = ('<bpmn:startEvent id="start" />' + user_tasks("work", "decide")
                     + '<bpmn:boundaryEvent id="work_undo" attachedToRef="work"><bpmn:compensateEventDefinition />'
                     '</bpmn:boundaryEvent><bpmn:userTask id="undo" name="undo" isForCompensation="true" />'
                     '<bpmn:association id="undo_link" sourceRef="work_undo" targetRef="undo" />'
                     '<bpmn:exclusiveGateway id="again_gw" /><bpmn:intermediateThrowEvent id="give_up">'
                     '<bpmn:compensateEventDefinition /></bpmn:intermediateThrowEvent><bpmn:endEvent id="end" />'
                     + flows(("start", "work", None), ("work", "decide", None), ("decide", "again_gw", None),
                             ("again_gw", "work", "${again}"), ("again_gw", "give_up", "${not again}"),
                             ("give_up", "end", None)))

Action = tuple[str, Any, dict[str, Any]]


def walk(model: ProcessModel, start: dict[str, Any], actions: list[Action]) -> list[Any]:
    """Run the actions, saving and restoring the run after every step, and note what a user sees."""
    clock = SimulatedClock(START)
    context = RunContext(clock)
    run, result = ProcessRun.start(model, start, context)
    seen = []
    for kind, argument, variables in actions:
        run = ProcessRun.restore(model, run.serialize(), context)
        if kind == "complete":
            task = next(task for task in run.open_user_tasks() if task.task_definition_key == argument)
            result = run.complete_user_task(task.id, variables)
        else:
            clock.set(clock.now() + argument)
            result = run.fire_due_timers()
        seen.append((sorted(task.task_definition_key for task in run.open_user_tasks()), run.completed,
                     sorted((change.activity_id, change.started, change.ended, change.canceled)
                            for change in result.changes),
                     run.variables()))
    return seen


def complete(key: str, **variables: Any) -> Action:
    return ("complete", key, variables)


def wait(**duration: float) -> Action:
    return ("advance", timedelta(**duration), {})


WALKS: dict[str, tuple[str, dict[str, Any], list[Action]]] = {
    "parallel join in a loop, branches in changing order": (PARALLEL_LOOP, {}, [
        complete("a"), complete("b"), complete("c"), complete("decide", again=True),
        complete("c"), complete("a"), complete("b"), complete("decide", again=True),
        complete("b"), complete("c"), complete("a", last=1), complete("decide", again=False)]),
    "inclusive join in a loop, a different choice each time": (INCLUSIVE_LOOP, {"x": True, "y": False, "z": True}, [
        complete("a"), complete("c"), complete("decide", again=True, x=False, y=True, z=True),
        complete("c"), complete("b"), complete("decide", again=False)]),
    "embedded subprocess run again and again": (SUBPROCESS_LOOP, {}, [
        complete("inner", n=1), complete("decide", again=True), complete("inner", n=2),
        complete("decide", again=True), complete("inner", n=3), complete("decide", again=False)]),
    "non-interrupting reminder in a loop": (REMINDER_LOOP, {}, [
        wait(hours=2), complete("work"), complete("decide", again=True),
        wait(minutes=30), wait(hours=1), complete("remind"), complete("work"),
        complete("decide", again=True), wait(hours=1, minutes=1),
        complete("work"), complete("remind"), complete("decide", again=False), complete("remind")]),
    "countersigning in a loop, two of three enough": (COUNTERSIGN_LOOP, {"departments": ["a", "b", "c"]}, [
        complete("sign", opinion="yes"), complete("sign", opinion="no"), complete("decide", again=True),
        complete("sign"), complete("sign"), complete("decide", again=False)]),
    "two branches ending at their own end events": (TWO_ENDS, {}, [complete("a", x=1), complete("b", y=2)]),
    "compensating every round of a loop": (COMPENSATION_LOOP, {}, [
        complete("work", n=1), complete("decide", again=True), complete("work", n=2),
        complete("decide", again=True), complete("work", n=3), complete("decide", again=False),
        complete("undo", undone=3), complete("undo", undone=2), complete("undo", undone=1)]),
}


@pytest.mark.parametrize("name", WALKS)
def test_a_pruned_run_behaves_as_one_that_kept_every_task(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    body, start, actions = WALKS[name]
    model = model_of(body)
    pruned = walk(model, start, actions)
    monkeypatch.setattr(runtime, "prune", lambda workflow: None)
    kept = walk(model, start, actions)
    assert pruned == kept
    assert pruned[-1][1], "each walk runs its case to the end"
    assert all(not seen[1] for seen in pruned[:-1]), "and ends it only at the last step"


def test_a_looping_case_keeps_the_same_state_size_at_its_two_hundredth_round() -> None:
    model = model_of(LOOP)
    context = RunContext(SimulatedClock(START))
    run, _ = ProcessRun.start(model, {}, context)
    sizes = []
    for _ in range(200):
        for key, variables in (("work", {}), ("decide", {"again": True})):
            run = ProcessRun.restore(model, run.serialize(), context)
            task, = (task for task in run.open_user_tasks() if task.task_definition_key == key)
            run.complete_user_task(task.id, variables)
        sizes.append(len(run.serialize()))
    assert max(sizes) <= sizes[1] + 64, f"state grew from {sizes[1]} to {max(sizes)} bytes"
    assert len(run.workflow.tasks) <= 20

"""Running instances of the real process files on a simulated clock: the paths a user takes, what is
offered to whom, saving and restoring mid-run, timers, and the errors a caller sees."""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import LOCALTZ
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG

from app.clock import SimulatedClock
from app.engine import (
    ActivityChange,
    ProcessModel,
    ProcessRun,
    RunContext,
    StepResult,
    parse_deployment,
)
from app.engine.serialization import UnreadableState
from app.errors import Conflict, NotFound, ProcessExecutionFailed
from tests.support.bpmn_text import definitions

FIXTURES = Path(__file__).parent.parent / "fixtures" / "bpmn"
CLOCK_START = datetime(2026, 9, 28, 1, 0, tzinfo=UTC)
BEIJING = timezone(timedelta(hours=8))


def load(path: Path) -> ProcessModel:
    model, = parse_deployment({path.name: path.read_bytes()})
    return model


def inline(body: str) -> ProcessModel:
    model, = parse_deployment(definitions(body))
    return model


@pytest.fixture(scope="module")
def eco_review() -> ProcessModel:
    return load(FIXTURES / "eco_review.bpmn")


@pytest.fixture(scope="module")
def ten_step() -> ProcessModel:
    return load(FIXTURES / "ten_step.bpmn")


@pytest.fixture(scope="module")
def publicity_wait() -> ProcessModel:
    return load(FIXTURES / "engine" / "timer_wait.bpmn")


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(CLOCK_START)


@pytest.fixture
def context(clock) -> RunContext:
    return RunContext(clock)


APPLICATION = {"park_name": "南岭生态园", "province": "gd", "applicant": "zhangsan"}


def open_keys(run: ProcessRun) -> list[str]:
    return [task.task_definition_key for task in run.open_user_tasks()]


def the_open_task(run: ProcessRun, key: str):
    tasks = [task for task in run.open_user_tasks() if task.task_definition_key == key]
    assert len(tasks) == 1, f"expected one open {key}, found {open_keys(run)}"
    return tasks[0]


def complete(run: ProcessRun, key: str, **variables: Any) -> Sequence[ActivityChange]:
    return run.complete_user_task(the_open_task(run, key).id, variables).changes


def steps(step: StepResult | Sequence[ActivityChange]) -> list[tuple[str, bool, bool]]:
    changes = step.changes if isinstance(step, StepResult) else step
    return [(change.activity_id, change.started, change.ended) for change in changes]


# -- eco_review, every path through the decision gateway ---------------------------------------------

def test_an_application_opens_the_provincial_review_for_the_province_group(eco_review, context):
    run, started = ProcessRun.start(eco_review, APPLICATION, context)
    changes = started.changes
    review, = run.open_user_tasks()
    assert review.task_definition_key == "provincial_review"
    assert review.name == "省级生态环境部门审查"
    assert review.candidate_groups == ("gd-eco-env",)
    assert review.assignee is None
    assert review.priority == 60
    assert review.due is None
    assert not run.completed
    assert steps(changes) == [("application_received", True, True), ("provincial_review", True, False)]
    assert changes[-1].activity_instance_id == review.id


@pytest.mark.parametrize("province", ["gd", "yn", "xj"])
def test_the_candidate_group_follows_the_province_of_the_application(eco_review, context, province):
    run, _ = ProcessRun.start(eco_review, {**APPLICATION, "province": province}, context)
    assert the_open_task(run, "provincial_review").candidate_groups == (f"{province}-eco-env",)


def test_an_approved_review_goes_to_the_ministry_and_ends_approved(eco_review, context):
    run, _ = ProcessRun.start(eco_review, APPLICATION, context)
    changes = complete(run, "provincial_review", decision="approve", opinion="符合生态保护要求", score=92)
    assert steps(changes) == [("provincial_review", False, True), ("decision_gateway", True, True),
                              ("ministry_approval", True, False)]
    ministry = the_open_task(run, "ministry_approval")
    assert ministry.candidate_groups == ("mee-sti",)
    assert ministry.priority == 50

    changes = complete(run, "ministry_approval", approved=True)
    assert steps(changes) == [("ministry_approval", False, True), ("approved_end", True, True)]
    assert run.completed
    assert run.open_user_tasks() == []
    assert run.variables() == {**APPLICATION, "decision": "approve", "opinion": "符合生态保护要求", "score": 92,
                               "approved": True}


def test_a_rejected_review_ends_at_once(eco_review, context):
    run, _ = ProcessRun.start(eco_review, APPLICATION, context)
    changes = complete(run, "provincial_review", decision="reject", opinion="位于生态红线内")
    assert steps(changes) == [("provincial_review", False, True), ("decision_gateway", True, True),
                              ("rejected_end", True, True)]
    assert changes[-1].activity_type == "noneEndEvent"
    assert run.completed
    assert run.open_user_tasks() == []
    assert run.variables() == {**APPLICATION, "decision": "reject", "opinion": "位于生态红线内"}


def test_a_supplement_request_goes_to_the_applicant_and_back_to_the_province(eco_review, context):
    run, _ = ProcessRun.start(eco_review, APPLICATION, context)
    first_review = the_open_task(run, "provincial_review")
    changes = complete(run, "provincial_review", decision="supplement", opinion="缺少环评报告")
    assert steps(changes)[-1] == ("applicant_supplement", True, False)

    supplement, = run.open_user_tasks()
    assert supplement.task_definition_key == "applicant_supplement"
    assert supplement.assignee == "zhangsan"
    assert supplement.candidate_users == ("zhangsan",)
    assert supplement.candidate_groups == ()

    changes = complete(run, "applicant_supplement", supplement_note="已补充环评报告")
    assert steps(changes) == [("applicant_supplement", False, True), ("provincial_review", True, False)]
    second_review = the_open_task(run, "provincial_review")
    assert second_review.id != first_review.id
    assert second_review.candidate_groups == ("gd-eco-env",)
    assert run.variables()["supplement_note"] == "已补充环评报告"

    complete(run, "provincial_review", decision="approve", opinion="材料齐全")
    complete(run, "ministry_approval", approved=False)
    assert run.completed
    assert run.variables() == {**APPLICATION, "decision": "approve", "opinion": "材料齐全",
                               "supplement_note": "已补充环评报告", "approved": False}


def test_the_supplement_loop_can_turn_several_times(eco_review, context):
    run, _ = ProcessRun.start(eco_review, APPLICATION, context)
    for round_number in range(3):
        complete(run, "provincial_review", decision="supplement", opinion=f"第{round_number + 1}次补正")
        assert the_open_task(run, "applicant_supplement").assignee == "zhangsan"
        complete(run, "applicant_supplement", supplement_note=f"补正{round_number + 1}")
    complete(run, "provincial_review", decision="reject", opinion="仍不符合")
    assert run.completed
    assert run.variables()["supplement_note"] == "补正3"


# -- saving and restoring ----------------------------------------------------------------------------

def snapshot(run: ProcessRun) -> tuple:
    return ([(task.id, task.task_definition_key, task.candidate_groups, task.assignee) for task in run.open_user_tasks()],
            run.variables(), run.completed)


def outcome(run: ProcessRun, changes: StepResult | Sequence[ActivityChange]) -> tuple:
    # Tasks created while continuing get fresh ids: compare what a user sees of them, not the ids.
    return (steps(changes), [(t.task_definition_key, t.candidate_groups, t.assignee) for t in run.open_user_tasks()],
            run.variables(), run.completed)


ECO_STEPS = [
    ("provincial_review", {"decision": "supplement", "opinion": "缺少环评报告"}),
    ("applicant_supplement", {"supplement_note": "已补充"}),
    ("provincial_review", {"decision": "approve", "opinion": "同意", "score": 88}),
    ("ministry_approval", {"approved": True}),
]


def test_a_run_saved_and_restored_after_every_step_is_the_same_run(eco_review, context):
    run, _ = ProcessRun.start(eco_review, APPLICATION, context)
    for key, values in ECO_STEPS:
        state = run.serialize()
        restored = ProcessRun.restore(eco_review, state, RunContext(SimulatedClock(CLOCK_START)))
        assert snapshot(restored) == snapshot(run)
        assert restored.serialize() == state

        task_id = the_open_task(run, key).id
        original_changes = run.complete_user_task(task_id, values).changes
        restored_changes = restored.complete_user_task(task_id, values)
        assert outcome(restored, restored_changes) == outcome(run, original_changes)
        run = restored  # go on from the restored copy: the next round restores a restored run
    assert run.completed
    assert ProcessRun.restore(eco_review, run.serialize(), context).completed


def test_the_saved_state_holds_no_process_spec(eco_review, context):
    run, _ = ProcessRun.start(eco_review, {"park_name": "南岭生态园", "province": "gd"}, context)
    state = run.serialize()
    assert '"spec"' not in state and '"subprocess_specs"' not in state
    # Task names and the form live in the BPMN, not in each instance's state.
    assert "省级生态环境部门审查" not in state
    assert "审查意见" not in state
    # Activity ids appear only as references from tasks to their spec.
    references = re.findall(r'"task_spec":\s*"provincial_review"', state)
    assert len(references) >= 1
    assert state.count('"provincial_review"') == len(references)
    stock_dump = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG)).serialize_json(run.workflow)
    assert len(state) < 0.6 * len(stock_dump)


def test_a_state_of_an_unknown_format_is_refused(eco_review, context):
    run, _ = ProcessRun.start(eco_review, APPLICATION, context)
    saved = json.loads(run.serialize())
    saved["state_format"] = 99
    with pytest.raises(UnreadableState, match="99"):
        ProcessRun.restore(eco_review, json.dumps(saved), context)


def test_a_stock_spiffworkflow_dump_is_refused_as_an_unknown_format(eco_review, context):
    run, _ = ProcessRun.start(eco_review, APPLICATION, context)
    stock_dump = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG)).serialize_json(run.workflow)
    with pytest.raises(UnreadableState):
        ProcessRun.restore(eco_review, stock_dump, context)


def test_dates_decimals_and_nested_values_survive_a_round_trip(eco_review, context):
    values = {
        **APPLICATION,
        "submitted_at": datetime(2026, 9, 28, 9, 30, tzinfo=BEIJING),
        "publicity_day": date(2026, 10, 15),
        "investment": Decimal("12345678.90"),
        "boundaries": {"area_km2": 12.5, "counties": ["始兴县", "仁化县"], "protected": True, "note": None},
    }
    run, _ = ProcessRun.start(eco_review, values, context)
    restored = ProcessRun.restore(eco_review, run.serialize(), context)
    variables = restored.variables()
    assert variables == values
    assert type(variables["submitted_at"]) is datetime and variables["submitted_at"].utcoffset() == timedelta(hours=8)
    assert type(variables["publicity_day"]) is date
    assert type(variables["investment"]) is Decimal and str(variables["investment"]) == "12345678.90"

    complete(restored, "provincial_review", decision="reject", opinion="不同意")
    final = ProcessRun.restore(eco_review, restored.serialize(), context).variables()
    assert {name: final[name] for name in values} == values


def test_a_restored_run_keeps_its_candidate_groups_and_assignee(eco_review, context):
    run, _ = ProcessRun.start(eco_review, {**APPLICATION, "province": "yn", "applicant": "lisi"}, context)
    complete(run, "provincial_review", decision="supplement", opinion="补正")
    restored = ProcessRun.restore(eco_review, run.serialize(), context)
    assert the_open_task(restored, "applicant_supplement").assignee == "lisi"
    complete(restored, "applicant_supplement", supplement_note="ok")
    assert the_open_task(restored, "provincial_review").candidate_groups == ("yn-eco-env",)


# -- variables ---------------------------------------------------------------------------------------

def test_set_variables_is_seen_by_variables_and_by_the_rest_of_the_run(eco_review, context):
    run, _ = ProcessRun.start(eco_review, APPLICATION, context)
    run.set_variables({"urgent": True, "province": "hn"}, removals=("applicant",))
    assert run.variables() == {"park_name": "南岭生态园", "province": "hn", "urgent": True}

    restored = ProcessRun.restore(eco_review, run.serialize(), context)
    assert restored.variables() == run.variables()
    complete(restored, "provincial_review", decision="reject", opinion="不同意")
    assert restored.variables() == {"park_name": "南岭生态园", "province": "hn", "urgent": True,
                                    "decision": "reject", "opinion": "不同意"}


def test_set_variables_changes_what_the_next_task_is_offered_to_not_an_open_one(eco_review, context):
    run, _ = ProcessRun.start(eco_review, APPLICATION, context)
    run.set_variables({"applicant": "wangwu"})
    complete(run, "provincial_review", decision="supplement", opinion="补正")
    assert the_open_task(run, "applicant_supplement").assignee == "wangwu"
    # As Camunda creates a task: its assignee was evaluated when it opened, and stays.
    run.set_variables({"applicant": "zhaoliu"})
    run.variables_changed()
    assert the_open_task(run, "applicant_supplement").assignee == "wangwu"


# -- errors a caller sees ----------------------------------------------------------------------------

def test_a_condition_on_a_missing_variable_fails_naming_the_gateway(eco_review, context):
    run, _ = ProcessRun.start(eco_review, APPLICATION, context)
    with pytest.raises(ProcessExecutionFailed) as caught:
        complete(run, "provincial_review", opinion="忘了填结论")
    assert caught.value.details["activityId"] == "decision_gateway"
    assert "decision_gateway" in caught.value.message
    assert "decision" in caught.value.message.replace("decision_gateway", "")


def test_a_condition_that_is_not_a_boolean_fails_naming_the_gateway(ten_step, context):
    run, _ = ProcessRun.start(ten_step, {}, context)
    for step in range(1, 10):
        complete(run, f"step_{step}")
    with pytest.raises(ProcessExecutionFailed) as caught:
        complete(run, "step_10", approved="maybe")
    assert caught.value.details["activityId"] == "approved_gateway"
    assert "Boolean" in caught.value.message


@pytest.mark.parametrize("task_id", [
    "7d1f3c52-9a0e-4c55-b7a4-2f4b1e0c9d11",
    "not-a-task-id",
    "",
])
def test_completing_an_unknown_task_is_not_found(eco_review, context, task_id):
    run, _ = ProcessRun.start(eco_review, APPLICATION, context)
    with pytest.raises(NotFound):
        run.complete_user_task(task_id, {})
    assert open_keys(run) == ["provincial_review"]


def test_completing_a_task_that_is_not_a_user_task_is_not_found(eco_review, context):
    run, started = ProcessRun.start(eco_review, APPLICATION, context)
    changes = started.changes
    start_event_task = changes[0].activity_instance_id
    with pytest.raises(NotFound):
        run.complete_user_task(start_event_task, {})


def test_completing_a_task_twice_is_a_conflict(eco_review, context):
    run, _ = ProcessRun.start(eco_review, APPLICATION, context)
    review = the_open_task(run, "provincial_review")
    run.complete_user_task(review.id, {"decision": "supplement", "opinion": "补正"})
    with pytest.raises(Conflict):
        run.complete_user_task(review.id, {"decision": "approve", "opinion": "改主意了"})
    assert open_keys(run) == ["applicant_supplement"]


def test_a_task_not_yet_reached_is_not_open(eco_review, context):
    run, _ = ProcessRun.start(eco_review, APPLICATION, context)
    state = json.loads(run.serialize())
    predicted = next(task_id for task_id, task in state["workflow"]["tasks"].items()
                     if task["task_spec"] == "ministry_approval")
    with pytest.raises((NotFound, Conflict)):
        run.complete_user_task(predicted, {"approved": True})
    assert open_keys(run) == ["provincial_review"]


# -- ten_step ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("approved, end, other_end", [(True, "approved_end", "rejected_end"),
                                                      (False, "rejected_end", "approved_end")])
def test_ten_steps_then_the_approved_flag_picks_the_end(ten_step, context, approved, end, other_end):
    run, started = ProcessRun.start(ten_step, {}, context)
    changes = started.changes
    assert steps(changes) == [("review_started", True, True), ("step_1", True, False)]
    for step in range(1, 10):
        review, = run.open_user_tasks()
        assert (review.task_definition_key, review.candidate_groups) == (f"step_{step}", ("reviewers",))
        changes = complete(run, f"step_{step}")
        assert steps(changes) == [(f"step_{step}", False, True), (f"step_{step + 1}", True, False)]
        assert not run.completed
    changes = complete(run, "step_10", approved=approved)
    assert steps(changes) == [("step_10", False, True), ("approved_gateway", True, True), (end, True, True)]
    assert other_end not in [change.activity_id for change in changes]
    assert run.completed
    assert run.variables() == {"approved": approved}


def test_ten_steps_restored_between_every_step_end_the_same(ten_step, context):
    run, _ = ProcessRun.start(ten_step, {"applicant": "zhangsan"}, context)
    for step in range(1, 11):
        run = ProcessRun.restore(ten_step, run.serialize(), context)
        complete(run, f"step_{step}", **({"approved": True} if step == 10 else {f"note_{step}": step}))
    assert run.completed
    assert run.variables() == {"applicant": "zhangsan", "approved": True,
                               **{f"note_{step}": step for step in range(1, 10)}}


# -- cancel ------------------------------------------------------------------------------------------

def test_cancel_reports_the_open_user_task_as_canceled(eco_review, context):
    run, _ = ProcessRun.start(eco_review, APPLICATION, context)
    review = the_open_task(run, "provincial_review")
    changes = list(run.cancel().changes)
    assert changes == [ActivityChange(review.id, "provincial_review", "省级生态环境部门审查", "userTask",
                                      started=False, ended=True, canceled=True)]
    assert run.open_user_tasks() == []
    with pytest.raises(Conflict):
        run.complete_user_task(review.id, {"decision": "approve", "opinion": "x"})


def test_cancel_while_waiting_on_a_timer_drops_the_timer(publicity_wait, context):
    run, _ = ProcessRun.start(publicity_wait, {"province": "gd"}, context)
    complete(run, "prepare_notice")
    changes = list(run.cancel().changes)
    assert [(c.activity_id, c.ended, c.canceled) for c in changes] == [("publicity_period", True, True)]
    assert run.pending_timers() == []


# -- timers ------------------------------------------------------------------------------------------

def test_a_bare_p15d_timer_waits_fifteen_days_on_the_clock(publicity_wait, clock, context):
    run, _ = ProcessRun.start(publicity_wait, {"province": "gd"}, context)
    assert the_open_task(run, "prepare_notice").candidate_groups == ("gd-eco-env",)
    assert run.pending_timers() == []

    clock.advance(timedelta(hours=3))  # the wait starts when the notice is done, not at the start
    changes = complete(run, "prepare_notice")
    assert steps(changes) == [("prepare_notice", False, True), ("publicity_period", True, False)]
    assert changes[-1].activity_type == "intermediateTimer"
    timer, = run.pending_timers()
    assert timer.activity_id == "publicity_period"
    assert timer.due == clock.now() + timedelta(days=15)
    assert run.open_user_tasks() == []

    clock.advance(timedelta(days=14))
    assert run.fire_due_timers().changes == ()
    assert run.open_user_tasks() == []
    assert run.pending_timers() == [timer]

    clock.advance(timedelta(days=2))
    changes = run.fire_due_timers().changes
    assert steps(changes) == [("publicity_period", False, True), ("publish_result", True, False)]
    assert changes[0].activity_instance_id == timer.task_id
    assert open_keys(run) == ["publish_result"]
    assert run.pending_timers() == []

    complete(run, "publish_result")
    assert run.completed


def test_a_waiting_timer_survives_save_and_restore(publicity_wait, clock, context):
    run, _ = ProcessRun.start(publicity_wait, {"province": "gd"}, context)
    complete(run, "prepare_notice")
    timer, = run.pending_timers()
    state = run.serialize()

    clock.advance(timedelta(days=30))  # the service was down for a month: the restored run catches up
    restored = ProcessRun.restore(publicity_wait, state, context)
    assert restored.pending_timers() == [timer]
    assert restored.serialize() == state
    changes = restored.fire_due_timers()
    assert steps(changes) == [("publicity_period", False, True), ("publish_result", True, False)]


def test_a_timer_that_fell_due_while_a_task_was_open_fires_with_the_next_step(clock, context):
    model = inline("""
    <bpmn:startEvent id="started"/>
    <bpmn:sequenceFlow id="f1" sourceRef="started" targetRef="wait_a_day"/>
    <bpmn:intermediateCatchEvent id="wait_a_day">
      <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P1D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait_a_day" targetRef="review"/>
    <bpmn:userTask id="review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="ended"/>
    <bpmn:endEvent id="ended"/>""")
    run, started = ProcessRun.start(model, {}, context)
    changes = started.changes
    assert steps(changes) == [("started", True, True), ("wait_a_day", True, False)]
    assert run.pending_timers()[0].due == CLOCK_START + timedelta(days=1)
    clock.advance(timedelta(days=1, seconds=1))
    assert steps(run.fire_due_timers()) == [("wait_a_day", False, True), ("review", True, False)]


def timer_then_task(timer_definition: str) -> ProcessModel:
    return inline(f"""
    <bpmn:startEvent id="started"/>
    <bpmn:sequenceFlow id="f1" sourceRef="started" targetRef="publicity_period"/>
    <bpmn:intermediateCatchEvent id="publicity_period">
      <bpmn:timerEventDefinition>{timer_definition}</bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="publicity_period" targetRef="publish_result"/>
    <bpmn:userTask id="publish_result"/>
    <bpmn:sequenceFlow id="f3" sourceRef="publish_result" targetRef="ended"/>
    <bpmn:endEvent id="ended"/>""")


def test_a_duration_taken_from_a_variable_is_waited(clock, context):
    model = timer_then_task('<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">${publicityPeriod}</bpmn:timeDuration>')
    run, _ = ProcessRun.start(model, {"publicityPeriod": "P7D"}, context)
    assert run.pending_timers()[0].due == CLOCK_START + timedelta(days=7)
    clock.advance(timedelta(days=7, minutes=1))
    run.fire_due_timers()
    assert open_keys(run) == ["publish_result"]


def test_a_time_date_with_an_offset_fires_at_that_instant(clock, context):
    model = timer_then_task('<bpmn:timeDate xsi:type="bpmn:tFormalExpression">2026-10-15T00:00:00+08:00</bpmn:timeDate>')
    run, _ = ProcessRun.start(model, {}, context)
    due = datetime(2026, 10, 15, 0, 0, tzinfo=BEIJING)
    assert run.pending_timers()[0].due == due
    clock.set(due - timedelta(minutes=1))
    run.fire_due_timers()
    assert open_keys(run) == []
    clock.set(due + timedelta(minutes=1))
    run.fire_due_timers()
    assert open_keys(run) == ["publish_result"]


def test_a_time_date_without_offset_is_read_in_the_run_zone_and_fires_then(clock):
    # A zone that differs from the machine's, so that the two readings cannot agree by chance.
    zone = timezone(LOCALTZ.utcoffset(None) + timedelta(hours=8))
    model = timer_then_task('<bpmn:timeDate xsi:type="bpmn:tFormalExpression">2026-10-15T00:00:00</bpmn:timeDate>')
    run, _ = ProcessRun.start(model, {}, RunContext(clock, zone=zone))
    due = run.pending_timers()[0].due
    assert due == datetime(2026, 10, 15, 0, 0, tzinfo=zone)
    clock.set(due - timedelta(minutes=1))
    run.fire_due_timers()
    assert open_keys(run) == []
    clock.set(due + timedelta(minutes=1))
    run.fire_due_timers()
    assert open_keys(run) == ["publish_result"]


@pytest.mark.parametrize("publicity_end, due", [
    # What a form date field gives the process.
    (datetime(2026, 10, 15, 0, 0, tzinfo=BEIJING), datetime(2026, 10, 15, 0, 0, tzinfo=BEIJING)),
    ("2026-10-15T00:00:00+08:00", datetime(2026, 10, 15, 0, 0, tzinfo=BEIJING)),
    (date(2026, 10, 15), datetime(2026, 10, 15, 0, 0, tzinfo=BEIJING)),  # midnight in the run's zone
])
def test_a_time_date_taken_from_a_variable_is_waited_for(clock, publicity_end, due):
    model = timer_then_task('<bpmn:timeDate xsi:type="bpmn:tFormalExpression">${publicityEnd}</bpmn:timeDate>')
    run, _ = ProcessRun.start(model, {"publicityEnd": publicity_end}, RunContext(clock, zone=BEIJING))
    assert run.pending_timers()[0].due == due
    restored = ProcessRun.restore(model, run.serialize(), RunContext(clock, zone=BEIJING))
    clock.set(due)
    restored.fire_due_timers()
    assert open_keys(restored) == ["publish_result"]


@pytest.mark.parametrize("publicity_end", ["下个月", 15])
def test_a_time_date_that_is_no_date_fails_the_step_cleanly(context, publicity_end):
    model = timer_then_task('<bpmn:timeDate xsi:type="bpmn:tFormalExpression">${publicityEnd}</bpmn:timeDate>')
    with pytest.raises(ProcessExecutionFailed):
        ProcessRun.start(model, {"publicityEnd": publicity_end}, context)


def test_a_timer_fires_when_the_clock_reaches_its_due_time(publicity_wait, clock, context):
    run, _ = ProcessRun.start(publicity_wait, {"province": "gd"}, context)
    complete(run, "prepare_notice")
    clock.set(run.pending_timers()[0].due)
    run.fire_due_timers()
    assert open_keys(run) == ["publish_result"]


# -- due dates and priority of user tasks ------------------------------------------------------------

@pytest.fixture(scope="module")
def dated_task() -> ProcessModel:
    return inline("""
    <bpmn:startEvent id="started"/>
    <bpmn:sequenceFlow id="f1" sourceRef="started" targetRef="site_inspection"/>
    <bpmn:userTask id="site_inspection" name="现场核查" camunda:dueDate="${dueDate}"
        camunda:followUpDate="${followUp}" camunda:priority="${urgent ? 90 : 40}"/>
    <bpmn:sequenceFlow id="f2" sourceRef="site_inspection" targetRef="ended"/>
    <bpmn:endEvent id="ended"/>""")


@pytest.mark.parametrize("due_date, expected", [
    ("2026-10-15T17:00:00+08:00", datetime(2026, 10, 15, 9, 0, tzinfo=UTC)),
    ("2026-10-15T17:00:00.000+0800", datetime(2026, 10, 15, 9, 0, tzinfo=UTC)),
    (datetime(2026, 10, 15, 17, 0, tzinfo=BEIJING), datetime(2026, 10, 15, 9, 0, tzinfo=UTC)),
    ("2026-10-15T17:00:00", datetime(2026, 10, 15, 9, 0, tzinfo=UTC)),  # read in the context zone
    (date(2026, 10, 15), datetime(2026, 10, 15, 0, 0, tzinfo=BEIJING)),
])
def test_the_due_date_expression_gives_the_task_due_date(dated_task, clock, due_date, expected):
    run, _ = ProcessRun.start(dated_task, {"dueDate": due_date, "followUp": None, "urgent": False},
                              RunContext(clock, zone=BEIJING))
    inspection = the_open_task(run, "site_inspection")
    assert inspection.due == expected
    assert inspection.due.tzinfo is not None
    assert inspection.follow_up is None
    assert inspection.priority == 40


def test_due_date_follow_up_and_priority_are_evaluated_on_the_task_data(dated_task, context):
    run, _ = ProcessRun.start(dated_task, {"dueDate": "2026-10-15T17:00:00+08:00",
                                           "followUp": "2026-10-10T09:00:00+08:00", "urgent": True}, context)
    inspection = the_open_task(run, "site_inspection")
    assert inspection.follow_up == datetime(2026, 10, 10, 1, 0, tzinfo=UTC)
    assert inspection.priority == 90
    assert inspection.name == "现场核查"


def test_a_due_date_that_is_not_a_date_fails_naming_the_task(dated_task, context):
    # What the instance waits for is part of the step's result: the start itself fails.
    with pytest.raises(ProcessExecutionFailed) as caught:
        ProcessRun.start(dated_task, {"dueDate": "下周", "followUp": None, "urgent": False}, context)
    assert caught.value.details["activityId"] == "site_inspection"
    assert "dueDate" in caught.value.message


# -- output parameters ---------------------------------------------------------------------------------

ELIGIBILITY = """
  <bpmn:startEvent id="start" />
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
  <bpmn:intermediateThrowEvent id="check">
    <bpmn:extensionElements>
      <camunda:inputOutput>
        <camunda:outputParameter name="eligible">${months ge 6 &amp;&amp; share ge 15}</camunda:outputParameter>
        <camunda:outputParameter name="failed">${months ge 6 ? '' : '运行不足6个月；'}${share ge 15 ? '' : '认证企业不足15%；'}</camunda:outputParameter>
        <camunda:outputParameter name="summary">${eligible ? '符合' : '不符合'}</camunda:outputParameter>
      </camunda:inputOutput>
    </bpmn:extensionElements>
  </bpmn:intermediateThrowEvent>
  <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="gate" />
  <bpmn:exclusiveGateway id="gate" default="no" />
  <bpmn:sequenceFlow id="yes" sourceRef="gate" targetRef="review">
    <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${eligible}</bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="no" sourceRef="gate" targetRef="refused" />
  <bpmn:userTask id="review" camunda:candidateGroups="sepa" />
  <bpmn:endEvent id="refused" />"""


@pytest.mark.parametrize(("figures", "eligible", "failed"), [
    ({"months": 8, "share": 20}, True, ""),
    ({"months": 5, "share": 20}, False, "运行不足6个月；"),
    ({"months": 3, "share": 10}, False, "运行不足6个月；认证企业不足15%；"),
])
def test_output_parameters_compute_variables_that_decide_the_next_gateway(context, figures, eligible, failed):
    run, _ = ProcessRun.start(inline(ELIGIBILITY), figures, context)
    variables = run.variables()
    assert variables["eligible"] is eligible and variables["failed"] == failed
    # A later parameter sees the earlier ones.
    assert variables["summary"] == ("符合" if eligible else "不符合")
    assert open_keys(run) == (["review"] if eligible else [])
    assert run.completed is not eligible


PARAMETERS = """<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review"><bpmn:extensionElements><camunda:inputOutput>
    <camunda:inputParameter name="note" />
    <camunda:inputParameter name="score">  ${base}  </camunda:inputParameter>
    <camunda:inputParameter name="level">  省级 </camunda:inputParameter>
    <camunda:outputParameter name="reviewed" />
  </camunda:inputOutput></bpmn:extensionElements></bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />"""


@pytest.mark.parametrize("semantics, note, score, level, reviewed", [
    (2, None, 5, "省级", None),  # as Camunda: trimmed, and null when empty
    (1, "", 5, "  省级 ", ""),  # as versions deployed before 2026-12-08 ran, and replay
])
def test_a_parameters_own_text_is_read_under_the_rules_of_its_version(context, semantics, note, score, level,
                                                                      reviewed):
    model, = parse_deployment(definitions(PARAMETERS), semantics=semantics)
    run, _ = ProcessRun.start(model, {"base": 5}, context)
    review = the_open_task(run, "review")
    assert run.task_local_variables(review.id) == {"note": note, "score": score, "level": level}
    complete(run, "review")
    assert run.variables()["reviewed"] == reviewed


def test_no_rules_beyond_the_releases_are_read():
    with pytest.raises(ValueError, match="no semantics 4"):
        parse_deployment(definitions(PARAMETERS), semantics=4)

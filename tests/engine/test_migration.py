"""Migration of running instances in the engine, with no database: the run moved onto another
definition keeps its activity instances (task ids, subprocess instances, timers), survives being
saved and restored on the target definition, and goes on there; what the service does not migrate
is refused by name."""
from __future__ import annotations

from datetime import UTC, datetime

from app.clock import SimulatedClock
from app.engine import ProcessModel, ProcessRun, RunContext, parse_deployment
from app.engine.migration import generate, instance_failures
from tests.support.paths import FIXTURES, PROCESSES

CLOCK = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)


def load(path) -> ProcessModel:
    model, = parse_deployment({path.name: path.read_bytes()})
    return model


def context() -> RunContext:
    months = {"2026-10-01T01:00:00+00:00": "2027-10-01T00:00:00+00:00"}
    return RunContext(clock=SimulatedClock(CLOCK), functions={
        "now": lambda: CLOCK.isoformat(), "addMonths": lambda start, _: months[start]})


def only_task(result) -> tuple[str, str]:
    [task] = result.user_tasks
    return task.id, task.task_definition_key


def test_a_case_in_a_subprocess_keeps_its_activity_instances_and_goes_on_after_a_restore():
    source, target = load(FIXTURES / "constructs" / "modification_scopes.bpmn"), load(
        FIXTURES / "constructs" / "modification_scopes.bpmn")
    run, result = ProcessRun.start(source, {"penalize": False}, context())
    result = run.complete_user_task(only_task(result)[0], {})
    task_id, key = only_task(result)
    assert key == "check_documents"
    [scope] = run.activity_instances()
    plan = generate(source, target, False)
    assert {(i.source, i.target) for i in plan} >= {("materials", "materials"),
                                                    ("check_documents", "check_documents")}
    assert instance_failures(source, run.workflow, plan) == ([], [])

    moved, result = run.migrate(target, "target:2", plan, {"inspector": "li"})
    # The same subprocess instance and task: nothing started or ended.
    assert result.changes == () and only_task(result) == (task_id, "check_documents")
    [again] = moved.activity_instances()
    assert (again.id, again.activity_id) == (scope.id, "materials")
    assert [child.id for child in again.children] == [task_id]
    restored = ProcessRun.restore(target, moved.serialize(), context())
    assert restored.variables()["inspector"] == "li"
    result = restored.complete_user_task(task_id, {})
    assert only_task(result)[1] == "check_site"
    result = restored.complete_user_task(only_task(result)[0], {})
    result = restored.complete_user_task(only_task(result)[0], {})
    assert result.completed


def test_the_rectification_deadline_keeps_its_timer_and_is_withdrawn_when_the_task_completes():
    source = load(PROCESSES / "eco_park_sanction.bpmn")
    target = load(FIXTURES / "migration" / "eco_park_sanction_2026.bpmn")
    run, result = ProcessRun.start(source, {"park_id": "JS-01", "cause": "other_warning"}, context())
    result = run.complete_user_task(only_task(result)[0], {"warning_issued": True, "rectification_months": 12})
    [timer] = result.timers
    moved, result = run.migrate(target, "target:2", generate(source, target, False), {})
    restored = ProcessRun.restore(target, moved.serialize(), context())
    assert restored.pending_timers() == [timer]
    result = restored.complete_user_task(only_task(result)[0], {"rectification_report": "已整改"})
    assert only_task(result)[1] == "expert_re_evaluation" and result.timers == ()


def test_a_running_multi_instance_activity_is_refused_by_name():
    model = load(FIXTURES / "constructs" / "joint_review.bpmn")
    run, _ = ProcessRun.start(model, {"departments": ["环保", "发改"], "experts": ["e1"]}, context())
    own, reports = instance_failures(model, run.workflow, generate(model, model, False))
    assert own == []
    assert {report.source_scope_id for report in reports} == {"countersign#multiInstanceBody", "countersign"}
    assert {failure for report in reports for failure in report.failures} == {
        "This service does not migrate a running multi-instance activity ('countersign'): let it end, or move the "
        "case with a process instance modification first"}


def test_a_running_event_subprocess_and_the_subscriptions_of_the_others_go_on_after_migration():
    source, target = (load(FIXTURES / "constructs" / "event_subprocess_messages.bpmn") for _ in range(2))
    run, _ = ProcessRun.start(source, {}, context())
    [reminder] = [wait for wait in run.event_waits() if wait.event_name == "ApplicantReminded"]
    run.deliver_event(reminder.task_id, "message", "ApplicantReminded", {})
    tree = run.activity_instances()
    plan = generate(source, target, False)
    # As Camunda, the event subprocesses, their start events and what runs inside are mapped.
    assert {("reminders", "reminders"), ("reminded", "reminded"), ("answer_reminder", "answer_reminder")} <= {
        (i.source, i.target) for i in plan}
    moved, result = run.migrate(target, "target:2", plan, {})
    assert result.changes == () and moved.activity_instances() == tree
    assert sorted(wait.event_name for wait in moved.event_waits()) == [
        "ApplicantReminded", "ApplicationWithdrawn", "UrgentNotice"]
    [answer] = [task for task in result.user_tasks if task.task_definition_key == "answer_reminder"]
    moved.complete_user_task(answer.id, {})
    assert [node.activity_id for node in moved.activity_instances()] == ["examine"]

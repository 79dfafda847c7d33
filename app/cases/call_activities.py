"""Call activities in the unit of work: the instance a call activity asks for is started, and its end
hands its variables (or the BPMN error it did not catch) back to the caller, in the transaction of
the step that ended it, as Camunda 7 does (app.engine.call_activities has the engine's side).

- The called instance is an instance like any other: its own history chain, tasks and readers. It
  belongs to the caller's region unless its own process names one (as a case started by another
  case does, app.cases.instances._step), and is started by the user whose step reached the call
  activity.
- Deleting an instance deletes the instances it called, and theirs (unless `skipSubprocesses`); a
  call activity interrupted by a boundary event or a terminate end event deletes the one it called.
- Deleting a called instance alone cancels the caller's call activity, as Camunda 7's delete command
  does (it cancels the super execution's activity instance); a caller left with nothing to do ends,
  deleted with the same reason.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.cases import instances
from app.cases.hooks import StepHook
from app.cases.projections import ACTIVE, COMPLETED, TERMINATED
from app.context import Services
from app.definitions.deployments import called_definition
from app.engine import ActivityChange, CallRequest, ProcessRun, StepResult, ThrownError
from app.errors import ProcessExecutionFailed
from app.persistence.models import ActivityInstance, ProcessDefinition, ProcessInstance

# session.info keys: the callers whose step is being saved (a child that ends at once hands its end
# to that step instead of loading the caller again), and the ends handed to each.
_SETTLING = "call_activity_callers"
_ENDED = "call_activity_ends"

# A process that calls itself with no wait state would start instances without end: one unit of
# work refuses to nest calls deeper, or to start more called instances, than this.
MAX_NESTING = 25
MAX_CALLED = 1000
_STARTED = "call_activity_started"
# The instances each caller's step started, by caller, between before_saving and after_saving.
_CALLED = "call_activity_called"

_BINDINGS = {"latest": "its latest version", "deployment": "the caller's deployment",
             "version": "version {version}", "versionTag": "version tag '{version_tag}'"}


def start_called(services: Services, session: Session, caller: ProcessInstance, run: ProcessRun,
                 result: StepResult, now: datetime, user_id: str | None) -> tuple[StepResult, dict[str, str]]:
    """Start the instances the step's call activities ask for. One that ends at once hands its end
    back before the caller's step is saved, which may reach more call activities. Answers the
    caller's whole step and the instance started by each call activity's activity instance."""
    settling: set[str] = session.info.setdefault(_SETTLING, set())
    if len(settling) >= MAX_NESTING:
        raise ProcessExecutionFailed(f"call activities nest more than {MAX_NESTING} instances deep in one step "
                                     "(does a process call itself before anything waits?)")
    settling.add(caller.id)
    called: dict[str, str] = {}
    try:
        pending = result.calls
        while pending:
            for request in pending:
                called[request.task_id] = _start(services, session, caller, request, user_id).id
            pending = ()
            for end in session.info.get(_ENDED, {}).pop(caller.id, []):
                step = _hand_back(session, caller, run, end, now, user_id)
                result = replace(
                    step, changes=result.changes + step.changes, deadlines=result.deadlines + step.deadlines,
                    register_reads=result.register_reads + step.register_reads,
                    decisions=result.decisions + step.decisions, user_tasks_before=result.user_tasks_before)
                pending += step.calls
    finally:
        settling.discard(caller.id)
    return replace(result, calls=()), called


def link_called(session: Session, called: dict[str, str]) -> None:
    """Each call activity's activity instance names the instance it started (calledProcessInstanceId)."""
    for activity_instance_id, instance_id in called.items():
        session.execute(update(ActivityInstance).where(ActivityInstance.id == activity_instance_id)
                        .values(called_process_instance_id=instance_id))


def _start(services: Services, session: Session, caller: ProcessInstance, request: CallRequest,
           user_id: str | None) -> ProcessInstance:
    started = session.info[_STARTED] = session.info.get(_STARTED, 0) + 1
    if started > MAX_CALLED:
        raise ProcessExecutionFailed(f"call activities would start more than {MAX_CALLED} instances in one step",
                                     details={"activityId": request.activity_id})
    own = session.get_one(ProcessDefinition, caller.definition_id)
    definition = called_definition(session, request.process_key, own, binding=request.binding,
                                   version=request.version, version_tag=request.version_tag)
    if definition is None:
        # As in Camunda, the step fails and nothing of it is saved.
        which = _BINDINGS[request.binding].format(version=request.version, version_tag=request.version_tag)
        raise ProcessExecutionFailed(
            f"call activity '{request.activity_id}': no process '{request.process_key}' is deployed "
            f"({which}{'' if own.tenant_id is None else f', tenant {own.tenant_id}'})",
            details={"activityId": request.activity_id})
    business_key = request.business_key
    if business_key is not None and len(business_key) > 255:
        raise ProcessExecutionFailed(f"call activity '{request.activity_id}': the business key it gives is longer "
                                     "than 255 characters", details={"activityId": request.activity_id})
    child, _ = instances.start_in_session(services, session, definition, request.variables, business_key,
                                          user_id=user_id, starter_region=caller.tenant_id,
                                          called_by=(caller, request.task_id))
    instances.record(session, caller, "call_activity.started", services.clock.now(),
                     activity_id=request.activity_id, task_id=request.task_id, process_instance_id=child.id,
                     definition_id=definition.id, business_key=business_key,
                     variables=instances.jsonable(request.variables))
    return child


@dataclass(frozen=True)
class _End:
    """How a called instance ended, for its caller."""

    task_id: str  # the call activity's activity instance in the caller
    instance_id: str
    variables: dict[str, Any]
    error: ThrownError | None


def _hand_back(session: Session, caller: ProcessInstance, run: ProcessRun, end: _End, now: datetime,
               user_id: str | None) -> StepResult:
    # The caller's record holds what came back, so that a replay of the caller needs no other record.
    instances.record(session, caller, "call_activity.returned", now, user_id=user_id, task_id=end.task_id,
                     process_instance_id=end.instance_id, variables=instances.jsonable(end.variables),
                     error={"code": end.error.code} if end.error is not None else None)
    return run.complete_call_activity(end.task_id, end.variables, end.error)


def called_instance_ended(services: Services, session: Session, child: ProcessInstance, run: ProcessRun,
                          result: StepResult, now: datetime, user_id: str | None) -> None:
    """A called instance completed: its caller's call activity completes (or catches its error) in
    this unit of work."""
    caller_id = child.super_process_instance_id
    if caller_id is None or child.super_activity_instance_id is None:
        return
    end = _End(child.super_activity_instance_id, child.id, run.variables(), result.uncaught_error)
    if caller_id in session.info.get(_SETTLING, ()):
        session.info.setdefault(_ENDED, {}).setdefault(caller_id, []).append(end)
        return
    caller = instances.get_instance(session, caller_id)
    if caller.status != ACTIVE:
        return  # started before its caller was deleted with skipSubprocesses: nobody waits for it
    caller_run = instances.load_run(services, session, caller)
    step = _hand_back(session, caller, caller_run, end, now, user_id)
    instances.save_run(services, session, caller, caller_run, step, now, user_id=user_id)


def active_called(session: Session, caller_id: str) -> list[ProcessInstance]:
    rows = session.scalars(select(ProcessInstance).where(ProcessInstance.super_process_instance_id == caller_id,
                                                         ProcessInstance.status == ACTIVE)
                           .order_by(ProcessInstance.start_time, ProcessInstance.id))
    # An instance that ended in this unit of work and is not written yet is no longer active.
    return [row for row in rows if row.status == ACTIVE]


def end_interrupted(services: Services, session: Session, caller: ProcessInstance,
                    changes: tuple[ActivityChange, ...], now: datetime, user_id: str | None) -> None:
    """A call activity interrupted (by a boundary event, a terminate end event) ends the instance it
    called, as in Camunda."""
    interrupted = {change.activity_instance_id: change.activity_id for change in changes
                   if change.canceled and change.activity_type == "callActivity"}
    if not interrupted:
        return
    for child in active_called(session, caller.id):
        activity_id = interrupted.get(child.super_activity_instance_id or "")
        if activity_id is not None:
            instances.end_instance(services, session, child, f"the call activity '{activity_id}' of the calling "
                                   "instance was interrupted", now, user_id)


def delete_called(services: Services, session: Session, caller: ProcessInstance, reason: str | None,
                  now: datetime, user_id: str | None) -> None:
    """The instances a deleted instance called are deleted with it, and theirs."""
    for child in active_called(session, caller.id):
        instances.end_instance(services, session, child, reason, now, user_id)


def release_caller(services: Services, session: Session, child: ProcessInstance, reason: str | None,
                   now: datetime, user_id: str | None) -> None:
    """A called instance was deleted alone: its caller's call activity is cancelled; a caller left
    with nothing to do is deleted too (and so on up)."""
    caller_id = child.super_process_instance_id
    if caller_id is None or child.super_activity_instance_id is None:
        return
    caller = instances.get_instance(session, caller_id)
    if caller.status != ACTIVE:
        return
    run = instances.load_run(services, session, caller)
    step = run.cancel_call_activity(child.super_activity_instance_id)
    instances.record(session, caller, "call_activity.canceled", now, user_id=user_id,
                     task_id=child.super_activity_instance_id, process_instance_id=child.id, reason=reason)
    if not run.has_tokens:
        instances.end_instance(services, session, caller, reason, now, user_id, step=(run, step))
        release_caller(services, session, caller, reason, now, user_id)
        return
    # The other instances of a cancelled multi-instance call activity go with it (end_interrupted).
    instances.save_run(services, session, caller, run, step, now, user_id=user_id)


class CallActivities(StepHook):
    """Call activities' instances, started and ended with the steps of their callers (a hook of the
    step, so that the core of the step and this module do not import each other)."""

    def before_saving(self, services: Services, session: Session, instance: ProcessInstance, run: ProcessRun,
                      result: StepResult, now: datetime, user_id: str | None) -> StepResult:
        if not result.calls:
            return result
        result, called = start_called(services, session, instance, run, result, now, user_id)
        session.info.setdefault(_CALLED, {})[instance.id] = called
        return result

    def after_saving(self, services: Services, session: Session, instance: ProcessInstance, run: ProcessRun,
                     result: StepResult, now: datetime, user_id: str | None) -> None:
        link_called(session, session.info.get(_CALLED, {}).pop(instance.id, {}))
        if instance.status != TERMINATED:  # a deleted instance's called instances go as on_deleted says
            end_interrupted(services, session, instance, result.changes, now, user_id)
        if instance.status == COMPLETED and instance.super_process_instance_id is not None:
            called_instance_ended(services, session, instance, run, result, now, user_id)

    def on_deleted(self, services: Services, session: Session, instance: ProcessInstance, reason: str | None,
                   now: datetime, user_id: str | None, *, by_command: bool, skip_called: bool) -> None:
        if not skip_called:
            delete_called(services, session, instance, reason, now, user_id)
        if by_command:
            release_caller(services, session, instance, reason, now, user_id)

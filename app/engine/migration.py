"""Camunda 7's process instance migration: a running instance moves to another process definition
(the next version of its procedure, as a new regulation replaces the old one).

A migration plan maps activities of the source definition to activities of the target, as Camunda's
instructions do (one source, one target, and whether a timer or message waits anew from the
target's definition: `updateEventTrigger`). This module
- generates the plan Camunda generates for equal activity ids (`generate`): activities of a kind
  Camunda migrates, with equal ids, in scopes that are themselves mapped, kept when the instruction
  passes the validators;
- validates a plan with Camunda's instruction validators and failure texts (`validate`);
- validates an instance against a plan (`instance_failures`): every activity instance that holds a
  token must be mapped ("There is no migration instruction for this instance's activity");
- moves an instance (`migrate_workflow`): a workflow of the target definition is made with the
  case's data and its start withdrawn, and each waiting activity of the source is re-created at the
  activity it is mapped to, with the token's own data and its id (a user task keeps its id, and the
  service its assignee and candidates), in the scope the target draws it in. A timer or message
  that was mapped keeps what it waits for unless the instruction says `updateEventTrigger`; an event
  of the target that nothing was mapped to waits anew from the target's definition.

What this service does not migrate (the instance is refused, naming the activity instance): a
running multi-instance activity, a call activity, an event-based gateway, a token waiting at a
joining gateway.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.defaults import EventSubprocess
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from app.engine.elements import ProcessModel
from app.engine.modification import (
    MULTI_INSTANCE_BODY,
    Instruction,
    add_token,
    all_tasks,
    nodes_of,
    owner_of,
    scope_for,
    spec_of,
)

NO_INSTRUCTION = "There is no migration instruction for this instance's activity"
UNSUPPORTED = "The type of the source activity is not supported for activity instance migration"
_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED

# Camunda's behaviour class of each activity type, by which its refusals name incompatible types.
_BEHAVIORS = {
    "userTask": "UserTaskActivityBehavior", "receiveTask": "ReceiveTaskActivityBehavior",
    "serviceTask": "ExternalTaskActivityBehavior", "sendTask": "ExternalTaskActivityBehavior",
    "subProcess": "SubProcessActivityBehavior", "callActivity": "CallActivityBehavior",
    "intermediateTimer": "IntermediateCatchEventActivityBehavior",
    "intermediateMessageCatch": "IntermediateCatchEventActivityBehavior",
    "intermediateSignalCatch": "IntermediateCatchEventActivityBehavior",
    "intermediateConditional": "IntermediateConditionalEventBehavior",
    "boundaryConditional": "BoundaryConditionalEventActivityBehavior",
    "eventBasedGateway": "EventBasedGatewayActivityBehavior", "parallelGateway": "ParallelGatewayActivityBehavior",
    "inclusiveGateway": "InclusiveGatewayActivityBehavior", "exclusiveGateway": "ExclusiveGatewayActivityBehavior",
    "businessRuleTask": "DmnBusinessRuleTaskActivityBehavior", "manualTask": "TaskActivityBehavior",
    "task": "TaskActivityBehavior", "noneEndEvent": "NoneEndEventActivityBehavior",
    "startEvent": "NoneStartEventActivityBehavior",
}
# The kinds of activity whose instances Camunda migrates (its SupportedActivityValidator).
_SUPPORTED = frozenset({"subProcess", "userTask", "multiInstanceBody", "receiveTask", "callActivity",
                        "intermediateTimer", "intermediateMessageCatch", "intermediateSignalCatch",
                        "intermediateConditional", "eventBasedGateway", "serviceTask", "sendTask",
                        "parallelGateway", "inclusiveGateway"})
# Activity instances Camunda migrates and this service does not (see the module's docstring).
_NOT_HERE = {"multiInstanceBody": "a running multi-instance activity", "callActivity": "a running call activity",
             "eventBasedGateway": "a token waiting at an event-based gateway"}
_CONDITIONAL = frozenset({"intermediateConditional", "boundaryConditional", "conditionalStartEvent"})
_TRIGGERS = frozenset({"boundaryTimer", "boundaryMessage", "boundarySignal", "intermediateTimer",
                       "intermediateMessageCatch", "intermediateSignalCatch", "startTimerEvent", "messageStartEvent",
                       "signalStartEvent"})


@dataclass(frozen=True)
class MigrationInstruction:
    source: str
    target: str
    update_event_trigger: bool = False

    def describe(self) -> str:
        """The instruction as Camunda names it in its reports."""
        return (f"MigrationInstructionImpl{{sourceActivityId='{self.source}', targetActivityId='{self.target}', "
                f"updateEventTrigger='{str(self.update_event_trigger).lower()}'}}")


@dataclass(frozen=True)
class ActivityInstanceReport:
    """Why one activity instance of a case cannot be migrated."""

    activity_instance_id: str
    source_scope_id: str
    instruction: MigrationInstruction | None
    failures: tuple[str, ...]


@dataclass(frozen=True)
class _Activity:
    id: str
    type: str
    behavior: str
    flow_scope: str | None  # the subprocess or multi-instance body it runs in (None: the process)
    event_scope: str | None  # a boundary event's activity
    persistent_trigger: bool
    supported: bool
    event: bool  # a boundary event or the start event of an event subprocess


def _behavior(activity_type: str, spec: TaskSpec | None = None) -> str:
    if activity_type == "multiInstanceBody":
        sequential = "Sequential" in type(spec).__name__
        return f"{'Sequential' if sequential else 'Parallel'}MultiInstanceActivityBehavior"
    if activity_type.startswith("boundary"):
        return _BEHAVIORS.get(activity_type, "BoundaryEventActivityBehavior")
    return _BEHAVIORS.get(activity_type, f"{activity_type[:1].upper()}{activity_type[1:]}ActivityBehavior")


def _scopes(model: ProcessModel) -> list[tuple[Any, str | None, bool]]:
    """The process and each embedded subprocess: (its spec, the activity it is, whether an event subprocess)."""
    scopes: list[tuple[Any, str | None, bool]] = [(model.spec, None, False)]
    # The event subprocesses a scope's start lists (app.engine.event_subprocesses), and those the library runs.
    specs = (model.spec, *model.subprocess_specs.values())
    event_subprocesses = {spec.task_specs[name].spec for spec in specs for name in spec.start.trigger_specs} | {
        task_spec.spec for spec in specs for task_spec in spec.task_specs.values()
        if isinstance(task_spec, EventSubprocess)}
    for name, spec in model.subprocess_specs.items():
        owner, _ = owner_of(model, name)
        if model.elements[owner.bpmn_id or ""].activity_type != "callActivity":
            scopes.append((spec, _body_or(owner), name in event_subprocesses))
    return scopes


def _body_or(spec: TaskSpec) -> str:
    """The activity a spec is in Camunda's terms: a multi-instance activity's scope is its body."""
    bpmn_id = spec.bpmn_id or ""
    return f"{bpmn_id}{MULTI_INSTANCE_BODY}" if isinstance(spec, MultiInstanceTask) else bpmn_id


def _activities(model: ProcessModel) -> dict[str, _Activity]:
    found: dict[str, _Activity] = {}
    for process_spec, scope, event_subprocess in _scopes(model):
        inner = {spec.task_spec for spec in process_spec.task_specs.values() if isinstance(spec, MultiInstanceTask)}
        for name, spec in process_spec.task_specs.items():
            bpmn_id = spec.bpmn_id or ""
            if bpmn_id not in model.elements or name in inner or isinstance(spec, BoundaryEventSplit):
                continue
            activity_type = model.elements[bpmn_id].activity_type
            if isinstance(spec, MultiInstanceTask):
                body = f"{bpmn_id}{MULTI_INSTANCE_BODY}"
                found[body] = _Activity(body, "multiInstanceBody", _behavior("multiInstanceBody", spec), scope,
                                        None, False, True, False)
                found[bpmn_id] = _Activity(bpmn_id, activity_type, _behavior(activity_type), body, None, False,
                                           activity_type in _SUPPORTED, False)
                continue
            event_scope = None
            if isinstance(spec, BoundaryEvent):
                split = next(owner for owner in spec.inputs if isinstance(owner, BoundaryEventSplit))
                event_scope = next(_body_or(output) for output in split.outputs
                                   if not isinstance(output, BoundaryEvent))
            subprocess_start = event_subprocess and isinstance(spec, StartEvent)
            trigger = activity_type in _TRIGGERS or (
                activity_type == "receiveTask" and isinstance(getattr(spec, "event_definition", None),
                                                              MessageEventDefinition))
            # A message throw or end event done by an outside worker is an external task, as in Camunda.
            external = bpmn_id in model.external_tasks
            behavior = ("EventSubProcessStartEventActivityBehavior" if subprocess_start
                        else "ExternalTaskActivityBehavior" if external else _behavior(activity_type))
            found[bpmn_id] = _Activity(bpmn_id, activity_type, behavior, scope, event_scope, trigger,
                                       activity_type in _SUPPORTED or external or event_scope is not None
                                       or subprocess_start, event_scope is not None or subprocess_start)
    return found


# -- the plan --------------------------------------------------------------------------------------
def _failures(instruction: MigrationInstruction, instructions: Sequence[MigrationInstruction],
              sources: Mapping[str, _Activity], targets: Mapping[str, _Activity], *, generating: bool = False
              ) -> list[str]:
    """Camunda's instruction validators, in its order, for an instruction whose activities exist."""
    source, target = sources[instruction.source], targets[instruction.target]
    by_source = [other for other in instructions if other.source == instruction.source]
    failures = []
    if source.behavior != target.behavior:
        failures.append(f"Activities have incompatible types ({source.behavior} is not compatible with "
                        f"{target.behavior})")
    if source.event and target.event and source.type != target.type:
        failures.append(f"Events are not of the same type ({source.type} != {target.type})")
    if len(by_source) > 1:
        failures.append(f"There are multiple mappings for source activity id '{source.id}': "
                        + ", ".join(other.describe() for other in by_source))
    ancestor = source.flow_scope
    while ancestor is not None and not any(other.source == ancestor for other in instructions):
        ancestor = sources[ancestor].flow_scope
    if ancestor is not None:
        mapped_to = next(other.target for other in instructions if other.source == ancestor)
        if not _is_ancestor(targets, mapped_to, target):
            failures.append(f"The closest mapped ancestor '{ancestor}' is mapped to scope '{mapped_to}' which is not "
                            f"an ancestor of target scope '{target.id}'")
    if source.event_scope is not None:
        if target.event_scope is None:
            failures.append(f"The source activity's event scope ({source.event_scope}) must be mapped but the target "
                            "activity has no event scope")
        elif not any(other.source == source.event_scope and other.target == target.event_scope
                     for other in instructions):
            failures.append(f"The source activity's event scope ({source.event_scope}) must be mapped to the target "
                            f"activity's event scope ({target.event_scope})")
    if instruction.update_event_trigger and not source.persistent_trigger:
        failures.append("Cannot update event trigger because the activity does not define a persistent event "
                        "trigger")
    body = _first_body(targets, target.flow_scope)
    if body is not None and not any(other.target == body for other in instructions):
        failures.append(f"Target activity '{target.id}' is a descendant of multi-instance body '{body}' that is not "
                        "mapped from the source process definition.")
    if not generating:  # as Camunda, generation maps a body before its inner activity
        if target.type == "multiInstanceBody" and not any(
                other.target == target.id.removesuffix(MULTI_INSTANCE_BODY) for other in instructions):
            failures.append("Must map the inner activity of a multi-instance body when the body is mapped")
        if source.type == "multiInstanceBody" and not any(
                other.source == source.id.removesuffix(MULTI_INSTANCE_BODY) for other in instructions):
            failures.append("Cannot remove the inner activity of a multi-instance body when the body is mapped")
    return failures


def _is_ancestor(activities: Mapping[str, _Activity], ancestor: str, activity: _Activity) -> bool:
    scope = activity.flow_scope
    while scope is not None:
        if scope == ancestor:
            return True
        scope = activities[scope].flow_scope
    return False


def _first_body(activities: Mapping[str, _Activity], scope: str | None) -> str | None:
    while scope is not None:
        if activities[scope].type == "multiInstanceBody":
            return scope
        scope = activities[scope].flow_scope
    return None


def generate(source: ProcessModel, target: ProcessModel, update_event_triggers: bool) -> list[MigrationInstruction]:
    """The instructions Camunda generates for activities with equal ids (its mapEqualActivities)."""
    sources, targets = _activities(source), _activities(target)
    instructions: list[MigrationInstruction] = []

    def below(activities: Mapping[str, _Activity], scope: str | None, event: bool) -> list[_Activity]:
        if event:
            return [a for a in activities.values() if a.event_scope == scope and scope is not None]
        return [a for a in activities.values() if a.flow_scope == scope and a.event_scope is None]

    def matched(source_scope: str | None, target_scope: str | None, event: bool) -> list[MigrationInstruction]:
        made = []
        for activity in below(sources, source_scope, event):
            counterpart = targets.get(activity.id)
            if (any(other.source == activity.id for other in instructions) or counterpart is None
                    or counterpart not in below(targets, target_scope, event)
                    or not (activity.supported and counterpart.supported)):
                continue
            update = activity.type in _CONDITIONAL or (update_event_triggers and activity.persistent_trigger)
            made.append(MigrationInstruction(activity.id, counterpart.id, update))
        return made

    def visit(source_scope: str | None, target_scope: str | None) -> None:
        flow = matched(source_scope, target_scope, False)
        instructions.extend(flow)
        instructions.extend(matched(source_scope, target_scope, True))
        instructions[:] = [i for i in instructions
                           if not _failures(i, instructions, sources, targets, generating=True)]
        for instruction in flow:
            if instruction in instructions:
                visit(instruction.source, instruction.target)

    visit(None, None)
    return [i for i in instructions if not _failures(i, instructions, sources, targets)]


def validate(source: ProcessModel, target: ProcessModel, instructions: Sequence[MigrationInstruction]
             ) -> list[tuple[MigrationInstruction, list[str]]]:
    """Each instruction that is not valid, with its failures as Camunda words them (none: the plan is valid)."""
    sources, targets = _activities(source), _activities(target)
    reports: list[tuple[MigrationInstruction, list[str]]] = []
    valid = []
    for instruction in instructions:
        failures = []
        if not instruction.source:
            failures.append("Source activity id is null")
        elif instruction.source not in sources:
            failures.append(f"Source activity '{instruction.source}' does not exist")
        if not instruction.target:
            failures.append("Target activity id is null")
        elif instruction.target not in targets:
            failures.append(f"Target activity '{instruction.target}' does not exist")
        if failures:
            reports.append((instruction, failures))
        else:
            valid.append(instruction)
    for instruction in valid:
        failures = _failures(instruction, valid, sources, targets)
        if failures:
            reports.append((instruction, failures))
    return reports


# -- an instance -----------------------------------------------------------------------------------
def instance_failures(model: ProcessModel, workflow: BpmnWorkflow, instructions: Sequence[MigrationInstruction]
                      ) -> tuple[list[str], list[ActivityInstanceReport]]:
    """Why the running instance cannot be migrated by the (valid) plan: failures of the instance
    itself, and of each of its activity instances."""
    sources = _activities(model)
    by_source = {instruction.source: instruction for instruction in instructions}
    nodes = nodes_of(model, workflow)
    reports = []
    for task, _parent in nodes.items():
        activity_id = _body_or(task.task_spec)
        instruction = by_source.get(activity_id)
        activity = sources.get(activity_id)
        failures = []
        leaf = not any(parent is task for parent in nodes.values())
        if leaf and instruction is None:
            failures.append(NO_INSTRUCTION)
        if activity is not None and not activity.supported:
            failures.append(UNSUPPORTED)
        elif activity is not None and (activity.type in _NOT_HERE or _first_body(sources, activity.flow_scope)):
            what = _NOT_HERE.get(activity.type, _NOT_HERE["multiInstanceBody"])
            named = activity_id.removesuffix(MULTI_INSTANCE_BODY)
            failures.append(f"This service does not migrate {what} ('{named}'): let it end, or move the case with "
                            "a process instance modification first")
        if failures:
            reports.append(ActivityInstanceReport(str(task.id), activity_id, instruction, tuple(failures)))
    joins = sorted({task.task_spec.bpmn_id for task in all_tasks(workflow)
                    if task.has_state(_ACTIVE) and isinstance(task.task_spec, UnstructuredJoin)
                    and task.task_spec.bpmn_id})
    own = [f"A token waits at the joining gateway '{join}', which this service does not migrate" for join in joins]
    return own, reports


def start_events(workflow: BpmnWorkflow) -> list[Task]:
    """Run the engine's own start steps until the process's start events exist; answers them."""
    for _ in range(1000):
        ready = [task for task in workflow.get_tasks(state=TaskState.READY) if not task.task_spec.bpmn_id]
        if not ready:
            break
        for task in ready:
            task.run()
    return [task for task in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK)
            if isinstance(task.task_spec, StartEvent) and task.workflow is workflow]


def migrate_workflow(source: ProcessModel, workflow: BpmnWorkflow, target: ProcessModel, moved: BpmnWorkflow,
                     instructions: Sequence[MigrationInstruction]) -> set[str]:
    """Re-create the waiting activities of `workflow` (of `source`) in `moved`, a new workflow of
    `target`, as the (validated) instructions map them; answers the ids of the activity instances
    kept (the others of the source end, cancelled)."""
    for start in start_events(moved):
        start.cancel()  # the case goes on where it stood, not from the start
    moved.data = deepcopy(workflow.data)
    by_source = {instruction.source: instruction for instruction in instructions}
    nodes = nodes_of(source, workflow)
    kept = set()
    for task in sorted((task for task in nodes if not any(parent is task for parent in nodes.values())),
                       key=lambda task: task.last_state_change):
        instruction = by_source[_body_or(task.task_spec)]
        found = spec_of(target, instruction.target)
        assert found is not None  # the plan was validated against the target
        spec, scope_name = found
        data = deepcopy(task.data)
        scope = scope_for(target, moved, Instruction("startBeforeActivity", activity_id=instruction.target),
                       scope_name, data)
        created = add_token(scope, spec, data)
        created.internal_data.update(deepcopy(task.internal_data))
        _keep_event_values(task, created, by_source)
        _rekey(created, task.id)
        kept.add(str(task.id))
    # A mapped subprocess is the same activity instance: the one the target runs there takes its id.
    for task in nodes:
        scope_instruction = by_source.get(_body_or(task.task_spec))
        if scope_instruction is None or str(task.id) in kept:
            continue
        running = [other for other in nodes_of(target, moved) if _body_or(other.task_spec) == scope_instruction.target
                   and str(other.id) not in kept]
        if len(running) == 1:
            # Its own marks go with it (an interrupting event subprocess keeps its scope's subscriptions off).
            running[0].internal_data.update(deepcopy(task.internal_data))
            _rekey(running[0], task.id)
            kept.add(str(task.id))
    return kept


def _keep_event_values(task: Task, created: Task, by_source: Mapping[str, MigrationInstruction]) -> None:
    """A mapped timer keeps its due instant, as Camunda keeps its job, unless the instruction says
    updateEventTrigger; the boundary events of the activity alike, which keep their ids."""
    instruction = by_source.get(task.task_spec.bpmn_id or "")
    if instruction is not None and instruction.update_event_trigger:
        created.internal_data.pop("event_value", None)
    split, created_split = task.parent, created.parent
    if split is None or created_split is None or not isinstance(split.task_spec, BoundaryEventSplit):
        return
    for listener in split.children:
        mapped = by_source.get(listener.task_spec.bpmn_id or "")
        if not isinstance(listener.task_spec, BoundaryEvent) or mapped is None or mapped.update_event_trigger:
            continue
        value = listener.internal_data.get("event_value")
        for counterpart in created_split.children:
            if counterpart.task_spec.bpmn_id == mapped.target:
                if value is not None:
                    counterpart.internal_data["event_value"] = deepcopy(value)
                _rekey(counterpart, listener.id)  # the timer keeps its id, as Camunda's job does


def _rekey(task: Task, task_id: UUID) -> None:
    """Give the re-created token the id of the one it replaces (a user task keeps its id)."""
    workflow, old = task.workflow, task.id
    del workflow.tasks[old]
    task.id = task_id
    workflow.tasks[task_id] = task
    listening = workflow.top_workflow.event_manager.tasks  # the waiting events, by task id
    if old in listening:
        listening[task_id] = listening.pop(old)
    parent = task.parent
    if parent is not None:
        parent._children = [task_id if child == old else child for child in parent._children]
    for child in task.children:
        child._parent = task_id
    top = workflow.top_workflow
    if old in top.subprocesses:  # a subprocess's own workflow is found by its task's id
        subprocess = top.subprocesses.pop(old)
        subprocess.parent_task_id = task_id
        top.subprocesses[task_id] = subprocess

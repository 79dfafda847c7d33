"""Camunda 7's process instance modification, and the activity instance tree it works on.

The tree is what runs now: the instance, each activity that holds a token (user and external tasks,
waiting events and receive tasks, multi-instance bodies with their instances, embedded subprocesses
with what runs inside them). Each activity instance's id is the id its historic activity instance
has (a user task's is the task's id).

A modification is a list of instructions applied in order to the one run, in one step:
- `cancel` an activity instance (by its id; the instance's own id cancels everything), or every
  instance of an activity. As in Camunda, a multi-instance body or subprocess left with nothing
  running is cancelled with its last child;
- `startBeforeActivity`, `startAfterActivity` (on the activity's single outgoing flow) and
  `startTransition` put a new token there, in the process or in the one running instance of the
  embedded subprocess the activity belongs to (started first, without its start event, when none
  runs). The token carries the case's variables and those of the instruction.
Finished tasks are pruned from the library's tree (app.engine.pruning), so a token is never found
again to be reset: it is created at its element's spec, below the scope's root, as the library adds
the tasks of multi-instance activities and event subprocesses.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.defaults import EventSubprocess
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from app.engine.elements import ProcessModel
from app.errors import InvalidRequest

_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
MULTI_INSTANCE_BODY = "#multiInstanceBody"
START_BEFORE, START_AFTER, START_TRANSITION, CANCEL = (
    "startBeforeActivity", "startAfterActivity", "startTransition", "cancel")
KINDS = (START_BEFORE, START_AFTER, START_TRANSITION, CANCEL)


@dataclass(frozen=True)
class Instruction:
    kind: str
    activity_id: str | None = None
    transition_id: str | None = None
    activity_instance_id: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """The instruction as Camunda names it in its refusals."""
        if self.kind == CANCEL:
            return (f"Cancel activity instance '{self.activity_instance_id}'" if self.activity_instance_id
                    else f"Cancel all for activity '{self.activity_id}'")
        if self.kind == START_TRANSITION:
            return f"Start transition '{self.transition_id}'"
        return f"Start {'before' if self.kind == START_BEFORE else 'after'} activity '{self.activity_id}'"


@dataclass(frozen=True)
class ActivityInstanceNode:
    id: str
    activity_id: str
    activity_name: str | None
    activity_type: str
    children: tuple[ActivityInstanceNode, ...] = ()


# -- the activity instance tree --------------------------------------------------------------------
def all_tasks(workflow: BpmnWorkflow) -> Iterator[Task]:
    yield from workflow.tasks.values()
    for subprocess in workflow.subprocesses.values():
        yield from subprocess.tasks.values()


def _is_node(model: ProcessModel, task: Task) -> bool:
    """Whether the task is an activity instance: a token at an element. A listening boundary event and
    a token waiting at a join are none, as in Camunda's tree."""
    spec = task.task_spec
    return (task.has_state(_ACTIVE) and (spec.bpmn_id or "") in model.elements
            and not isinstance(spec, BoundaryEvent | UnstructuredJoin))


def _node_parent(workflow: BpmnWorkflow, task: Task) -> Task | None:
    """The activity instance the task runs in: its multi-instance body, its subprocess, or the instance (None)."""
    if task.parent is not None and isinstance(task.parent.task_spec, MultiInstanceTask) \
            and not isinstance(task.task_spec, MultiInstanceTask):
        return task.parent
    if task.workflow is not workflow and task.workflow.parent_task_id is not None:
        return workflow.get_task_from_id(task.workflow.parent_task_id)
    return None


def nodes_of(model: ProcessModel, workflow: BpmnWorkflow) -> dict[Task, Task | None]:
    return {task: _node_parent(workflow, task) for task in all_tasks(workflow) if _is_node(model, task)}


def activity_of(model: ProcessModel, task: Task) -> tuple[str, str]:
    bpmn_id = task.task_spec.bpmn_id or ""
    if isinstance(task.task_spec, MultiInstanceTask):
        return f"{bpmn_id}{MULTI_INSTANCE_BODY}", "multiInstanceBody"
    return bpmn_id, model.elements[bpmn_id].activity_type


def activity_tree(model: ProcessModel, workflow: BpmnWorkflow) -> tuple[ActivityInstanceNode, ...]:
    """The activity instances of the running instance, below the instance itself."""
    nodes = nodes_of(model, workflow)

    def below(parent: Task | None) -> tuple[ActivityInstanceNode, ...]:
        children = sorted((task for task, owner in nodes.items() if owner is parent),
                          key=lambda task: task.last_state_change)
        return tuple(ActivityInstanceNode(str(task.id), *named(task), children=below(task)) for task in children)

    def named(task: Task) -> tuple[str, str | None, str]:
        activity_id, activity_type = activity_of(model, task)
        return activity_id, model.elements[task.task_spec.bpmn_id or ""].name, activity_type

    return below(None)


def has_tokens(model: ProcessModel, workflow: BpmnWorkflow) -> bool:
    """Whether a token is left anywhere: at an activity, or waiting at a join."""
    return any(_is_node(model, task) or (task.has_state(_ACTIVE) and isinstance(task.task_spec, UnstructuredJoin)
                                         and task.task_spec.bpmn_id)
               for task in all_tasks(workflow))


# -- the instructions ------------------------------------------------------------------------------
def apply_instructions(model: ProcessModel, workflow: BpmnWorkflow, instance_id: str,
                       instructions: Sequence[Instruction], variables: dict[str, Any]) -> None:
    """Apply the instructions in order; `variables` (the case's) are what new tokens start with, and
    take in each instruction's variables."""
    for instruction in instructions:
        if instruction.kind == CANCEL:
            _cancel(model, workflow, instance_id, instruction)
        else:
            variables.update(deepcopy(dict(instruction.variables)))
            _start(model, workflow, instruction, variables)


def _refuse(instruction: Instruction, reason: str) -> InvalidRequest:
    return InvalidRequest(f"Cannot perform instruction: {instruction.describe()}; {reason}")


def _cancel(model: ProcessModel, workflow: BpmnWorkflow, instance_id: str, instruction: Instruction) -> None:
    nodes = nodes_of(model, workflow)
    if instruction.activity_instance_id is not None:
        if instruction.activity_instance_id == instance_id:
            targets = [task for task, owner in nodes.items() if owner is None]
        else:
            targets = [task for task in nodes if str(task.id) == instruction.activity_instance_id]
            if not targets:
                raise _refuse(instruction, f"Activity instance '{instruction.activity_instance_id}' does not exist")
    else:
        activity_id = instruction.activity_id or ""
        if activity_id.removesuffix(MULTI_INSTANCE_BODY) not in model.elements:
            raise _refuse(instruction, f"Activity '{activity_id}' does not exist")
        # Camunda cancels nothing when the activity has no instance.
        targets = [task for task in nodes if activity_of(model, task)[0] == activity_id]
    for task in targets:
        if not task.has_state(TaskState.FINISHED_MASK):  # a scope cancelled before took it along
            _cancel_task(_outermost_left_empty(nodes, task))


def _outermost_left_empty(nodes: dict[Task, Task | None], task: Task) -> Task:
    """The task, or the body or subprocess around it that nothing else would keep running."""
    while (owner := nodes.get(task)) is not None and not any(
            other is not task and parent is owner and not other.has_state(TaskState.FINISHED_MASK)
            for other, parent in nodes.items()):
        task = owner
    return task


def _cancel_task(task: Task) -> None:
    # Instances of a multi-instance body are cancelled themselves (the library would drop them unrecorded).
    for child in list(task.children):
        if child.has_state(_ACTIVE):
            _cancel_task(child)
    task.cancel()
    split = task.parent
    if split is not None and isinstance(split.task_spec, BoundaryEventSplit):
        for listener in split.children:  # its boundary events stop listening with it
            if isinstance(listener.task_spec, BoundaryEvent) and listener.has_state(TaskState.WAITING):
                listener.cancel()


def target_of(model: ProcessModel, instruction: Instruction) -> str:
    """The activity a start instruction puts its token before (a transition's or the next one's)."""
    if instruction.kind == START_TRANSITION:
        flow = model.flows.get(instruction.transition_id or "")
        if flow is None:
            raise _refuse(instruction, f"Transition '{instruction.transition_id}' does not exist")
        return flow[1]
    activity_id = instruction.activity_id or ""
    if activity_id.removesuffix(MULTI_INSTANCE_BODY) not in model.elements:
        raise _refuse(instruction, f"Activity '{activity_id}' does not exist")
    if instruction.kind == START_BEFORE:
        return activity_id
    outgoing = [target for source, target in model.flows.values() if source == activity_id]
    if len(outgoing) != 1:
        raise _refuse(instruction, "activity has no outgoing sequence flow to continue with" if not outgoing
                      else "activity has more than one outgoing sequence flow")
    return outgoing[0]


def spec_of(model: ProcessModel, bpmn_id: str) -> tuple[TaskSpec, str | None] | None:
    """The element's spec and the embedded subprocess it belongs to (None: the process itself)."""
    scopes = [(model.spec, None), *((spec, name) for name, spec in model.subprocess_specs.items())]
    for process_spec, scope in scopes:
        # A multi-instance activity's instances run a spec of their own, named by the body.
        inner = {spec.task_spec for spec in process_spec.task_specs.values() if isinstance(spec, MultiInstanceTask)}
        for name, task_spec in process_spec.task_specs.items():
            if task_spec.bpmn_id == bpmn_id and name not in inner:
                return task_spec, scope
    return None


def _start(model: ProcessModel, workflow: BpmnWorkflow, instruction: Instruction, variables: dict[str, Any]) -> None:
    target = target_of(model, instruction)
    element = target.removesuffix(MULTI_INSTANCE_BODY)
    found = spec_of(model, element)
    if found is None:
        raise _refuse(instruction, f"Activity '{element}' cannot be started: it is not an element of the process "
                                   "or of one of its embedded subprocesses")
    spec, scope_name = found
    if isinstance(spec, MultiInstanceTask) and not target.endswith(MULTI_INSTANCE_BODY):
        raise _refuse(instruction, f"'{element}' is a multi-instance activity: start before "
                                   f"'{element}{MULTI_INSTANCE_BODY}' to run it for its whole collection")
    if target.endswith(MULTI_INSTANCE_BODY) and not isinstance(spec, MultiInstanceTask):
        raise _refuse(instruction, f"Activity '{target}' does not exist")
    if isinstance(spec, BoundaryEvent | EventSubprocess) or (isinstance(spec, StartEvent) and scope_name
                                                             and isinstance(owner_of(model, scope_name)[0],
                                                                            EventSubprocess)):
        raise _refuse(instruction, f"'{element}' is started by its event, not by a modification")
    if isinstance(spec, UnstructuredJoin) and len(spec.inputs) > 1:
        raise _refuse(instruction, f"'{element}' joins several flows; start before the activities that lead "
                                   "to it instead")
    add_token(scope_for(model, workflow, instruction, scope_name, variables), spec, variables)


def add_token(scope: Any, spec: TaskSpec, variables: Mapping[str, Any]) -> Task:
    """A new token at the spec, below the scope's root; answers its task."""
    # An activity with boundary events is entered through the split that makes them listen.
    entry = next((owner for owner in spec.inputs if isinstance(owner, BoundaryEventSplit)), spec)
    root = scope.task_tree
    task = root._add_child(entry, TaskState.FUTURE)
    entry._predict(task, mask=TaskState.NOT_FINISHED_MASK)
    # The library copies the parent's data into a task it updates: the root lends it the case's
    # variables, as a new activity instance in Camunda sees the instance's.
    kept, root.data = root.data, deepcopy(dict(variables))
    try:
        entry._update(task)
    finally:
        root.data = kept
    if entry is spec:
        return task
    task.run()  # the split at once: the activity exists (and its subprocess runs) before the next instruction
    return next(child for child in task.children if child.task_spec is spec)


def owner_of(model: ProcessModel, scope_name: str) -> tuple[TaskSpec, str | None]:
    """The subprocess element whose scope the name is, and the scope it belongs to itself."""
    scopes = [(model.spec, None), *((spec, name) for name, spec in model.subprocess_specs.items())]
    return next((task_spec, name) for process_spec, name in scopes for task_spec in process_spec.task_specs.values()
                if isinstance(task_spec, SubWorkflowTask) and task_spec.spec == scope_name)


def scope_for(model: ProcessModel, workflow: BpmnWorkflow, instruction: Instruction, scope_name: str | None,
           variables: Mapping[str, Any]) -> Any:
    """Where a token of the scope goes: the process, or the one running instance of the embedded
    subprocess, which is started first (without its start event) when none runs, as Camunda
    instantiates the scopes above the activity."""
    if scope_name is None:
        return workflow
    owner, owner_scope = owner_of(model, scope_name)
    # The library reads embedded subprocesses and call activities into one class: the element tells them apart.
    if model.elements[owner.bpmn_id or ""].activity_type == "callActivity":
        raise _refuse(instruction, "the activity belongs to a called process")
    running = [workflow.subprocesses[task.id] for task in all_tasks(workflow)
               if task.task_spec is owner and task.has_state(TaskState.STARTED) and task.id in workflow.subprocesses]
    if len(running) > 1:
        raise _refuse(instruction, f"the activity belongs to the subprocess '{scope_name}', of which more than "
                                   "one instance runs")
    if running:
        return running[0]
    if isinstance(owner, EventSubprocess):
        raise _refuse(instruction, f"the activity belongs to the event subprocess '{scope_name}', which its event "
                                   "starts")
    task = add_token(scope_for(model, workflow, instruction, owner_scope, variables), owner, variables)
    subprocess = workflow.subprocesses[task.id]
    for start in list(subprocess.task_tree.children):  # the modification's token starts it, not its start event
        if not start.has_state(TaskState.FINISHED_MASK):
            start.cancel()
    return subprocess

def opened_by(model: ProcessModel, workflow: BpmnWorkflow, task_id: str) -> list[str] | None:
    """The activity instances still running that the completion of the task opened (reached from it
    without another wait in between); None when the task is no completed task of the run any more."""
    task = next((task for task in all_tasks(workflow) if str(task.id) == task_id), None)
    if task is None or not task.has_state(TaskState.COMPLETED) or isinstance(task.parent.task_spec,
                                                                              MultiInstanceTask):
        return None
    opened, pending = [], list(task.children)
    while pending:
        child = pending.pop()
        if _is_node(model, child):
            opened.append(str(child.id))
        elif child.has_state(TaskState.FINISHED_MASK):
            pending.extend(child.children)
    return opened

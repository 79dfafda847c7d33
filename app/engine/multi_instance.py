"""Multi-instance activities as Camunda 7 runs them: 会签 (all sign), 或签 (the first decides) and
票签 (enough votes) are drawn with them.

The activity runs once per element of `camunda:collection` (the element in `camunda:elementVariable`)
or `loopCardinality` times, in parallel or one after another. Each instance sees `loopCounter` and its
element as its own variables, and `nrOfInstances`, `nrOfActiveInstances`, `nrOfCompletedInstances`;
what an instance writes (the officials' opinions) becomes the case's at once, as in Camunda, where the
instances write into the process instance's scope: the instances still open see it, and the last one
written is kept. The instance's own variables do not. After each instance the `completionCondition` is
evaluated with those counts: once it holds, the instances still open are cancelled and the token
moves on.

The library's Camunda flavour evaluates the collection as its own output and keeps the counts
nowhere, so the parsed activities are given this behaviour instead (see use_service_multi_instance).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.bpmn_task_spec import BpmnTaskSpec
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import ParallelMultiInstanceTask as ParallelMixin
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import SequentialMultiInstanceTask as SequentialMixin
from SpiffWorkflow.camunda.specs.multiinstance_task import (
    ParallelMultiInstanceTask as LibraryParallel,
)
from SpiffWorkflow.camunda.specs.multiinstance_task import (
    SequentialMultiInstanceTask as LibrarySequential,
)
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from app.engine.expressions import contains_expression

# More instances than this is a modelling error (a collection of every enterprise of a province
# handed to one activity), not a review: the step is refused instead of filling the database.
MAX_INSTANCES = 1000
COUNTS = ("nrOfInstances", "nrOfActiveInstances", "nrOfCompletedInstances")
LOOP_COUNTER = "loopCounter"


# Where a task keeps the names of its own variables (a multi-instance instance's, a task's input
# parameters): they are not the case's. And the case's values its input parameters shadow.
LOCAL, SHADOWED = "local", "shadowed"


class _CamundaMultiInstance(MultiInstanceTask):
    """What the parallel and sequential forms share."""

    cardinality_text: str | None
    collection_text: str | None
    element_variable: str | None
    condition_text: str | None

    # -- the instances ---------------------------------------------------------------------------
    def _items(self, my_task: Task) -> list[Any]:
        engine = my_task.workflow.script_engine
        if self.collection_text is not None:
            text = self.collection_text
            collection = engine.evaluate(my_task, text) if contains_expression(text) else my_task.data.get(text)
            if isinstance(collection, Mapping) or not isinstance(collection, Sequence) or isinstance(collection, str):
                raise WorkflowTaskException(
                    f"the collection '{text}' of the multi-instance activity is no list "
                    f"(it is {_kind(collection)})", task=my_task)
            items = list(collection)
        else:
            text = (self.cardinality_text or "").strip()
            value = engine.evaluate(my_task, text) if contains_expression(text) else _whole_number(text)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise WorkflowTaskException(
                    f"the loopCardinality '{text}' of the multi-instance activity gives no whole number "
                    f"of zero or more (it gives {_kind(value)})", task=my_task)
            items = list(range(value))
        if len(items) > MAX_INSTANCES:
            raise WorkflowTaskException(f"the multi-instance activity would run {len(items)} times; at most "
                                        f"{MAX_INSTANCES} instances are run", task=my_task)
        return items

    def _start(self, my_task: Task) -> list[Any]:
        items = self._items(my_task)
        my_task.internal_data["merged"] = []
        my_task.internal_data["instances"] = len(items)
        return items

    def _add_instance(self, my_task: Task, index: int, item: Any, active: int) -> None:
        """An instance, seeing the counts as they stand once it is added (`active` instances running)."""
        task_spec = my_task.workflow.spec.task_specs[self.task_spec]
        if not task_spec.completed_event.is_connected(self.merge_child):
            task_spec.completed_event.connect(self.merge_child)
        child = my_task._add_child(task_spec, TaskState.WAITING)
        child.triggered = True
        child.internal_data["key_or_index"] = index
        local = {LOOP_COUNTER: index, "nrOfInstances": my_task.internal_data["instances"],
                 "nrOfActiveInstances": active, "nrOfCompletedInstances": len(my_task.internal_data["merged"])}
        if self.element_variable:
            local[self.element_variable] = deepcopy(item)
        child.data = {**deepcopy(my_task.data), **local}
        child.internal_data[LOCAL] = sorted(local)
        child.task_spec._update(child)

    def _counts(self, my_task: Task) -> dict[str, int]:
        instances = list(self._instances(my_task))
        completed = sum(1 for task in instances if task.has_state(TaskState.COMPLETED))
        active = sum(1 for task in instances if not task.has_state(TaskState.FINISHED_MASK))
        return {"nrOfInstances": my_task.internal_data.get("instances", 0),
                "nrOfActiveInstances": active, "nrOfCompletedInstances": completed}

    # -- an instance completed -------------------------------------------------------------------
    def _merge(self, child: Task) -> Task:
        my_task = child.parent
        local = set(child.internal_data.get(LOCAL, ()))
        if "before" in my_task.internal_data:
            # Saved while instances were still given stale copies: what differs from the start is theirs.
            basis = my_task.internal_data["before"]
        else:
            # Every change is handed to the instances still open (below), so an instance's copy differs
            # from the case only where it wrote: even a value equal to the one the activity began with
            # (a second round's rejection after a first round's) is its own and is kept.
            basis = my_task.data
        written = {name: value for name, value in child.data.items()
                   if name not in local and (name not in basis or basis[name] != value)}
        my_task.data.update(deepcopy(written))
        for other in self._instances(my_task):
            if other is not child and not other.has_state(TaskState.FINISHED_MASK):
                other.data.update(deepcopy(written))
        my_task.internal_data["merged"].append(str(child.id))
        return my_task

    def _condition_holds(self, my_task: Task, child: Task, active: int) -> bool:
        if not self.condition_text:
            return False
        counts = self._counts(my_task)
        counts["nrOfActiveInstances"] = active
        context = {name: child.data[name] for name in child.internal_data.get(LOCAL, ()) if name in child.data}
        context.update(counts)
        value = my_task.workflow.script_engine.evaluate(my_task, self.condition_text, external_context=context)
        if not isinstance(value, bool):
            raise WorkflowTaskException(f"the completionCondition '{self.condition_text}' gives no boolean "
                                        f"(it gives {_kind(value)})", task=my_task)
        return value

    def _finish(self, my_task: Task) -> None:
        my_task.internal_data.pop("before", None)
        my_task._set_state(TaskState.READY)


class ServiceParallelMultiInstance(_CamundaMultiInstance, LibraryParallel):
    def _update_hook(self, my_task: Task) -> bool | None:
        BpmnTaskSpec._update_hook(self, my_task)
        items = self._start(my_task)
        for index, item in enumerate(items):
            self._add_instance(my_task, index, item, len(items))
        if items:
            my_task._set_state(TaskState.STARTED)
            return None
        return True

    def merge_child(self, workflow: Any, child: Task) -> None:
        my_task = self._merge(child)
        active = sum(1 for task in self._instances(my_task) if not task.has_state(TaskState.FINISHED_MASK))
        if self._condition_holds(my_task, child, active):
            for other in list(self._instances(my_task)):
                if not other.has_state(TaskState.FINISHED_MASK):
                    other.cancel()
            self._finish(my_task)
        elif active == 0:
            self._finish(my_task)


class ServiceSequentialMultiInstance(_CamundaMultiInstance, LibrarySequential):
    def _update_hook(self, my_task: Task) -> bool | None:
        BpmnTaskSpec._update_hook(self, my_task)
        items = self._start(my_task)
        if not items:
            return True
        my_task.internal_data["remaining"] = deepcopy(items[1:])
        self._add_instance(my_task, 0, items[0], 1)
        my_task._set_state(TaskState.STARTED)
        return None

    def merge_child(self, workflow: Any, child: Task) -> None:
        my_task = self._merge(child)
        remaining = my_task.internal_data.get("remaining", [])
        # One instance runs at a time: while the activity goes on, one is active (as Camunda counts).
        if self._condition_holds(my_task, child, 1 if remaining else 0) or not remaining:
            my_task.internal_data.pop("remaining", None)
            self._finish(my_task)
        else:
            my_task.internal_data["remaining"] = remaining[1:]
            self._add_instance(my_task, len(my_task.internal_data["merged"]), remaining[0], 1)


def use_service_multi_instance(specs: Iterable[BpmnProcessSpec]) -> None:
    """Give the parsed multi-instance activities Camunda's behaviour (see the module's docstring)."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            # The Camunda parser's classes, and the plain BPMN ones it gives some tasks (a receive task).
            if isinstance(task_spec, ParallelMixin | SequentialMixin):
                collection = task_spec.data_output.bpmn_id if task_spec.data_output is not None else None
                element = task_spec.output_item.bpmn_id if task_spec.output_item is not None else None
                task_spec.__class__ = (ServiceSequentialMultiInstance if isinstance(task_spec, SequentialMixin)
                                       else ServiceParallelMultiInstance)
                task_spec.cardinality_text, task_spec.collection_text = task_spec.cardinality, collection
                task_spec.element_variable, task_spec.condition_text = element, task_spec.condition
                task_spec.cardinality = task_spec.condition = None
                task_spec.data_input = task_spec.data_output = task_spec.input_item = task_spec.output_item = None


def is_multi_instance_instance(task: Task) -> bool:
    """Whether the task is one of the instances a multi-instance activity added (see _add_instance)."""
    return "key_or_index" in task.internal_data


def instance_locals(task: Task) -> Sequence[str]:
    """The variables of a multi-instance activity's instance that are its own, not the case's."""
    return task.internal_data.get(LOCAL, ())


def _whole_number(text: str) -> int | str:
    return int(text) if text.isdigit() and len(text) <= 6 else text


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "a value of another kind"

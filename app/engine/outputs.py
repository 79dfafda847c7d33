"""Input and output parameters (`camunda:inputOutput`), which the library ignores; the service adds
them to the parsed specs once, so saved state is unchanged.

- Output parameters: variables an element sets from expressions when it completes, as Camunda does,
  so that a decision such as an eligibility check is computed from the process's figures without
  any script.
- Input parameters: a task's, call activity's or embedded subprocess's own variables (Camunda's
  local variables), set from expressions when it becomes ready (a subprocess: before its start
  event runs) and gone when it completes. On a multi-instance activity they are each instance's,
  set when the instance starts, so that they read its element and `loopCounter`, as in Camunda.
  While it runs its expressions, form and worker (a subprocess: what runs inside) see them, the
  case's variables do not hold them (a case variable of the same name is the case's again
  afterwards), and its output parameters may read them.
- Local variables set on an open user task from outside (Camunda's TaskService.setVariableLocal) are
  its own variables too, kept beside its input parameters; they go when it completes, before its
  output parameters are evaluated (in Camunda they live on the task, which output mappings do not
  read).
- An intermediate catch event's input parameters are its own variables while it waits, read by its
  timer, condition and output parameters (kept apart from the case's, see _CatchInputs).
- A business rule task's output parameters read its decision's whole result as `decisionResult`, its
  own variable (Camunda's), kept apart as a catch event's inputs are.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import IntermediateCatchEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task

from app.engine.multi_instance import LOCAL, SHADOWED, is_multi_instance_instance


@dataclass(frozen=True)
class ParameterList:
    """A `camunda:list` of an input or output parameter: its values, each text, `${...}`, a list or a
    map, evaluated in order into a list."""

    items: tuple[ParameterValue, ...]


@dataclass(frozen=True)
class ParameterMap:
    """A `camunda:map`: its entries' keys (text or `${...}`) and values, evaluated into a map."""

    entries: tuple[tuple[str, ParameterValue], ...]


# What a parameter gives: a text or `${...}` expression, a list, a map, or nothing (an empty value).
ParameterValue = str | ParameterList | ParameterMap | None


# The classes made by mixing parameters into a library class, made once each.
_mixed_classes: dict[tuple[type, type], type] = {}


# The most a list or map parameter may hold, written as JSON: parameters that list the ones before
# them would otherwise multiply a value tenfold each (a = [x]*10, b = [a]*10, ...).
PARAMETER_VALUE_BYTES = 1 << 20


def evaluate_parameter(task: Task, value: ParameterValue) -> Any:
    """A parameter's value, through the run's safe evaluator: a text or expression, a list or a map
    of them (a map's keys are evaluated too), or null."""
    evaluated = _evaluated(task, value)
    if isinstance(value, ParameterList | ParameterMap) \
            and len(json.dumps(evaluated, default=str)) > PARAMETER_VALUE_BYTES:
        raise WorkflowTaskException(f"a list or map parameter holds more than {PARAMETER_VALUE_BYTES >> 20} MiB "
                                    "written as JSON", task=task)
    return evaluated


def _evaluated(task: Task, value: ParameterValue) -> Any:
    if value is None:
        return None
    if isinstance(value, ParameterList):
        return [_evaluated(task, item) for item in value.items]
    if isinstance(value, ParameterMap):
        return {str(_evaluated(task, key)): _evaluated(task, item) for key, item in value.entries}
    return task.workflow.script_engine.evaluate(task, value)


class _SetsOutputs:
    output_parameters: tuple[tuple[str, ParameterValue], ...] = ()

    def _on_complete_hook(self, my_task: Task) -> None:
        super()._on_complete_hook(my_task)  # type: ignore[misc]  # a mixin, put before a task spec class
        # Evaluated in order, each seeing the ones before it, through the run's safe evaluator.
        for name, value in self.output_parameters:
            my_task.data[name] = evaluate_parameter(my_task, value)


class _SetsInputs:
    input_parameters: tuple[tuple[str, ParameterValue], ...] = ()

    def _on_ready_hook(self, my_task: Task) -> None:
        super()._on_ready_hook(my_task)  # type: ignore[misc]  # a mixin, put before a task spec class
        self._set_inputs(my_task)

    def _set_inputs(self, my_task: Task) -> None:
        shadowed = {name: my_task.data[name] for name, _ in self.input_parameters if name in my_task.data}
        for name, value in self.input_parameters:  # each sees the ones before it
            my_task.data[name] = evaluate_parameter(my_task, value)
        my_task.internal_data[SHADOWED] = shadowed
        # Beside a multi-instance instance's own element, loopCounter and counts.
        local = my_task.internal_data.setdefault(LOCAL, [])
        local.extend(name for name, _ in self.input_parameters if name not in local)

    def _on_complete_hook(self, my_task: Task) -> None:
        super()._on_complete_hook(my_task)  # type: ignore[misc]  # the output parameters read the inputs first
        if is_multi_instance_instance(my_task):
            # Its inputs go; its element, loopCounter and counts stay for the completion condition.
            _drop_locals(my_task, [name for name, _ in self.input_parameters])
            my_task.internal_data.pop(SHADOWED, None)
            return
        # Its inputs, and what a call activity's local camunda:out mappings put beside them.
        _drop_locals(my_task, list(my_task.internal_data.get(LOCAL, ())))
        my_task.internal_data.pop(SHADOWED, None)
        my_task.internal_data.pop(LOCAL, None)


class _SubprocessInputs(_SetsInputs):
    """An embedded subprocess's inputs are its scope's own variables: set before its start event runs
    (the library starts a subprocess when the token arrives and makes it ready only once it has
    completed), seen and changed by what runs inside, and gone when it completes, its output
    parameters having read them."""

    def _on_ready_hook(self, my_task: Task) -> None:
        super(_SetsInputs, self)._on_ready_hook(my_task)  # type: ignore[misc]  # set already, in copy_data

    def copy_data(self, my_task: Task, subworkflow: Any) -> None:
        self._set_inputs(my_task)
        super().copy_data(my_task, subworkflow)  # type: ignore[misc]  # the library's subprocess spec


# An element's own variables kept beside the case's, never among them, read over them by its
# expressions: an intermediate catch event's inputs, a business rule task's decisionResult.
OWN_VARIABLES = "own_variables"
# A business rule task's own variable holding its decision's whole result, for its output parameters.
DECISION_RESULT = "decisionResult"


class _CatchInputs:
    """An intermediate catch event's inputs are its own variables while it waits (Camunda's local
    variables of the waiting event): set when the token arrives, read by its timer, condition and
    output parameters, never the case's. The library gives a waiting event its predecessor's data
    again each time it looks at it, so they are kept apart and read over the case's variables."""

    input_parameters: tuple[tuple[str, ParameterValue], ...] = ()

    def _update_hook(self, my_task: Task) -> Any:
        if OWN_VARIABLES not in my_task.internal_data:
            my_task._inherit_data()  # what they are computed from
            own = my_task.internal_data[OWN_VARIABLES] = {}
            for name, value in self.input_parameters:  # each sees the ones before it
                own[name] = evaluate_parameter(my_task, value)
        return super()._update_hook(my_task)  # type: ignore[misc]  # a mixin, put before a task spec class


def _drop_locals(task: Task, names: Iterable[str]) -> None:
    """The task's own variables of these names go; the case's values they hid come back."""
    local: list[str] = task.internal_data.get(LOCAL, [])
    shadowed: dict[str, Any] = task.internal_data.get(SHADOWED, {})
    for name in [name for name in names if name in local]:
        local.remove(name)
        if name in shadowed:
            task.data[name] = shadowed.pop(name)
        else:
            task.data.pop(name, None)


def set_local_variables(task: Task, values: Mapping[str, Any], removals: Iterable[str] = ()) -> None:
    """Camunda's setVariablesLocal then removeVariablesLocal on an open task: the values become (or
    stay) its own, hiding a case variable of the same name until it completes; removing a name that
    is not its own changes nothing."""
    local: list[str] = task.internal_data.setdefault(LOCAL, [])
    shadowed: dict[str, Any] = task.internal_data.setdefault(SHADOWED, {})
    for name, value in values.items():
        if name not in local:
            if name in task.data:
                shadowed[name] = task.data[name]
            local.append(name)
        task.data[name] = value
    _drop_locals(task, removals)


def local_variables(task: Task) -> dict[str, Any]:
    return {name: task.data[name] for name in task.internal_data.get(LOCAL, ()) if name in task.data}


def discard_set_locals(task: Task) -> None:
    """Before an open task completes: the local variables set on it from outside go (its input
    parameters stay for its output parameters, which the mixin drops after them). An instance of a
    multi-instance activity keeps its own: they never reach the case (app.engine.multi_instance)."""
    if is_multi_instance_instance(task):
        return
    inputs = {name for name, _ in getattr(task.task_spec, "input_parameters", ())}
    _drop_locals(task, [name for name in task.internal_data.get(LOCAL, ()) if name not in inputs])


def _mixed_in(specs: Iterable[BpmnProcessSpec], parameters: Mapping[str, tuple[tuple[str, ParameterValue], ...]],
              choose: Callable[[TaskSpec], type | None], attribute: str) -> None:
    for spec in specs:
        for task_spec in spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            found = parameters.get(bpmn_id) if bpmn_id is not None else None
            if found is None:
                continue
            chosen = choose(task_spec)
            if chosen is None:
                continue
            original = type(task_spec)
            if (chosen, original) not in _mixed_classes:
                _mixed_classes[chosen, original] = type(original.__name__, (chosen, original), {})
            task_spec.__class__ = _mixed_classes[chosen, original]
            setattr(task_spec, attribute, found)


def use_output_parameters(specs: Iterable[BpmnProcessSpec],
                          parameters: Mapping[str, tuple[tuple[str, ParameterValue], ...]]) -> None:
    """Give the task specs of the given bpmn ids their output parameters (name, expression text)."""
    _mixed_in(specs, parameters, lambda _: _SetsOutputs, "output_parameters")


def use_input_parameters(specs: Iterable[BpmnProcessSpec],
                         parameters: Mapping[str, tuple[tuple[str, ParameterValue], ...]]) -> None:
    """Give the task specs of the given bpmn ids their input parameters; after use_output_parameters,
    so that a task's outputs are read before its inputs are gone. A multi-instance activity's are its
    instances' (the activity's instance spec, of the same id, reads them)."""
    def choose(task_spec: TaskSpec) -> type | None:
        if isinstance(task_spec, MultiInstanceTask):
            return None
        if isinstance(task_spec, SubWorkflowTask):
            return _SubprocessInputs
        return _CatchInputs if isinstance(task_spec, IntermediateCatchEvent) else _SetsInputs

    _mixed_in(specs, parameters, choose, "input_parameters")

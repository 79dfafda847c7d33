"""Input and output parameters (`camunda:inputOutput`), which the library ignores; the service adds
them to the parsed specs once, so saved state is unchanged.

- Output parameters: variables an element sets from expressions when it completes, as Camunda does,
  so that a decision such as an eligibility check is computed from the process's figures without
  any script.
- Input parameters: a task's own variables (Camunda's local variables), set from expressions when it
  becomes ready and gone when it completes. While it runs its expressions, form and worker see them,
  the case's variables do not hold them (a case variable of the same name is the case's again
  afterwards), and its output parameters may read them.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.task import Task

from app.engine.multi_instance import LOCAL, SHADOWED

# The classes made by mixing parameters into a library class, made once each.
_mixed_classes: dict[tuple[type, type], type] = {}


class _SetsOutputs:
    output_parameters: tuple[tuple[str, str], ...] = ()

    def _on_complete_hook(self, my_task: Task) -> None:
        super()._on_complete_hook(my_task)  # type: ignore[misc]  # a mixin, put before a task spec class
        # Evaluated in order, each seeing the ones before it, through the run's safe evaluator.
        for name, expression in self.output_parameters:
            my_task.data[name] = my_task.workflow.script_engine.evaluate(my_task, expression)


class _SetsInputs:
    input_parameters: tuple[tuple[str, str], ...] = ()

    def _on_ready_hook(self, my_task: Task) -> None:
        super()._on_ready_hook(my_task)  # type: ignore[misc]  # a mixin, put before a task spec class
        shadowed = {name: my_task.data[name] for name, _ in self.input_parameters if name in my_task.data}
        for name, expression in self.input_parameters:  # each sees the ones before it
            my_task.data[name] = my_task.workflow.script_engine.evaluate(my_task, expression)
        my_task.internal_data[SHADOWED] = shadowed
        my_task.internal_data[LOCAL] = [name for name, _ in self.input_parameters]

    def _on_complete_hook(self, my_task: Task) -> None:
        super()._on_complete_hook(my_task)  # type: ignore[misc]  # the output parameters read the inputs first
        shadowed = my_task.internal_data.pop(SHADOWED, {})
        for name, _ in self.input_parameters:
            if name in shadowed:
                my_task.data[name] = shadowed[name]
            else:
                my_task.data.pop(name, None)
        my_task.internal_data.pop(LOCAL, None)


def _mixed_in(specs: Iterable[BpmnProcessSpec], parameters: Mapping[str, tuple[tuple[str, str], ...]],
              mixin: type, attribute: str) -> None:
    for spec in specs:
        for task_spec in spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            found = parameters.get(bpmn_id) if bpmn_id is not None else None
            if not found:
                continue
            original = type(task_spec)
            if (mixin, original) not in _mixed_classes:
                _mixed_classes[mixin, original] = type(original.__name__, (mixin, original), {})
            task_spec.__class__ = _mixed_classes[mixin, original]
            setattr(task_spec, attribute, found)


def use_output_parameters(specs: Iterable[BpmnProcessSpec],
                          parameters: Mapping[str, tuple[tuple[str, str], ...]]) -> None:
    """Give the task specs of the given bpmn ids their output parameters (name, expression text)."""
    _mixed_in(specs, parameters, _SetsOutputs, "output_parameters")


def use_input_parameters(specs: Iterable[BpmnProcessSpec],
                         parameters: Mapping[str, tuple[tuple[str, str], ...]]) -> None:
    """Give the task specs of the given bpmn ids their input parameters; after use_output_parameters,
    so that a task's outputs are read before its inputs are gone."""
    _mixed_in(specs, parameters, _SetsInputs, "input_parameters")

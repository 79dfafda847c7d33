"""Output parameters (`camunda:outputParameter`): variables an element sets from expressions when it
completes, as Camunda does, so that a decision such as an eligibility check is computed from the
process's figures without any script. The library ignores these; the service adds them to the parsed
specs once, so saved state is unchanged."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.task import Task

_outputs_classes: dict[type, type] = {}


class _SetsOutputs:
    output_parameters: tuple[tuple[str, str], ...] = ()

    def _on_complete_hook(self, my_task: Task) -> None:
        super()._on_complete_hook(my_task)  # type: ignore[misc]  # a mixin, put before a task spec class
        # Evaluated in order, each seeing the ones before it, through the run's safe evaluator.
        for name, expression in self.output_parameters:
            my_task.data[name] = my_task.workflow.script_engine.evaluate(my_task, expression)


def use_output_parameters(specs: Iterable[BpmnProcessSpec],
                          parameters: Mapping[str, tuple[tuple[str, str], ...]]) -> None:
    """Give the task specs of the given bpmn ids their output parameters (name, expression text)."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            outputs = parameters.get(bpmn_id) if bpmn_id is not None else None
            if not outputs:
                continue
            original = type(task_spec)
            if original not in _outputs_classes:
                _outputs_classes[original] = type(original.__name__, (_SetsOutputs, original), {})
            task_spec.__class__ = _outputs_classes[original]
            task_spec.output_parameters = outputs

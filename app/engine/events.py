"""Messages, signals and start events as the service delivers them.

The library accepts the first message of a name that any waiting task catches; the service instead
routes each message to one waiting task it chose from its own subscription records (business key,
correlation keys). Its variables become process variables, as in Camunda, rather than one result
variable. Start events other than the plain one are fired by the service too (a message, a signal,
the definition's timer), so the library never waits on them by itself.
"""
from __future__ import annotations

from collections.abc import Iterable

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.base import EventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.task import Task


class ServiceMessage(MessageEventDefinition):
    """A message whose payload is a mapping of variables, set on the catching token."""

    def update_internal_data(self, my_task: Task, event: BpmnEvent) -> None:
        my_task.internal_data[self.name] = dict(event.payload or {})

    def update_task_data(self, my_task: Task) -> None:
        my_task.data.update(my_task.internal_data.get(self.name) or {})


class StartedByService(EventDefinition):
    """A start event that fires only when the service starts an instance there (its message, signal
    or timer arrived), never by itself while an instance waits."""


def _swap(definition: EventDefinition) -> None:
    if type(definition) is MessageEventDefinition:
        definition.__class__ = ServiceMessage
    for inner in getattr(definition, "event_definitions", ()):
        _swap(inner)


def use_service_events(specs: Iterable[BpmnProcessSpec], triggered_starts: set[str]) -> None:
    """Swap the library's message catching for the service's, in every spec, and make the given
    message, signal and timer start events (bpmn ids) of the top-level process fire only when the
    service says so."""
    specs = list(specs)
    for spec in specs:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if definition is not None:
                _swap(definition)
    top = specs[0]
    for task_spec in top.task_specs.values():
        if task_spec.bpmn_id in triggered_starts:
            task_spec.event_definition = StartedByService(task_spec.event_definition.name)

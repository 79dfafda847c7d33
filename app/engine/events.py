"""Messages, signals and start events as the service delivers them.

The library accepts the first message of a name that any waiting task catches; the service instead
routes each message to one waiting task it chose from its own subscription records (business key,
correlation keys). Its variables become process variables, as in Camunda, rather than one result
variable. Start events other than the plain one are fired by the service too (a message, a signal,
the definition's timer), so the library never waits on them by itself.

A signal thrown by the process is not caught by the library inside the instance: it is reported with
the step's result, and the service broadcasts it to every subscription of its name, in this instance
and in others, as Camunda does. A receive task without a message waits until the service triggers it
(POST /execution/{id}/signal).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from SpiffWorkflow.bpmn.parser.event_parsers import SIGNAL_EVENT_XPATH
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.base import EventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway, ReceiveTask
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.camunda.parser.event_parsers import CamundaEndEventParser
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from app.engine.call_activities import SignalPayload
from app.engine.elements import ConditionNarrowing
from app.engine.steps import ThrownSignal, report_signal


class ServiceMessage(MessageEventDefinition):
    """A message whose payload is a mapping of variables, set on the catching token."""

    def update_internal_data(self, my_task: Task, event: BpmnEvent) -> None:
        my_task.internal_data[self.name] = dict(event.payload or {})

    def update_task_data(self, my_task: Task) -> None:
        my_task.data.update(my_task.internal_data.get(self.name) or {})


class StartedByService(EventDefinition):
    """A start event that fires only when the service starts an instance there (its message, signal
    or timer arrived), never by itself while an instance waits."""


class ServiceSignalThrow(SignalEventDefinition):
    """A thrown signal, handed to the service with the step's result instead of caught in place, with
    the variables and business key its camunda:in mappings give (given after parsing)."""

    payload: SignalPayload | None = None

    def throw(self, my_task: Task) -> None:
        top = my_task.workflow.top_workflow
        waiting = frozenset(str(task.id) for workflow in (top, *top.subprocesses.values())
                            for task in workflow.tasks.values() if task.has_state(TaskState.WAITING))
        variables, business_key = self.payload.evaluate(my_task) if self.payload is not None else ({}, None)
        report_signal(ThrownSignal(self.name, my_task.task_spec.bpmn_id, waiting, variables, business_key))


class SignalEndEventParser(CamundaEndEventParser):
    """The library reads a signal end event as a plain one: read its signal, as Camunda does."""

    def create_task(self) -> Any:
        if not self.xpath(SIGNAL_EVENT_XPATH):
            return super().create_task()
        task = self._create_task(self.get_event_definition([SIGNAL_EVENT_XPATH]))
        task.connect(self.spec.end)
        return task


class AwaitsTrigger(EventDefinition):
    """A receive task without a message: it waits until the service triggers it by its execution id.
    Its name is the task's bpmn id, under which the service keeps the wait; the variables sent with
    the trigger become the token's."""

    def catch(self, my_task: Task, event: BpmnEvent | None = None) -> None:
        super().catch(my_task, event)
        my_task.internal_data["trigger_variables"] = dict(event.payload or {}) if event is not None else {}

    def update_task_data(self, my_task: Task) -> None:
        my_task.data.update(my_task.internal_data.pop("trigger_variables", None) or {})


class ServiceCondition(ConditionalEventDefinition):
    """A conditional event: the run evaluates its condition with the safe evaluator when a token
    arrives and after every step (app.engine.runtime); it never evaluates anything by itself. Its
    narrowing, when the diagram gives one, says after which changes of variables it is evaluated."""

    narrowing: ConditionNarrowing | None = None

    def has_fired(self, my_task: Task) -> bool:
        return bool(my_task._get_internal_data("event_fired", False))


def _swap(definition: EventDefinition) -> None:
    if type(definition) is MessageEventDefinition:
        definition.__class__ = ServiceMessage
    if type(definition) is ConditionalEventDefinition:
        definition.__class__ = ServiceCondition
    for inner in getattr(definition, "event_definitions", ()):
        _swap(inner)


def use_service_events(specs: Iterable[BpmnProcessSpec], triggered_starts: set[str],
                       signal_payloads: Mapping[str, SignalPayload],
                       narrowed_conditions: Mapping[str, ConditionNarrowing]) -> None:
    """Swap the library's message catching for the service's, in every spec, give thrown signals
    their payloads and conditional events their narrowing (by the event's bpmn id), and make the
    given message, signal and timer start events (bpmn ids) of the top-level process fire only when
    the service says so."""
    specs = list(specs)
    for spec in specs:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if definition is not None:
                _swap(definition)
            if isinstance(definition, ServiceCondition):
                definition.narrowing = narrowed_conditions.get(task_spec.bpmn_id)
            if isinstance(task_spec, EventBasedGateway) and definition is not None:
                # The gateway holds its branches' events, in the order of its outputs.
                for branch, inner in zip(task_spec.outputs, definition.event_definitions, strict=False):
                    if isinstance(inner, ServiceCondition):
                        inner.narrowing = narrowed_conditions.get(branch.bpmn_id)
            if isinstance(task_spec, ThrowingEvent) and isinstance(definition, SignalEventDefinition) \
                    and type(definition) is SignalEventDefinition:
                definition.__class__ = ServiceSignalThrow
                definition.payload = signal_payloads.get(task_spec.bpmn_id)
            if isinstance(task_spec, ReceiveTask) and isinstance(definition, NoneEventDefinition):
                task_spec.event_definition = AwaitsTrigger(task_spec.bpmn_id)
    top = specs[0]
    for task_spec in top.task_specs.values():
        if task_spec.bpmn_id in triggered_starts:
            task_spec.event_definition = StartedByService(task_spec.event_definition.name)

"""Tasks the engine itself passes: business rule tasks (a DMN decision evaluated by the service's own
decision engine) and plain or manual tasks.

The library's business rule task evaluates DMN through its Python script engine; here the task only
asks the run's script engine to decide, and the script engine evaluates the decision table the
service resolved (app.engine.decisions), so no text of a DMN file runs as code.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.defaults import EndEvent, NoneTask, StartEvent
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.task_spec import CamundaTaskParser
from SpiffWorkflow.task import Task

from app.engine.call_activities import CalledProcessTask
from app.engine.compensation import CompensatingProcessParser
from app.engine.event_subprocesses import EventSubprocessStartParser
from app.engine.events import SignalEndEventParser

if TYPE_CHECKING:
    from app.engine.elements import DecisionReference


class BusinessRuleTask(NoneTask):
    # The DecisionReference of the task, given after parsing (see use_decisions).
    decision: DecisionReference | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.manual = False  # a plain task waits for a person; this one runs as the engine reaches it

    def _run_hook(self, my_task: Task) -> bool:
        my_task.workflow.script_engine.decide(my_task, self.decision)
        return super()._run_hook(my_task)


class PassThroughTask(NoneTask):
    """A plain task or a manual task: in Camunda the token passes it (the Modeler's default shape is a
    plain task), where the library would wait for somebody to run it and nobody could."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.manual = False


class _BusinessRuleTaskParser(CamundaTaskParser):
    @staticmethod
    def get_decision_ref(node: etree._Element) -> str | None:
        # The library lists the decisions a process needs; the service resolves them when the task runs.
        return node.get("{http://camunda.org/schema/1.0/bpmn}decisionRef")


class ServiceParser(CamundaParser):
    """The Camunda dialect, with business rule tasks that the service evaluates, signal end events,
    event subprocess start events and call activities that start instances of their own
    (app.engine.call_activities)."""

    PROCESS_PARSER_CLASS = CompensatingProcessParser
    OVERRIDE_PARSER_CLASSES = {**CamundaParser.OVERRIDE_PARSER_CLASSES,
                               full_tag("businessRuleTask"): (_BusinessRuleTaskParser, BusinessRuleTask),
                               full_tag("task"): (CamundaTaskParser, PassThroughTask),
                               full_tag("endEvent"): (SignalEndEventParser, EndEvent),
                               full_tag("manualTask"): (CamundaTaskParser, PassThroughTask),
                               full_tag("startEvent"): (EventSubprocessStartParser, StartEvent),
                               full_tag("callActivity"): (CamundaTaskParser, CalledProcessTask)}


def use_decisions(specs: Iterable[BpmnProcessSpec], references: Mapping[str, DecisionReference]) -> None:
    """Give the business rule tasks of the given bpmn ids the decision each evaluates."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, BusinessRuleTask):
                task_spec.decision = references[task_spec.bpmn_id]

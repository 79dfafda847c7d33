"""Expressions in a running workflow go through the safe JUEL evaluator, never Python eval/exec."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.task import Task

from app.engine.decisions import DecisionRecord
from app.engine.expressions import ExpressionError, Properties, Template, compile_template, truthy_condition
from app.engine.outputs import DECISION_RESULT, OWN_VARIABLES
from app.engine.steps import report_decision

if TYPE_CHECKING:
    from app.engine.elements import DecisionReference

EXECUTION = "execution"


@dataclass(frozen=True)
class InstanceIdentity:
    """The instance a run belongs to, which expressions read as Camunda's `execution`."""

    id: str
    definition_id: str
    business_key: str | None = None
    tenant_id: str | None = None

    def execution(self, task: Task, variables: Mapping[str, Any]) -> Properties:
        """`${execution.processBusinessKey}` and the other properties of Camunda's execution that stay
        the same when a recorded case is replayed (an activity instance's id does not: it is new)."""
        return Properties(EXECUTION, {
            "id": self.id, "processInstanceId": self.id, "processDefinitionId": self.definition_id,
            "processBusinessKey": self.business_key, "businessKey": self.business_key, "tenantId": self.tenant_id,
            "activityId": task.task_spec.bpmn_id, "currentActivityId": task.task_spec.bpmn_id,
            "currentActivityName": task.task_spec.bpmn_name, "variables": dict(variables)})


class SafeScriptEngine(PythonScriptEngine):
    """Replaces the library's eval-based engine.

    `conditions` are the sequence-flow condition texts of the model: their value must be a boolean,
    as in Camunda; every other text (timers, due dates) yields its value as it is.
    """

    def __init__(self, functions: Mapping[str, Callable[..., Any]], conditions: frozenset[str],
                 decisions: Callable[[Any], tuple[str, Any]] | None = None,
                 instance: InstanceIdentity | None = None) -> None:
        super().__init__()
        self.functions = functions
        self.conditions = conditions
        # Resolves a DecisionLookup to (decision definition id, DecisionTable); each evaluation is
        # reported with the step's result, for the instance's history.
        self.decisions = decisions
        self.instance = instance

    def validate(self, expression: str) -> None:
        compile_template(expression)

    def value(self, task: Task, template: Template, variables: Mapping[str, Any] | None = None) -> Any:
        """The template's value for `task`, read from `variables` (the task's own when not given), with
        Camunda's `execution` when the template reads it. Raises ExpressionError."""
        return template.evaluate(self._scope(task, dict(task.data if variables is None else variables), template),
                                 self.functions)

    def _scope(self, task: Task, variables: dict[str, Any], *templates: Template | None) -> dict[str, Any]:
        # As in Camunda, `execution` is the execution even where a variable has that name.
        if self.instance is not None and any(template is not None and EXECUTION in template.variable_names
                                             for template in templates):
            variables[EXECUTION] = self.instance.execution(task, variables)
        return variables

    def evaluate(self, task: Task, expression: str, external_context: Mapping[str, Any] | None = None) -> Any:
        variables = dict(task.data)
        variables.update(task.internal_data.get(OWN_VARIABLES, ()))
        if external_context:
            variables.update(external_context)
        try:
            template = compile_template(expression)
            value = template.evaluate(self._scope(task, variables, template), self.functions)
            if expression in self.conditions:
                return truthy_condition(value, expression)
            return value
        except ExpressionError as error:
            raise WorkflowTaskException(str(error), task=task, exception=error) from None

    def decide(self, task: Task, reference: DecisionReference) -> None:
        """Evaluate the decision a business rule task names and keep its result in its variable."""
        try:
            lookup = reference.lookup(self._scope(task, dict(task.data), reference.key, reference.version,
                                                  reference.version_tag), self.functions)
        except ExpressionError as error:
            raise WorkflowTaskException(str(error), task=task, exception=error) from None
        if self.decisions is None:
            raise WorkflowTaskException(f"decision '{lookup.key}' cannot be evaluated here", task=task)
        decision_id, table = self.decisions(lookup)
        evaluation = table.evaluate(task.data, self.functions)
        result = evaluation.mapped(reference.map_result)
        if reference.result_variable is not None:
            task.data[reference.result_variable] = result
        if getattr(task.task_spec, "output_parameters", ()):
            task.internal_data[OWN_VARIABLES] = {DECISION_RESULT: evaluation.mapped("resultList")}
        report_decision(DecisionRecord(task.task_spec.bpmn_id, str(task.id), lookup.key, decision_id,
                                       evaluation.recorded(), result))

    def execute(self, task: Task, script: str, external_context: Mapping[str, Any] | None = None) -> NoReturn:
        raise WorkflowTaskException("scripts are not executed by this service", task=task)

    def call_service(self, task: Task, **kwargs: Any) -> NoReturn:
        raise WorkflowTaskException("service calls are made by external-task workers", task=task)

"""Expressions in a running workflow go through the safe JUEL evaluator, never Python eval/exec."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.task import Task

from app.engine.decisions import DecisionRecord
from app.engine.expressions import ExpressionError, compile_template, truthy_condition
from app.engine.outputs import DECISION_RESULT, OWN_VARIABLES
from app.engine.steps import report_decision

if TYPE_CHECKING:
    from app.engine.elements import DecisionReference


class SafeScriptEngine(PythonScriptEngine):
    """Replaces the library's eval-based engine.

    `conditions` are the sequence-flow condition texts of the model: their value must be a boolean,
    as in Camunda; every other text (timers, due dates) yields its value as it is.
    """

    def __init__(self, functions: Mapping[str, Callable[..., Any]], conditions: frozenset[str],
                 decisions: Callable[[Any], tuple[str, Any]] | None = None) -> None:
        super().__init__()
        self.functions = functions
        self.conditions = conditions
        # Resolves a DecisionLookup to (decision definition id, DecisionTable); each evaluation is
        # reported with the step's result, for the instance's history.
        self.decisions = decisions

    def validate(self, expression: str) -> None:
        compile_template(expression)

    def evaluate(self, task: Task, expression: str, external_context: Mapping[str, Any] | None = None) -> Any:
        variables = dict(task.data)
        variables.update(task.internal_data.get(OWN_VARIABLES, ()))
        if external_context:
            variables.update(external_context)
        try:
            value = compile_template(expression).evaluate(variables, self.functions)
            if expression in self.conditions:
                return truthy_condition(value, expression)
            return value
        except ExpressionError as error:
            raise WorkflowTaskException(str(error), task=task, exception=error) from None

    def decide(self, task: Task, reference: DecisionReference) -> None:
        """Evaluate the decision a business rule task names and keep its result in its variable."""
        try:
            lookup = reference.lookup(task.data, self.functions)
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

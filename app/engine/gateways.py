"""The inclusive gateway's join as Camunda 7 joins.

- It goes on when as many tokens have arrived as it has incoming flows, or when no other token of its
  scope can still reach it; the tokens it joins are used up, so that a gateway on a loop joins each
  round's tokens only. The library counts every input that ever arrived, earlier rounds' included:
  on a loop of inclusive gateways it went on again at once, round after round, without waiting for
  the tasks of the round.
- It goes on with the case's variables as its token holds them: every token holds the case's current
  variables (app.engine.runtime gives each what another changes). The library merged into it the
  variables each joined token's predecessor had when it completed, which brought back a value
  changed or a variable deleted since.
"""
from __future__ import annotations

from collections.abc import Iterable

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.defaults import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

# Marks a token the gateway has joined (the task that arrived for it), in the task's state.
_JOINED = "joined"
# A token: a task that will run (FUTURE: made definite, not yet ready), runs or waits.
_TOKENS = TaskState.FUTURE | TaskState.READY | TaskState.WAITING | TaskState.STARTED


class JoiningInclusiveGateway(InclusiveGateway):
    """An inclusive gateway that joins as Camunda's InclusiveGatewayActivityBehavior does."""

    _reached_from: frozenset[str] | None = None

    def _arrivals(self, my_task: Task) -> list[Task]:
        """The tokens waiting at the gateway: each arrival is a task of this gateway whose incoming
        element has completed, until the gateway joins it."""
        return [task for task in my_task.workflow.tasks.values()
                if task.task_spec is self and task.parent is not None
                and task.parent.has_state(TaskState.COMPLETED) and not task.internal_data.get(_JOINED)]

    def _upstream(self) -> frozenset[str]:
        """The names of the elements from which a path of sequence flows leads to the gateway."""
        if self._reached_from is None:
            seen: set[str] = set()
            pending = list(self.inputs)
            while pending:
                spec = pending.pop()
                if spec.name not in seen:
                    seen.add(spec.name)
                    pending.extend(spec.inputs)
            self._reached_from = frozenset(seen)
        return self._reached_from

    def _check_threshold_unstructured(self, my_task: Task) -> bool:
        arrivals = self._arrivals(my_task)
        if len(arrivals) >= len(self.inputs):
            return True
        upstream = self._upstream()
        for task in my_task.workflow.tasks.values():
            spec = task.task_spec
            # A listening boundary or start event is no token: what it may open is not waited for.
            listening = task.has_state(TaskState.WAITING) and isinstance(spec, BoundaryEvent | StartEvent)
            if (task.has_state(_TOKENS) and spec is not self and not listening and spec.name in upstream
                    and not any(task.is_descendant_of(arrival) for arrival in arrivals)):
                return False
        return True

    def _run_hook(self, my_task: Task) -> bool:
        # It goes on with the case's variables as its token took them from its predecessor, which
        # other tokens' changes reach while it waits (app.engine.runtime); the tokens joined are used up.
        for arrival in self._arrivals(my_task):
            arrival.internal_data[_JOINED] = True
        matches, defaults = self._get_matching_outputs(my_task)
        if not matches and not defaults:
            raise WorkflowTaskException("No conditions satisfied on gateway", task=my_task)
        my_task._sync_children(matches or defaults, TaskState.FUTURE)
        for child in my_task.children:
            child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        return True


def use_joining_inclusive_gateways(specs: Iterable[BpmnProcessSpec]) -> None:
    """Make the processes' inclusive gateways join as Camunda's do."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if type(task_spec) is InclusiveGateway:
                task_spec.__class__ = JoiningInclusiveGateway

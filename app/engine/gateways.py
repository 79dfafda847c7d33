"""Joins as Camunda 7 joins.

- The inclusive gateway goes on when as many tokens have arrived as it has incoming flows, or when no
  other token of its scope can still reach it; the parallel gateway when a token has come from each
  flow (JoiningParallelGateway). The tokens a join joins are used up, so that a gateway on a loop
  joins each round's tokens only. The library counted every input that ever arrived, earlier
  rounds' included: on a loop it went on before the round's tokens had come.
- A join goes on with the case's variables as its token holds them: every token holds the case's
  current variables (app.engine.runtime gives each what another changes). The library merged into
  it the variables each joined token's predecessor had when it completed, which brought back a
  value changed or a variable deleted since.
"""
from __future__ import annotations

from collections.abc import Iterable

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.defaults import InclusiveGateway, ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

# Marks a token the gateway has joined (the task that arrived for it), in the task's state.
_JOINED = "joined"
# A token: a task that will run (FUTURE: made definite, not yet ready), runs or waits.
_TOKENS = TaskState.FUTURE | TaskState.READY | TaskState.WAITING | TaskState.STARTED


def _arrivals(gateway: TaskSpec, my_task: Task) -> list[Task]:
    """The tokens waiting at the gateway: each arrival is a task of the gateway whose incoming element
    has completed, until the gateway joins it."""
    return [task for task in my_task.workflow.tasks.values()
            if task.task_spec is gateway and task.parent is not None
            and task.parent.has_state(TaskState.COMPLETED) and not task.internal_data.get(_JOINED)]


def _leading_to(sources: Iterable[TaskSpec], stop: TaskSpec | None = None) -> frozenset[str]:
    """The names of the elements from which a path of sequence flows leads to one of `sources`
    (themselves included), not through `stop`."""
    seen: set[str] = set()
    pending = list(sources)
    while pending:
        spec = pending.pop()
        if spec.name not in seen and spec is not stop:
            seen.add(spec.name)
            pending.extend(spec.inputs)
    return frozenset(seen)


def _token_reaches(gateway: TaskSpec, my_task: Task, arrivals: list[Task], names: frozenset[str]) -> bool:
    """Whether a token of the gateway's scope, other than those waiting at it and what follows them,
    is at one of the named elements."""
    for task in my_task.workflow.tasks.values():
        spec = task.task_spec
        # A listening boundary or start event is no token: what it may open is not waited for.
        listening = task.has_state(TaskState.WAITING) and isinstance(spec, BoundaryEvent | StartEvent)
        if (task.has_state(_TOKENS) and spec is not gateway and not listening and spec.name in names
                and not any(task.is_descendant_of(arrival) for arrival in arrivals)):
            return True
    return False


def _join(arrivals: list[Task]) -> None:
    for arrival in arrivals:
        arrival.internal_data[_JOINED] = True


class JoiningInclusiveGateway(InclusiveGateway):
    """An inclusive gateway that joins as Camunda's InclusiveGatewayActivityBehavior does."""

    _reached_from: frozenset[str] | None = None

    def _check_threshold_unstructured(self, my_task: Task) -> bool:
        arrivals = _arrivals(self, my_task)
        if len(arrivals) >= len(self.inputs):
            return True
        if self._reached_from is None:
            self._reached_from = _leading_to(self.inputs)
        return not _token_reaches(self, my_task, arrivals, self._reached_from)

    def _run_hook(self, my_task: Task) -> bool:
        # It goes on with the case's variables as its token took them from its predecessor, which
        # other tokens' changes reach while it waits (app.engine.runtime); the tokens joined are used up.
        _join(_arrivals(self, my_task))
        matches, defaults = self._get_matching_outputs(my_task)
        if not matches and not defaults:
            raise WorkflowTaskException("No conditions satisfied on gateway", task=my_task)
        my_task._sync_children(matches or defaults, TaskState.FUTURE)
        for child in my_task.children:
            child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        return True


class JoiningParallelGateway(ParallelGateway):
    """A parallel gateway that joins a token from each incoming flow, each token once: on a loop it
    joins each round's tokens only. The library counted a flow's token of an earlier round, so that
    a round whose branches finished in another order went on before its last branch, and again
    after it. A flow no token can reach any more (the start, once the case loops back through the
    gateway) is not waited for, where Camunda would wait for ever."""

    _feeders: dict[str, frozenset[str]] | None = None

    def _check_threshold_unstructured(self, my_task: Task) -> bool:
        arrivals = _arrivals(self, my_task)
        arrived = {task.parent.task_spec.name for task in arrivals}
        if self._feeders is None:
            self._feeders = {source.name: _leading_to([source], stop=self) for source in self.inputs}
        feeders = self._feeders
        return not any(source.name not in arrived and _token_reaches(self, my_task, arrivals, feeders[source.name])
                       for source in self.inputs)

    def _run_hook(self, my_task: Task) -> bool:
        # It goes on with the case's variables as its token took them from its predecessor, which
        # other tokens' changes reach while it waits, as the inclusive join does.
        _join(_arrivals(self, my_task))
        return True


_JOINS = {InclusiveGateway: JoiningInclusiveGateway, ParallelGateway: JoiningParallelGateway}


def use_camunda_joins(specs: Iterable[BpmnProcessSpec]) -> None:
    """Make the processes' inclusive and parallel gateways join as Camunda's do."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if type(task_spec) in _JOINS:
                task_spec.__class__ = _JOINS[type(task_spec)]

"""What a deployable process model is: the elements of a Camunda Modeler file the service reads,
as plain data (app.engine.model reads and checks the file, app.engine.runtime runs the model)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec

from app.engine.call_activities import CallActivityDefinition
from app.engine.event_subprocesses import starts_on_messages_or_signals
from app.engine.expressions import ExpressionError, Template
from app.engine.timers import TIMER_KINDS, TimerJobDefinition, timer_job_definitions

FORM_FIELD_TYPES = frozenset({"string", "long", "boolean", "date", "enum"})
FORM_CONSTRAINTS = frozenset({"required", "readonly", "minlength", "maxlength", "min", "max"})


@dataclass(frozen=True)
class FormField:
    id: str
    label: str | None
    type: str
    default_value: str | None = None
    required: bool = False
    readonly: bool = False
    min: float | None = None
    max: float | None = None
    minlength: int | None = None
    maxlength: int | None = None
    enum_values: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class UserTaskDefinition:
    id: str
    name: Template | None  # an expression, as in Camunda
    assignee: Template | None
    candidate_users: Template | None
    candidate_groups: Template | None
    due_date: Template | None
    follow_up_date: Template | None
    priority: Template | None
    form_key: str | None
    form_fields: tuple[FormField, ...]
    documentation: str | None


@dataclass(frozen=True)
class ExternalTaskDefinition:
    """A service task done by an outside worker that fetches work of its topic."""

    id: str
    topic: str
    priority: Template | None


@dataclass(frozen=True)
class StartEventInfo:
    """A start event of the process: "none" (the plain start), "message", "signal", "timer" or
    "conditional" (POST /condition starts an instance there when its condition holds)."""

    id: str
    kind: str
    event_name: str | None = None
    timer_kind: str | None = None  # timeDate, timeDuration or timeCycle
    timer_text: str | None = None
    condition: str | None = None
    # A conditional start event narrowed to a variable starts only when POST /condition gives it.
    condition_variable: str | None = None


@dataclass(frozen=True)
class ConditionNarrowing:
    """Camunda's `camunda:variableName` and `camunda:variableEvents` of a conditional event: after it
    is first evaluated (when its token arrives or its scope starts), its condition is evaluated again
    only when that variable (or, without a name, any variable) changes by one of those kinds of
    change (create, update, delete; none named: any)."""

    variable_name: str | None
    variable_events: frozenset[str]

    @property
    def narrows(self) -> bool:
        return self.variable_name is not None or bool(self.variable_events)


@dataclass(frozen=True)
class ErrorCatch:
    """Where an error (or escalation) boundary event or start event puts the code and message it catches."""

    code_variable: str | None
    message_variable: str | None


MAP_DECISION_RESULTS = ("singleEntry", "singleResult", "collectEntries", "resultList")
DECISION_BINDINGS = ("latest", "deployment", "version", "versionTag")


@dataclass(frozen=True)
class DecisionLookup:
    """Which decision definition a business rule task evaluates now: its key, version and version tag
    with their expressions evaluated on the instance's variables."""

    key: str
    binding: str
    version: int | None = None
    version_tag: str | None = None


@dataclass(frozen=True)
class DecisionReference:
    """The decision a business rule task evaluates and where its result goes, as Camunda reads
    camunda:decisionRef, decisionRefBinding, decisionRefVersion, decisionRefVersionTag, resultVariable
    and mapDecisionResult (the key, version and version tag may be expressions ${...})."""

    key: Template
    binding: str
    version: Template | None
    version_tag: Template | None
    result_variable: str | None
    map_result: str

    def lookup(self, variables: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> DecisionLookup:
        """The decision to evaluate for these variables; ExpressionError when an expression gives none."""
        key = self.key.evaluate(variables, functions)
        if not isinstance(key, str) or not key.strip():
            raise ExpressionError(f"camunda:decisionRef '{self.key.source}' gives no decision key", self.key.source)
        version = self.version.evaluate(variables, functions) if self.version is not None else None
        # Camunda reads the version as an integer: 2, or a text of digits such as '02'.
        if version is not None and (isinstance(version, bool) or not str(version).strip().isdigit()):
            raise ExpressionError(f"camunda:decisionRefVersion gives no version number ('{version}')",
                                  self.version.source if self.version is not None else None)
        tag = self.version_tag.evaluate(variables, functions) if self.version_tag is not None else None
        if self.version_tag is not None and (tag is None or not str(tag).strip()):
            raise ExpressionError(f"camunda:decisionRefVersionTag '{self.version_tag.source}' gives no version tag",
                                  self.version_tag.source)
        return DecisionLookup(key.strip(), self.binding, int(str(version).strip()) if version is not None else None,
                              str(tag).strip() if tag is not None else None)


@dataclass(frozen=True)
class ElementInfo:
    id: str
    name: str | None
    activity_type: str
    documentation: str | None = None
    # camunda:properties: name → value pairs the service may give a meaning to (for example the park
    # register's `parkStanding`); the engine itself only reads them.
    properties: Mapping[str, str] = field(default_factory=dict)


@dataclass
class ProcessModel:
    """One executable process of a deployment, ready to run."""

    key: str
    name: str | None
    version_tag: str | None
    history_time_to_live: int | None
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    elements: Mapping[str, ElementInfo]
    user_tasks: Mapping[str, UserTaskDefinition]
    external_tasks: Mapping[str, ExternalTaskDefinition]
    error_catches: Mapping[str, ErrorCatch]
    start_events: tuple[StartEventInfo, ...]
    start_form: tuple[FormField, ...]
    start_form_key: str | None
    resource_name: str
    checksum: str
    # Condition texts of the sequence flows: their value must be a boolean when evaluated.
    condition_texts: frozenset[str]
    # The rules the version runs under (app.engine.SEMANTICS when deployed now).
    semantics: int
    # camunda:properties of the process element itself.
    properties: Mapping[str, str] = field(default_factory=dict)
    # camunda:candidateStarterGroups / candidateStarterUsers: who may start it (nobody named: anyone).
    starter_groups: tuple[str, ...] = ()
    starter_users: tuple[str, ...] = ()
    # camunda:isStartableInTasklist: whether a task list offers to start it (only "true" is, as Camunda reads it).
    startable_in_tasklist: bool = True
    # Each sequence flow of the process and its embedded subprocesses: id → (source, target).
    flows: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # Each call activity of the process and its embedded subprocesses: what it calls, how it binds.
    call_activities: Mapping[str, CallActivityDefinition] = field(default_factory=dict)
    # camunda:initiator of its start events: the variable that holds who started a case.
    initiator_variable: str | None = None
    # As Camunda's definition shows them: the file's targetNamespace, the process's documentation.
    category: str | None = None
    description: str | None = None

    @cached_property
    def timer_jobs(self) -> list[TimerJobDefinition]:
        """Its timer events as Camunda's job definitions (the service fires its timer start events itself,
        so they are read from the start events)."""
        labels = {"timeDate": "DATE", "timeDuration": "DURATION", "timeCycle": "CYCLE"}
        found = timer_job_definitions(self.spec, self.subprocess_specs.values())
        known = {job.activity_id for job in found}
        starts = [TimerJobDefinition(start.id, "timer-start-event", f"{labels.get(start.timer_kind or '', 'CYCLE')}: "
                                     f"{start.timer_text}")
                  for start in self.start_events if start.kind == "timer" and start.id not in known]
        return sorted(found + starts, key=lambda job: job.activity_id)

    @cached_property
    def catches_messages_or_signals(self) -> bool:
        """Whether a running instance can ever wait for a message or signal (start events aside)."""
        return (any(info.activity_type in _WAITING_CATCHES for info in self.elements.values())
                or starts_on_messages_or_signals([self.spec, *self.subprocess_specs.values()]))

    @cached_property
    def has_conditional_events(self) -> bool:
        """Whether a running instance can wait on a conditional event, whose condition every step checks."""
        return any(info.activity_type in _CONDITIONAL_CATCHES for info in self.elements.values())

    @cached_property
    def waits_on_timers(self) -> bool:
        """Whether a running instance can ever wait on a timer (of its own or of an embedded subprocess)."""
        return any(type(timer) in TIMER_KINDS
                   for spec in (self.spec, *self.subprocess_specs.values())
                   for task_spec in spec.task_specs.values()
                   for definition in [getattr(task_spec, "event_definition", None)]
                   for timer in getattr(definition, "event_definitions", None) or [definition])


_WAITING_CATCHES = frozenset({"intermediateMessageCatch", "intermediateSignalCatch", "boundaryMessage",
                              "boundarySignal", "receiveTask"})
# (The conditional start events of event subprocesses are checked while their scope runs.)
_CONDITIONAL_CATCHES = frozenset({"intermediateConditional", "boundaryConditional", "conditionalStartEvent"})

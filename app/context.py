"""What every use case needs: the database, the clock, the parsed models and the settings."""
from __future__ import annotations

import threading
from collections import ChainMap, OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.anchors import AnchorSigner
from app.calendar.functions import deadline_functions
from app.cases.hooks import StepHook
from app.clock import Clock
from app.deadlines import calendars
from app.definitions import decisions
from app.engine import (
    DecisionTable,
    InstanceIdentity,
    ProcessModel,
    ProcessRun,
    RunContext,
    TimerLimits,
    parse_decision_resources,
    parse_deployment,
    report_deadline,
    report_register_read,
)
from app.errors import NotFound
from app.persistence.contents import ContentStore, content_store
from app.persistence.database import Database
from app.persistence.models import DecisionDefinition, DeploymentResource, ProcessDefinition
from app.settings import Settings

Parsed = TypeVar("Parsed")


class ParsedCache(Generic[Parsed]):
    """Parsed definitions of one kind (process models, decision tables) by definition id. A
    definition's file is stored once; it is parsed on first use in this process and kept (bounded,
    least recently used first out)."""

    definition_type: type
    what: str

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._parsed: OrderedDict[str, Parsed] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, definition_id: str, parsed: Parsed) -> None:
        with self._lock:
            self._parsed[definition_id] = parsed
            self._parsed.move_to_end(definition_id)
            while len(self._parsed) > self._capacity:
                self._parsed.popitem(last=False)

    def get(self, session: Session, definition_id: str) -> Parsed:
        with self._lock:
            parsed = self._parsed.get(definition_id)
            if parsed is not None:
                self._parsed.move_to_end(definition_id)
                return parsed
        definition = session.get(self.definition_type, definition_id)
        if definition is None:
            raise NotFound(f"No {self.what} found with id '{definition_id}'")
        resources = session.execute(select(DeploymentResource.name, DeploymentResource.content)
                                    .where(DeploymentResource.deployment_id == definition.deployment_id)).all()
        parsed = next(item for item in self._parse({name: content for name, content in resources}, definition)
                      if item.key == definition.key)
        self.put(definition_id, parsed)
        return parsed

    def _parse(self, resources: dict[str, bytes], definition: Any) -> list[Parsed]:
        raise NotImplementedError


class ModelCache(ParsedCache[ProcessModel]):
    definition_type, what = ProcessDefinition, "process definition"

    def _parse(self, resources: dict[str, bytes], definition: ProcessDefinition) -> list[ProcessModel]:
        return parse_deployment(resources, deploying=False, semantics=definition.semantics)


class DecisionCache(ParsedCache[DecisionTable]):
    definition_type, what = DecisionDefinition, "decision definition"

    def _parse(self, resources: dict[str, bytes], definition: DecisionDefinition) -> list[DecisionTable]:
        return parse_decision_resources(resources)


class RunCache:
    """Restored workflows of running instances, each under the revision its state was saved at, so
    that a step need not restore what this worker's previous step of the instance left.

    A step takes the run out (no two steps ever share one) and, once its unit of work has committed,
    puts it back under the instance's new revision; a step that fails or rolls back leaves nothing.
    A revision written by anybody else (another worker, another replica) is simply not found."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._runs: OrderedDict[str, tuple[int, ProcessRun]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, instance_id: str, revision: int) -> ProcessRun | None:
        with self._lock:
            kept = self._runs.pop(instance_id, None)
        return kept[1] if kept is not None and kept[0] == revision else None

    def keep(self, instance_id: str, revision: int, run: ProcessRun) -> None:
        if self._capacity == 0:
            return
        with self._lock:
            self._runs[instance_id] = (revision, run)
            self._runs.move_to_end(instance_id)
            while len(self._runs) > self._capacity:
                self._runs.popitem(last=False)


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    models: ModelCache
    decision_tables: DecisionCache
    signer: AnchorSigner
    # The extensions of the step, in the order they act (registered in app.main).
    hooks: tuple[StepHook, ...]
    # Password verifications running at once in this process: each scrypt takes 16 MiB and a core,
    # so a burst of sign-ins waits its turn instead of exhausting memory.
    verification_slots: threading.BoundedSemaphore = field(init=False, repr=False)
    runs: RunCache = field(init=False, repr=False)
    contents: ContentStore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.verification_slots = threading.BoundedSemaphore(self.settings.signin_concurrent_verifications)
        self.runs = RunCache(self.settings.run_cache_size)
        self.contents = content_store(self.settings)

    def run_context(self, session: Session | None = None, definition_id: str | None = None,
                    instance: InstanceIdentity | None = None) -> RunContext:
        """What a run needs; with the step's session, expressions may also read the registers the
        extensions offer (app.cases.hooks), each read reported with the step's result, and business
        rule tasks of the process definition `definition_id` find their decisions; with the instance,
        they may read it as `execution`."""
        functions: Mapping[str, Callable[..., Any]] = _DeadlineFunctions(self)
        if session is not None:
            registers: dict[str, Callable[..., Any]] = {}
            for hook in self.hooks:
                registers.update(hook.functions(session, self.today))
            functions = ChainMap(_recorded(registers), functions)  # type: ignore[arg-type]  # read-only use
        return RunContext(clock=self.clock, zone=self.settings.zone, functions=functions,
                          decisions=(lambda lookup: decisions.resolve(self, session, lookup, definition_id))
                          if session is not None else None,
                          timer_limits=self.timer_limits, cpu_seconds=self.settings.evaluation_seconds,
                          instance=instance)

    @property
    def timer_limits(self) -> TimerLimits:
        return TimerLimits(timedelta(seconds=self.settings.timer_cycle_minimum_seconds),
                           self.settings.timer_firings_per_pass)

    def today(self) -> date:
        return self.clock.now().astimezone(self.settings.zone).date()


def _recorded(functions: Mapping[str, Callable[..., Any]]) -> dict:
    """The functions, each call reported with its answer: a register read by a step is part of the
    step's history, so that a replay can give the same answers."""
    def recording(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*arguments: Any) -> Any:
            result = function(*arguments)
            report_register_read({"function": name, "arguments": list(arguments), "result": result})
            return result
        return call

    return {name: recording(name, function) for name, function in functions.items()}


class _DeadlineFunctions(Mapping):
    """The deadline functions of expressions; the calendar is read only when an expression calls one."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._functions: dict | None = None

    def _load(self) -> dict:
        if self._functions is None:
            self._functions = deadline_functions(calendars.current(self._services), self._services.clock,
                                                 self._services.settings.zone, report_deadline)
        return self._functions

    def __getitem__(self, name: str) -> Callable[..., Any]:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

"""What every use case needs: the database, the clock, the parsed models and the settings."""
from __future__ import annotations

import threading
from collections import ChainMap, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.calendar import Deadline
from app.calendar.functions import deadline_functions
from app.clock import Clock
from app.engine import ProcessModel, RunContext, parse_deployment
from app.errors import NotFound
from app.persistence.database import Database
from app.persistence.models import DeploymentResource, ProcessDefinition
from app.services import calendars, parks
from app.settings import Settings


class ModelCache:
    """Parsed process models by definition id. A definition's BPMN is stored once; its parsed spec is
    built on first use in this process and kept (bounded, least recently used first out)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._models: OrderedDict[str, ProcessModel] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, definition_id: str, model: ProcessModel) -> None:
        with self._lock:
            self._models[definition_id] = model
            self._models.move_to_end(definition_id)
            while len(self._models) > self._capacity:
                self._models.popitem(last=False)

    def get(self, session: Session, definition_id: str) -> ProcessModel:
        with self._lock:
            model = self._models.get(definition_id)
            if model is not None:
                self._models.move_to_end(definition_id)
                return model
        definition = session.get(ProcessDefinition, definition_id)
        if definition is None:
            raise NotFound(f"No process definition found with id '{definition_id}'")
        resources = session.execute(
            select(DeploymentResource.name, DeploymentResource.content)
            .where(DeploymentResource.deployment_id == definition.deployment_id)
        ).all()
        models = parse_deployment({name: content for name, content in resources})
        model = next(m for m in models if m.key == definition.key)
        self.put(definition_id, model)
        return model


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    models: ModelCache

    def run_context(self, session: Session | None = None) -> RunContext:
        """What a run needs; with the step's session, expressions may also read the park register."""
        deadlines: list[Deadline] = []
        functions: Mapping = _DeadlineFunctions(self, deadlines.append)
        if session is not None:
            functions = ChainMap(parks.register_functions(session, self.today), functions)
        return RunContext(clock=self.clock, zone=self.settings.zone, functions=functions, deadlines=deadlines)

    def today(self) -> date:
        return self.clock.now().astimezone(self.settings.zone).date()


class _DeadlineFunctions(Mapping):
    """The deadline functions of expressions; the calendar is read only when an expression calls one."""

    def __init__(self, services: Services, on_deadline) -> None:
        self._services = services
        self._on_deadline = on_deadline
        self._functions: dict | None = None

    def _load(self) -> dict:
        if self._functions is None:
            self._functions = deadline_functions(calendars.current(self._services), self._services.clock,
                                                 self._services.settings.zone, self._on_deadline)
        return self._functions

    def __getitem__(self, name: str):
        return self._load()[name]

    def __iter__(self):
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

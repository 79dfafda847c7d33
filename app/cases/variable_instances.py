"""Variable instances: each variable of a process instance as a row of its own, as Camunda's
`/variable-instance` and `/history/variable-instance` queries list them.

Variables live inside an instance's saved state, not in rows, so a query reads the states of the
matching instances (oldest first, variables by name) and stops as soon as the requested page is full.
An ended instance keeps its final state, so its variables are those it ended with.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.access.accounts import Principal
from app.cases import history
from app.cases.instances import read_run
from app.context import Services
from app.extensions import confidentiality
from app.persistence.models import ProcessInstance
from app.persistence.queries import like_matcher, page

# Fixed, so that a variable keeps its id across requests, restarts and replicas.
_ID_NAMESPACE = uuid.UUID("5b0f8f4e-1c55-4d8e-9a53-3f8e0c1d2b7a")
_INSTANCE_BATCH = 100


def variable_id(instance_id: str, name: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"{instance_id}\x00{name}"))


@dataclass
class VariableFilter:
    instances: history.InstanceFilter
    # Who reads: confidential variables of cases they do not handle are left out (CPA-16).
    reader: Principal
    name: str | None = None
    names: list[str] = field(default_factory=list)
    name_like: str | None = None

    def __post_init__(self) -> None:
        # The pattern is read (and bounded) once, not for every variable of every instance.
        self._name_like = like_matcher(self.name_like) if self.name_like is not None else None

    def matches(self, name: str) -> bool:
        if (self.name is not None and name != self.name) or (self.names and name not in self.names):
            return False
        return self._name_like is None or self._name_like(name)


@dataclass
class VariableRow:
    id: str
    name: str
    value: Any
    instance: ProcessInstance


def _rows(services: Services, session: Session, criteria: VariableFilter) -> Iterator[VariableRow]:
    query = history.historic_instance_query(criteria.instances)
    offset = 0
    while True:
        batch = page(session, query, offset, _INSTANCE_BATCH)
        for instance, _definition in batch:
            run = read_run(services, session, instance)
            values = confidentiality.visible(session, run.model, instance.id, criteria.reader, run.variables())
            for name in sorted(values):
                if criteria.matches(name):
                    yield VariableRow(variable_id(instance.id, name), name, values[name], instance)
        if len(batch) < _INSTANCE_BATCH:
            return
        offset += _INSTANCE_BATCH


def variable_rows(services: Services, criteria: VariableFilter, first: int, most: int | None) -> list[VariableRow]:
    rows: list[VariableRow] = []
    if most == 0:
        return rows
    with services.db.read() as session:
        for index, row in enumerate(_rows(services, session, criteria)):
            if index >= first:
                rows.append(row)
                if most is not None and len(rows) >= most:
                    break
    return rows


def count_variables(services: Services, criteria: VariableFilter) -> int:
    with services.db.read() as session:
        return sum(1 for _ in _rows(services, session, criteria))

"""Variable instances: each variable of a process instance as a row of its own, as Camunda's
`/variable-instance` and `/history/variable-instance` queries list them.

Variables live inside an instance's saved state, not in rows, so a query reads the states of the
matching instances (oldest first, variables by name) and stops as soon as the requested page is full.
An ended instance keeps its final state, so its variables are those it ended with.
"""
from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.cases import history
from app.cases.instances import ACTIVE, read_run
from app.context import Services
from app.errors import NotFound
from app.extensions import confidentiality
from app.persistence.models import ProcessInstance
from app.persistence.queries import like_matcher, page

_INSTANCE_BATCH = 100


def variable_id(instance_id: str, name: str) -> str:
    """The instance's id and the variable's name (base64url): the same across requests, restarts and
    replicas, and read back to find the one variable `GET /variable-instance/{id}` names."""
    return f"{instance_id}:{base64.urlsafe_b64encode(name.encode('utf-8')).decode('ascii').rstrip('=')}"


def _read_id(variable: str) -> tuple[str, str] | None:
    instance_id, _, encoded = variable.partition(":")
    if not instance_id or not encoded:
        return None
    try:
        name = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except ValueError:
        return None
    return (instance_id, name) if variable_id(instance_id, name) == variable else None


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
        for instance, *_ in batch:
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


def variable_by_id(services: Services, variable: str, reader: Principal, *, running_only: bool) -> VariableRow:
    """One variable by its id, of a case the reader may read (403 for others); 404 when the case, or
    the variable in it, does not exist (or, for `running_only`, the case has ended)."""
    what = "Variable instance" if running_only else "Historic variable instance"
    missing = NotFound(f"{what} with Id '{variable}' does not exist.")
    named = _read_id(variable)
    if named is None:
        raise missing
    instance_id, name = named
    with services.db.read() as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None or (running_only and instance.status != ACTIVE):
            raise missing
        permissions.require_instance_read(session, reader, instance.id)
        run = read_run(services, session, instance)
        values = confidentiality.visible(session, run.model, instance.id, reader, run.variables())
        if name not in values:
            raise missing
        return VariableRow(variable, name, values[name], instance)

"""Variable instances: each variable of a process instance as a row of its own, as Camunda's
`/variable-instance` and `/history/variable-instance` queries list them.

Variables live inside an instance's saved state, not in rows, so a query reads the states of the
matching instances (oldest first, variables by name) and stops as soon as the requested page is full.
An ended instance keeps its final state, so its variables are those it ended with.
"""
from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.cases import history
from app.cases.instances import ACTIVE, read_run
from app.cases.listing import Keep, each_kept, page_of
from app.context import Services
from app.errors import NotFound
from app.extensions import confidentiality
from app.persistence.models import ProcessInstance
from app.persistence.queries import like_matcher


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


def _comparable(left: Any, right: Any) -> bool:
    numbers = all(isinstance(side, int | float) and not isinstance(side, bool) for side in (left, right))
    return numbers or (isinstance(left, str) and isinstance(right, str))


def _holds(value: Any, operator: str, operand: Any, matcher: Callable[[str], bool] | None) -> bool:
    """Whether a variable's value stands in Camunda's relation to the operand: equality between values
    of one kind (a number equals a number of the other width), order between two numbers or two
    texts, a LIKE pattern on a text."""
    if operator in ("eq", "neq"):
        same = value == operand and (isinstance(value, bool) == isinstance(operand, bool))
        return same if operator == "eq" else value is not None and not same
    if operator in ("like", "notLike"):
        if not isinstance(value, str) or matcher is None:
            return False
        return matcher(value) if operator == "like" else not matcher(value)
    if not _comparable(value, operand):
        return False
    return {"gt": value > operand, "gteq": value >= operand, "lt": value < operand, "lteq": value <= operand}[operator]


def _lower(value: Any, ignore: bool) -> Any:
    return value.lower() if ignore and isinstance(value, str) else value


@dataclass
class VariableConditions:
    """Camunda's variable conditions (name, operator, value), names and values compared ignoring case
    when asked; in an or-query (`either`), one met is enough."""

    conditions: tuple[tuple[str, str, Any], ...] = ()
    names_ignore_case: bool = False
    values_ignore_case: bool = False
    either: bool = False
    _compiled: list[tuple[str, str, Any, Callable[[str], bool] | None]] = field(init=False, repr=False,
                                                                                default_factory=list)

    def __post_init__(self) -> None:
        # Patterns are read (and bounded) once, not for every variable of every case.
        self._compiled = [(_lower(name, self.names_ignore_case), operator, _lower(operand, self.values_ignore_case),
                           like_matcher(_lower(operand, self.values_ignore_case))
                           if operator in ("like", "notLike") and isinstance(operand, str) else None)
                          for name, operator, operand in self.conditions]

    def hold_for(self, name: str, value: Any) -> bool:
        """Whether one variable meets every condition (each naming it)."""
        key, seen = _lower(name, self.names_ignore_case), _lower(value, self.values_ignore_case)
        return all(key == variable and _holds(seen, operator, operand, matcher)
                   for variable, operator, operand, matcher in self._compiled)

    def hold_among(self, values: dict[str, Any]) -> bool:
        """Whether each condition (one, `either`) is met by the variable it names (Camunda's instance and
        task filters)."""
        named = {_lower(name, self.names_ignore_case): _lower(value, self.values_ignore_case)
                 for name, value in values.items()}
        met = (variable in named and _holds(named[variable], operator, operand, matcher)
               for variable, operator, operand, matcher in self._compiled)
        return any(met) if self.either else all(met)


def holding(services: Services, conditions: VariableConditions, reader: Principal,
            instance_of: Callable[[Any], str | None]) -> Keep:
    """Whether a row's case has variables meeting the conditions, as the reader sees them (a variable
    hidden from the reader, CPA-16, meets none). A case is read once however many of its rows come."""
    decided: dict[str, bool] = {}

    def keep(session: Session, row: Any) -> bool:
        instance_id = instance_of(row)
        if instance_id is None:
            return False
        if instance_id not in decided:
            instance = session.get(ProcessInstance, instance_id)
            if instance is None:
                return False
            run = read_run(services, session, instance)
            values = confidentiality.visible(session, run.model, instance.id, reader, run.variables())
            decided[instance_id] = conditions.hold_among(values)
        return decided[instance_id]
    return keep


@dataclass
class VariableFilter:
    instances: history.InstanceFilter
    # Who reads: confidential variables of cases they do not handle are left out (CPA-16).
    reader: Principal
    name: str | None = None
    names: list[str] = field(default_factory=list)
    name_like: str | None = None
    # Camunda's value conditions: a variable matches each one, which must name it.
    values: VariableConditions = field(default_factory=VariableConditions)
    # The query names something no variable listed here has (a task's own variables are not listed).
    nothing: bool = False
    # Camunda's variableTypeIn: whether a value is of one of the types asked (the API names the types).
    of_type: Callable[[Any], bool] | None = None

    def __post_init__(self) -> None:
        # The pattern is read (and bounded) once, not for every variable of every instance.
        ignore = self.values.names_ignore_case
        self._name_like = like_matcher(_lower(self.name_like, ignore)) if self.name_like is not None else None
        self._names = {_lower(each, ignore) for each in self.names}

    def matches(self, name: str, value: Any = None) -> bool:
        ignore = self.values.names_ignore_case
        key = _lower(name, ignore)
        if (self.name is not None and key != _lower(self.name, ignore)) or (self._names and key not in self._names):
            return False
        if self._name_like is not None and not self._name_like(key):
            return False
        if self.of_type is not None and not self.of_type(value):
            return False
        return self.values.hold_for(name, value)


@dataclass
class VariableRow:
    id: str
    name: str
    value: Any
    instance: ProcessInstance


def _rows(services: Services, session: Session, criteria: VariableFilter) -> Iterator[VariableRow]:
    if criteria.nothing:
        return
    for instance, *_ in each_kept(session, history.historic_instance_query(criteria.instances), _every):
        run = read_run(services, session, instance)
        values = confidentiality.visible(session, run.model, instance.id, criteria.reader, run.variables())
        for name in sorted(values):
            if criteria.matches(name, values[name]):
                yield VariableRow(variable_id(instance.id, name), name, values[name], instance)


def _every(session: Session, row: Any) -> bool:
    return True


def variable_rows(services: Services, criteria: VariableFilter, first: int, most: int | None) -> list[VariableRow]:
    with services.db.read() as session:
        return page_of(_rows(services, session, criteria), first, most)


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

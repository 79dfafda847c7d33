"""Saved filters of the task lists (Camunda's /filter): a named task query that the task list runs
for whoever opens it.

A filter belongs to its owner, who (with administrators) reads, changes and runs it, and shares it
with users, groups or everyone through Camunda's filter authorizations (app.access.authorizations);
one without an owner, which only an administrator creates, is shared with every signed-in account.
Anyone else's filter is their own, owner given or not.
The query is Camunda's task query, kept as written: its expressions are resolved for the caller
each time it runs, from a closed list (`${currentUser()}`, `${currentUserGroups()}`, `${now()}`,
`${dateTime().plusDays(2)}` and the like); nothing else in it is evaluated, and another expression
is refused when the filter is saved.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from app.access import authorizations, permissions
from app.access.accounts import Principal
from app.audit import ledger
from app.context import Services
from app.errors import InvalidRequest, NotFound
from app.persistence.models import AuthorizationGrant, SavedFilter
from app.persistence.queries import sorted_by

SORTS = {"filterId": SavedFilter.id, "resourceType": SavedFilter.resource_type, "name": SavedFilter.name,
         "owner": SavedFilter.owner}
# Query keys that may be given as an expression (`<key>Expression`), and what the expression yields.
_USER_KEYS = ("assignee", "owner", "candidateUser", "involvedUser")
_GROUP_KEYS = ("candidateGroups",)
_DATE_KEYS = ("dueBefore", "dueAfter", "dueDate", "followUpBefore", "followUpAfter", "createdBefore", "createdAfter")
_CURRENT_USER = "${currentUser()}"
_CURRENT_GROUPS = "${currentUserGroups()}"
_DATE = re.compile(r"^\$\{(?:now\(\)|dateTime\(\)((?:\.(?:plus|minus)(?:Minutes|Hours|Days|Weeks)\(\d{1,4}\))*)"
                   r"(?:\.toDate\(\))?)\}$")
_SHIFT = re.compile(r"\.(plus|minus)(Minutes|Hours|Days|Weeks)\((\d{1,4})\)")
_NAME_LIMIT = 255


def _nested(query: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The or-queries of a task query that are objects (the task query refuses any other)."""
    value = query.get("orQueries")
    return [each for each in value if isinstance(each, Mapping)] if isinstance(value, list) else []


def _check_expressions(query: Mapping[str, Any]) -> None:
    for nested in _nested(query):
        _check_expressions(nested)
    for key, value in query.items():
        if not key.endswith("Expression"):
            continue
        base = key.removesuffix("Expression")
        allowed = ((base in _USER_KEYS and value == _CURRENT_USER)
                   or (base in _GROUP_KEYS and value == _CURRENT_GROUPS)
                   or (base in _DATE_KEYS and isinstance(value, str) and _DATE.match(value) is not None))
        if not allowed:
            raise InvalidRequest(
                f"The filter's '{key}' cannot be run: a filter may use ${{currentUser()}} for "
                f"{', '.join(_USER_KEYS)}, ${{currentUserGroups()}} for candidateGroups, and ${{now()}} or "
                "${dateTime().plusDays(n)} (plus or minus Minutes, Hours, Days, Weeks) for dates")


def _date(expression: str, now: datetime) -> datetime:
    units = {"Minutes": "minutes", "Hours": "hours", "Days": "days", "Weeks": "weeks"}
    for sign, unit, amount in _SHIFT.findall(expression):
        delta = timedelta(**{units[unit]: int(amount)})
        now = now + delta if sign == "plus" else now - delta
    return now


def resolved(query: Mapping[str, Any], caller: Principal, now: datetime) -> dict[str, Any]:
    """The task query with its expressions put in values for this caller, now (its or-queries' too)."""
    answer = {key: value for key, value in query.items() if not key.endswith("Expression")}
    if _nested(query):
        answer["orQueries"] = [resolved(each, caller, now) if isinstance(each, Mapping) else each
                               for each in query["orQueries"]]
    for key, value in query.items():
        if not key.endswith("Expression"):
            continue
        base = key.removesuffix("Expression")
        if value == _CURRENT_USER:
            answer[base] = caller.user_id
        elif value == _CURRENT_GROUPS:
            answer[base] = sorted(caller.groups)
        else:
            answer[base] = _date(value, now).isoformat(timespec="milliseconds")
    return answer


def _fields(body: Mapping[str, Any]) -> dict[str, Any]:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > _NAME_LIMIT:
        raise InvalidRequest(f"A filter needs a name of 1 to {_NAME_LIMIT} characters")
    query = body.get("query") if body.get("query") is not None else {}
    if not isinstance(query, dict):
        raise InvalidRequest("A filter's query is an object: Camunda's task query")
    _check_expressions(query)
    # Camunda keeps absent properties as an empty object, and its clients read them so.
    properties = body.get("properties") if body.get("properties") is not None else {}
    if not isinstance(properties, dict):
        raise InvalidRequest("A filter's properties are an object")
    return {"name": name, "query": query, "properties": properties}


def _owner(body: Mapping[str, Any], actor: Principal, current: str | None, permission: str) -> str | None:
    """Only an administrator makes or gives a filter to another account, or shares it with everyone
    by leaving it without an owner; anyone else's new filter is their own, and a filter they change
    keeps its owner."""
    owner = body.get("owner", current)
    if owner is not None and not isinstance(owner, str):
        raise InvalidRequest("A filter's owner is a user id")
    if permissions.is_administrator(actor):
        return owner
    owner = owner or current or actor.user_id
    if owner != (current or actor.user_id):
        raise permissions.denied(actor, permission, "Filter", None)
    return owner


def _resource_type(body: Mapping[str, Any]) -> str:
    kind = body.get("resourceType")
    if kind != "Task":
        raise InvalidRequest(f"Filters of resource type '{kind}' are not kept: only 'Task' filters (task lists)")
    return kind


def _visible(query: Select, reader: Principal) -> Select:
    if permissions.is_administrator(reader):
        return query
    return query.where(or_(SavedFilter.owner.is_(None), SavedFilter.owner == reader.user_id,
                           authorizations.filter_shared_with(reader)))


def _readable(session: Session, filter_id: str, reader: Principal) -> SavedFilter:
    found = session.get(SavedFilter, filter_id)
    if found is None:
        raise NotFound(f"Filter with id {filter_id} does not exist")
    if not authorizations.may_on_filter(session, reader, found, "READ"):
        raise permissions.denied(reader, "READ", "Filter", filter_id)
    return found


def _changeable(session: Session, filter_id: str, actor: Principal, permission: str) -> SavedFilter:
    found = _readable(session, filter_id, actor)
    if not authorizations.may_on_filter(session, actor, found, permission):
        raise permissions.denied(actor, permission, "Filter", filter_id)
    return found


def filter_query(p: Mapping[str, Any], sorting: list[tuple[str, str]], reader: Principal) -> Select:
    """Camunda's filter query: filterId, resourceType, name, nameLike, owner; only filters the reader sees."""
    query = _visible(select(SavedFilter), reader)
    for name, column in (("filterId", SavedFilter.id), ("resourceType", SavedFilter.resource_type),
                         ("name", SavedFilter.name), ("owner", SavedFilter.owner)):
        if p.get(name) is not None:
            query = query.where(column == str(p[name]))
    if p.get("nameLike") is not None:
        query = query.where(SavedFilter.name.like(str(p["nameLike"])[:_NAME_LIMIT]))
    return query.order_by(*(sorted_by(SORTS[key], direction == "desc") for key, direction in sorting),
                          SavedFilter.id)


def create(services: Services, body: Mapping[str, Any], *, actor: Principal) -> SavedFilter:
    kind = _resource_type(body)
    fields = _fields(body)
    owner = _owner(body, actor, None, "CREATE")
    with services.db.write() as session:
        saved = SavedFilter(id=str(uuid.uuid4()), resource_type=kind, created=services.clock.now(), owner=owner,
                            **fields)
        session.add(saved)
        ledger.record_admin(session, "filter.created", f"filter:{saved.id}", services.clock.now(), actor.user_id,
                            name=saved.name, owner=saved.owner, query=saved.query)
        session.flush()
        session.expunge(saved)
        return saved


def get(services: Services, filter_id: str, reader: Principal) -> SavedFilter:
    with services.db.read() as session:
        return _readable(session, filter_id, reader)


def update(services: Services, filter_id: str, body: Mapping[str, Any], *, actor: Principal) -> None:
    if body.get("resourceType") is not None:
        _resource_type(body)
    fields = _fields(body)
    with services.db.write() as session:
        saved = _changeable(session, filter_id, actor, "UPDATE")
        fields["owner"] = _owner(body, actor, saved.owner, "UPDATE")
        for name, value in fields.items():
            setattr(saved, name, value)
        ledger.record_admin(session, "filter.updated", f"filter:{filter_id}", services.clock.now(), actor.user_id,
                            name=saved.name, owner=saved.owner, query=saved.query)


def delete(services: Services, filter_id: str, *, actor: Principal) -> None:
    with services.db.write() as session:
        session.delete(_changeable(session, filter_id, actor, "DELETE"))
        session.execute(sql_delete(AuthorizationGrant).where(AuthorizationGrant.resource_id == filter_id,
                                                             AuthorizationGrant.resource_type == authorizations.FILTER))
        ledger.record_admin(session, "filter.deleted", f"filter:{filter_id}", services.clock.now(), actor.user_id)


def task_query_of(services: Services, filter_id: str, extending: Mapping[str, Any], reader: Principal
                  ) -> dict[str, Any]:
    """The filter's task query extended by the caller's (its keys win), resolved for the caller."""
    _check_expressions(extending)
    saved = get(services, filter_id, reader)
    # A key the caller gives replaces the filter's value or expression of that key; or-queries are
    # those of both, as Camunda extends a query.
    given = {key.removesuffix("Expression") for key in extending}
    kept = {key: value for key, value in saved.query.items() if key.removesuffix("Expression") not in given}
    merged = {**kept, **extending}
    saved_either, given_either = saved.query.get("orQueries"), extending.get("orQueries")
    if isinstance(saved_either, list) and isinstance(given_either, list):
        merged["orQueries"] = [*saved_either, *given_either]
    return resolved(merged, reader, services.clock.now())

"""Camunda's saved filters of the task lists (/filter): create, query, change, delete, and run them
(`list`, `count`, `singleResult`) for the caller, extended by the caller's task query."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request, Response

from app.cases import filters, listing
from app.context import Services
from app.errors import InvalidRequest
from app.rest.camunda import render
from app.rest.camunda.task import or_queries, task_listing
from app.rest.camunda.unread import refuse_unread
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep
from app.rest.listing import counted, listed
from app.rest.params import flag, query_dict, sort_order
from app.rest.routing import ServiceRouter

if TYPE_CHECKING:
    from app.access.accounts import Principal
    from app.persistence.models import SavedFilter

router = ServiceRouter(prefix="/engine-rest/filter", tags=["filter"])


def _render(saved: SavedFilter, services: Services, reader: Principal, item_count: bool) -> dict[str, Any]:
    answer: dict[str, Any] = {"id": saved.id, "resourceType": saved.resource_type, "name": saved.name,
                              "owner": saved.owner, "query": saved.query, "properties": saved.properties}
    if item_count:
        answer["itemCount"] = counted(services, *_tasks(services, saved.id, {}, reader))["count"]
    return answer


def _filters(params: dict[str, Any], reader: Principal) -> Any:
    return filters.filter_query(params, sort_order(params, filters.SORTS), reader)


def _tasks(services: Services, filter_id: str, extending: dict[str, Any],
           reader: Principal) -> tuple[Any, listing.Keep | None]:
    """The saved query, extended, as the task list runs it: its SQL and its keep of the tasks whose
    case has the process variables it names."""
    return task_listing(filters.task_query_of(services, filter_id, extending, reader), services, reader)


@router.get("")
def list_filters(request: Request, services: ServicesDep, reader: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request)
    item_count = flag(params.get("itemCount"), "itemCount")
    return listed(services, _filters(params, reader), params,
                  lambda saved: _render(saved, services, reader, item_count))


@router.get("/count")
def count_filters(request: Request, services: ServicesDep, reader: PrincipalDep) -> dict[str, int]:
    return counted(services, _filters(query_dict(request), reader))


def _runnable(body: dict[str, Any]) -> dict[str, Any]:
    """A filter's task query is refused when saved, not each time it runs, if it names a filter of
    Camunda's that the task list does not read (its expressions are checked with the filter)."""
    query = body.get("query")
    if isinstance(query, dict):
        for each in (query, *or_queries(query)):
            refuse_unread({key: value for key, value in each.items() if not key.endswith("Expression")}, "task")
    return body


@router.post("/create")
def create_filter(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> dict[str, Any]:
    return _render(filters.create(services, _runnable(body or {}), actor=actor), services, actor, False)


@router.get("/{filter_id}")
def get_filter(filter_id: str, request: Request, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    item_count = flag(query_dict(request).get("itemCount"), "itemCount")
    return _render(filters.get(services, filter_id, reader), services, reader, item_count)


@router.put("/{filter_id}", status_code=204)
def update_filter(filter_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    filters.update(services, filter_id, _runnable(body or {}), actor=actor)
    return Response(status_code=204)


@router.delete("/{filter_id}", status_code=204)
def delete_filter(filter_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    filters.delete(services, filter_id, actor=actor)
    return Response(status_code=204)


def _list(request: Request, services: Services, filter_id: str, reader: Principal,
          extending: dict[str, Any]) -> list[dict[str, Any]]:
    zone = services.settings.zone
    query, keep = _tasks(services, filter_id, extending, reader)
    return listed(services, query, query_dict(request), lambda row: render.task(row, zone), keep)


@router.get("/{filter_id}/list")
def run_filter(filter_id: str, request: Request, services: ServicesDep, reader: PrincipalDep) -> list[dict[str, Any]]:
    return _list(request, services, filter_id, reader, {})


@router.post("/{filter_id}/list")
def run_extended_filter(filter_id: str, request: Request, services: ServicesDep, reader: PrincipalDep,
                        body: JsonBody = None) -> list[dict[str, Any]]:
    return _list(request, services, filter_id, reader, body or {})


@router.get("/{filter_id}/count")
def count_filter(filter_id: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, int]:
    return counted(services, *_tasks(services, filter_id, {}, reader))


@router.post("/{filter_id}/count")
def count_extended_filter(filter_id: str, services: ServicesDep, reader: PrincipalDep,
                          body: JsonBody = None) -> dict[str, int]:
    return counted(services, *_tasks(services, filter_id, body or {}, reader))


def _single(services: Services, filter_id: str, reader: Principal, extending: dict[str, Any]) -> Any:
    query, keep = _tasks(services, filter_id, extending, reader)
    found = listed(services, query, {"maxResults": 2}, lambda row: render.task(row, services.settings.zone), keep)
    if len(found) > 1:
        raise InvalidRequest("Filter does not returns a valid single result")
    return found[0] if found else Response(status_code=204)


@router.get("/{filter_id}/singleResult", responses={204: {"description": "the filter finds nothing"}})
def single_result(filter_id: str, services: ServicesDep, reader: PrincipalDep) -> Any:
    return _single(services, filter_id, reader, {})


@router.post("/{filter_id}/singleResult", responses={204: {"description": "the filter finds nothing"}})
def extended_single_result(filter_id: str, services: ServicesDep, reader: PrincipalDep,
                           body: JsonBody = None) -> Any:
    return _single(services, filter_id, reader, body or {})

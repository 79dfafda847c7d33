"""The process instance queries of Camunda's request bodies, parsed once for the listing endpoints
and for the batch commands that name their cases by a query (processInstanceQuery,
historicProcessInstanceQuery), so that both filter, and are bounded, alike."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from app.access.accounts import Principal
from app.cases import batches, history, instances, listing, variable_instances
from app.context import Services
from app.definitions import deployments
from app.errors import InvalidRequest
from app.rest.camunda.unread import given, refuse_unread
from app.rest.params import (
    MAX_LIST_VALUES,
    flag,
    sort_order,
    suspension_state,
    text,
    text_list,
    variable_conditions,
)
from app.rest.variables import optional_instant

if TYPE_CHECKING:
    from datetime import tzinfo

    from sqlalchemy import Select


# The most or-queries one query gives, and the filters on variables they may give.
MAX_OR_QUERIES = 20
_VARIABLE_FILTERS = ("variables", "processVariables", "taskVariables")


def sorting(p: dict[str, Any], allowed: Iterable[str]) -> dict[str, bool]:
    return {key: direction == "desc" for key, direction in sort_order(p, allowed)}


def definition_narrowing(p: dict[str, Any], zone: tzinfo, sorts: Iterable[str], *, untenanted: str,
                         tag_absence: bool) -> deployments.DefinitionNarrowing:
    """Camunda's filters the process and decision definition queries share; `untenanted` names the
    query's own include-without-tenant switch, `tag_absence` whether it has withoutVersionTag."""
    return deployments.DefinitionNarrowing(
        key_like=text(p, "keyLike"), category=text(p, "category"), category_like=text(p, "categoryLike"),
        name=text(p, "name"), name_like=text(p, "nameLike"),
        version_tag=text(p, "versionTag"), version_tag_like=text(p, "versionTagLike"),
        without_version_tag=tag_absence and flag(p.get("withoutVersionTag"), "withoutVersionTag"),
        resource_name=text(p, "resourceName"), resource_name_like=text(p, "resourceNameLike"),
        tenant_ids=tuple(text_list(p.get("tenantIdIn"), "tenantIdIn")),
        with_untenanted=flag(p.get(untenanted), untenanted),
        without_tenant=flag(p.get("withoutTenantId"), "withoutTenantId"),
        deployed_after=optional_instant(p, "deployedAfter", zone), deployed_at=optional_instant(p, "deployedAt", zone),
        sorting=tuple((key, order == "desc") for key, order in sort_order(p, sorts)))


def variables_kept(p: dict[str, Any], name: str, services: Services, viewer: Principal,
                   instance_of: Callable[[Any], str | None], either: bool = False) -> listing.Keep | None:
    """Camunda's filter on a case's variables (`variables`, `processVariables`), as a keep of the rows
    whose case has them as the viewer sees them (in an or-query, `either`, one of them); None when the
    query has none."""
    conditions = variable_conditions(p.get(name), name)
    if not conditions:
        return None
    return variable_instances.holding(services, conditions_of(p, conditions, either), viewer, instance_of)


def or_queries(p: dict[str, Any], refused: tuple[str, ...]) -> list[dict[str, Any]]:
    """A query's orQueries: queries of their own, without what Camunda refuses in one (`refused`)."""
    value = p.get("orQueries")
    if value is None or value == []:
        return []
    if isinstance(value, str):
        raise InvalidRequest("'orQueries' is a JSON array of queries, given in a body (POST); a query string "
                             "cannot carry it")
    if not isinstance(value, list) or not all(isinstance(each, dict) for each in value):
        raise InvalidRequest("'orQueries' must be a JSON array of queries (objects)")
    if len(value) > MAX_OR_QUERIES:
        raise InvalidRequest(f"'orQueries' gives {len(value)} queries; at most {MAX_OR_QUERIES} are taken")
    for each in value:
        named = [name for name in refused if given(each.get(name))]
        if named:
            raise InvalidRequest(f"Invalid query usage: cannot set {named[0]} within an or-query")
    # Each case or task read is checked against every one: as many as one list of the query may hold.
    conditions = sum(len(each[name]) for each in value for name in _VARIABLE_FILTERS
                     if isinstance(each.get(name), list))
    if conditions > MAX_LIST_VALUES:
        raise InvalidRequest(f"'orQueries' give {conditions} variable conditions together; at most "
                             f"{MAX_LIST_VALUES} are taken")
    return value


# What an or-query may not give, as Camunda refuses it there (the task query refuses more).
NOT_IN_OR_QUERY = ("orQueries", "sorting", "sortBy", "sortOrder")
# The filters of the process instance queries, each a condition of its own in an or-query (a test
# checks that these are all each query reads, but for its variables and their switches).
INSTANCE_FILTERS = (
    "processInstanceIds", "businessKey", "businessKeyLike", "processDefinitionId", "processDefinitionKey",
    "processDefinitionKeyIn", "processDefinitionKeyNotIn", "deploymentId", "superProcessInstance",
    "subProcessInstance", "activityIdIn", "withIncident", "incidentId", "incidentType", "incidentMessage",
    "incidentMessageLike", "tenantIdIn", "withoutTenantId", "processDefinitionWithoutTenantId",
    "rootProcessInstances", "leafProcessInstances", "rootProcessInstanceId", "active", "suspended")
HISTORIC_INSTANCE_FILTERS = (
    "processInstanceId", "processInstanceIds", "processInstanceIdNotIn", "processInstanceBusinessKey",
    "processInstanceBusinessKeyIn", "processInstanceBusinessKeyLike", "processDefinitionId", "processDefinitionKey",
    "processDefinitionKeyIn", "processDefinitionKeyNotIn", "processDefinitionName", "processDefinitionNameLike",
    "finished", "unfinished", "finishedBefore", "finishedAfter", "startedBefore", "startedAfter", "startedBy",
    "state", "active", "suspended", "completed", "externallyTerminated", "internallyTerminated", "tenantIdIn",
    "withoutTenantId", "superProcessInstanceId", "subProcessInstanceId", "rootProcessInstances",
    "rootProcessInstanceId", "withIncidents", "withRootIncidents", "incidentStatus", "incidentIdIn", "incidentType",
    "incidentMessage", "incidentMessageLike", "activityIdIn", "activeActivityIdIn", "executedActivityIdIn",
    "executedActivityAfter", "executedActivityBefore", "executedJobAfter", "executedJobBefore", "withJobsRetrying")


def with_or_queries(p: dict[str, Any], query: Select, keep: listing.Keep | None, *,
                    alone: Callable[[dict[str, Any]], list[Select]],
                    variables: Callable[[dict[str, Any]], listing.Keep | None],
                    key_of: Callable[[Any], Any], refused: tuple[str, ...] = NOT_IN_OR_QUERY
                    ) -> tuple[Select, listing.Keep | None]:
    """A query (its rows, and its keep of those meeting what is read outside the database: variables,
    and what else `variables` reads) with its orQueries: each keeps the rows meeting one of its filters
    (Camunda's conjunctive normal form). `alone`: the queries of the rows meeting an or-query's filters
    (one of them, or each alone); `variables`: its conditions read outside the database, one enough."""
    keeps = [keep]
    alternatives = []
    for nested in or_queries(p, refused):
        filters, either = alone(nested), variables(nested)
        if either is None:
            alternatives.append(filters)
        else:
            # Variables are read outside the database: the whole or-query is then a keep.
            keeps.append(listing.joined([listing.meeting_any_kept(filters, key_of), either], either=True))
    return listing.meeting_each(query, alternatives), listing.joined(keeps)


def each_alone(filters: tuple[str, ...], read: Callable[[dict[str, Any]], Select]
               ) -> Callable[[dict[str, Any]], list[Select]]:
    """An or-query's filters read one by one (`read`: the query of every row meeting the filters given),
    after the whole or-query is read, so that what it gives wrong is refused by name."""
    def alone(nested: dict[str, Any]) -> list[Select]:
        read(nested)
        return [read({name: nested[name]}) for name in filters if given(nested.get(name))]
    return alone


def instance_listing(p: dict[str, Any], services: Services, viewer: Principal
                     ) -> tuple[Select, listing.Keep | None]:
    """Camunda's process instance query as the rows the database finds and, where it filters on
    variables, the keep of the cases that have them; with its orQueries."""
    return with_or_queries(
        p, instance_query(p, viewer), instance_kept(p, services, viewer),
        alone=each_alone(INSTANCE_FILTERS, lambda filters: instance_query(filters, None)), key_of=lambda row: row.id,
        variables=lambda nested: instance_kept(nested, services, viewer, either=True))


def historic_instance_listing(p: dict[str, Any], services: Services, viewer: Principal
                              ) -> tuple[Select, listing.Keep | None]:
    """Camunda's historic process instance query, as `instance_listing` reads the runtime one."""
    return with_or_queries(
        p, history.historic_instance_query(historic_instance_filter(p, services, viewer)),
        historic_instance_kept(p, services, viewer), key_of=lambda row: row[0].id,
        alone=each_alone(HISTORIC_INSTANCE_FILTERS, lambda filters: history.historic_instance_query(
            historic_instance_filter(filters, services, None))),
        variables=lambda nested: historic_instance_kept(nested, services, viewer, either=True))


def conditions_of(p: dict[str, Any], conditions: Iterable[Any], either: bool = False
                  ) -> variable_instances.VariableConditions:
    """Conditions on variables with the query's two ignore-case switches, which every variable filter
    reads; in an or-query (`either`), one met is enough."""
    return variable_instances.VariableConditions(
        tuple(conditions), names_ignore_case=flag(p.get("variableNamesIgnoreCase"), "variableNamesIgnoreCase"),
        values_ignore_case=flag(p.get("variableValuesIgnoreCase"), "variableValuesIgnoreCase"), either=either)


def instance_kept(p: dict[str, Any], services: Services, viewer: Principal, either: bool = False
                  ) -> listing.Keep | None:
    return variables_kept(p, "variables", services, viewer, lambda row: row.id, either)


def historic_instance_kept(p: dict[str, Any], services: Services, viewer: Principal, either: bool = False
                           ) -> listing.Keep | None:
    return variables_kept(p, "variables", services, viewer, lambda row: row[0].id, either)


def _incident(p: dict[str, Any], ids: tuple[str, ...]) -> instances.IncidentMatch:
    return instances.IncidentMatch(ids=ids, incident_type=text(p, "incidentType"), message=text(p, "incidentMessage"),
                                   message_like=text(p, "incidentMessageLike"))


def instance_query(p: dict[str, Any], viewer: Principal | None) -> Select:
    """Camunda's process instance query (GET/POST /process-instance), of the cases the viewer may read
    (None: of every case, for a filter of an or-query, read alone)."""
    refuse_unread(p, "process-instance")
    return instances.instance_query(
        instance_ids=text_list(p.get("processInstanceIds"), "processInstanceIds"), business_key=text(p, "businessKey"),
        definition_id=text(p, "processDefinitionId"), definition_key=text(p, "processDefinitionKey"), viewer=viewer,
        # withoutTenantId replaces a list of tenants given with it, as in Camunda.
        tenant_ids=[] if flag(p.get("withoutTenantId"), "withoutTenantId") else text_list(p.get("tenantIdIn"),
                                                                                           "tenantIdIn"),
        suspended=suspension_state(p),
        super_instance=text(p, "superProcessInstance"), sub_instance=text(p, "subProcessInstance"),
        narrowing=instances.InstanceNarrowing(
            business_key_like=text(p, "businessKeyLike"),
            definition_keys=tuple(text_list(p.get("processDefinitionKeyIn"), "processDefinitionKeyIn")),
            definition_keys_not=tuple(text_list(p.get("processDefinitionKeyNotIn"), "processDefinitionKeyNotIn")),
            deployment_id=text(p, "deploymentId"), activity_ids=tuple(text_list(p.get("activityIdIn"), "activityIdIn")),
            with_incident=flag(p.get("withIncident"), "withIncident"),
            incident=_incident(p, tuple(value for value in (text(p, "incidentId"),) if value is not None)),
            without_tenant=flag(p.get("withoutTenantId"), "withoutTenantId"),
            definition_without_tenant=flag(p.get("processDefinitionWithoutTenantId"),
                                           "processDefinitionWithoutTenantId"),
            root_only=flag(p.get("rootProcessInstances"), "rootProcessInstances"),
            leaf_only=flag(p.get("leafProcessInstances"), "leafProcessInstances"),
            root_instance_id=text(p, "rootProcessInstanceId"),
            sorting=tuple((key, order == "desc") for key, order in sort_order(p, instances.INSTANCE_SORTS))))


def historic_instance_filter(p: dict[str, Any], services: Services, viewer: Principal | None
                             ) -> history.InstanceFilter:
    """Camunda's historic process instance query (GET/POST /history/process-instance)."""
    refuse_unread(p, "history/process-instance")
    zone = services.settings.zone
    return history.InstanceFilter(
        viewer=viewer,
        process_instance_id=text(p, "processInstanceId"),
        process_instance_ids=text_list(p.get("processInstanceIds"), "processInstanceIds"),
        business_key=text(p, "processInstanceBusinessKey"),
        business_key_like=text(p, "processInstanceBusinessKeyLike"),
        definition_id=text(p, "processDefinitionId"), definition_key=text(p, "processDefinitionKey"),
        definition_key_in=text_list(p.get("processDefinitionKeyIn"), "processDefinitionKeyIn"),
        finished=flag(p.get("finished"), "finished"), unfinished=flag(p.get("unfinished"), "unfinished"),
        started_before=optional_instant(p, "startedBefore", zone),
        started_after=optional_instant(p, "startedAfter", zone),
        state=text(p, "state"), suspended=suspension_state(p),
        tenant_ids=text_list(p.get("tenantIdIn"), "tenantIdIn"),
        super_instance=text(p, "superProcessInstanceId"), sub_instance=text(p, "subProcessInstanceId"),
        sort_desc=sorting(p, history.INSTANCE_SORT),
        further=_historic_narrowing(p, zone),
    )


def _historic_narrowing(p: dict[str, Any], zone: tzinfo) -> history.HistoricNarrowing:
    status = text(p, "incidentStatus")
    if status not in (None, "open", "resolved"):
        raise InvalidRequest("incidentStatus must be open or resolved")

    def listed(name: str) -> tuple[str, ...]:
        return tuple(text_list(p.get(name), name))

    return history.HistoricNarrowing(
        finished_before=optional_instant(p, "finishedBefore", zone),
        finished_after=optional_instant(p, "finishedAfter", zone),
        completed=flag(p.get("completed"), "completed"),
        externally_terminated=flag(p.get("externallyTerminated"), "externallyTerminated"),
        internally_terminated=flag(p.get("internallyTerminated"), "internallyTerminated"),
        started_by=text(p, "startedBy"), with_incidents=flag(p.get("withIncidents"), "withIncidents")
        or flag(p.get("withRootIncidents"), "withRootIncidents"),  # every incident here is a root incident
        incident_status=status, incident=_incident(p, listed("incidentIdIn")),
        definition_name=text(p, "processDefinitionName"), definition_name_like=text(p, "processDefinitionNameLike"),
        business_keys=listed("processInstanceBusinessKeyIn"), definition_keys_not=listed("processDefinitionKeyNotIn"),
        instance_ids_not=listed("processInstanceIdNotIn"),
        root_only=flag(p.get("rootProcessInstances"), "rootProcessInstances"),
        root_instance_id=text(p, "rootProcessInstanceId"),
        without_tenant=flag(p.get("withoutTenantId"), "withoutTenantId"),
        active_activity_ids=listed("activeActivityIdIn"), executed_activity_ids=listed("executedActivityIdIn"),
        with_jobs_retrying=flag(p.get("withJobsRetrying"), "withJobsRetrying"), activity_ids=listed("activityIdIn"),
        executed_activity_after=optional_instant(p, "executedActivityAfter", zone),
        executed_activity_before=optional_instant(p, "executedActivityBefore", zone),
        executed_job_after=optional_instant(p, "executedJobAfter", zone),
        executed_job_before=optional_instant(p, "executedJobBefore", zone))


def _object(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is not None and not isinstance(value, dict):
        raise InvalidRequest(f"'{name}' must be an object")
    return value


def instance_targets(body: dict[str, Any], services: Services, viewer: Principal, *, ids: str = "processInstanceIds",
                     runtime: bool = True) -> list[str]:
    """The cases a batch request names: its ids, then those its runtime query (unless not `runtime`)
    and its historic query find, each query bounded by the size of a batch."""
    found = text_list(body.get(ids), ids)
    query = _object(body, "processInstanceQuery") if runtime else None
    if query is not None:
        rows, keep = instance_listing(query, services, viewer)
        found += batches.bounded_targets(services, rows, "processInstanceQuery", keep)
    historic = _object(body, "historicProcessInstanceQuery")
    if historic is not None:
        rows, keep = historic_instance_listing(historic, services, viewer)
        found += batches.bounded_targets(services, rows, "historicProcessInstanceQuery", keep)
    return found

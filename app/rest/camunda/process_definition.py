from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request, Response

from app.access.accounts import Principal
from app.access.permissions import DESIGNERS
from app.cases import batches, instances, restart, statistics, suspension
from app.context import Services
from app.definitions import deployments
from app.engine import Instruction
from app.errors import InvalidRequest
from app.rest.camunda import queries, render
from app.rest.camunda.forms import form_variables, rendered_form, rendered_form_answer
from app.rest.camunda.process_instance import start_instructions
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep, role
from app.rest.listing import counted, listed
from app.rest.params import (
    flag,
    history_time_to_live,
    integer,
    query_dict,
    required_boolean,
    suspension_state,
    text,
    text_list,
)
from app.rest.routing import ServiceRouter
from app.rest.variables import decode_variables, optional_instant

if TYPE_CHECKING:
    from sqlalchemy import Select

    from app.cases.listing import Keep

router = ServiceRouter(prefix="/engine-rest/process-definition", tags=["process-definition"])

_LISTS = frozenset({"processDefinitionIdIn", "keysIn", "keyIn", "tenantIdIn"})
# Suspending or activating a process (and its running cases) is for administrators.
_SUSPEND = role(permission="SUSPEND", resource_type="ProcessDefinition")
# So is restarting its ended cases, as modifying a running one.
_ADMINISTER = role(permission="UPDATE", resource_type="ProcessInstance")
# So is how long the history of a process's ended cases is kept.
_UPDATE = role(permission="UPDATE", resource_type="ProcessDefinition")
# Deleting a definition no case used is for designers, as deleting its deployment is.
_DELETE = role(DESIGNERS, permission="DELETE", resource_type="ProcessDefinition")


def _listing(p: dict[str, Any], services: Services, viewer: Principal) -> tuple[Select, Keep | None]:
    """The process definition query, and its keep of the versions its starter filters leave."""
    return _query(p, services), deployments.starters_kept(
        services, named_user=text(p, "startableBy"),
        caller=viewer if flag(p.get("startablePermissionCheck"), "startablePermissionCheck") else None)


def _startable(p: dict[str, Any]) -> bool | None:
    """Camunda's startableInTasklist and notStartableInTasklist: both given, no version is both."""
    offered = flag(p.get("startableInTasklist"), "startableInTasklist")
    not_offered = flag(p.get("notStartableInTasklist"), "notStartableInTasklist")
    if offered and not_offered:
        raise InvalidRequest("startableInTasklist and notStartableInTasklist exclude each other")
    return True if offered else False if not_offered else None


def _query(p: dict[str, Any], services: Services) -> Select:
    zone = services.settings.zone
    ids = (text_list(p.get("processDefinitionIdIn"), "processDefinitionIdIn")
           or ([p["processDefinitionId"]] if text(p, "processDefinitionId") else []))
    query = deployments.definition_query(
        ids=ids, key=text(p, "key"), keys=text_list(p.get("keysIn"), "keysIn") or text_list(p.get("keyIn"), "keyIn"),
        # Camunda's short names `latest` and `ver` beside the long ones.
        latest_version=flag(p.get("latestVersion"), "latestVersion") or flag(p.get("latest"), "latest"),
        deployment_id=text(p, "deploymentId"),
        version=integer(p.get("version"), "version") or integer(p.get("ver"), "ver"), suspended=suspension_state(p),
        startable=_startable(p),
        narrowing=queries.definition_narrowing(p, zone, deployments.DEFINITION_SORTS,
                                               untenanted="includeProcessDefinitionsWithoutTenantId", tag_absence=True),
        incident=deployments.IncidentMatch(
            ids=tuple(value for value in (text(p, "incidentId"),) if value is not None),
            incident_type=text(p, "incidentType"), message=text(p, "incidentMessage"),
            message_like=text(p, "incidentMessageLike")))
    return query


@router.get("")
def list_definitions(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request, _LISTS)
    query, keep = _listing(params, services, viewer)
    return listed(services, query, params, render.definition, keep)


@router.get("/count")
def count_definitions(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    return counted(services, *_listing(query_dict(request, _LISTS), services, viewer))


def _counting(request: Request) -> statistics.IncidentCounting:
    p = query_dict(request)
    return statistics.IncidentCounting(all_types=flag(p.get("incidents"), "incidents"),
                                       of_type=text(p, "incidentsForType"))


def _statistics(item: statistics.Statistics) -> dict[str, Any]:
    incidents = [{"incidentType": kind, "incidentCount": count} for kind, count in sorted(item.incidents.items())]
    return {"id": item.key, "instances": item.instances, "failedJobs": 0, "incidents": incidents}


@router.get("/statistics", summary="Running instances and open incidents per process definition")
def definitions_statistics(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    counting = _counting(request)
    return [{**_statistics(item), "definition": render.definition(definition),
             "tenantId": definition.tenant_id}
            for definition, item in statistics.of_definitions(services, viewer, counting)]


def _activity_statistics(request: Request, services: Services, definition_id: str, viewer: Principal
                         ) -> list[dict[str, Any]]:
    counting = _counting(request)
    return [_statistics(item)
            for item in statistics.of_activities(services, definition_id, viewer, counting)]


@router.get("/key/{key}")
def definition_by_key(key: str, services: ServicesDep) -> dict[str, Any]:
    return render.definition(deployments.find_definition(services, key=key))


@router.get("/key/{key}/tenant-id/{tenant_id}")
def definition_by_key_and_tenant(key: str, tenant_id: str, services: ServicesDep) -> dict[str, Any]:
    return render.definition(deployments.find_definition(services, key=key, tenant_id=tenant_id))


@router.get("/key/{key}/xml")
def xml_by_key(key: str, services: ServicesDep) -> dict[str, Any]:
    row, xml = deployments.definition_with_xml(services, key=key)
    return {"id": row.id, "bpmn20Xml": xml}


@router.get("/key/{key}/tenant-id/{tenant_id}/xml")
def xml_by_key_and_tenant(key: str, tenant_id: str, services: ServicesDep) -> dict[str, Any]:
    row, xml = deployments.definition_with_xml(services, key=key, tenant_id=tenant_id)
    return {"id": row.id, "bpmn20Xml": xml}


@router.get("/key/{key}/statistics", summary="Where the running instances of the newest version stand")
def statistics_by_key(key: str, request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    definition = deployments.find_definition(services, key=key)
    return _activity_statistics(request, services, definition.id, viewer)


@router.get("/key/{key}/tenant-id/{tenant_id}/statistics")
def statistics_by_key_and_tenant(key: str, tenant_id: str, request: Request, services: ServicesDep,
                                 viewer: PrincipalDep) -> list[dict[str, Any]]:
    definition = deployments.find_definition(services, key=key, tenant_id=tenant_id)
    return _activity_statistics(request, services, definition.id, viewer)


@router.get("/{definition_id}/statistics", summary="Where its running instances stand, activity by activity")
def statistics_by_id(definition_id: str, request: Request, services: ServicesDep,
                     viewer: PrincipalDep) -> list[dict[str, Any]]:
    return _activity_statistics(request, services, definition_id, viewer)


@router.get("/{definition_id}")
def definition_by_id(definition_id: str, services: ServicesDep) -> dict[str, Any]:
    return render.definition(deployments.find_definition(services, definition_id=definition_id))


@router.get("/{definition_id}/xml")
def xml_by_id(definition_id: str, services: ServicesDep) -> dict[str, Any]:
    row, xml = deployments.definition_with_xml(services, definition_id=definition_id)
    return {"id": row.id, "bpmn20Xml": xml}


def _suspend(services: Services, actor: Principal, body: dict[str, Any] | None, **which: Any) -> Response:
    """Camunda's body: suspended, includeProcessInstances, executionDate (only now or past: applied now)."""
    body = body or {}
    suspension.suspend_definitions(
        services, suspended=required_boolean(body, "suspended"), actor=actor,
        include_instances=flag(body.get("includeProcessInstances"), "includeProcessInstances"),
        execution_date=optional_instant(body, "executionDate", services.settings.zone), **which)
    return Response(status_code=204)


@router.put("/suspended", status_code=204, dependencies=[_SUSPEND])
def suspend_by_key_all_versions(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    """Every version of a key (of a tenant, or of none)."""
    key = text(body or {}, "processDefinitionKey")
    if key is None:
        raise InvalidRequest("processDefinitionKey has to be set to update the suspension state.")
    return _suspend(services, actor, body, key=key, latest_only=False,
                    tenant_id=text(body or {}, "processDefinitionTenantId"),
                    without_tenant=flag((body or {}).get("processDefinitionWithoutTenantId"),
                                        "processDefinitionWithoutTenantId"))


@router.put("/key/{key}/suspended", status_code=204, dependencies=[_SUSPEND])
def suspend_latest_by_key(key: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    return _suspend(services, actor, body, key=key)


@router.put("/key/{key}/tenant-id/{tenant_id}/suspended", status_code=204, dependencies=[_SUSPEND])
def suspend_latest_by_key_and_tenant(key: str, tenant_id: str, services: ServicesDep, actor: PrincipalDep,
                                     body: JsonBody = None) -> Response:
    return _suspend(services, actor, body, key=key, tenant_id=tenant_id)


@router.put("/{definition_id}/suspended", status_code=204, dependencies=[_SUSPEND])
def suspend_by_id(definition_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    return _suspend(services, actor, body, definition_id=definition_id)


def _start(request: Request, services: Services, actor: Principal, body: dict[str, Any] | None, *,
           key: str | None = None,
           definition_id: str | None = None, tenant_id: str | None = None, start_form: bool = False) -> dict:
    body = body or {}
    zone = services.settings.zone
    instance, current = instances.start_instance(
        services, key=key, definition_id=definition_id,
        variables=decode_variables(body.get("variables"), services.settings),
        business_key=body.get("businessKey"), tenant_id=tenant_id, actor=actor, as_start_form=start_form,
        instructions=() if start_form else start_instructions(body, "startInstructions", services))
    with_variables = flag(body.get("withVariablesInReturn"), "withVariablesInReturn")
    return render.instance(request, instance, current if with_variables else None, zone)


@router.post("/key/{key}/start")
def start_by_key(key: str, request: Request, services: ServicesDep, actor: PrincipalDep,
                 body: JsonBody = None) -> dict[str, Any]:
    return _start(request, services, actor, body, key=key)


@router.post("/key/{key}/tenant-id/{tenant_id}/start")
def start_by_key_and_tenant(key: str, tenant_id: str, request: Request, services: ServicesDep, actor: PrincipalDep,
                            body: JsonBody = None) -> dict[str, Any]:
    return _start(request, services, actor, body, key=key, tenant_id=tenant_id)


@router.post("/{definition_id}/start")
def start_by_id(definition_id: str, request: Request, services: ServicesDep, actor: PrincipalDep,
                body: JsonBody = None) -> dict:
    return _start(request, services, actor, body, definition_id=definition_id)


def _restart_request(body: dict[str, Any], services: Services, actor: Principal
                     ) -> tuple[list[str], list[Instruction], dict[str, bool]]:
    """Camunda's RestartProcessInstanceDto: the cases (processInstanceIds, historicProcessInstanceQuery),
    the instructions, and how the new cases take the ended ones' variables and business keys."""
    instructions = start_instructions(body, "instructions", services)
    options = {"initial_variables": flag(body.get("initialVariables"), "initialVariables"),
               "without_business_key": flag(body.get("withoutBusinessKey"), "withoutBusinessKey")}
    return queries.instance_targets(body, services, actor, runtime=False), instructions, options


@router.post("/{definition_id}/restart", status_code=204, dependencies=[_ADMINISTER],
             summary="Start ended cases of the definition again at the instructions' activities, with their "
                     "variables and business keys, all in one unit of work")
def restart_instances(definition_id: str, services: ServicesDep, actor: PrincipalDep,
                      body: JsonBody = None) -> Response:
    targets, instructions, options = _restart_request(body or {}, services, actor)
    restart.restart(services, definition_id, targets, instructions, actor=actor, **options)
    return Response(status_code=204)


@router.post("/{definition_id}/restart-async", dependencies=[_ADMINISTER],
             summary="Restart ended cases of the definition later, each in its own unit of work (a batch)")
def restart_instances_async(definition_id: str, services: ServicesDep, actor: PrincipalDep,
                            body: JsonBody = None) -> dict[str, Any]:
    targets, instructions, options = _restart_request(body or {}, services, actor)
    batch = batches.create_restart(services, definition_id, targets, instructions, actor=actor, **options)
    return render.batch(batch, services.settings.zone)


@router.post("/key/{key}/submit-form")
def submit_start_form_by_key(key: str, request: Request, services: ServicesDep, actor: PrincipalDep,
                             body: JsonBody = None) -> dict:
    return _start(request, services, actor, body, key=key, start_form=True)


@router.post("/key/{key}/tenant-id/{tenant_id}/submit-form")
def submit_start_form_by_key_and_tenant(key: str, tenant_id: str, request: Request, services: ServicesDep,
                                        actor: PrincipalDep, body: JsonBody = None) -> dict:
    return _start(request, services, actor, body, key=key, tenant_id=tenant_id, start_form=True)


@router.post("/{definition_id}/submit-form")
def submit_start_form_by_id(definition_id: str, request: Request, services: ServicesDep, actor: PrincipalDep,
                            body: JsonBody = None) -> dict:
    return _start(request, services, actor, body, definition_id=definition_id, start_form=True)


@router.get("/key/{key}/form-variables")
def start_form_variables_by_key(key: str, services: ServicesDep) -> dict[str, Any]:
    return form_variables(deployments.start_form(services, key=key).fields, {}, services.settings.zone)


@router.get("/key/{key}/tenant-id/{tenant_id}/form-variables")
def start_form_variables_by_key_and_tenant(key: str, tenant_id: str, services: ServicesDep) -> dict[str, Any]:
    return form_variables(deployments.start_form(services, key=key, tenant_id=tenant_id).fields, {},
                          services.settings.zone)


@router.get("/{definition_id}/form-variables")
def start_form_variables_by_id(definition_id: str, services: ServicesDep) -> dict[str, Any]:
    return form_variables(deployments.start_form(services, definition_id=definition_id).fields, {},
                          services.settings.zone)


def _start_form(services: Services, **which: str) -> dict[str, Any]:
    """Camunda's FormDto; camunda:formRef forms are not read here, so camundaFormRef is always null."""
    return {"key": deployments.start_form(services, **which).key, "camundaFormRef": None, "contextPath": None}


@router.get("/key/{key}/startForm")
def start_form_by_key(key: str, services: ServicesDep) -> dict[str, Any]:
    return _start_form(services, key=key)


@router.get("/key/{key}/tenant-id/{tenant_id}/startForm")
def start_form_by_key_and_tenant(key: str, tenant_id: str, services: ServicesDep) -> dict[str, Any]:
    return _start_form(services, key=key, tenant_id=tenant_id)


@router.get("/{definition_id}/startForm")
def start_form_by_id(definition_id: str, services: ServicesDep) -> dict[str, Any]:
    return _start_form(services, definition_id=definition_id)


def _rendered_start_form(services: Services, **which: str) -> Response:
    form = deployments.start_form(services, **which)
    return rendered_form_answer(rendered_form(form.fields), "No matching rendered start form for process definition "
                                                            f"with the id {form.definition.id} found.")


@router.get("/key/{key}/rendered-form", response_class=Response,
            summary="The start event's generated form as HTML (application/xhtml+xml)")
def rendered_start_form_by_key(key: str, services: ServicesDep) -> Response:
    return _rendered_start_form(services, key=key)


@router.get("/key/{key}/tenant-id/{tenant_id}/rendered-form", response_class=Response)
def rendered_start_form_by_key_and_tenant(key: str, tenant_id: str, services: ServicesDep) -> Response:
    return _rendered_start_form(services, key=key, tenant_id=tenant_id)


@router.get("/{definition_id}/rendered-form", response_class=Response)
def rendered_start_form_by_id(definition_id: str, services: ServicesDep) -> Response:
    return _rendered_start_form(services, definition_id=definition_id)


@router.get("/key/{key}/deployed-start-form", response_class=Response,
            summary="The start form deployed with the process: deployments here hold no forms (400 or 404)")
def deployed_start_form_by_key(key: str, services: ServicesDep) -> Response:
    deployments.deployed_start_form(services, key=key)


@router.get("/key/{key}/tenant-id/{tenant_id}/deployed-start-form", response_class=Response)
def deployed_start_form_by_key_and_tenant(key: str, tenant_id: str, services: ServicesDep) -> Response:
    deployments.deployed_start_form(services, key=key, tenant_id=tenant_id)


@router.get("/{definition_id}/deployed-start-form", response_class=Response)
def deployed_start_form_by_id(definition_id: str, services: ServicesDep) -> Response:
    deployments.deployed_start_form(services, definition_id=definition_id)


def _diagram(services: Services, **which: str) -> Response:
    """Camunda answers a process's image deployed with it, else 204. Deployments here take only
    BPMN and DMN files, so no process has an image: the definition is looked up (404 when unknown)
    and the answer is 204 No Content."""
    deployments.find_definition(services, **which)
    return Response(status_code=204)


@router.get("/key/{key}/diagram", status_code=204, response_class=Response)
def diagram_by_key(key: str, services: ServicesDep) -> Response:
    return _diagram(services, key=key)


@router.get("/key/{key}/tenant-id/{tenant_id}/diagram", status_code=204, response_class=Response)
def diagram_by_key_and_tenant(key: str, tenant_id: str, services: ServicesDep) -> Response:
    return _diagram(services, key=key, tenant_id=tenant_id)


@router.get("/{definition_id}/diagram", status_code=204, response_class=Response)
def diagram_by_id(definition_id: str, services: ServicesDep) -> Response:
    return _diagram(services, definition_id=definition_id)


def _history_time_to_live(services: Services, actor: Principal, body: dict[str, Any] | None,
                          **which: str) -> Response:
    deployments.set_history_time_to_live(services, history_time_to_live(body), user_id=actor.user_id, **which)
    return Response(status_code=204)


@router.put("/key/{key}/history-time-to-live", status_code=204, dependencies=[_UPDATE])
def history_time_to_live_by_key(key: str, services: ServicesDep, actor: PrincipalDep,
                                body: JsonBody = None) -> Response:
    return _history_time_to_live(services, actor, body, key=key)


@router.put("/key/{key}/tenant-id/{tenant_id}/history-time-to-live", status_code=204, dependencies=[_UPDATE])
def history_time_to_live_by_key_and_tenant(key: str, tenant_id: str, services: ServicesDep, actor: PrincipalDep,
                                           body: JsonBody = None) -> Response:
    return _history_time_to_live(services, actor, body, key=key, tenant_id=tenant_id)


@router.put("/{definition_id}/history-time-to-live", status_code=204, dependencies=[_UPDATE])
def history_time_to_live_by_id(definition_id: str, services: ServicesDep, actor: PrincipalDep,
                               body: JsonBody = None) -> Response:
    return _history_time_to_live(services, actor, body, definition_id=definition_id)


def _delete(request: Request, services: Services, actor: Principal, **which: str) -> Response:
    """Camunda's query parameters cascade, skipCustomListeners, skipIoMappings. Only definitions no
    case used are deleted, so there are no instances whose listeners or mappings the last two skip."""
    p = query_dict(request)
    for name in ("skipCustomListeners", "skipIoMappings"):
        flag(p.get(name), name)
    deployments.delete_definitions(services, cascade=flag(p.get("cascade"), "cascade"), user_id=actor.user_id,
                                   **which)
    return Response(status_code=204)


@router.delete("/key/{key}", status_code=204, dependencies=[_DELETE],
               summary="Delete every version of a key (of no tenant) that no case used")
def delete_by_key(key: str, request: Request, services: ServicesDep, actor: PrincipalDep) -> Response:
    return _delete(request, services, actor, key=key)


@router.delete("/key/{key}/tenant-id/{tenant_id}", status_code=204, dependencies=[_DELETE],
               summary="Delete every version of a key of a tenant that no case used")
def delete_by_key_and_tenant(key: str, tenant_id: str, request: Request, services: ServicesDep,
                             actor: PrincipalDep) -> Response:
    return _delete(request, services, actor, key=key, tenant_id=tenant_id)


@router.delete("/{definition_id}", status_code=204, dependencies=[_DELETE],
               summary="Delete a process definition no case used")
def delete_by_id(definition_id: str, request: Request, services: ServicesDep, actor: PrincipalDep) -> Response:
    return _delete(request, services, actor, definition_id=definition_id)


@router.get("/{definition_id}/static-called-process-definitions",
            summary="The definitions its call activities call with a constant calledElement")
def static_called_definitions(definition_id: str, services: ServicesDep) -> list[dict[str, Any]]:
    return [{**render.definition(called), "calledFromActivityIds": activities,
             "callingProcessDefinitionId": definition_id}
            for called, activities in deployments.static_called_definitions(services, definition_id)]

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from app.access.accounts import Principal
from app.access.permissions import SYSTEMS
from app.cases import batches, instances, modification, suspension
from app.context import Services
from app.engine import ActivityInstanceNode, Instruction
from app.errors import InvalidRequest, NotFound
from app.rest.binary import DATA_RESPONSES, named_data, uploaded
from app.rest.camunda import queries, render
from app.rest.camunda.job import refuse_retries
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep, role
from app.rest.listing import counted, listed
from app.rest.params import flag, query_dict, required_boolean, text, text_list
from app.rest.routing import ServiceRouter
from app.rest.variables import (
    decode_value,
    decode_variables,
    encode_named,
    encode_variables,
    modifications_and_deletions,
)

router = ServiceRouter(prefix="/engine-rest/process-instance", tags=["process-instance"])
# Changing a running instance's data or ending it is for administrators.
_ADMINISTER = role(permission="UPDATE", resource_type="ProcessInstance")
_SUSPEND = role(permission="SUSPEND", resource_type="ProcessInstance")
# Message batches are the senders' (POST /message); job commands the operators' (PUT /job/{id}/retries).
_SENDER = role(SYSTEMS, permission="CREATE", resource_type="Message")
_JOB_OPERATOR = role(SYSTEMS, permission="UPDATE", resource_type="Job")
_LISTS = frozenset({"processInstanceIds", "tenantIdIn", "processDefinitionKeyIn", "processDefinitionKeyNotIn",
                    "activityIdIn"})


def _list(request: Request, services: Services, viewer: Principal, params: dict[str, Any]) -> list[dict[str, Any]]:
    query, keep = queries.instance_listing(params, services, viewer)
    return listed(services, query, params, lambda row: render.instance(request, row), keep)


@router.get("")
def list_instances(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    return _list(request, services, viewer, query_dict(request, _LISTS))


@router.post("")
def query_instances(request: Request, services: ServicesDep, viewer: PrincipalDep,
                    body: JsonBody = None) -> list[dict[str, Any]]:
    params = {**(body or {}), **query_dict(request)}
    return _list(request, services, viewer, params)


@router.get("/count")
def count_instances(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    return counted(services, *queries.instance_listing(query_dict(request, _LISTS), services, viewer))


@router.post("/count")
def count_instances_by_body(services: ServicesDep, viewer: PrincipalDep, body: JsonBody = None) -> dict[str, int]:
    return counted(services, *queries.instance_listing(body or {}, services, viewer))


@router.put("/suspended", status_code=204, dependencies=[_SUSPEND])
def suspend_instances(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    """By definition id, by definition key (of a tenant, or of none), or by a list of instance ids."""
    body = body or {}
    suspended = required_boolean(body, "suspended")
    if body.get("processInstanceQuery") is not None or body.get("historicProcessInstanceQuery") is not None:
        raise InvalidRequest("processInstanceQuery and historicProcessInstanceQuery are not supported: "
                             "name the instances in processInstanceIds")
    instance_ids = text_list(body.get("processInstanceIds"), "processInstanceIds")
    definition_id, definition_key = text(body, "processDefinitionId"), text(body, "processDefinitionKey")
    if instance_ids and (definition_id or definition_key):
        raise InvalidRequest("Give processInstanceIds or a process definition, not both")
    if not instance_ids:
        if definition_id is None and definition_key is None:
            raise InvalidRequest("Either processDefinitionId or processDefinitionKey should be set to update "
                                 "the suspension state.")
        if definition_id is not None and definition_key is not None:
            raise InvalidRequest("Only one of processDefinitionId or processDefinitionKey should be set to update "
                                 "the suspension state.")
    suspension.suspend_instances(
        services, suspended=suspended, actor=actor, instance_ids=instance_ids, definition_id=definition_id,
        definition_key=definition_key, tenant_id=text(body, "processDefinitionTenantId"),
        without_tenant=flag(body.get("processDefinitionWithoutTenantId"), "processDefinitionWithoutTenantId"))
    return Response(status_code=204)


@router.put("/{instance_id}/suspended", status_code=204, dependencies=[_SUSPEND])
def suspend_instance(instance_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    suspension.suspend_instance(services, instance_id, suspended=required_boolean(body or {}, "suspended"),
                                actor=actor)
    return Response(status_code=204)


@router.get("/{instance_id}")
def get_instance(instance_id: str, request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, Any]:
    return render.instance(request, instances.readable_instance(services, instance_id, viewer))


@router.delete("/{instance_id}", status_code=204, dependencies=[_ADMINISTER])
def delete_instance(instance_id: str, request: Request, services: ServicesDep, actor: PrincipalDep) -> Response:
    params = query_dict(request)
    try:
        instances.delete_instance(services, instance_id, reason=params.get("deleteReason"), actor=actor,
                                  skip_subprocesses=flag(params.get("skipSubprocesses"), "skipSubprocesses"))
    except NotFound:
        if params.get("failIfNotExists", "true").lower() != "false":
            raise
    return Response(status_code=204)


@router.get("/{instance_id}/variables")
def get_variables(instance_id: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    return encode_variables(instances.instance_variables(services, instance_id, reader), services.settings.zone)


@router.post("/{instance_id}/variables", status_code=204, dependencies=[_ADMINISTER])
def modify_variables(instance_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    modifications, deletions = modifications_and_deletions(body, services.settings)
    instances.modify_variables(services, instance_id, modifications=modifications, deletions=deletions, actor=actor)
    return Response(status_code=204)


@router.get("/{instance_id}/variables/{name}")
def get_variable(instance_id: str, name: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    values = instances.instance_variables(services, instance_id, reader)
    return encode_named(values, name, "process instance", services.settings.zone)


@router.put("/{instance_id}/variables/{name}", status_code=204, dependencies=[_ADMINISTER])
def put_variable(instance_id: str, name: str, services: ServicesDep, actor: PrincipalDep,
                 body: JsonBody = None) -> Response:
    value = decode_value(name, body or {}, services.settings)
    instances.modify_variables(services, instance_id, modifications={name: value}, deletions=(), actor=actor)
    return Response(status_code=204)


@router.get("/{instance_id}/variables/{name}/data", response_class=Response, responses=DATA_RESPONSES,
            summary="The content of a Bytes or File variable of the case")
def variable_data(instance_id: str, name: str, services: ServicesDep, reader: PrincipalDep) -> Response:
    return named_data(services, instances.instance_variables(services, instance_id, reader), name,
                      "process instance", instance_id)


@router.post("/{instance_id}/variables/{name}/data", status_code=204, dependencies=[_ADMINISTER],
             summary="Set a Bytes or File variable of the case (multipart: data, valueType)")
async def post_variable_data(instance_id: str, name: str, request: Request, services: ServicesDep,
                             actor: PrincipalDep) -> Response:
    value = await uploaded(request, name, services)
    await run_in_threadpool(instances.modify_variables, services, instance_id, modifications={name: value},
                            deletions=(), actor=actor)
    return Response(status_code=204)


@router.delete("/{instance_id}/variables/{name}", status_code=204, dependencies=[_ADMINISTER])
def delete_variable(instance_id: str, name: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    instances.modify_variables(services, instance_id, modifications={}, deletions=(name,), actor=actor)
    return Response(status_code=204)


def _activity_instance(tree: modification.ActivityTree, node: ActivityInstanceNode, parent_id: str) -> dict[str, Any]:
    incidents = tree.incidents.get(node.id, [])
    return {"id": node.id, "parentActivityInstanceId": parent_id, "activityId": node.activity_id,
            "activityType": node.activity_type, "processInstanceId": tree.instance.id,
            "processDefinitionId": tree.instance.definition_id,
            "childActivityInstances": [_activity_instance(tree, child, node.id) for child in node.children],
            "childTransitionInstances": [], "executionIds": [node.id], "activityName": node.activity_name,
            "name": node.activity_name,  # Camunda's older name of activityName, which clients still read
            "incidentIds": [incident_id for incident_id, _ in incidents],
            "incidents": [{"id": incident_id, "activityId": activity_id} for incident_id, activity_id in incidents]}


@router.get("/{instance_id}/activity-instances",
            summary="The activity instance tree of a running instance: what runs where, as Camunda 7 shows it")
def activity_instances(instance_id: str, services: ServicesDep, viewer: PrincipalDep) -> dict[str, Any]:
    tree = modification.activity_tree(services, instance_id, viewer)
    instance = tree.instance
    # As in Camunda, the instance is the root activity instance, named by its process definition's id.
    return {"id": instance.id, "parentActivityInstanceId": None, "activityId": instance.definition_id,
            "activityType": "processDefinition", "processInstanceId": instance.id,
            "processDefinitionId": instance.definition_id,
            "childActivityInstances": [_activity_instance(tree, node, instance.id) for node in tree.children],
            "childTransitionInstances": [], "executionIds": [instance.id], "activityName": tree.process_name,
            "name": tree.process_name, "incidentIds": [], "incidents": []}


# The fields each instruction type needs, as Camunda's REST checks them.
_REQUIRED = {"startBeforeActivity": "activityId", "startAfterActivity": "activityId", "startTransition": "transitionId"}


def _instruction(raw: Any, services: Services) -> Instruction:
    if not isinstance(raw, dict):
        raise InvalidRequest("each instruction must be an object")
    kind = raw.get("type")
    if kind not in (*_REQUIRED, "cancel"):
        raise InvalidRequest(f"Instruction type '{kind}' is not supported: use startBeforeActivity, "
                             "startAfterActivity, startTransition or cancel")
    names = ("activityId", "transitionId", "activityInstanceId", "transitionInstanceId")
    for name in names:
        if raw.get(name) is not None and (not isinstance(raw[name], str) or not raw[name]):
            raise InvalidRequest(f"'{name}' must be a text")
    if kind in _REQUIRED and not raw.get(_REQUIRED[kind]):
        raise InvalidRequest(f"For instruction type '{kind}': '{_REQUIRED[kind]}' must be set")
    if kind == "cancel":
        given = [name for name in ("activityId", "activityInstanceId", "transitionInstanceId") if raw.get(name)]
        if len(given) != 1:
            raise InvalidRequest("For instruction type 'cancel': exactly one, 'activityId', 'activityInstanceId', "
                                 "or 'transitionInstanceId', is required")
        if given == ["transitionInstanceId"]:
            # The service runs no asynchronous continuations: no token ever waits on a transition.
            raise InvalidRequest("For instruction type 'cancel': no transition instance exists here; cancel by "
                                 "'activityId' or 'activityInstanceId'")
    return Instruction(kind, raw.get("activityId") if kind != "startTransition" else None,
                       raw.get("transitionId") if kind == "startTransition" else None,
                       raw.get("activityInstanceId") if kind == "cancel" else None,
                       decode_variables(raw.get("variables"), services.settings) if kind != "cancel" else {})


def start_instructions(body: dict[str, Any], name: str, services: Services) -> list[Instruction]:
    """Camunda's start instructions of a new instance (a start's `startInstructions`, a restart's
    `instructions`): the modification's, but for `cancel`, which has nothing to cancel there."""
    raw = body.get(name)
    if raw is not None and not isinstance(raw, list):
        raise InvalidRequest(f"'{name}' must be a list of instructions")
    for flag_name in ("skipCustomListeners", "skipIoMappings"):
        flag(body.get(flag_name), flag_name)  # accepted and checked, as by a modification
    found = [_instruction(item, services) for item in raw or ()]
    if any(instruction.kind == "cancel" for instruction in found):
        raise InvalidRequest(f"'{name}': a new instance has nothing to cancel; use startBeforeActivity, "
                             "startAfterActivity or startTransition")
    return found


def modification_request(body: dict[str, Any], services: Services) -> tuple[list[Instruction], str | None]:
    """The instructions and annotation of a modification request, checked as Camunda's REST checks them."""
    raw = body.get("instructions")
    if not isinstance(raw, list):
        raise InvalidRequest("'instructions' must be a list of instructions")
    annotation = body.get("annotation")
    if annotation is not None and (not isinstance(annotation, str) or len(annotation) > 4000):
        raise InvalidRequest("'annotation' must be a text of at most 4000 characters")
    for name in ("skipCustomListeners", "skipIoMappings"):
        flag(body.get(name), name)  # accepted and checked; nothing here runs listeners or mappings to skip
    return [_instruction(item, services) for item in raw], annotation


@router.post("/{instance_id}/modification", status_code=204, dependencies=[_ADMINISTER],
             summary="Cancel activity instances and start tokens before or after activities, in order, as one step "
                     "(skipCustomListeners and skipIoMappings change nothing here)")
def modify_instance(instance_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    instructions, annotation = modification_request(body or {}, services)
    modification.modify(services, instance_id, instructions, annotation=annotation, actor=actor)
    return Response(status_code=204)


# --- Batches: validated and answered at once, run by the timer worker (app.cases.batches) ---


def _batch(services: Services, kind: str, targets: list[str], configuration: dict[str, Any], actor: Principal,
           empty_message: str) -> dict[str, Any]:
    batch = batches.create(services, kind, targets, configuration, actor=actor, empty_message=empty_message)
    return render.batch(batch, services.settings.zone)


def _deletion(body: dict[str, Any]) -> dict[str, Any]:
    for name in ("skipCustomListeners", "skipIoMappings"):
        flag(body.get(name), name)
    return {"deleteReason": text(body, "deleteReason"),
            "skipSubprocesses": flag(body.get("skipSubprocesses"), "skipSubprocesses")}


@router.post("/delete", dependencies=[_ADMINISTER],
             summary="Delete the cases of processInstanceIds, processInstanceQuery and historicProcessInstanceQuery, "
                     "each later as DELETE /process-instance/{id} does (a batch)")
def delete_async(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> dict[str, Any]:
    body = body or {}
    return _batch(services, batches.INSTANCE_DELETION, queries.instance_targets(body, services, actor),
                  _deletion(body), actor, "processInstanceIds is empty")


@router.post("/delete-historic-query-based", dependencies=[_ADMINISTER],
             summary="Delete the running cases of processInstanceIds and historicProcessInstanceQuery (a batch)")
def delete_async_historic_query_based(services: ServicesDep, actor: PrincipalDep,
                                      body: JsonBody = None) -> dict[str, Any]:
    body = body or {}
    return _batch(services, batches.INSTANCE_DELETION, queries.instance_targets(body, services, actor, runtime=False),
                  _deletion(body), actor, "processInstanceIds is empty")


@router.post("/suspended-async", dependencies=[_SUSPEND],
             summary="Suspend or activate many cases, each later as PUT /process-instance/{id}/suspended (a batch)")
def suspend_async(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> dict[str, Any]:
    body = body or {}
    suspended = required_boolean(body, "suspended")
    return _batch(services, batches.SUSPENSION, queries.instance_targets(body, services, actor),
                  {"suspended": suspended}, actor, "No process instance ids given: process Instance Ids is empty")


@router.post("/variables-async", dependencies=[_ADMINISTER],
             summary="Set variables on many cases, each later as POST /process-instance/{id}/variables (a batch)")
def set_variables_async(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> dict[str, Any]:
    body = body or {}
    variables = decode_variables(body.get("variables"), services.settings)
    if not variables:
        raise InvalidRequest("variables is empty")
    instances.refuse_reserved_keys(variables)
    return _batch(services, batches.SET_VARIABLES, queries.instance_targets(body, services, actor),
                  {"variables": batches.stored_values(variables)}, actor, "processInstanceIds is empty")


@router.post("/message-async", dependencies=[_SENDER],
             summary="Correlate a message to many cases, each later to what of it waits for the message (a batch)")
def correlate_message_async(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> dict[str, Any]:
    body = body or {}
    name = text(body, "messageName")
    if not name:
        raise InvalidRequest("messageName is null")
    variables = decode_variables(body.get("variables"), services.settings)
    instances.refuse_reserved_keys(variables)
    return _batch(services, batches.CORRELATE_MESSAGE, queries.instance_targets(body, services, actor),
                  {"messageName": name, "variables": batches.stored_values(variables)}, actor,
                  "processInstanceIds is empty")


@router.post("/{instance_id}/modification-async", dependencies=[_ADMINISTER],
             summary="Modify a case later, as POST /process-instance/{id}/modification does (a batch of one)")
def modify_instance_async(instance_id: str, services: ServicesDep, actor: PrincipalDep,
                          body: JsonBody = None) -> dict[str, Any]:
    instructions, annotation = modification_request(body or {}, services)
    if not instructions:
        raise InvalidRequest("'instructions' must name at least one instruction")
    instances.readable_instance(services, instance_id, actor)
    return _batch(services, batches.MODIFICATION, [instance_id],
                  {"instructions": [batches.stored_instruction(item) for item in instructions],
                   "annotation": annotation}, actor, "processInstanceIds is empty")


@router.post("/job-retries", dependencies=[_JOB_OPERATOR],
             summary="Refused: the service's timers have no retries (see the README's note)")
def set_job_retries_async(body: JsonBody = None) -> Response:
    refuse_retries(body)


@router.post("/job-retries-historic-query-based", dependencies=[_JOB_OPERATOR],
             summary="Refused: the service's timers have no retries (see the README's note)")
def set_job_retries_async_historic_query_based(body: JsonBody = None) -> Response:
    refuse_retries(body)

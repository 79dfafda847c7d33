"""Deploying BPMN files: versions by key, duplicate filtering, definitions and their XML."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy import ColumnElement, Select, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal, stored_principal
from app.audit import ledger
from app.cases import job_log
from app.cases.listing import Keep
from app.context import Services
from app.definitions import decisions
from app.engine import (
    SEMANTICS,
    FormField,
    ProcessModel,
    check_timers,
    checksum,
    parse_decision_requirements,
    parse_decision_resources,
    parse_deployment,
    schedule_start_timer,
)
from app.errors import DefinitionInUse, InvalidRequest, NotFound, NotFoundByQuery
from app.persistence.models import (
    DecisionDefinition,
    DecisionRequirementsDefinition,
    Deployment,
    DeploymentResource,
    EventSubscription,
    HistoryEvent,
    Incident,
    ProcessDefinition,
    ProcessInstance,
    Timer,
)
from app.persistence.queries import (
    DefinitionNarrowing,
    IncidentMatch,
    definition_sorts,
    later_than,
    latest_versions_only,
    like,
    narrowed_definitions,
    resource_text,
    sorted_by,
)


@dataclass
class DeploymentResult:
    deployment: Deployment
    # Definitions created by this call; empty when duplicate filtering found nothing new.
    definitions: list[ProcessDefinition] = field(default_factory=list)
    decisions: list[DecisionDefinition] = field(default_factory=list)
    requirements: list[DecisionRequirementsDefinition] = field(default_factory=list)


def _of_tenant(tenant_id: str | None) -> ColumnElement[bool]:
    """Definitions of this tenant; without one, those deployed for no tenant."""
    return ProcessDefinition.tenant_id.is_(None) if tenant_id is None else ProcessDefinition.tenant_id == tenant_id


def _latest_definition(session: Session, key: str | None, tenant_id: str | None) -> ProcessDefinition | None:
    return session.scalars(
        select(ProcessDefinition)
        .where(ProcessDefinition.key == key, _of_tenant(tenant_id))
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    ).first()


def deploy(services: Services, *, name: str | None, source: str | None, tenant_id: str | None,
           resources: dict[str, bytes], duplicate_filtering: bool, changed_only: bool,
           user_id: str | None = None) -> DeploymentResult:
    if not resources:
        raise InvalidRequest("A deployment needs at least one resource (a .bpmn file)")
    for resource, content in resources.items():
        if len(content) > services.settings.max_upload_bytes:
            raise InvalidRequest(f"{resource}: {len(content)} bytes is more than the limit of "
                                 f"{services.settings.max_upload_bytes} bytes per file")
    models = parse_deployment(resources)
    tables = parse_decision_resources(resources)
    graphs = parse_decision_requirements(resources)
    for model in models:
        check_timers(model, services.timer_limits)
        for hook in services.hooks:
            hook.check_model(model)
    now = services.clock.now()
    with services.db.write() as session:
        latest = {model.key: _latest_definition(session, model.key, tenant_id) for model in models}
        changed = [m for m in models if (held := latest[m.key]) is None or held.checksum != m.checksum]
        changed_tables = decisions.changed(session, tables, tenant_id)
        if (duplicate_filtering or changed_only) and not changed and not changed_tables:
            # Nothing new: answer with the deployment that already holds these versions.
            holder = latest[models[0].key] if models else decisions.latest(session, tables[0].key, tenant_id)
            if holder is not None:  # unchanged, so already deployed
                return DeploymentResult(session.get_one(Deployment, holder.deployment_id))
        to_version = changed if changed_only else models
        deployment = Deployment(id=str(uuid.uuid4()), name=name, source=source, tenant_id=tenant_id,
                                deployment_time=now)
        session.add(deployment)
        for resource, content in resources.items():
            session.add(DeploymentResource(id=str(uuid.uuid4()), deployment_id=deployment.id, name=resource,
                                           content=content, checksum=checksum(content)))
        definitions = [_new_version(session, deployment, model, latest[model.key], tenant_id)
                       for model in to_version]
        session.flush()  # the deployment row first: the decision versions refer to it
        decision_definitions = decisions.add_versions(session, deployment,
                                                      changed_tables if changed_only else tables, tenant_id)
        requirements = decisions.add_requirements(session, deployment, graphs, decision_definitions, tenant_id)
        session.flush()
        for definition, model in zip(definitions, to_version, strict=True):
            _register_start_events(services, session, definition, model)
        ledger.record_admin(session, "deployment.created", f"deployment:{deployment.id}", now, user_id, name=name,
                            source=source, tenant_id=tenant_id,
                            resources={resource: checksum(content) for resource, content in resources.items()},
                            process_definitions=[definition.id for definition in definitions],
                            decision_definitions=[definition.id for definition in decision_definitions],
                            decision_requirements_definitions=[definition.id for definition in requirements])
    for definition, model in zip(definitions, to_version, strict=True):
        services.models.put(definition.id, model)
    return DeploymentResult(deployment, definitions, decision_definitions, requirements)


def _new_version(session: Session, deployment: Deployment, model: ProcessModel,
                 latest: ProcessDefinition | None, tenant_id: str | None) -> ProcessDefinition:
    version = (latest.version if latest else 0) + 1
    definition = ProcessDefinition(
        id=f"{model.key}:{version}:{uuid.uuid4()}",
        key=model.key,
        version=version,
        name=model.name,
        version_tag=model.version_tag,
        deployment_id=deployment.id,
        resource_name=model.resource_name,
        checksum=model.checksum,
        history_time_to_live=model.history_time_to_live,
        tenant_id=tenant_id,
        suspended=False,
        startable_in_tasklist=model.startable_in_tasklist,
        semantics=SEMANTICS,
        category=model.category,
        description=model.description,
    )
    session.add(definition)
    return definition


def _register_start_events(services: Services, session: Session, definition: ProcessDefinition,
                           model: ProcessModel) -> None:
    """Message, signal, conditional and timer start events belong to the newest version of a key: the
    previous version's stop waiting, the new version's start."""
    older = select(ProcessDefinition.id).where(ProcessDefinition.key == definition.key,
                                               ProcessDefinition.id != definition.id, _of_tenant(definition.tenant_id))
    session.execute(delete(EventSubscription).where(EventSubscription.process_instance_id.is_(None),
                                                    EventSubscription.process_definition_id.in_(older)))
    now = services.clock.now()
    for replaced in session.scalars(select(Timer).where(Timer.process_instance_id.is_(None),
                                                        Timer.process_definition_id.in_(older))):
        job_log.start_timer_changed(session, replaced, "deletion", now,
                                    services.models.get(session, str(replaced.process_definition_id)).timer_jobs,
                                    definition.tenant_id)
    session.execute(delete(Timer).where(Timer.process_instance_id.is_(None), Timer.process_definition_id.in_(older)))
    for start in model.start_events:
        if start.kind in ("message", "signal", "conditional"):
            # A conditional start event is named by its id: POST /condition evaluates every one.
            session.add(EventSubscription(id=str(uuid.uuid4()), kind=start.kind,
                                          event_name=start.event_name or start.id, process_instance_id=None,
                                          process_definition_id=definition.id, activity_id=start.id, task_id=None,
                                          business_key=None,
                                          tenant_id=definition.tenant_id, created=now))
        elif start.kind == "timer":
            due, repeat = schedule_start_timer(model, start.id, services.run_context())
            timer = Timer(id=str(uuid.uuid4()), process_instance_id=None, process_definition_id=definition.id,
                          process_definition_key=definition.key, activity_id=start.id, due_at=due,
                          repeat=repeat, created=now, priority=0)
            session.add(timer)
            job_log.start_timer_changed(session, timer, "creation", now, model.timer_jobs, definition.tenant_id)


def get_deployment(session: Session, deployment_id: str) -> Deployment:
    deployment = session.get(Deployment, deployment_id)
    if deployment is None:
        raise NotFound(f"Deployment with id '{deployment_id}' does not exist")
    return deployment


# Camunda's deployment sort keys.
DEPLOYMENT_SORTS = {"id": Deployment.id, "name": Deployment.name, "deploymentTime": Deployment.deployment_time,
                    "tenantId": Deployment.tenant_id}


@dataclass(frozen=True)
class DeploymentFilter:
    """Camunda's deployment query; every filter given must hold."""

    id: str | None = None
    name: str | None = None
    name_like: str | None = None
    source: str | None = None
    without_source: bool = False
    tenant_ids: tuple[str, ...] = ()
    with_untenanted: bool = False
    without_tenant: bool = False
    before: datetime | None = None
    after: datetime | None = None
    sorting: tuple[tuple[str, bool], ...] = ()


def deployment_query(criteria: DeploymentFilter) -> Select:
    c = criteria
    conditions: list[ColumnElement[bool]] = []
    for value, column in ((c.id, Deployment.id), (c.name, Deployment.name), (c.source, Deployment.source)):
        if value is not None:
            conditions.append(column == value)
    if c.name_like is not None:
        conditions.append(like(Deployment.name, c.name_like))
    if c.without_source:
        conditions.append(Deployment.source.is_(None))
    if c.without_tenant:  # as Camunda: it replaces a list of tenants given with it
        conditions.append(Deployment.tenant_id.is_(None))
    elif c.tenant_ids:
        tenanted = Deployment.tenant_id.in_(c.tenant_ids)
        conditions.append(or_(tenanted, Deployment.tenant_id.is_(None)) if c.with_untenanted else tenanted)
    if c.before is not None:
        conditions.append(Deployment.deployment_time < c.before)
    if c.after is not None:
        conditions.append(later_than(Deployment.deployment_time, c.after))
    order = [sorted_by(DEPLOYMENT_SORTS[key], descending)
             for key, descending in c.sorting]
    return select(Deployment).where(*conditions).order_by(*order, Deployment.deployment_time, Deployment.id)


def resources_of(session: Session, deployment_id: str) -> list[DeploymentResource]:
    return list(session.scalars(select(DeploymentResource).where(DeploymentResource.deployment_id == deployment_id)
                                .order_by(DeploymentResource.name)))


DEFINITION_SORTS = definition_sorts(ProcessDefinition)


def starters_kept(services: Services, *, named_user: str | None, caller: Principal | None) -> Keep | None:
    """Camunda's startableBy (the versions whose candidate starters name the user or one of the user's
    groups, as Camunda's identity links do) and startablePermissionCheck (those the caller may start),
    read from each version's model; None when neither is asked."""
    if named_user is None and caller is None:
        return None
    groups: dict[str, frozenset[str]] = {}

    def keep(session: Session, definition: ProcessDefinition) -> bool:
        model = services.models.get(session, definition.id)
        if named_user is not None:
            if named_user not in groups:
                groups[named_user] = stored_principal(session, named_user).groups
            if named_user not in model.starter_users and not groups[named_user] & set(model.starter_groups):
                return False
        return caller is None or permissions.may_start(caller, model)
    return keep


def definition_query(*, ids: list[str] | None = None, key: str | None = None, keys: list[str] | None = None,
                     latest_version: bool = False,
                     deployment_id: str | None = None, name: str | None = None,
                     version: int | None = None, suspended: bool | None = None, startable: bool | None = None,
                     narrowing: DefinitionNarrowing | None = None, incident: IncidentMatch | None = None) -> Select:
    query = select(ProcessDefinition)
    if startable is not None:  # Camunda's startableInTasklist (True) and notStartableInTasklist (False)
        query = query.where(ProcessDefinition.startable_in_tasklist.is_(startable))
    if ids:
        query = query.where(ProcessDefinition.id.in_(ids))
    if key is not None:
        query = query.where(ProcessDefinition.key == key)
    if keys:
        query = query.where(ProcessDefinition.key.in_(keys))
    if deployment_id is not None:
        query = query.where(ProcessDefinition.deployment_id == deployment_id)
    if name is not None:
        query = query.where(ProcessDefinition.name == name)
    if version is not None:
        query = query.where(ProcessDefinition.version == version)
    if suspended is not None:
        query = query.where(ProcessDefinition.suspended.is_(suspended))
    if latest_version:
        query = latest_versions_only(query, ProcessDefinition)
    if incident is not None and incident.given():  # an open incident of the definition that is so
        query = query.where(exists().where(Incident.process_definition_id == ProcessDefinition.id,
                                           Incident.end_time.is_(None), *incident.conditions()))
    order: list[Any] = []
    if narrowing is not None:
        query = query.where(*narrowed_definitions(ProcessDefinition, narrowing))
        order = [sorted_by(DEFINITION_SORTS[sort_key], descending)
                 for sort_key, descending in narrowing.sorting]
    return query.order_by(*order, ProcessDefinition.key, ProcessDefinition.version)


def latest_by_key(session: Session, key: str | None, tenant_id: str | None = None) -> ProcessDefinition:
    """The newest version of the key (None, a caller's missing key, finds none and says so)."""
    definition = _latest_definition(session, key, tenant_id)
    if definition is None:
        tenant = "no tenant-id" if tenant_id is None else f"tenant-id: {tenant_id}"
        raise NotFound(f"No matching process definition with key: {key} and {tenant}")
    return definition


def called_definition(session: Session, key: str, caller: ProcessDefinition, *, binding: str,
                      version: int | None = None, version_tag: str | None = None) -> ProcessDefinition | None:
    """The definition a call activity of `caller` starts, as camunda:calledElementBinding says: the
    latest version of the key, the one deployed with the caller, a version number, or the latest
    version carrying a version tag; looked up among the caller's tenant's definitions, as Camunda does."""
    query = select(ProcessDefinition).where(ProcessDefinition.key == key, _of_tenant(caller.tenant_id))
    if binding == "deployment":
        query = query.where(ProcessDefinition.deployment_id == caller.deployment_id)
    elif binding == "version":
        query = query.where(ProcessDefinition.version == version)
    elif binding == "versionTag":
        query = query.where(ProcessDefinition.version_tag == version_tag)
    return session.scalars(query.order_by(ProcessDefinition.version.desc()).limit(1)).first()


def get_definition(session: Session, definition_id: str) -> ProcessDefinition:
    definition = session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise NotFound(f"No matching definition with id {definition_id}")
    return definition


def deploy_directory(services: Services, directory: Path) -> list[DeploymentResult]:
    """Deploy every .dmn and .bpmn file of a directory, one deployment each (decisions first, so that
    processes find them), skipping unchanged files."""
    if not directory.is_dir():
        raise InvalidRequest(f"Deploy directory '{directory}' does not exist")
    return [deploy(services, name=path.stem, source="deploy-on-start", tenant_id=None,
                   resources={path.name: path.read_bytes()}, duplicate_filtering=True, changed_only=True)
            for path in [*sorted(directory.glob("*.dmn")), *sorted(directory.glob("*.bpmn"))]]


def find_definition(services: Services, *, definition_id: str | None = None, key: str | None = None,
                    tenant_id: str | None = None) -> ProcessDefinition:
    """A process definition by id, or the latest version of a key (of a tenant)."""
    with services.db.read() as session:
        return _definition(session, definition_id, key, tenant_id)


def definition_with_xml(services: Services, *, definition_id: str | None = None, key: str | None = None,
                        tenant_id: str | None = None) -> tuple[ProcessDefinition, str]:
    with services.db.read() as session:
        definition = _definition(session, definition_id, key, tenant_id)
        return definition, resource_text(session, definition.deployment_id, definition.resource_name)


@dataclass(frozen=True)
class StartForm:
    definition: ProcessDefinition
    # camunda:formKey of the start event (None without one) and its generated form's fields.
    key: str | None
    fields: tuple[FormField, ...]


def start_form(services: Services, *, definition_id: str | None = None, key: str | None = None,
               tenant_id: str | None = None) -> StartForm:
    with services.db.read() as session:
        definition = _definition(session, definition_id, key, tenant_id)
        model = services.models.get(session, definition.id)
        return StartForm(definition, model.start_form_key, model.start_form)


def deployed_start_form(services: Services, *, definition_id: str | None = None, key: str | None = None,
                        tenant_id: str | None = None) -> NoReturn:
    """The start event's form deployed with the process: none ever is (below)."""
    form = start_form(services, definition_id=definition_id, key=key, tenant_id=tenant_id)
    refuse_deployed_form(form.key, form.definition.deployment_id)


def refuse_deployed_form(form_key: str | None, deployment_id: str) -> NoReturn:
    """Camunda's answers (AbstractGetDeployedFormCmd) for a form key that names no deployed form:
    deployments here hold only process and decision files, so a `deployment:` key never finds its
    form either. camunda:formRef is not read, so a form without a formKey has neither."""
    if form_key is None:
        raise InvalidRequest("One of the attributes 'formKey' and 'camunda:formRef' must be supplied but none "
                             "were set.")
    resource = next((form_key[len(prefix):] for prefix in ("embedded:", "camunda-forms:")
                     if form_key.startswith(prefix)), form_key)
    if not resource.startswith("deployment:"):
        raise InvalidRequest(f"The form key '{form_key}' does not reference a deployed form.")
    raise NotFoundByQuery(f"The form with the resource name '{resource.removeprefix('deployment:')}' cannot be "
                          f"found in deployment with id {deployment_id}")


def set_history_time_to_live(services: Services, days: int | None, *, user_id: str | None,
                             definition_id: str | None = None, key: str | None = None,
                             tenant_id: str | None = None) -> None:
    """Days the history of the definition's ended cases is kept (None: without limit), recorded in
    the administrative history with the value it replaces."""
    with services.db.write() as session:
        definition = _definition(session, definition_id, key, tenant_id)
        previous, definition.history_time_to_live = definition.history_time_to_live, days
        ledger.record_admin(session, "definition.history_time_to_live", f"process-definition:{definition.id}",
                            services.clock.now(), user_id, previous=previous, value=days)


def _definition(session: Session, definition_id: str | None, key: str | None, tenant_id: str | None
                ) -> ProcessDefinition:
    return get_definition(session, definition_id) if definition_id else latest_by_key(session, key, tenant_id)


def registered_deployments(services: Services) -> list[str]:
    """Camunda's deployments registered with the job executor: here every deployment, since the
    timer workers serve all of them."""
    with services.db.read() as session:
        return list(session.scalars(select(Deployment.id).order_by(Deployment.deployment_time, Deployment.id)))


def find_deployment(services: Services, deployment_id: str) -> Deployment:
    with services.db.read() as session:
        return get_deployment(session, deployment_id)


def deployment_resources(services: Services, deployment_id: str) -> list[DeploymentResource]:
    with services.db.read() as session:
        get_deployment(session, deployment_id)
        return resources_of(session, deployment_id)


def deployment_resource(services: Services, deployment_id: str, resource_id: str) -> DeploymentResource:
    with services.db.read() as session:
        found = session.get(DeploymentResource, resource_id)
        if found is None or found.deployment_id != deployment_id:
            raise NotFound(f"Deployment resource with resource id '{resource_id}' for deployment id "
                           f"'{deployment_id}' does not exist.")
        return found


def redeploy(services: Services, deployment_id: str, *, resource_ids: list[str], resource_names: list[str],
             source: str | None, user_id: str | None) -> DeploymentResult:
    """A new deployment of the resources of an earlier one (all, or those named by id or name): new
    versions of its processes and decisions, as Camunda's redeploy makes them."""
    with services.db.read() as session:
        deployment = get_deployment(session, deployment_id)
        held = resources_of(session, deployment_id)
    chosen = [resource for resource in held
              if (not resource_ids and not resource_names) or resource.id in resource_ids
              or resource.name in resource_names]
    unknown = (set(resource_ids) - {resource.id for resource in held}) | (
        set(resource_names) - {resource.name for resource in held})
    if unknown:
        raise InvalidRequest(f"Deployment {deployment_id} has no resource {', '.join(sorted(unknown))}")
    return deploy(services, name=deployment.name, source=source, tenant_id=deployment.tenant_id,
                  resources={resource.name: resource.content for resource in chosen},
                  duplicate_filtering=False, changed_only=False, user_id=user_id)


def delete_deployment(services: Services, deployment_id: str, *, user_id: str | None) -> None:
    """Remove a deployment that no case has used. A case's record (its replay and export, years
    later) needs the definitions it ran on and the decisions it evaluated, so a deployment whose
    processes have instances, running or ended, or whose decisions a case evaluated, is kept; Camunda's
    `cascade`, which deletes the cases and their history with it, is not offered. The previous
    version of each key it held becomes the newest again, its start events waiting once more."""
    with services.db.write() as session:
        get_deployment(session, deployment_id)
        processes = list(session.scalars(select(ProcessDefinition)
                                         .where(ProcessDefinition.deployment_id == deployment_id)))
        decision_ids = list(session.scalars(select(DecisionDefinition.id)
                                            .where(DecisionDefinition.deployment_id == deployment_id)))
        evaluated = decision_ids and session.scalars(select(HistoryEvent.id).where(
            HistoryEvent.kind == "decision.evaluated",
            HistoryEvent.payload["decision_definition_id"].as_string().in_(decision_ids)).limit(1)).first()
        if _cases_of(session, processes) or evaluated:
            raise InvalidRequest(f"Deployment {deployment_id} cannot be deleted: cases ran on its definitions, and "
                                 "their record (replay, export) needs them. Deploy a new version instead")
        _remove_processes(services, session, processes)
        session.execute(delete(DecisionDefinition).where(DecisionDefinition.id.in_(decision_ids)))
        session.execute(delete(DecisionRequirementsDefinition).where(
            DecisionRequirementsDefinition.deployment_id == deployment_id))
        session.execute(delete(DeploymentResource).where(DeploymentResource.deployment_id == deployment_id))
        session.execute(delete(Deployment).where(Deployment.id == deployment_id))
        ledger.record_admin(session, "deployment.deleted", f"deployment:{deployment_id}", services.clock.now(),
                            user_id, process_definitions=[definition.id for definition in processes],
                            decision_definitions=decision_ids)


def _cases_of(session: Session, processes: list[ProcessDefinition], *, running: bool = False) -> int:
    """How many cases, running or (unless `running`) ended too, ran on the definitions."""
    query = select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.definition_id.in_([definition.id for definition in processes]))
    if running:
        query = query.where(ProcessInstance.end_time.is_(None))
    return session.scalar(query) or 0


def _remove_processes(services: Services, session: Session, processes: list[ProcessDefinition]) -> None:
    """Remove process definitions no case ran on, with their waiting start events. Where one was the
    newest of its key, the previous version is the newest again and its start events wait once more."""
    ids = [definition.id for definition in processes]
    keys = {(definition.key, definition.tenant_id) for definition in processes}
    newest = {key: _latest_definition(session, *key) for key in keys}
    session.execute(delete(EventSubscription).where(EventSubscription.process_definition_id.in_(ids)))
    session.execute(delete(Timer).where(Timer.process_definition_id.in_(ids)))
    session.execute(delete(ProcessDefinition).where(ProcessDefinition.id.in_(ids)))
    for key, was_newest in newest.items():
        previous = _latest_definition(session, *key)
        if was_newest is not None and was_newest.id in ids and previous is not None:
            _register_start_events(services, session, previous, services.models.get(session, previous.id))


def delete_definitions(services: Services, *, cascade: bool, user_id: str | None, definition_id: str | None = None,
                       key: str | None = None, tenant_id: str | None = None) -> None:
    """Remove a process definition (by id), or every version of a key (of a tenant, or of none), as
    Camunda's DeleteProcessDefinitionsCmd does, under the rules of deleting a deployment: refused while
    cases run on one (Camunda's ENGINE-03076), and kept when ended cases ran on it, whose record
    (replay, export) needs it; `cascade`, which would delete the cases and their history, is not
    offered. One unit of work: all go, or none. The deployment and its files stay, as in Camunda."""
    with services.db.write() as session:
        if definition_id is not None:
            found = session.get(ProcessDefinition, definition_id)
            if found is None:
                raise NotFoundByQuery(f"No process definition found with id '{definition_id}': "
                                      "processDefinition is null")
            processes = [found]
        else:
            processes = list(session.scalars(select(ProcessDefinition).where(
                ProcessDefinition.key == key, _of_tenant(tenant_id)).order_by(ProcessDefinition.version)))
            if not processes:
                raise NotFoundByQuery(f"No process definition found with key '{key}': processDefinitions is empty")
        for definition in processes:
            if cascade and _cases_of(session, [definition]):
                raise InvalidRequest(f"Process definition {definition.id} cannot be deleted with cascade: cases ran "
                                     "on it, and their record (replay, export) needs them and it")
            if running := _cases_of(session, [definition], running=True):
                raise DefinitionInUse(f"ENGINE-03076 Deletion of process definition without cascading failed. "
                                      f"Process definition with id: {definition.id} can't be deleted, because "
                                      f"there are {running} dependent process instances.")
            if _cases_of(session, [definition]):
                raise InvalidRequest(f"Process definition {definition.id} cannot be deleted: cases ran on it, and "
                                     "their record (replay, export) needs it. Deploy a new version instead")
        _remove_processes(services, session, processes)
        now = services.clock.now()
        for definition in processes:
            ledger.record_admin(session, "definition.deleted", f"process-definition:{definition.id}", now, user_id,
                                key=definition.key, version=definition.version, tenant_id=definition.tenant_id,
                                deployment_id=definition.deployment_id, cascade=cascade)


def static_called_definitions(services: Services, definition_id: str
                              ) -> list[tuple[ProcessDefinition, list[str]]]:
    """The definitions the call activities of a definition call when nothing of what they call is an
    expression, resolved by their binding as when a case reaches them (Camunda's
    getStaticCalledProcessDefinitions), each with the activities calling it; those not deployed
    (yet) are left out, as Camunda leaves them out."""
    with services.db.read() as session:
        caller = session.get(ProcessDefinition, definition_id)
        if caller is None:
            raise NotFoundByQuery(f"no deployed process definition found with id '{definition_id}': "
                                  "processDefinition is null")
        called: dict[str, tuple[ProcessDefinition, list[str]]] = {}
        for activity_id, call in sorted(services.models.get(session, caller.id).call_activities.items()):
            target = call.static_target()
            if target is None:
                continue
            key, version, version_tag = target
            found = called_definition(session, key, caller, binding=call.binding, version=version,
                                      version_tag=version_tag)
            if found is not None:
                called.setdefault(found.id, (found, []))[1].append(activity_id)
        return list(called.values())

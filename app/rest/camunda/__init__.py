"""The Camunda 7 `engine-rest` surface: same paths, shapes, status codes and error bodies."""
from app.rest.camunda import (
    attachment,
    authorization,
    batch,
    comment,
    condition,
    decision_definition,
    decision_requirements_definition,
    deployment,
    engine,
    event_subscription,
    execution,
    external_task,
    filter,
    history,
    history_cleanup,
    history_decisions,
    history_definition,
    history_logs,
    identity,
    incident,
    job,
    job_definition,
    job_log,
    message,
    metrics,
    migration,
    modification,
    process_definition,
    process_instance,
    system,
    task,
    tenant,
    variable_instance,
)
from app.rest.routing import ServiceRouter

# The modules' routers carry their full paths (/engine-rest/...): see ServiceRouter.
router = ServiceRouter()
for module in (engine, deployment, decision_definition, decision_requirements_definition, process_definition,
               process_instance, task, comment, attachment, history, job, message, external_task, variable_instance,
               execution, condition, identity, filter, incident, metrics, authorization, migration,
               job_definition, job_log, tenant, event_subscription, history_logs,
               history_decisions, history_cleanup, history_definition, system, batch, modification):
    router.include_router(module.router)

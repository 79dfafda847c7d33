"""Resources in the shapes Camunda 7 answers with: every key present, null where unknown."""
from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from fastapi import Request

from app.cases import history, history_logs
from app.cases.decision_history import CleanableDecisions, DecisionInstance
from app.cases.history_logs import LogRow
from app.cases.reports import DurationPeriod, TaskCount
from app.cases.variable_instances import VariableRow
from app.engine import ClauseValue
from app.persistence.models import (
    ActivityInstance,
    Batch,
    DecisionDefinition,
    DecisionRequirementsDefinition,
    Deployment,
    EventSubscription,
    ExternalTask,
    HistoryEvent,
    Incident,
    ProcessDefinition,
    ProcessInstance,
    TaskCandidate,
    UserTask,
)
from app.rest.variables import encode_value, encode_variables, format_instant


def link(request: Request, path: str, rel: str = "self", method: str = "GET") -> dict[str, str]:
    return {"method": method, "href": f"{str(request.base_url).rstrip('/')}/engine-rest{path}", "rel": rel}


def deployment(request: Request, row: Deployment, zone: tzinfo) -> dict[str, Any]:
    return {
        "links": [link(request, f"/deployment/{row.id}")],
        "id": row.id,
        "name": row.name,
        "source": row.source,
        "deploymentTime": format_instant(row.deployment_time, zone),
        "tenantId": row.tenant_id,
    }


def definition(row: ProcessDefinition) -> dict[str, Any]:
    return {
        "id": row.id,
        "key": row.key,
        "category": row.category,
        "description": row.description,
        "name": row.name,
        "version": row.version,
        "resource": row.resource_name,
        "deploymentId": row.deployment_id,
        "diagram": None,
        "suspended": row.suspended,
        "tenantId": row.tenant_id,
        "versionTag": row.version_tag,
        "historyTimeToLive": row.history_time_to_live,
        "startableInTasklist": row.startable_in_tasklist,
    }


def decision_definition(row: DecisionDefinition) -> dict[str, Any]:
    return {
        "id": row.id,
        "key": row.key,
        "category": row.category,
        "name": row.name,
        "version": row.version,
        "resource": row.resource_name,
        "deploymentId": row.deployment_id,
        "decisionRequirementsDefinitionId": row.decision_requirements_definition_id,
        "decisionRequirementsDefinitionKey": row.decision_requirements_definition_key,
        "tenantId": row.tenant_id,
        "versionTag": row.version_tag,
        "historyTimeToLive": row.history_time_to_live,
    }


def decision_requirements_definition(row: DecisionRequirementsDefinition) -> dict[str, Any]:
    return {"id": row.id, "key": row.key, "category": row.category, "name": row.name, "version": row.version,
            "resource": row.resource_name, "deploymentId": row.deployment_id, "tenantId": row.tenant_id}


def instance(request: Request, row: ProcessInstance, variables: dict[str, Any] | None = None,
             zone: tzinfo | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "links": [link(request, f"/process-instance/{row.id}")],
        "id": row.id,
        "definitionId": row.definition_id,
        "definitionKey": row.definition_key,
        "businessKey": row.business_key,
        "caseInstanceId": None,
        "ended": row.status != "ACTIVE",
        "suspended": row.suspended,
        "tenantId": row.tenant_id,
    }
    if variables is not None:
        if zone is None:
            raise TypeError("variables are rendered in the service's zone: pass it")
        body["variables"] = encode_variables(variables, zone)
    return body


def task(row: UserTask, zone: tzinfo) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name or row.task_definition_key,
        "assignee": row.assignee,
        "owner": row.owner,
        "created": format_instant(row.created, zone),
        "lastUpdated": format_instant(row.last_updated, zone),
        "due": format_instant(row.due, zone),
        "followUp": format_instant(row.follow_up, zone),
        "delegationState": row.delegation_state,
        "description": row.description,
        "executionId": row.process_instance_id,
        "parentTaskId": None,
        "priority": row.priority,
        "processDefinitionId": row.process_definition_id,
        "processInstanceId": row.process_instance_id,
        "caseExecutionId": None,
        "caseDefinitionId": None,
        "caseInstanceId": None,
        "taskDefinitionKey": row.task_definition_key,
        "suspended": row.suspended,
        "formKey": row.form_key,
        "camundaFormRef": None,
        "tenantId": row.tenant_id,
        "taskState": "Created",
    }


def identity_link(row: TaskCandidate) -> dict[str, Any]:
    return {"userId": row.identity if row.kind == "user" else None,
            "groupId": row.identity if row.kind == "group" else None, "type": "candidate"}


def _duration_ms(start: datetime, end: datetime | None) -> int | None:
    return None if end is None else int((end - start).total_seconds() * 1000)


def historic_instance(row: ProcessInstance, definition_row: ProcessDefinition, restarted_from: str | None,
                      zone: tzinfo) -> dict[str, Any]:
    return {
        "id": row.id,
        "businessKey": row.business_key,
        "processDefinitionId": row.definition_id,
        "processDefinitionKey": row.definition_key,
        "processDefinitionName": definition_row.name,
        "processDefinitionVersion": definition_row.version,
        "startTime": format_instant(row.start_time, zone),
        "endTime": format_instant(row.end_time, zone),
        "removalTime": None,
        "durationInMillis": _duration_ms(row.start_time, row.end_time),
        "startUserId": row.start_user_id,
        "startActivityId": row.start_activity_id,
        "deleteReason": row.delete_reason,
        "rootProcessInstanceId": row.root_process_instance_id or row.id,
        "superProcessInstanceId": row.super_process_instance_id,
        "superCaseInstanceId": None,
        "caseInstanceId": None,
        "tenantId": row.tenant_id,
        "state": history.SUSPENDED_STATE if row.status == "ACTIVE" and row.suspended else row.status,
        "restartedProcessInstanceId": restarted_from,
    }


def historic_activity(row: ActivityInstance, zone: tzinfo) -> dict[str, Any]:
    return {
        "id": row.id,
        "parentActivityInstanceId": row.process_instance_id,
        "activityId": row.activity_id,
        "activityName": row.activity_name,
        "activityType": row.activity_type,
        "processDefinitionKey": row.process_definition_key,
        "processDefinitionId": row.process_definition_id,
        "processInstanceId": row.process_instance_id,
        "executionId": row.process_instance_id,
        "taskId": row.task_id,
        "calledProcessInstanceId": row.called_process_instance_id,
        "calledCaseInstanceId": None,
        "assignee": row.assignee,
        "startTime": format_instant(row.start_time, zone),
        "endTime": format_instant(row.end_time, zone),
        "durationInMillis": _duration_ms(row.start_time, row.end_time),
        "canceled": row.canceled,
        "completeScope": row.activity_type.endswith("EndEvent") and not row.canceled,
        "tenantId": row.tenant_id,
        "removalTime": None,
        "rootProcessInstanceId": row.process_instance_id,
    }


def historic_task(row: Any, zone: tzinfo) -> dict[str, Any]:
    """A user task from a row of the historic task query: a task of a case from its activity instance
    (whose id is the task's), or a standalone task from its own record."""
    ended = row.end_time is not None
    return {
        "id": row.id,
        "processDefinitionKey": row.process_definition_key,
        "processDefinitionId": row.process_definition_id,
        "processInstanceId": row.process_instance_id,
        "executionId": row.process_instance_id,
        "caseDefinitionKey": None,
        "caseDefinitionId": None,
        "caseInstanceId": None,
        "caseExecutionId": None,
        "activityInstanceId": row.id if row.process_instance_id is not None else None,
        "name": row.activity_name or row.activity_id,
        "description": row.description,
        "deleteReason": row.delete_reason,
        "owner": row.owner,
        "assignee": row.assignee,
        "startTime": format_instant(row.start_time, zone),
        "endTime": format_instant(row.end_time, zone),
        "duration": _duration_ms(row.start_time, row.end_time),
        "taskDefinitionKey": row.activity_id,
        "priority": row.priority,
        "due": format_instant(row.due, zone),
        "parentTaskId": None,
        "followUp": format_instant(row.follow_up, zone),
        "tenantId": row.tenant_id,
        "removalTime": None,
        "rootProcessInstanceId": row.process_instance_id,
        "taskState": ("Completed" if row.delete_reason == "completed" else "Deleted") if ended else "Created",
    }


def variable_instance(row: VariableRow, zone: tzinfo) -> dict[str, Any]:
    """A process-level variable: its execution and activity instance are the process instance's."""
    return {
        "id": row.id,
        "name": row.name,
        **encode_value(row.value, zone),
        "processDefinitionId": row.instance.definition_id,
        "processInstanceId": row.instance.id,
        "executionId": row.instance.id,
        "caseInstanceId": None,
        "caseExecutionId": None,
        "taskId": None,
        "batchId": None,
        "activityInstanceId": row.instance.id,
        "tenantId": row.instance.tenant_id,
        "errorMessage": None,
    }


def historic_variable_instance(row: VariableRow, zone: tzinfo) -> dict[str, Any]:
    """The variable's creation time is not recorded (variables live in the instance's state)."""
    body = variable_instance(row, zone)
    del body["batchId"]
    return {**body, "processDefinitionKey": row.instance.definition_key, "caseDefinitionKey": None,
            "caseDefinitionId": None, "state": "CREATED", "createTime": None, "removalTime": None,
            "rootProcessInstanceId": row.instance.id}


def external_task(row: ExternalTask, zone: tzinfo) -> dict[str, Any]:
    return {
        "id": row.id,
        "activityId": row.activity_id,
        "activityInstanceId": row.id,
        "errorMessage": row.error_message,
        "executionId": row.id,
        "lockExpirationTime": format_instant(row.lock_expiration, zone),
        "createTime": format_instant(row.created, zone),
        "processDefinitionId": row.process_definition_id,
        "processDefinitionKey": row.process_definition_key,
        "processDefinitionVersionTag": row.process_definition_version_tag,
        "processInstanceId": row.process_instance_id,
        "tenantId": row.tenant_id,
        "retries": row.retries,
        "suspended": row.suspended,
        "workerId": row.worker_id,
        "topicName": row.topic_name,
        "priority": row.priority,
        "businessKey": row.business_key,
    }


def locked_external_task(row: ExternalTask, variables: dict[str, Any], extension_properties: dict[str, str],
                         zone: tzinfo) -> dict[str, Any]:
    return {**external_task(row, zone), "errorDetails": row.error_details,
            "variables": encode_variables(variables, zone), "extensionProperties": extension_properties}


def incident(row: Incident, zone: tzinfo) -> dict[str, Any]:
    return {
        "id": row.id,
        "processDefinitionId": row.process_definition_id,
        "processInstanceId": row.process_instance_id,
        "executionId": row.execution_id or row.configuration,
        "incidentTimestamp": format_instant(row.created, zone),
        "incidentType": row.incident_type,
        "activityId": row.activity_id,
        "failedActivityId": row.activity_id,
        "causeIncidentId": row.id,
        "rootCauseIncidentId": row.id,
        "configuration": row.configuration,
        "tenantId": row.tenant_id,
        "incidentMessage": row.message,
        "jobDefinitionId": None,
        "annotation": row.annotation,
    }


def historic_incident(row: Incident, zone: tzinfo) -> dict[str, Any]:
    ended = row.end_time is not None
    return {**incident(row, zone), "processDefinitionKey": row.process_definition_id.rsplit(":", 2)[0],
            "rootProcessInstanceId": row.process_instance_id, "createTime": format_instant(row.created, zone),
            "endTime": format_instant(row.end_time, zone) if ended else None, "removalTime": None,
            "historyConfiguration": None, "open": not ended, "deleted": ended and not row.resolved,
            "resolved": ended and row.resolved}


def user_operation(row: Any, zone: tzinfo) -> dict[str, Any]:
    """A row of the user operation query (a case's history event, or a standalone task's
    administrative event) as an entry of Camunda's user operation log."""
    logged = history.USER_OPERATIONS[row.kind]

    def value(field: str | None) -> str | None:
        found = row.payload.get(field) if field else None
        return None if found is None else str(found)

    operation_id = f"{row.process_instance_id}:{row.sequence}" if row.process_instance_id is not None \
        else f"admin:{row.sequence}"
    return {"id": row.id if row.process_instance_id is not None else operation_id, "deploymentId": None,
            "processDefinitionId": row.definition_id, "processDefinitionKey": row.definition_key,
            "processInstanceId": row.process_instance_id, "executionId": row.process_instance_id,
            "caseDefinitionId": None, "caseInstanceId": None, "caseExecutionId": None,
            "taskId": row.task_id if logged.entity_type != "ProcessInstance" else None, "jobId": None,
            "jobDefinitionId": None,
            "batchId": row.payload.get("batchId"), "userId": row.user_id,
            "timestamp": format_instant(row.occurred_at, zone),
            "operationId": operation_id, "externalTaskId": None,
            "operationType": logged.operation_type, "entityType": logged.entity_type, "property": logged.property,
            "orgValue": value(logged.org_value), "newValue": value(logged.new_value),
            "annotation": (row.annotated or {}).get("annotation"),
            "category": logged.category, "tenantId": row.tenant_id}


def duration_period(row: DurationPeriod) -> dict[str, Any]:
    return {"period": row.period, "periodUnit": row.period_unit, "maximum": row.maximum, "minimum": row.minimum,
            "average": row.average}


def task_count(row: TaskCount) -> dict[str, Any]:
    return {"count": row.count, "processDefinitionKey": row.definition_key,
            "processDefinitionId": row.definition_id, "processDefinitionName": row.definition_name,
            "taskName": row.task_name, "tenantId": row.tenant_id}


def event_subscription(row: EventSubscription, zone: tzinfo) -> dict[str, Any]:
    """A start event's subscription has no execution and no instance, as in Camunda."""
    return {"id": row.id, "eventType": row.kind, "eventName": row.event_name, "executionId": row.task_id,
            "processInstanceId": row.process_instance_id, "activityId": row.activity_id,
            "createdDate": format_instant(row.created, zone), "tenantId": row.tenant_id}


def _of_instance(instance: ProcessInstance) -> dict[str, Any]:
    """The keys every historic log row has about the case it belongs to."""
    return {"processInstanceId": instance.id, "processDefinitionId": instance.definition_id,
            "processDefinitionKey": instance.definition_key, "tenantId": instance.tenant_id, "removalTime": None,
            "rootProcessInstanceId": instance.root_process_instance_id or instance.id}


def external_task_log(row: tuple[HistoryEvent, ProcessInstance], zone: tzinfo) -> dict[str, Any]:
    """An event of an external task's life; the task is its own activity instance and execution."""
    event, instance = row
    payload, state = event.payload, history_logs.EXTERNAL_TASK_LOGS[event.kind]
    return {"id": str(event.id), "timestamp": format_instant(event.occurred_at, zone), "externalTaskId": event.task_id,
            "topicName": payload.get("topic"), "workerId": payload.get("worker_id"),
            "retries": payload.get("retries"), "priority": payload.get("priority"),
            "errorMessage": payload.get("error_message"), "activityId": event.activity_id,
            "activityInstanceId": event.task_id, "executionId": event.task_id, **_of_instance(instance),
            **{name: name == state for name in history_logs.EXTERNAL_TASK_LOGS.values()}}


def identity_link_log(row: LogRow, zone: tzinfo) -> dict[str, Any]:
    return {"id": row.id, "time": format_instant(row.time, zone), "type": row.fields["type"],
            "userId": row.fields["userId"], "groupId": row.fields["groupId"], "taskId": row.event.task_id,
            "operationType": row.fields["operationType"], "assignerId": row.event.user_id, **_of_instance(row.instance)}


def historic_detail(row: LogRow, zone: tzinfo) -> dict[str, Any]:
    """A variable update (its value typed as the variable instances type it) or a submitted form field."""
    fields = row.fields
    body = {"id": row.id, "type": fields["type"], "activityInstanceId": fields["activityInstanceId"],
            "executionId": fields["executionId"], "caseDefinitionKey": None, "caseDefinitionId": None,
            "caseInstanceId": None, "caseExecutionId": None, "taskId": fields["taskId"],
            "userOperationId": fields["userOperationId"], "time": format_instant(row.time, zone),
            **_of_instance(row.instance)}
    if fields["type"] == history_logs.FORM_FIELD:
        return {**body, "fieldId": fields["fieldId"], "fieldValue": fields["fieldValue"]}
    typed = fields["typed"]
    return {**body, "variableName": fields["variableName"], "variableInstanceId": fields["variableInstanceId"],
            "variableType": typed["type"], "value": typed["value"], "valueInfo": typed["valueInfo"],
            "revision": fields["revision"], "initial": fields["initial"], "errorMessage": None}


def _clause(instance: DecisionInstance, number: int, kind: str, value: ClauseValue, zone: tzinfo) -> dict[str, Any]:
    shown = {"id": f"{instance.id}-{kind}-{number}", "decisionInstanceId": instance.id, "clauseId": value.clause_id,
             "clauseName": value.clause_name, "errorMessage": None, **encode_value(value.value, zone),
             "createTime": format_instant(instance.evaluated_at, zone), "removalTime": None,
             "rootProcessInstanceId": instance.root_process_instance_id}
    if kind == "output":
        shown.update(ruleId=value.rule_id, ruleOrder=value.rule_order, variableName=value.variable_name)
    return shown


def historic_decision_instance(row: DecisionInstance, zone: tzinfo) -> dict[str, Any]:
    """Camunda's HistoricDecisionInstanceDto; inputs and outputs are null unless asked for."""
    return {
        "id": row.id, "decisionDefinitionId": row.decision_definition_id,
        "decisionDefinitionKey": row.decision_definition_key, "decisionDefinitionName": row.decision_definition_name,
        "evaluationTime": format_instant(row.evaluated_at, zone), "removalTime": None,
        "processDefinitionId": row.process_definition_id, "processDefinitionKey": row.process_definition_key,
        "processInstanceId": row.process_instance_id, "rootProcessInstanceId": row.root_process_instance_id,
        "caseDefinitionId": None, "caseDefinitionKey": None, "caseInstanceId": None,
        "activityId": row.activity_id, "activityInstanceId": row.activity_instance_id, "userId": row.user_id,
        "inputs": None if row.inputs is None else [_clause(row, number, "input", value, zone)
                                                   for number, value in enumerate(row.inputs)],
        "outputs": None if row.outputs is None else [_clause(row, number, "output", value, zone)
                                                     for number, value in enumerate(row.outputs)],
        "collectResultValue": row.collect_result_value, "rootDecisionInstanceId": None,
        "decisionRequirementsDefinitionId": row.requirements_id,
        "decisionRequirementsDefinitionKey": row.requirements_key, "tenantId": row.tenant_id,
    }


def cleanable_decisions(row: CleanableDecisions) -> dict[str, Any]:
    definition = row.definition
    return {"decisionDefinitionId": definition.id, "decisionDefinitionKey": definition.key,
            "decisionDefinitionName": definition.name, "decisionDefinitionVersion": definition.version,
            "historyTimeToLive": definition.history_time_to_live, "finishedDecisionInstanceCount": row.finished,
            "cleanableDecisionInstanceCount": row.cleanable, "tenantId": definition.tenant_id}


def _batch_common(row: Batch) -> dict[str, Any]:
    # One batch job per target: the job definitions are named after the batch (not listed by /job-definition).
    return {"id": row.id, "type": row.type, "totalJobs": row.total_jobs, "batchJobsPerSeed": row.batch_jobs_per_seed,
            "invocationsPerBatchJob": row.invocations_per_batch_job, "seedJobDefinitionId": f"{row.id}:seed",
            "monitorJobDefinitionId": f"{row.id}:monitor", "batchJobDefinitionId": f"{row.id}:batch",
            "tenantId": row.tenant_id, "createUserId": row.create_user_id}


def batch(row: Batch, zone: tzinfo) -> dict[str, Any]:
    return {**_batch_common(row), "jobsCreated": row.total_jobs, "suspended": row.suspended,
            "startTime": format_instant(row.start_time, zone),
            "executionStartTime": format_instant(row.execution_start_time, zone)}


def batch_statistics(row: tuple[Batch, int, int], zone: tzinfo) -> dict[str, Any]:
    record, completed, failed = row
    return {**batch(record, zone), "remainingJobs": record.total_jobs - completed, "completedJobs": completed,
            "failedJobs": failed}


def historic_batch(row: Batch, zone: tzinfo) -> dict[str, Any]:
    return {**_batch_common(row), "startTime": format_instant(row.start_time, zone),
            "executionStartTime": format_instant(row.execution_start_time, zone),
            "endTime": format_instant(row.end_time, zone), "removalTime": format_instant(row.removal_time, zone)}

"""Every operation of the OpenAPI schema against every role: without credentials only /health, its
probes and /metrics (guarded by its own token) answer; each guarded command refuses (403) every role
but the ones it is for, and lets those through. A new operation that the table below does not name
fails here until it is classified."""
from __future__ import annotations

import re

import httpx

from app.access import accounts

ROLES = {"official": ["xj-urumqi-env"], "designer": ["designers"], "system": ["systems"],
         "auditor": ["auditors"], "admin": ["admins"]}
SIGNED_IN = frozenset(ROLES)
OPEN = frozenset({"anonymous", *ROLES})
ADMIN = frozenset({"admin"})
# Operation → the roles that pass its guard. Operations on a task or an instance are further limited
# to those who take part in it (tests/api/test_permissions.py, test_reading.py).
GUARDS = {
    "GET /health": OPEN, "GET /health/live": OPEN, "GET /health/ready": OPEN,
    # Not an account's: the scraper's token opens it, else it answers 404 to all (tests/api/test_prometheus.py).
    "GET /metrics": OPEN,
    "POST /api/clock": ADMIN, "PUT /api/calendar/{year}": ADMIN, "PUT /api/parks/{park_id}/standing": ADMIN,
    "POST /api/experts": ADMIN, "PUT /api/experts/{expert_id}": ADMIN,
    "GET /api/experts": frozenset({"auditor", "admin"}),
    "GET /api/history/verify": frozenset({"auditor", "admin"}),
    "GET /engine-rest/metrics/{metrics_name}/sum": frozenset({"auditor", "admin"}),
    "GET /engine-rest/metrics": frozenset({"auditor", "admin"}),
    **{f"{method} /engine-rest/{path}": frozenset({"auditor", "admin"}) for method, path in (
        ("GET", "deployment/registered"), ("GET", "schema/log"), ("POST", "schema/log"),
        ("GET", "telemetry/configuration"), ("GET", "telemetry/data"))},
    "POST /engine-rest/telemetry/configuration": ADMIN,
    "DELETE /engine-rest/metrics/task-worker": ADMIN,
    "GET /api/history/admin-events": frozenset({"auditor", "admin"}),
    "POST /api/experts/{expert_id}/conflicts": ADMIN, "POST /api/expert-draws": ADMIN,
    **{operation: frozenset({"designer", "admin"}) for operation in (
        "POST /engine-rest/deployment/create", "POST /engine-rest/deployment/{deployment_id}/redeploy",
        "DELETE /engine-rest/deployment/{deployment_id}", "DELETE /engine-rest/process-definition/{definition_id}",
        "DELETE /engine-rest/process-definition/key/{key}",
        "DELETE /engine-rest/process-definition/key/{key}/tenant-id/{tenant_id}")},
    "DELETE /engine-rest/process-instance/{instance_id}": ADMIN,
    "DELETE /engine-rest/history/process-instance/{instance_id}": ADMIN,
    "POST /engine-rest/history/cleanup": ADMIN,
    "DELETE /engine-rest/history/process-instance/{instance_id}/variable-instances": ADMIN,
    "DELETE /engine-rest/history/variable-instance/{variable_id}": ADMIN,
    **{f"GET /engine-rest/history/cleanup/{path}": frozenset({"auditor", "admin"})
       for path in ("job", "jobs", "configuration")},
    "POST /engine-rest/process-instance/{instance_id}/variables": ADMIN,
    "PUT /engine-rest/process-instance/{instance_id}/variables/{name}": ADMIN,
    "POST /engine-rest/process-instance/{instance_id}/variables/{name}/data": ADMIN,
    "DELETE /engine-rest/process-instance/{instance_id}/variables/{name}": ADMIN,
    "POST /engine-rest/process-instance/{instance_id}/modification": ADMIN,
    # Restarting ended cases, as modifying a running one (the async one is a batch).
    "POST /engine-rest/process-definition/{definition_id}/restart": ADMIN,
    "POST /engine-rest/process-definition/{definition_id}/restart-async": ADMIN,
    "POST /engine-rest/execution/{execution_id}/localVariables": ADMIN,
    "PUT /engine-rest/execution/{execution_id}/localVariables/{name}": ADMIN,
    "POST /engine-rest/execution/{execution_id}/localVariables/{name}/data": ADMIN,
    "DELETE /engine-rest/execution/{execution_id}/localVariables/{name}": ADMIN,
    **{f"POST /engine-rest/migration/{step}": ADMIN for step in ("generate", "validate", "execute")},
    **{f"PUT /engine-rest/{path}/suspended": ADMIN for path in (
        "process-instance", "process-instance/{instance_id}", "process-definition",
        "process-definition/{definition_id}", "process-definition/key/{key}",
        "process-definition/key/{key}/tenant-id/{tenant_id}")},
    **{f"PUT /engine-rest/{resource}-definition/{path}/history-time-to-live": ADMIN
       for resource in ("process", "decision") for path in ("{definition_id}", "key/{key}",
                                                             "key/{key}/tenant-id/{tenant_id}")},
    **{f"POST /engine-rest/{path}": frozenset({"system", "admin"}) for path in (
        "message", "signal", "external-task/fetchAndLock", "external-task/{task_id}/complete",
        "external-task/{task_id}/failure", "external-task/{task_id}/bpmnError", "external-task/{task_id}/extendLock",
        "external-task/{task_id}/unlock", "external-task/{task_id}/lock", "execution/{execution_id}/signal",
        "execution/{execution_id}/create-incident", "execution/{execution_id}/messageSubscriptions/{message_name}/trigger")},
    **{f"PUT /engine-rest/external-task/{path}": frozenset({"system", "admin"})
       for path in ("{task_id}/retries", "retries", "{task_id}/priority")},
    **{f"{method} /engine-rest/incident/{{incident_id}}{path}": frozenset({"system", "admin"})
       for method, path in (("DELETE", ""), ("PUT", "/annotation"), ("DELETE", "/annotation"))},
    **{f"{method} /engine-rest/job{path}": frozenset({"system", "admin"}) for method, path in (
        ("PUT", "/suspended"), ("PUT", "/{job_id}/duedate"), ("POST", "/{job_id}/duedate/recalculate"),
        ("POST", "/{job_id}/execute"), ("PUT", "/{job_id}/suspended"), ("PUT", "/{job_id}/priority"),
        ("PUT", "/{job_id}/retries"), ("DELETE", "/{job_id}"), ("PUT", "-definition/suspended"),
        ("PUT", "-definition/{job_definition_id}/suspended"), ("PUT", "-definition/{job_definition_id}/jobPriority"),
        ("PUT", "-definition/{job_definition_id}/retries"))},
    "GET /api/reminders": frozenset({"system", "admin"}),
    **{f"{method} /engine-rest/{path}": ADMIN for method, path in (
        ("POST", "user/create"), ("PUT", "user/{user_id}/profile"), ("PUT", "user/{user_id}/credentials"),
        ("DELETE", "user/{user_id}"), ("POST", "user/{user_id}/unlock"), ("POST", "group/create"),
        ("PUT", "group/{group_id}"), ("DELETE", "group/{group_id}"), ("PUT", "group/{group_id}/members/{user_id}"),
        ("DELETE", "group/{group_id}/members/{user_id}"), ("POST", "tenant/create"), ("PUT", "tenant/{tenant_id}"),
        ("DELETE", "tenant/{tenant_id}"), ("PUT", "tenant/{tenant_id}/user-members/{user_id}"),
        ("DELETE", "tenant/{tenant_id}/user-members/{user_id}"), ("PUT", "tenant/{tenant_id}/group-members/{group_id}"),
        ("DELETE", "tenant/{tenant_id}/group-members/{group_id}"))},
    # Batches: each as its synchronous command's guard; read by systems, auditors and administrators.
    **{f"POST /engine-rest/{path}": ADMIN for path in (
        "process-instance/delete", "process-instance/delete-historic-query-based", "process-instance/suspended-async",
        "process-instance/variables-async", "process-instance/{instance_id}/modification-async",
        "modification/execute", "modification/executeAsync", "migration/executeAsync",
        "history/process-instance/delete")},
    **{f"POST /engine-rest/{path}": frozenset({"system", "admin"}) for path in (
        "process-instance/message-async", "external-task/retries-async", "job/retries", "process-instance/job-retries",
        "process-instance/job-retries-historic-query-based")},
    **{f"GET /engine-rest/{path}": frozenset({"system", "auditor", "admin"}) for path in (
        "batch", "batch/count", "batch/{batch_id}", "batch/statistics", "batch/statistics/count", "history/batch",
        "history/batch/count", "history/batch/{batch_id}", "history/batch/cleanable-batch-report",
        "history/batch/cleanable-batch-report/count")},
    "PUT /engine-rest/batch/{batch_id}/suspended": ADMIN, "DELETE /engine-rest/batch/{batch_id}": ADMIN,
    "DELETE /engine-rest/history/batch/{batch_id}": ADMIN, "POST /engine-rest/history/batch/set-removal-time": ADMIN,
    "POST /engine-rest/history/process-instance/set-removal-time": ADMIN,
    "POST /engine-rest/history/decision-instance/delete": ADMIN,
    "POST /engine-rest/history/decision-instance/set-removal-time": ADMIN,
    # Camunda's CREATE on Task: any signed-in account makes its own to-do (tests/api/test_standalone_tasks.py).
    "POST /engine-rest/task/create": SIGNED_IN,
    "POST /api/reminders/fetchAndLock": frozenset({"system", "admin"}),
    "POST /api/reminders/{reminder_id}/complete": frozenset({"system", "admin"}),
}


def operations(service) -> list[tuple[str, str]]:
    with httpx.Client(base_url=service.base_url, timeout=30) as http:
        paths = http.get("/openapi.json").json()["paths"]
    return [(method.upper(), path) for path, items in paths.items() for method in items]


def test_every_operation_against_every_role(service):
    for role, groups in ROLES.items():
        accounts.save_account(service.services, f"matrix-{role}", f"matrix-{role}-password", groups)
    clients = {role: httpx.Client(base_url=service.base_url, timeout=30,
                                  auth=None if role == "anonymous" else (f"matrix-{role}", f"matrix-{role}-password"))
               for role in ["anonymous", *ROLES]}
    problems = []
    try:
        for method, path in operations(service):
            operation = f"{method} {path}"
            allowed = GUARDS.get(operation, SIGNED_IN)
            url = re.sub(r"\{year\}", "2026", re.sub(r"\{day\}", "2026-10-01", path))
            url = re.sub(r"\{[a-z_]+\}", "matrix-unknown", url)
            for role, http in clients.items():
                body = {} if method in ("POST", "PUT") else None
                status = http.request(method, url, json=body).status_code
                if role == "anonymous" and role not in allowed:
                    expected_ok = status == 401
                elif role in allowed:
                    expected_ok = status not in (401, 403) and status < 500
                else:
                    expected_ok = status == 403
                if not expected_ok:
                    problems.append(f"{operation} as {role}: {status}")
    finally:
        for http in clients.values():
            http.close()
    assert not problems, f"{len(problems)} unexpected answer(s):\n  " + "\n  ".join(problems)


def test_every_guarded_operation_exists(service):
    known = {f"{method} {path}" for method, path in operations(service)}
    assert set(GUARDS) <= known, sorted(set(GUARDS) - known)

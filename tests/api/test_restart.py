"""Camunda's start instructions and restart of ended process instances over engine-rest: a case
started at activities instead of its start event, and ended cases started again (at once, all or
none, or later as a batch) with their variables and business keys; replay reproduces each."""
from __future__ import annotations

import httpx

from app.access import accounts
from tests.api.test_batches import created, statistics, worker_pass
from tests.support.history import verify
from tests.support.http import as_user, deploy
from tests.support.paths import FIXTURES

SCOPES = FIXTURES / "constructs" / "modification_scopes.bpmn"
REVIEW = FIXTURES / "eco_review.bpmn"


def definition_id(client: httpx.Client) -> str:
    return deploy(client, SCOPES)["deployedProcessDefinitions"].popitem()[0]


def tasks(client: httpx.Client, instance_id: str) -> list[dict]:
    return client.get("/task", params={"processInstanceId": instance_id}).json()


def task_keys(client: httpx.Client, instance_id: str) -> list[str]:
    return sorted(task["taskDefinitionKey"] for task in tasks(client, instance_id))


def replayed(root: httpx.Client, instance_id: str) -> dict:
    return root.get(f"/api/process-instances/{instance_id}/replay").json()


def start_event(root: httpx.Client, instance_id: str) -> dict:
    events = root.get(f"/api/process-instances/{instance_id}/export").json()["events"]
    assert events[0]["kind"] == "process.started"
    return events[0]


def variables(client: httpx.Client, instance_id: str) -> dict:
    return {name: item["value"] for name, item in client.get(f"/process-instance/{instance_id}/variables").json()
            .items()}


def started_at(client: httpx.Client, path: str, *instructions: dict, **body) -> httpx.Response:
    return client.post(path, json={"startInstructions": list(instructions), "skipCustomListeners": True, **body})


def started_by_key(client: httpx.Client, *instructions: dict) -> dict:
    response = started_at(client, "/process-definition/key/inspection_case/start", *instructions)
    assert response.status_code == 200, response.text
    return response.json()


def complete_all(client: httpx.Client, instance_id: str, **values) -> None:
    for task in tasks(client, instance_id):
        response = client.post(f"/task/{task['id']}/complete",
                               json={"variables": {name: {"value": value} for name, value in values.items()}})
        assert response.status_code == 204, response.text


def ended_case(client: httpx.Client, business_key: str, **start_values) -> str:
    """A case started with the values, changed at its first task, then deleted (terminated)."""
    response = client.post("/process-definition/key/inspection_case/start", json={
        "businessKey": business_key, "variables": {name: {"value": value} for name, value in start_values.items()}})
    assert response.status_code == 200, response.text
    case = response.json()["id"]
    complete_all(client, case, finding="补正材料")
    assert client.delete(f"/process-instance/{case}").status_code == 204
    return case


def completed_case(client: httpx.Client, business_key: str, **start_values) -> str:
    """A case run to its end, its last task deciding no penalty."""
    response = client.post("/process-definition/key/inspection_case/start", json={
        "businessKey": business_key, "variables": {name: {"value": value} for name, value in start_values.items()}})
    case = response.json()["id"]
    for _ in range(4):  # register, the two checks of the subprocess, decide
        complete_all(client, case, finding="补正材料", penalize=False)
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    return case


def restart(client: httpx.Client, definition: str, *instructions: dict, suffix: str = "",
            **body) -> httpx.Response:
    return client.post(f"/process-definition/{definition}/restart{suffix}",
                       json={"instructions": list(instructions), **body})


def restarted_cases(client: httpx.Client, ended: str) -> list[dict]:
    rows = client.get("/history/process-instance", params={"processDefinitionKey": "inspection_case"}).json()
    return [row for row in rows if row["restartedProcessInstanceId"] == ended]


BEFORE_DECIDE = {"type": "startBeforeActivity", "activityId": "decide"}


# --- Start instructions ----------------------------------------------------------------------------

def test_a_case_starts_inside_a_subprocess_instead_of_at_its_start_event(client, root):
    definition = definition_id(client)
    response = started_at(client, f"/process-definition/{definition}/start",
                          {"type": "startBeforeActivity", "activityId": "check_site",
                           "variables": {"site": {"value": "二号厂区"}}},
                          businessKey="JC-9", variables={"inspector": {"value": "王"}}, withVariablesInReturn=True)
    assert response.status_code == 200, response.text
    case = response.json()
    assert case["businessKey"] == "JC-9" and case["definitionId"] == definition and case["ended"] is False
    assert {name: item["value"] for name, item in case["variables"].items()} == {"inspector": "王", "site": "二号厂区"}
    assert task_keys(client, case["id"]) == ["check_site"]
    activities = client.get("/history/activity-instance", params={"processInstanceId": case["id"],
                                                                  "sortBy": "startTime", "sortOrder": "asc"}).json()
    # No start event ran: the subprocess and the task are all the case went through.
    assert sorted(row["activityId"] for row in activities) == ["check_site", "materials"]
    history = client.get(f"/history/process-instance/{case['id']}").json()
    # Camunda's start activity: the first instruction's.
    assert history["startActivityId"] == "check_site" and history["startUserId"] == "test-admin"
    assert history["restartedProcessInstanceId"] is None
    complete_all(client, case["id"])
    complete_all(client, case["id"], penalize=False)
    assert client.get(f"/history/process-instance/{case['id']}").json()["state"] == "COMPLETED"
    result = replayed(root, case["id"])
    assert result["reproduced"] is True, result
    assert verify(root, case["id"])["intact"] is True


def test_a_case_started_before_its_end_event_ends_at_once(client, root):
    deploy(client, SCOPES)
    case = started_by_key(client, {"type": "startBeforeActivity", "activityId": "closed"})
    assert case["ended"] is True
    row = client.get(f"/history/process-instance/{case['id']}").json()
    assert row["state"] == "COMPLETED" and row["startActivityId"] == "closed"
    assert replayed(root, case["id"])["reproduced"] is True


def test_start_instructions_by_key_and_tenant_after_an_activity_and_on_a_transition(client, root):
    deploy(client, SCOPES)
    after = started_by_key(client, {"type": "startAfterActivity", "activityId": "register"})
    assert task_keys(client, after["id"]) == ["check_documents"]
    assert client.get(f"/history/process-instance/{after['id']}").json()["startActivityId"] == "materials"
    both = started_by_key(client, {"type": "startTransition", "transitionId": "g7"}, BEFORE_DECIDE)
    # The transition leads to the end event; the token before 'decide' keeps the case running.
    assert task_keys(client, both["id"]) == ["decide"]
    assert replayed(root, both["id"])["reproduced"] is True
    deploy(client, SCOPES, name="tenant", **{"tenant-id": "zj"})
    tenant = started_at(client, "/process-definition/key/inspection_case/tenant-id/zj/start", BEFORE_DECIDE)
    assert tenant.status_code == 200, tenant.text
    assert tenant.json()["tenantId"] == "zj" and task_keys(client, tenant.json()["id"]) == ["decide"]


def test_start_instructions_are_refused_as_a_modification_refuses_them(client, service):
    deploy(client, SCOPES)
    path = "/process-definition/key/inspection_case/start"
    before = len(client.get("/history/process-instance").json())
    unknown = started_at(client, path, {"type": "startBeforeActivity", "activityId": "nowhere"})
    assert unknown.status_code == 400 and unknown.json()["type"] == "InvalidRequestException"
    assert unknown.json()["message"] == ("Cannot perform instruction: Start before activity 'nowhere'; "
                                         "Activity 'nowhere' does not exist")
    missing = started_at(client, path, {"type": "startTransition"})
    assert missing.status_code == 400
    assert missing.json()["message"] == "For instruction type 'startTransition': 'transitionId' must be set"
    cancel = started_at(client, path, {"type": "cancel", "activityId": "register"})
    assert cancel.status_code == 400 and "nothing to cancel" in cancel.json()["message"]
    assert len(client.get("/history/process-instance").json()) == before  # nothing was started
    # Starting somewhere else than the start event is for administrators, as a modification is.
    accounts.save_account(service.services, "clerk-li", "clerk-li-password", ["clerks"])
    with as_user(service, "clerk-li") as clerk:
        refused = started_at(clerk, path, BEFORE_DECIDE)
        assert refused.status_code == 403 and refused.json()["type"] == "AuthorizationException"
        assert clerk.post(path, json={}).status_code == 200


# --- Restart -------------------------------------------------------------------------------------

def test_restart_starts_ended_cases_again_with_their_last_variables_and_business_keys(client, root):
    definition = definition_id(client)
    first, second = ended_case(client, "JC-1", inspector="王"), completed_case(client, "JC-2", inspector="李")
    response = restart(client, definition, BEFORE_DECIDE, processInstanceIds=[first, second])
    assert response.status_code == 204, response.text
    for ended, business_key, inspector in ((first, "JC-1", "王"), (second, "JC-2", "李")):
        [row] = restarted_cases(client, ended)
        assert row["businessKey"] == business_key and row["state"] == "ACTIVE"
        assert row["processDefinitionId"] == definition and row["startUserId"] == "test-admin"
        assert variables(client, row["id"]) == {"inspector": inspector, "finding": "补正材料",
                                                **({"penalize": False} if ended == second else {})}
        assert task_keys(client, row["id"]) == ["decide"]
        complete_all(client, row["id"], penalize=True)
        assert task_keys(client, row["id"]) == ["penalty"]
        result = replayed(root, row["id"])
        assert result["reproduced"] is True, result
        assert verify(root, row["id"])["intact"] is True
        # The new case's history names the ended one it restarts.
        start = start_event(root, row["id"])
        assert start["payload"]["restartedProcessInstanceId"] == ended and start["userId"] == "test-admin"
    # The ended cases stay as they were.
    assert client.get(f"/history/process-instance/{first}").json()["state"] == "EXTERNALLY_TERMINATED"


def test_initial_variables_and_no_business_key_and_a_historic_query(client):
    definition = definition_id(client)
    ended = ended_case(client, "JC-3", inspector="王")
    response = restart(client, definition, {"type": "startBeforeActivity", "activityId": "register",
                                            "variables": {"round": {"value": 2}}},
                       historicProcessInstanceQuery={"processInstanceBusinessKey": "JC-3"},
                       initialVariables=True, withoutBusinessKey=True, skipIoMappings=True)
    assert response.status_code == 204, response.text
    [row] = restarted_cases(client, ended)
    assert row["businessKey"] is None
    # What the case started with, not the finding set later; and the instruction's own variable.
    assert variables(client, row["id"]) == {"inspector": "王", "round": 2}
    assert task_keys(client, row["id"]) == ["register"]


def test_restart_refusals_with_camunda_messages_and_nothing_restarted(client, service, monkeypatch):
    definition = definition_id(client)
    ended = ended_case(client, "JC-4")
    running = client.post("/process-definition/key/inspection_case/start", json={}).json()["id"]
    deploy(client, REVIEW)
    other_definition = client.get("/process-definition/key/eco_review").json()["id"]

    def refused(body_definition: str, *instructions: dict, **body) -> str:
        response = restart(client, body_definition, *instructions, **body)
        assert response.status_code == 400, response.text
        assert response.json()["type"] == "InvalidRequestException"
        return response.json()["message"]

    assert refused(definition, processInstanceIds=[ended]) == (
        "Restart instructions cannot be empty: instructions is empty")
    assert refused(definition, BEFORE_DECIDE, processInstanceIds=[]) == "processInstanceIds is empty"
    assert refused(definition, BEFORE_DECIDE, processInstanceIds=[ended, running]) == (
        f"ENGINE-13040 Historic process instance '{running}' cannot be restarted. It is not completed or terminated.")
    assert refused(definition, BEFORE_DECIDE, processInstanceIds=["no-such-case"]) == (
        "Historic process instance cannot be found: historicProcessInstanceId is null")
    assert refused(other_definition, BEFORE_DECIDE, processInstanceIds=[ended]) == (
        f"ENGINE-13039 Historic process instance '{ended}' cannot be restarted. Its process definition "
        f"'{definition}' does not match given process definition '{other_definition}'")
    assert refused("no-such-definition", BEFORE_DECIDE, processInstanceIds=[ended]) == (
        "Process definition cannot be found: processDefinition is null")
    assert refused(definition, {"type": "startBeforeActivity", "activityId": "nowhere"},
                   processInstanceIds=[ended]) == ("Cannot perform instruction: Start before activity 'nowhere'; "
                                                   "Activity 'nowhere' does not exist")
    # All or none: the ended case named before the running one was not restarted either.
    assert restarted_cases(client, ended) == []
    monkeypatch.setattr(service.services.settings, "page_size_max", 1)
    assert refused(definition, BEFORE_DECIDE, processInstanceIds=[ended, running]) == (
        "At most 1 process instances are restarted at once; use /process-definition/{id}/restart-async for more")
    accounts.save_account(service.services, "clerk-li", "clerk-li-password", ["clerks"])
    with as_user(service, "clerk-li") as clerk:
        assert restart(clerk, definition, BEFORE_DECIDE, processInstanceIds=[ended]).status_code == 403
        assert restart(clerk, definition, BEFORE_DECIDE, suffix="-async",
                       processInstanceIds=[ended]).status_code == 403


def test_restart_async_is_a_batch_the_worker_runs_one_case_at_a_time(client, root):
    definition = definition_id(client)
    ended = ended_case(client, "JC-5", inspector="赵")
    running = client.post("/process-definition/key/inspection_case/start", json={}).json()["id"]
    assert restart(client, definition, suffix="-async", processInstanceIds=[ended]).json()["message"] == (
        "Restart instructions cannot be empty: instructions is empty")
    response = restart(client, definition, BEFORE_DECIDE, suffix="-async", processInstanceIds=[ended, running])
    batch = created(response, "instance-restart", 2)
    assert restarted_cases(client, ended) == []  # nothing runs before the worker's pass
    worker_pass(root)
    [row] = restarted_cases(client, ended)
    assert row["businessKey"] == "JC-5" and variables(client, row["id"]) == {"inspector": "赵", "finding": "补正材料"}
    assert task_keys(client, row["id"]) == ["decide"]
    assert replayed(root, row["id"])["reproduced"] is True
    # The running case's part failed with the refusal; the batch keeps it, as Camunda's failed jobs.
    assert statistics(client, batch["id"]) == (1, 1, 1)
    assert start_event(root, row["id"])["payload"]["batchId"] == batch["id"]

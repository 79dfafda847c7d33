"""Camunda's batches: bulk operations answered at once with the batch, run later by the timer worker
(each case in its own unit of work, recorded with who started the batch), counted in the batch
statistics, suspended, deleted, and kept as history once done; each guarded as its synchronous
command is."""
from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import pytest

from app.access import accounts
from app.cases.batches import run_batches
from app.workers.timer_worker import TimerWorker
from tests.api.test_timer_batches import REMINDED
from tests.support.bpmn_text import definitions, process
from tests.support.history import verify
from tests.support.http import as_user, deploy_bytes

# A permit review: an officer reviews, then a head approves.
REVIEW = process("permit_review", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review" name="审查" camunda:candidateGroups="reviewers" />
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="approve" />
  <bpmn:userTask id="approve" name="审批" camunda:candidateGroups="heads" />
  <bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="end" /><bpmn:endEvent id="end" />""")

# The same review, revised: approval is now signed off (the review step keeps its id).
REVIEW_2027 = process("permit_review", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review" name="审查(2027)" camunda:candidateGroups="reviewers" />
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="sign_off" />
  <bpmn:userTask id="sign_off" name="签发" camunda:candidateGroups="heads" />
  <bpmn:sequenceFlow id="f3" sourceRef="sign_off" targetRef="end" /><bpmn:endEvent id="end" />""")

# A publicity period closed by a message, then a task; and a notice an outside worker publishes.
[PUBLICITY] = definitions("""
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="publicity" />
  <bpmn:intermediateCatchEvent id="publicity"><bpmn:messageEventDefinition messageRef="closed" />
  </bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f2" sourceRef="publicity" targetRef="decide" />
  <bpmn:userTask id="decide" name="决定" />
  <bpmn:sequenceFlow id="f3" sourceRef="decide" targetRef="end" /><bpmn:endEvent id="end" />""",
    process_id="publicity", root='<bpmn:message id="closed" name="publicity_closed" />').values()
NOTICE = process("notice", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="publish" />
  <bpmn:serviceTask id="publish" camunda:type="external" camunda:topic="publish-notice" />
  <bpmn:sequenceFlow id="f2" sourceRef="publish" targetRef="end" /><bpmn:endEvent id="end" />""")


def deployed(client: httpx.Client, name: str, content: bytes) -> str:
    response = deploy_bytes(client, name, content)
    assert response.status_code == 200, response.text
    [definition] = response.json()["deployedProcessDefinitions"].values()
    return definition["id"]


def started(client: httpx.Client, key: str, *business_keys: str) -> list[str]:
    ids = []
    for business_key in business_keys:
        response = client.post(f"/process-definition/key/{key}/start", json={"businessKey": business_key})
        assert response.status_code == 200, response.text
        ids.append(response.json()["id"])
    return ids


def worker_pass(root: httpx.Client) -> None:
    """The timer worker's pass, driven by the simulated clock (timers first, then the batches)."""
    response = root.post("/api/clock", json={"advance": "PT1M"})
    assert response.status_code == 200, response.text


def created(response: httpx.Response, kind: str, total: int) -> dict:
    assert response.status_code == 200, response.text
    batch = response.json()
    assert (batch["type"], batch["totalJobs"], batch["jobsCreated"], batch["invocationsPerBatchJob"]) == (
        kind, total, total, 1)
    assert batch["suspended"] is False and batch["createUserId"] == "test-admin"
    assert batch["startTime"] and batch["executionStartTime"] is None and batch["seedJobDefinitionId"]
    return batch


def statistics(client: httpx.Client, batch_id: str) -> tuple[int, int, int]:
    [row] = client.get("/batch/statistics", params={"batchId": batch_id}).json()
    return row["remainingJobs"], row["completedJobs"], row["failedJobs"]


def task_keys(client: httpx.Client, instance_id: str) -> list[str]:
    return sorted(task["taskDefinitionKey"] for task in client.get("/task", params={"processInstanceId": instance_id}
                                                                   ).json())


def admin_events(root: httpx.Client, batch_id: str) -> dict[str, dict]:
    return {event["kind"]: event for event in root.get("/api/history/admin-events",
                                                       params={"subject": f"batch:{batch_id}"}).json()}


def test_a_deletion_batch_deletes_each_case_later_and_counts_the_one_that_fails(client, root):
    deployed(client, "review.bpmn", REVIEW)
    first, second, gone = started(client, "permit_review", "PR-1", "PR-2", "PR-3")
    other = started(client, "permit_review", "OTHER")[0]
    batch = created(client.post("/process-instance/delete", json={
        "processInstanceIds": [first], "processInstanceQuery": {"businessKey": "PR-2"},
        "historicProcessInstanceQuery": {"processInstanceBusinessKey": "PR-3"}, "deleteReason": "撤回申请",
        "skipCustomListeners": True}), "instance-deletion", 3)
    listed = client.get("/batch", params={"type": "instance-deletion"}).json()
    assert [row["id"] for row in listed] == [batch["id"]]
    assert client.get("/batch/count").json() == {"count": 1}
    assert client.get("/batch/count", params={"createdBy": "someone-else"}).json() == {"count": 0}
    assert client.get("/batch/count", params={"type": "instance-migration"}).json() == {"count": 0}
    assert client.get(f"/batch/{batch['id']}").json() == batch
    assert statistics(client, batch["id"]) == (3, 0, 0)
    # Nothing ran yet: the cases are still there. One is deleted meanwhile, so its part fails.
    assert client.get(f"/process-instance/{first}").status_code == 200
    assert client.delete(f"/process-instance/{gone}").status_code == 204

    worker_pass(root)
    for instance in (first, second):
        assert client.get(f"/process-instance/{instance}").status_code == 404
        historic = client.get(f"/history/process-instance/{instance}").json()
        assert (historic["state"], historic["deleteReason"]) == ("EXTERNALLY_TERMINATED", "撤回申请")
        [deletion] = client.get("/history/user-operation", params={
            "processInstanceId": instance, "operationType": "Delete"}).json()
        assert (deletion["userId"], deletion["batchId"]) == ("test-admin", batch["id"])
    assert client.get(f"/process-instance/{other}").status_code == 200
    assert statistics(client, batch["id"]) == (1, 2, 1)
    assert client.get("/batch", params={"withFailures": "true"}).json()[0]["id"] == batch["id"]
    assert client.get("/batch", params={"withoutFailures": "true"}).json() == []
    assert client.get(f"/batch/{batch['id']}").json()["executionStartTime"] is not None
    # A failed part keeps the batch running, as Camunda's failed batch jobs do, until it is deleted.
    worker_pass(root)
    assert statistics(client, batch["id"]) == (1, 2, 1)

    assert client.delete(f"/batch/{batch['id']}").status_code == 204
    assert client.get("/batch").json() == [] and client.get(f"/batch/{batch['id']}").status_code == 404
    historic = client.get(f"/history/batch/{batch['id']}").json()
    assert historic["endTime"] is not None and historic["type"] == "instance-deletion"
    events = admin_events(root, batch["id"])
    assert events["batch.created"]["userId"] == "test-admin"
    assert events["batch.created"]["payload"] == {"type": "instance-deletion", "totalJobs": 3}
    deleted = events["batch.deleted"]["payload"]
    assert (deleted["completedJobs"], deleted["failedJobs"], deleted["cascade"]) == (2, 1, False)
    [failure] = deleted["failures"]
    assert failure["target"] == gone and gone in failure["message"]


def test_two_workers_at_once_run_each_target_once(client, root, service):
    deployed(client, "review.bpmn", REVIEW)
    cases = started(client, "permit_review", *(f"W-{number}" for number in range(8)))
    batch = created(client.post("/process-instance/delete", json={"processInstanceIds": cases}),
                    "instance-deletion", 8)
    workers = [threading.Thread(target=run_batches, args=(service.services,)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    worker_pass(root)  # whatever a worker left to the next pass (a part it met another writer on)
    assert client.get("/process-instance/count").json() == {"count": 0}
    historic = client.get(f"/history/batch/{batch['id']}").json()
    assert historic["endTime"] is not None
    for instance in cases:
        deletions = client.get("/history/user-operation", params={"processInstanceId": instance,
                                                                   "operationType": "Delete"}).json()
        assert len(deletions) == 1
    [completed] = [event for event in root.get("/api/history/admin-events", params={
        "subject": f"batch:{batch['id']}"}).json() if event["kind"] == "batch.completed"]
    assert completed["payload"]["totalJobs"] == 8


def test_the_worker_runs_the_batches_even_when_a_timer_keeps_failing(client, service):
    # Its reminder opens a task for the province's supervisors: a case without a province fails there.
    deployed(client, "reminded.bpmn", REMINDED)
    failing = started(client, "reminded_preparation", "NO-PROVINCE")[0]
    deployed(client, "review.bpmn", REVIEW)
    [case] = started(client, "permit_review", "B-1")
    created(client.post("/process-instance/delete", json={"processInstanceIds": [case]}), "instance-deletion", 1)
    service.clock.advance(timedelta(hours=2))
    TimerWorker(service.services, 60).run_pass()
    assert client.get(f"/process-instance/{case}").status_code == 404
    assert task_keys(client, failing) == ["prepare"]  # its reminder failed, and waits for the next round


def test_a_deletion_by_historic_query_takes_the_cases_the_history_finds(client, root):
    deployed(client, "review.bpmn", REVIEW)
    kept, withdrawn = started(client, "permit_review", "KEEP", "WITHDRAWN")
    # The runtime query is not read by this variant: only the historic one names cases.
    batch = created(client.post("/process-instance/delete-historic-query-based", json={
        "historicProcessInstanceQuery": {"processInstanceBusinessKey": "WITHDRAWN", "unfinished": True},
        "processInstanceQuery": {"businessKey": "KEEP"}, "deleteReason": "申请人撤回"}), "instance-deletion", 1)
    worker_pass(root)
    assert client.get(f"/process-instance/{withdrawn}").status_code == 404
    assert client.get(f"/process-instance/{kept}").status_code == 200
    assert client.get(f"/history/batch/{batch['id']}").json()["endTime"] is not None


def test_suspending_a_batch_stops_it_and_a_finished_batch_goes_to_history(client, root, service, monkeypatch):
    monkeypatch.setattr(service.services.settings, "batch_jobs_per_pass", 2)
    definition_id = deployed(client, "review.bpmn", REVIEW)
    cases = started(client, "permit_review", "S-1", "S-2", "S-3")
    batch = created(client.post("/process-instance/suspended-async", json={
        "processInstanceQuery": {"processDefinitionId": definition_id}, "suspended": True}),
        "instance-update-suspension-state", 3)
    assert batch["batchJobsPerSeed"] == 2

    worker_pass(root)
    assert statistics(client, batch["id"]) == (1, 2, 0)
    # Two of the three (which two is the query's order, not the order they started in).
    suspended = {row["id"] for row in client.get("/process-instance", params={"suspended": "true"}).json()}
    assert len(suspended) == 2 and suspended < set(cases)
    assert client.put(f"/batch/{batch['id']}/suspended", json={"suspended": True}).status_code == 204
    assert client.get("/batch", params={"suspended": "true"}).json()[0]["suspended"] is True
    worker_pass(root)
    assert statistics(client, batch["id"]) == (1, 2, 0)

    assert client.put(f"/batch/{batch['id']}/suspended", json={"suspended": False}).status_code == 204
    worker_pass(root)
    assert client.get("/process-instance/count", params={"suspended": "true"}).json() == {"count": 3}
    assert client.get("/batch").json() == [] and client.get("/batch/statistics/count").json() == {"count": 0}
    [historic] = client.get("/history/batch", params={"completed": "true"}).json()
    assert historic["id"] == batch["id"] and historic["endTime"] is not None and historic["removalTime"] is None
    assert client.get("/history/batch/count", params={"completed": "false"}).json() == {"count": 0}
    events = admin_events(root, batch["id"])
    assert {"batch.created", "batch.suspended", "batch.activated", "batch.completed"} <= set(events)
    assert events["batch.completed"]["payload"]["createUserId"] == "test-admin"
    # Each case's history names who started the batch.
    log = client.get("/history/user-operation", params={"processInstanceId": cases[2],
                                                         "operationType": "Suspend"}).json()
    assert [entry["userId"] for entry in log] == ["test-admin"]

    # No history time to live applies to batches: the ended ones are counted, none is cleanable.
    assert client.get("/history/batch/cleanable-batch-report").json() == [{
        "batchType": "instance-update-suspension-state", "historyTimeToLive": None, "finishedBatchesCount": 1,
        "cleanableBatchesCount": 0}]
    assert client.get("/history/batch/cleanable-batch-report/count").json() == {"count": 1}
    assert client.delete(f"/history/batch/{batch['id']}").status_code == 204
    assert client.get(f"/history/batch/{batch['id']}").status_code == 404
    assert admin_events(root, batch["id"])["batch.historyDeleted"]["userId"] == "test-admin"


def test_variables_and_messages_reach_each_case(client, root):
    deployed(client, "publicity.bpmn", PUBLICITY)
    waiting = started(client, "publicity", "P-1", "P-2")
    batch = created(client.post("/process-instance/variables-async", json={
        "processInstanceIds": waiting, "variables": {
            "objections": {"value": 0, "type": "Integer"},
            "closedAt": {"value": "2026-10-01T09:00:00.000+0800", "type": "Date"}}}), "set-variables", 2)
    worker_pass(root)
    assert client.get(f"/history/batch/{batch['id']}").json()["endTime"] is not None
    for instance in waiting:
        values = client.get(f"/process-instance/{instance}/variables").json()
        assert values["objections"] == {"type": "Integer", "value": 0, "valueInfo": {}}
        assert values["closedAt"]["type"] == "Date" and values["closedAt"]["value"].startswith("2026-10-01T09:00")

    message = created(client.post("/process-instance/message-async", json={
        "messageName": "publicity_closed", "processInstanceQuery": {"processDefinitionKey": "publicity"},
        "variables": {"closedBy": {"value": "环保局"}}}), "correlate-message", 2)
    assert task_keys(client, waiting[0]) == []
    worker_pass(root)
    for instance in waiting:
        assert task_keys(client, instance) == ["decide"]
        assert client.get(f"/process-instance/{instance}/variables/closedBy").json()["value"] == "环保局"
    assert client.get(f"/history/batch/{message['id']}").json()["endTime"] is not None


def test_modifications_at_once_and_in_batches(client, root):
    definition_id = deployed(client, "review.bpmn", REVIEW)
    one, two, three, four = started(client, "permit_review", "M-1", "M-2", "M-3", "M-4")
    skip_review = [{"type": "startBeforeActivity", "activityId": "approve"}, {"type": "cancel", "activityId": "review"}]
    answer = client.post("/modification/execute", json={
        "processDefinitionId": definition_id, "instructions": skip_review, "processInstanceIds": [one, two]})
    assert answer.status_code == 204, answer.text
    assert task_keys(client, one) == task_keys(client, two) == ["approve"]

    batch = created(client.post("/modification/executeAsync", json={
        "processDefinitionId": definition_id, "instructions": skip_review,
        "processInstanceQuery": {"businessKey": "M-3"}, "annotation": "材料齐全,直接审批"}),
        "instance-modification", 1)
    single = created(client.post(f"/process-instance/{four}/modification-async", json={
        "instructions": [{"type": "startBeforeActivity", "activityId": "approve",
                          "variables": {"fastTrack": {"value": True}}}]}), "instance-modification", 1)
    assert task_keys(client, three) == ["review"]
    worker_pass(root)
    assert task_keys(client, three) == ["approve"]
    assert task_keys(client, four) == ["approve", "review"]
    # The cases a batch changed keep a whole history that replay reproduces.
    for case in (three, four):
        assert verify(root, case)["intact"] is True
        assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True
    assert client.get(f"/process-instance/{four}/variables/fastTrack").json()["value"] is True
    for done in (batch, single):
        assert client.get(f"/history/batch/{done['id']}").json()["endTime"] is not None

    # A modification of several cases is all or none: a case of another definition refuses the lot.
    assert client.post("/modification/execute", json={
        "processDefinitionId": "permit_review:other", "instructions": skip_review,
        "processInstanceIds": [three]}).status_code == 400
    refused = client.post("/modification/execute", json={"processDefinitionId": definition_id,
                                                          "instructions": skip_review})
    assert refused.status_code == 400 and "Process instance ids cannot be empty" in refused.json()["message"]


def test_a_migration_batch_moves_each_case_to_the_new_version(client, root):
    old = deployed(client, "review.bpmn", REVIEW)
    cases = started(client, "permit_review", "MG-1", "MG-2")
    new = deployed(client, "review-2027.bpmn", REVIEW_2027)
    plan = client.post("/migration/generate", json={"sourceProcessDefinitionId": old,
                                                     "targetProcessDefinitionId": new}).json()
    batch = created(client.post("/migration/executeAsync", json={"migrationPlan": plan, "processInstanceIds": cases}),
                    "instance-migration", 2)
    assert client.get(f"/process-instance/{cases[0]}").json()["definitionId"] == old
    worker_pass(root)
    for instance in cases:
        assert client.get(f"/process-instance/{instance}").json()["definitionId"] == new
    assert client.get(f"/history/batch/{batch['id']}").json()["endTime"] is not None
    # An invalid plan is refused when the batch is asked for, as /migration/execute refuses it.
    wrong = {**plan, "instructions": [{"sourceActivityIds": ["approve"], "targetActivityIds": ["nowhere"]}]}
    refused = client.post("/migration/executeAsync", json={"migrationPlan": wrong, "processInstanceIds": cases})
    assert refused.status_code == 400 and refused.json()["type"] == "MigrationPlanValidationException"


def test_external_task_retries_in_a_batch_resolve_the_incidents(client, root, service):
    deployed(client, "notice.bpmn", NOTICE)
    [instance] = started(client, "notice", "N-1")
    [locked] = client.post("/external-task/fetchAndLock", json={
        "workerId": "w1", "maxTasks": 1, "topics": [{"topicName": "publish-notice", "lockDuration": 60000}]}).json()
    client.post(f"/external-task/{locked['id']}/failure", json={
        "workerId": "w1", "errorMessage": "website down", "retries": 0, "retryTimeout": 0}).raise_for_status()
    assert client.get("/incident/count").json() == {"count": 1}
    accounts.save_account(service.services, "gateway", "gateway-password", ["systems"])
    with as_user(service, "gateway") as system:
        answer = system.post("/external-task/retries-async", json={"processInstanceIds": [instance], "retries": 2})
        assert answer.status_code == 200, answer.text
        batch = answer.json()
        assert (batch["type"], batch["createUserId"]) == ("set-external-task-retries", "gateway")
        assert system.get("/batch/count").json() == {"count": 1}
        assert system.delete(f"/batch/{batch['id']}").status_code == 403
    worker_pass(root)
    assert client.get(f"/external-task/{locked['id']}").json()["retries"] == 2
    assert client.get("/incident/count").json() == {"count": 0}


def test_history_deletion_batch_keeps_the_retention_rules(client, root):
    definition_id = deployed(client, "review.bpmn", REVIEW)
    assert client.put(f"/process-definition/{definition_id}/history-time-to-live",
                      json={"historyTimeToLive": 1}).status_code == 204
    ended, running = started(client, "permit_review", "H-1", "H-2")
    assert client.delete(f"/process-instance/{ended}").status_code == 204
    root.post("/api/clock", json={"advance": "P2D"}).raise_for_status()
    batch = created(client.post("/history/process-instance/delete", json={
        "historicProcessInstanceIds": [ended], "historicProcessInstanceQuery": {"processInstanceBusinessKey": "H-2"}}),
        "historic-instance-deletion", 2)
    worker_pass(root)
    assert client.get(f"/history/process-instance/{ended}").status_code == 404
    assert client.get(f"/process-instance/{running}").status_code == 200
    assert statistics(client, batch["id"]) == (1, 1, 1)
    failure = admin_events(root, batch["id"])
    assert "batch.deleted" not in failure
    assert client.delete(f"/batch/{batch['id']}", params={"cascade": "true"}).status_code == 204
    assert client.get(f"/history/batch/{batch['id']}").status_code == 404
    [message] = admin_events(root, batch["id"])["batch.deleted"]["payload"]["failures"]
    assert "still running" in message["message"]


def test_refusals_in_camundas_words(client, service, monkeypatch):
    deployed(client, "review.bpmn", REVIEW)
    started(client, "permit_review", "R-1", "R-2", "R-3")
    empty = client.post("/process-instance/delete", json={})
    assert (empty.status_code, empty.json()["message"]) == (400, "processInstanceIds is empty")
    missing = client.post("/process-instance/suspended-async", json={"processInstanceIds": ["x"]})
    assert missing.status_code == 400
    no_variables = client.post("/process-instance/variables-async", json={"processInstanceIds": ["x"]})
    assert (no_variables.status_code, no_variables.json()["message"]) == (400, "variables is empty")
    unknown = client.get("/batch/unknown")
    assert (unknown.status_code, unknown.json()["type"]) == (404, "InvalidRequestException")
    assert unknown.json()["message"] == "Batch with id 'unknown' does not exist"
    assert client.get("/history/batch/unknown").json()["message"] == "Historic batch with id 'unknown' does not exist"
    deleted = client.delete("/batch/unknown")
    assert (deleted.status_code, deleted.json()["message"]) == (400, "Unable to delete batch with id 'unknown'")
    assert client.put("/batch/unknown/suspended", json={"suspended": True}).json()["message"] == (
        "Unable to suspend batch with id 'unknown'")
    assert client.delete("/history/batch/unknown").status_code == 400
    # A query inside a batch request is bounded as a batch is.
    monkeypatch.setattr(service.services.settings, "batch_max_targets", 2)
    bounded = client.post("/process-instance/delete", json={"processInstanceQuery": {"processDefinitionKey":
                                                                                       "permit_review"}})
    assert bounded.status_code == 400 and "more than 2" in bounded.json()["message"]
    assert client.get("/batch/count").json() == {"count": 0}


@pytest.mark.parametrize("path", ["/history/batch/set-removal-time", "/history/process-instance/set-removal-time"])
def test_removal_times_are_refused_in_words(client, path):
    answer = client.post(path, json={"absoluteRemovalTime": "2027-01-01T00:00:00.000+0800",
                                      "historicBatchIds": ["x"], "historicProcessInstanceIds": ["x"]})
    assert (answer.status_code, answer.json()["type"]) == (400, "BadUserRequestException")
    assert "Removal times are not" in answer.json()["message"]


@pytest.mark.parametrize("path", ["/job/retries", "/process-instance/job-retries",
                                  "/process-instance/job-retries-historic-query-based"])
def test_job_retries_batches_are_refused_as_timers_have_no_retries(client, path):
    answer = client.post(path, json={"retries": 3, "processInstanceIds": ["x"]})
    assert (answer.status_code, answer.json()["type"]) == (400, "BadUserRequestException")
    assert "do not fail as jobs" in answer.json()["message"]


def test_officials_may_not_start_or_see_batches(client, service):
    deployed(client, "review.bpmn", REVIEW)
    [case] = started(client, "permit_review", "G-1")
    accounts.save_account(service.services, "wang", "wang-password", ["reviewers"])
    with as_user(service, "wang") as official:
        assert official.post("/process-instance/delete", json={"processInstanceIds": [case]}).status_code == 403
        assert official.get("/batch").status_code == 403
    assert client.get("/batch/count").json() == {"count": 0}


BYTES = {"scan": {"value": "JVBERi0xLjQ=", "type": "Bytes"}}
FILE = {"scan": {"value": "JVBERi0xLjQ=", "type": "File",
                 "valueInfo": {"filename": "scan.pdf", "mimeType": "application/pdf"}}}


def test_bytes_and_file_variables_in_a_batch_are_refused_in_words(client, root):
    old = deployed(client, "review.bpmn", REVIEW)
    cases = started(client, "permit_review", "B-1", "B-2")
    new = deployed(client, "review-2027.bpmn", REVIEW_2027)
    plan = client.post("/migration/generate", json={"sourceProcessDefinitionId": old,
                                                     "targetProcessDefinitionId": new}).json()
    for variables in (BYTES, FILE):
        start_here = [{"type": "startBeforeActivity", "activityId": "approve", "variables": variables}]
        requests = [
            ("/process-instance/variables-async", {"processInstanceIds": cases, "variables": variables}),
            ("/process-instance/message-async", {"processInstanceIds": cases, "messageName": "m",
                                                 "variables": variables}),
            (f"/process-instance/{cases[0]}/modification-async", {"instructions": start_here}),
            ("/modification/executeAsync", {"processDefinitionId": old, "processInstanceIds": cases,
                                            "instructions": start_here}),
            (f"/process-definition/{old}/restart-async", {"processInstanceIds": cases, "instructions": start_here}),
            ("/migration/executeAsync", {"migrationPlan": {**plan, "variables": variables},
                                         "processInstanceIds": cases})]
        for path, body in requests:
            answer = client.post(path, json=body)
            assert (answer.status_code, answer.json()["type"]) == (400, "InvalidRequestException"), (path, answer.text)
            assert answer.json()["message"] == (
                f"Variable 'scan' is a {variables['scan']['type']} variable: a batch keeps its variables as JSON "
                "until it runs; set Bytes and File variables per case through "
                "PUT /process-instance/{id}/variables/{name}/data")
    assert client.get("/batch/count").json() == {"count": 0}
    # The synchronous migration keeps a binary variable of its plan as the case's own.
    moved = client.post("/migration/execute", json={"migrationPlan": {**plan, "variables": FILE},
                                                     "processInstanceIds": [cases[0]]})
    assert moved.status_code == 204, moved.text
    kept = client.get(f"/process-instance/{cases[0]}/variables/scan").json()
    assert kept["type"] == "File" and kept["valueInfo"]["filename"] == "scan.pdf"
    data = client.get(f"/process-instance/{cases[0]}/variables/scan/data")
    assert data.status_code == 200 and data.content == b"%PDF-1.4"


def test_a_batch_runs_with_its_creators_rights_as_they_are_when_it_runs(client, root, service):
    deployed(client, "review.bpmn", REVIEW)
    cases = started(client, "permit_review", "C-1", "C-2")
    kept = started(client, "permit_review", "C-3")
    accounts.save_account(service.services, "chief", "chief-password", ["admins", "reviewers"])
    accounts.save_account(service.services, "deputy", "deputy-password", ["admins"])
    with as_user(service, "chief") as chief, as_user(service, "deputy") as deputy:
        demoted = chief.post("/process-instance/delete", json={"processInstanceIds": cases}).json()["id"]
        gone = deputy.post("/process-instance/delete", json={"processInstanceIds": kept}).json()["id"]
    # Before the worker runs, one creator leaves the administrators, the other's account is deleted.
    assert client.delete("/group/admins/members/chief").status_code == 204
    assert client.delete("/user/deputy").status_code == 204
    worker_pass(root)
    for instance in (*cases, *kept):
        assert client.get(f"/process-instance/{instance}").status_code == 200
    assert statistics(client, demoted) == (2, 0, 2) and statistics(client, gone) == (1, 0, 1)
    for batch_id in (demoted, gone):
        assert client.delete(f"/batch/{batch_id}").status_code == 204
    failures = {batch_id: admin_events(root, batch_id)["batch.deleted"]["payload"]["failures"]
                for batch_id in (demoted, gone)}
    assert {failure["message"] for failure in failures[demoted]} == {
        "The batch's creator chief may no longer run it: the account is no longer in a group that may (admins)"}
    assert [failure["message"] for failure in failures[gone]] == [
        "The batch's creator deputy may no longer run it: the account no longer exists"]

"""The history cleanup (`/history/cleanup`): scheduled by an administrator or by the cleanup window,
run by the timer worker (driven here on the simulated clock), it deletes every ended case whose
retention has passed, called cases before their callers, each deletion recorded as one by hand is."""
from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import update

from app.access import accounts
from app.clock import SimulatedClock
from app.persistence.models import ProcessDefinition
from app.workers.timer_worker import TimerWorker
from tests.support.bpmn_text import process
from tests.support.history import verify
from tests.support.http import as_user, complete, deploy, deploy_bytes, start
from tests.support.paths import FIXTURES
from tests.support.service import ADMIN_AUTH, CLOCK_START, start_service

REVIEW = {"park_name": "园区", "province": "zj", "applicant": "park-office"}
INSTANT = '<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e" /><bpmn:endEvent id="e" />'


def _kept_one_day(key: str, body: str = INSTANT) -> bytes:
    return process(key, body).replace(b'isExecutable="true"', b'isExecutable="true" camunda:historyTimeToLive="1"')


def _review(client, root, days: int) -> str:
    instance = start(client, "eco_review", **REVIEW).json()["id"]
    root.post("/api/clock", json={"advance": f"P{days}D"}).raise_for_status()
    complete(client, instance, decision="approve", opinion="符合条件", score=90).raise_for_status()
    complete(client, instance, approved=True).raise_for_status()
    return instance


def _worker_pass(service) -> None:
    TimerWorker(service.services, 1).run_pass()


def _exists(client, instance_id: str) -> bool:
    return client.get(f"/history/process-instance/{instance_id}").status_code == 200


def test_cleanup_deletes_the_cases_whose_retention_passed(service, client, root):
    deploy(client, FIXTURES / "eco_review.bpmn")  # keeps histories 180 days
    first, second = _review(client, root, 2), _review(client, root, 4)  # ended on 09-30 and 10-04
    running = start(client, "eco_review", **REVIEW).json()["id"]
    root.post("/api/clock", json={"advance": "P178D"}).raise_for_status()  # 2027-03-31: only the first is due
    assert client.get("/history/cleanup/jobs").status_code == 404
    assert client.get("/history/cleanup/job").json()["message"] == "History cleanup job does not exist"

    scheduled = client.post("/history/cleanup")
    assert scheduled.status_code == 200, scheduled.text
    job = scheduled.json()
    now = client.get("/history/cleanup/configuration")
    assert now.json() == {"batchWindowStartTime": None, "batchWindowEndTime": None, "enabled": True}
    assert job["dueDate"] == job["createTime"] and job["dueDate"].startswith("2027-03-31T09:00:00")
    assert (job["suspended"], job["retries"], job["processInstanceId"], job["exceptionMessage"]) == (
        False, 3, None, None)
    assert client.get("/history/cleanup/jobs").json() == [job]
    assert client.get("/history/cleanup/job").json() == job
    # Scheduled, not run: the worker runs it.
    assert _exists(client, first)
    _worker_pass(service)
    assert not _exists(client, first) and _exists(client, second) and _exists(client, running)
    [deleted] = root.get("/api/history/admin-events", params={"kind": "history.deleted"}).json()
    assert deleted["subject"] == f"process-instance:{first}" and deleted["userId"] is None
    assert deleted["payload"]["historyCleanupJobId"] == job["id"]
    [asked] = root.get("/api/history/admin-events", params={"kind": "historyCleanup.scheduled"}).json()
    assert asked["userId"] == ADMIN_AUTH[0] and asked["payload"]["immediatelyDue"] is True
    report = verify(root)
    assert report["intact"] is True, report["problems"]
    assert [case["processInstanceId"] for case in report["deletedCases"]] == [first]
    # Without a cleanup window the job rests once it ran, until scheduled again.
    [rested] = client.get("/history/cleanup/jobs").json()
    assert rested["id"] == job["id"] and rested["suspended"] is True and rested["dueDate"] is None
    root.post("/api/clock", json={"advance": "P5D"}).raise_for_status()
    _worker_pass(service)
    assert _exists(client, second)
    assert client.post("/history/cleanup", params={"immediatelyDue": "true"}).json()["id"] == job["id"]
    _worker_pass(service)
    assert not _exists(client, second) and _exists(client, running)


def test_called_cases_go_before_their_callers_in_one_run(client, root, service):
    called_body = INSTANT
    caller_body = ('<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call" />'
                   '<bpmn:callActivity id="call" calledElement="permit_check" />'
                   '<bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="e" /><bpmn:endEvent id="e" />')
    for key, body in (("permit_check", called_body), ("permit", caller_body)):
        assert deploy_bytes(client, f"{key}.bpmn", _kept_one_day(key, body)).status_code == 200
    caller = start(client, "permit").json()["id"]
    [called] = client.get("/history/process-instance", params={"superProcessInstanceId": caller}).json()
    root.post("/api/clock", json={"advance": "P1DT1S"}).raise_for_status()
    client.post("/history/cleanup").raise_for_status()
    _worker_pass(service)
    assert not _exists(client, caller) and not _exists(client, called["id"])
    report = verify(root)
    assert report["intact"] is True and [case["processInstanceId"] for case in report["deletedCases"]] == [
        called["id"], caller]


def test_refusals_and_guards(service, client):
    refused = client.post("/history/cleanup", params={"immediatelyDue": "false"})
    assert refused.status_code == 400 and refused.json()["type"] == "BadUserRequestException"
    assert "no cleanup window is configured" in refused.json()["message"]
    assert client.post("/history/cleanup", params={"immediatelyDue": "soon"}).status_code == 400
    accounts.save_account(service.services, "auditor", "auditor-password", ["auditors"])
    accounts.save_account(service.services, "official", "official-password", ["xj-urumqi-env"])
    with as_user(service, "auditor") as auditor, as_user(service, "official") as official:
        assert auditor.post("/history/cleanup").status_code == 403
        assert auditor.get("/history/cleanup/configuration").status_code == 200
        assert official.get("/history/cleanup/configuration").status_code == 403
    assert client.get("/history/cleanup/jobs").status_code == 404


@pytest.fixture
def windowed(service):
    """A second service on the same database, cleaning up daily from 22:00 to 02:00 (Asia/Shanghai),
    in batches of two cases."""
    running = start_service(service.services.db.url, clock=SimulatedClock(CLOCK_START),
                            history_cleanup_batch_window_start_time="22:00",
                            history_cleanup_batch_window_end_time="02:00", history_cleanup_batch_size=2)
    yield running
    running.stop()


def test_the_window_runs_the_cleanup_daily_in_batches(windowed, client):
    with httpx.Client(base_url=f"{windowed.base_url}/engine-rest", auth=ADMIN_AUTH, timeout=30) as http:
        assert http.get("/history/cleanup/configuration").json() == {
            "batchWindowStartTime": "2026-09-28T22:00:00.000+0800",
            "batchWindowEndTime": "2026-09-29T02:00:00.000+0800", "enabled": True}
        assert deploy_bytes(http, "instant.bpmn", _kept_one_day("instant")).status_code == 200
        cases = [start(http, "instant").json()["id"] for _ in range(3)]  # ended at 09:00 on 09-28
        [job] = http.get("/history/cleanup/jobs").json()  # scheduled when the service started
        assert job["dueDate"] == "2026-09-28T22:00:00.000+0800" and job["suspended"] is False
        _worker_pass(windowed)  # 09:00: not due
        windowed.clock.set(datetime.fromisoformat("2026-09-28T22:30:00+08:00"))
        _worker_pass(windowed)  # due, but the cases are kept one day
        assert all(_exists(http, case) for case in cases)
        [job] = http.get("/history/cleanup/jobs").json()
        assert job["dueDate"] == "2026-09-29T22:00:00.000+0800"
        windowed.clock.set(datetime.fromisoformat("2026-09-29T22:00:00+08:00") + timedelta(minutes=1))
        _worker_pass(windowed)  # a batch of two; the job is due again at once for the rest
        assert sum(_exists(http, case) for case in cases) == 1
        assert http.get("/history/cleanup/jobs").json()[0]["dueDate"] == "2026-09-29T22:01:00.000+0800"
        _worker_pass(windowed)
        assert not any(_exists(http, case) for case in cases)
        assert http.get("/history/cleanup/jobs").json()[0]["dueDate"] == "2026-09-30T22:00:00.000+0800"
        # A schedule not immediately due waits for the window.
        assert http.post("/history/cleanup", params={"immediatelyDue": "false"}).json()["dueDate"] == (
            "2026-09-29T22:00:00.000+0800")


def test_historic_variables_are_not_deleted_apart_from_their_case(service, client, root):
    deploy(client, FIXTURES / "eco_review.bpmn")
    case = _review(client, root, 2)
    [variable] = client.get("/history/variable-instance", params={"processInstanceId": case,
                                                                  "variableName": "park_name"}).json()
    refused = client.delete(f"/history/variable-instance/{variable['id']}")
    assert refused.status_code == 400 and refused.json()["type"] == "BadUserRequestException"
    assert "cannot be deleted: the variables are part of the case's chained history" in refused.json()["message"]
    refused = client.delete(f"/history/process-instance/{case}/variable-instances")
    assert refused.status_code == 400
    assert refused.json()["message"].startswith(f"The historic variables of process instance {case} cannot be deleted")
    assert client.get(f"/history/variable-instance/{variable['id']}").json()["value"] == "园区"
    # Unknown ones as Camunda answers them.
    missing = client.delete(f"/history/variable-instance/{case}:bm9uZQ")
    assert (missing.status_code, missing.json()["message"]) == (
        404, f"No historic variable instance found with id: {case}:bm9uZQ: variable is null")
    missing = client.delete("/history/process-instance/unknown/variable-instances")
    assert (missing.status_code, missing.json()["message"]) == (
        404, "No historic process instance found with id: unknown: instance is null")
    accounts.save_account(service.services, "auditor", "auditor-password", ["auditors"])
    with as_user(service, "auditor") as auditor:
        assert auditor.delete(f"/history/variable-instance/{variable['id']}").status_code == 403


def test_cleanable_report_per_process_definition(service, client, root):
    deploy(client, FIXTURES / "eco_review.bpmn")
    assert deploy_bytes(client, "instant.bpmn", process("instant", INSTANT)).status_code == 200  # kept without end
    assert deploy_bytes(client, "idle.bpmn", _kept_one_day("idle")).status_code == 200  # no case yet
    _review(client, root, 2), _review(client, root, 4)  # ended on 09-30 and 10-04
    start(client, "eco_review", **REVIEW).raise_for_status()
    start(client, "instant").raise_for_status()
    root.post("/api/clock", json={"advance": "P178D"}).raise_for_status()  # only the first review's passed
    answer = client.get("/history/process-definition/cleanable-process-instance-report")
    assert answer.status_code == 200, answer.text
    rows = {row["processDefinitionKey"]: row for row in answer.json()}
    review = client.get("/process-definition/key/eco_review").json()
    assert rows["eco_review"] == {
        "processDefinitionId": review["id"], "processDefinitionKey": "eco_review", "processDefinitionName": "生态环境审查",
        "processDefinitionVersion": 1, "historyTimeToLive": 180, "finishedProcessInstanceCount": 2,
        "cleanableProcessInstanceCount": 1, "tenantId": None}
    assert (rows["instant"]["historyTimeToLive"], rows["instant"]["finishedProcessInstanceCount"],
            rows["instant"]["cleanableProcessInstanceCount"]) == (None, 1, 0)
    assert rows["idle"]["finishedProcessInstanceCount"] == 0
    report = "/history/process-definition/cleanable-process-instance-report"
    compact = client.get(report, params={"compact": "true", "sortBy": "finished", "sortOrder": "desc"}).json()
    assert [row["processDefinitionKey"] for row in compact] == ["eco_review", "instant"]
    assert client.get(f"{report}/count", params={"compact": "true"}).json() == {"count": 2}
    assert client.get(f"{report}/count").json() == {"count": 3}
    assert [row["processDefinitionKey"] for row in client.get(report, params={
        "processDefinitionKeyIn": "idle,instant", "maxResults": 1}).json()] == ["idle"]
    assert client.get(report, params={"processDefinitionIdIn": review["id"]}).json() == [rows["eco_review"]]
    assert client.get(f"{report}/count", params={"tenantIdIn": "t1"}).json() == {"count": 0}
    assert client.get(f"{report}/count", params={"withoutTenantId": "true"}).json() == {"count": 3}
    refused = client.get(report, params={"sortBy": "cleanable"})
    assert refused.status_code == 400 and "Cannot sort by" in refused.json()["message"]
    # Only the cases the reader may read are counted.
    accounts.save_account(service.services, "outsider", "outsider-password", ["xj-urumqi-env"])
    with as_user(service, "outsider") as outsider:
        assert {row["finishedProcessInstanceCount"] for row in outsider.get(report).json()} == {0}
    # What the report calls cleanable is what the cleanup deletes.
    client.post("/history/cleanup").raise_for_status()
    _worker_pass(service)
    after = {row["processDefinitionKey"]: row for row in client.get(report).json()}
    assert (after["eco_review"]["finishedProcessInstanceCount"], after["eco_review"]["cleanableProcessInstanceCount"]
            ) == (1, 0)


def test_a_disabled_cleanup_is_refused_as_camunda_refuses_it(service):
    disabled = start_service(service.services.db.url, history_cleanup_enabled=False)
    try:
        with httpx.Client(base_url=f"{disabled.base_url}/engine-rest", auth=ADMIN_AUTH, timeout=30) as http:
            refused = http.post("/history/cleanup")
            assert (refused.status_code, refused.json()["type"], refused.json()["message"]) == (
                400, "BadUserRequestException", "History cleanup is disabled for this engine")
            assert http.get("/history/cleanup/configuration").json()["enabled"] is False
            assert http.get("/history/cleanup/jobs").status_code == 404
    finally:
        disabled.stop()


def test_a_run_that_cannot_tell_what_to_delete_says_so_and_runs_again_later(service, client, root):
    assert deploy_bytes(client, "short.bpmn", _kept_one_day("short")).status_code == 200
    ended = start(client, "short").json()["id"]
    assert deploy_bytes(client, "long.bpmn", _kept_one_day("long")).status_code == 200
    # A retention stored before the service bounded it to a century: "ended before now minus it" is
    # before the first year.
    with service.services.db.write() as session:
        session.execute(update(ProcessDefinition).where(ProcessDefinition.key == "long")
                        .values(history_time_to_live=3000000))
    root.post("/api/clock", json={"advance": "P5D"}).raise_for_status()
    client.post("/history/cleanup").raise_for_status()
    _worker_pass(service)
    [job] = client.get("/history/cleanup/jobs").json()
    assert job["suspended"] is False and job["dueDate"] is not None
    assert job["exceptionMessage"].startswith("The history cleanup could not find which histories may be deleted")
    assert "Error" not in job["exceptionMessage"] and "timedelta" not in job["exceptionMessage"]
    assert client.get("/history/cleanup/job").json()["exceptionMessage"] == job["exceptionMessage"]
    # Once the retention is right again, the next run (an hour later) deletes and clears the failure.
    assert client.put("/process-definition/key/long/history-time-to-live",
                      json={"historyTimeToLive": 30}).status_code == 204
    _worker_pass(service)
    assert _exists(client, ended)
    root.post("/api/clock", json={"advance": "PT1H"}).raise_for_status()
    _worker_pass(service)
    assert not _exists(client, ended)
    assert client.get("/history/cleanup/job").json()["exceptionMessage"] is None

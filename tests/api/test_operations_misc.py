"""Operators' reads and commands of Cockpit and Admin beyond the cases themselves, over real HTTP:
historic activity statistics of a process definition, annotations of the user operation log, the
metrics by interval, the registered deployments, the schema log and telemetry, incidents raised on an
execution, and a message delivered to one waiting token."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete

from app.access import accounts
from app.clock import SimulatedClock
from app.persistence.migrations import script_head, upgrade_to_head
from app.persistence.models import SchemaLogEntry
from tests.support.bpmn_text import definitions, grading
from tests.support.history import events_of
from tests.support.http import as_user, complete, deploy, deploy_bytes, start
from tests.support.paths import FIXTURES
from tests.support.processes import GRADED

REVIEW = {"park_name": "园区", "province": "zj", "applicant": "park-office"}


def _statistics(client, definition_id: str, **params) -> dict[str, dict]:
    answer = client.get(f"/history/process-definition/{definition_id}/statistics", params=params)
    assert answer.status_code == 200, answer.text
    return {row.pop("id"): row for row in answer.json()}


def _counts(instances=0, canceled=0, finished=0, complete_scope=0, **incidents) -> dict[str, int]:
    return {"instances": instances, "canceled": canceled, "finished": finished, "completeScope": complete_scope,
            "openIncidents": incidents.get("open", 0), "resolvedIncidents": incidents.get("resolved", 0),
            "deletedIncidents": incidents.get("deleted", 0)}


def test_historic_activity_statistics(service, client, root):
    deploy(client, FIXTURES / "eco_review.bpmn")
    definition = client.get("/process-definition/key/eco_review").json()["id"]
    approved = start(client, "eco_review", **REVIEW).json()["id"]
    complete(client, approved, decision="approve", opinion="符合条件", score=90).raise_for_status()
    complete(client, approved, approved=True).raise_for_status()
    waiting = start(client, "eco_review", **REVIEW).json()["id"]
    withdrawn = start(client, "eco_review", **REVIEW).json()["id"]
    assert client.delete(f"/process-instance/{withdrawn}").status_code == 204
    # Without flags: where instances stand now.
    assert _statistics(client, definition) == {"provincial_review": _counts(instances=1)}
    ended = _statistics(client, definition, finished="true", canceled="true", completeScope="true")
    assert ended["provincial_review"] == _counts(instances=1, canceled=1, finished=2)
    assert ended["approved_end"] == _counts(finished=1, complete_scope=1)
    assert ended["application_received"] == _counts(finished=3)
    assert "rejected_end" not in ended
    assert _statistics(client, definition, canceled="true") == {"provincial_review": _counts(instances=1, canceled=1)}
    assert _statistics(client, definition, completeScope="true") == {
        "provincial_review": _counts(instances=1), "approved_end": _counts(complete_scope=1)}
    only = _statistics(client, definition, finished="true", processInstanceIdIn=f"{waiting},{withdrawn}")
    assert only["provincial_review"] == _counts(instances=1, finished=1) and "approved_end" not in only
    assert _statistics(client, definition, finished="true", finishedAfter="2026-09-28T00:00:00+08:00").keys() == {
        "application_received", "provincial_review", "decision_gateway", "ministry_approval", "approved_end"}
    assert _statistics(client, definition, startedBefore="2026-01-01T00:00:00+08:00") == {}
    descending = client.get(f"/history/process-definition/{definition}/statistics",
                            params={"finished": "true", "sortBy": "activityId", "sortOrder": "desc"}).json()
    assert [row["id"] for row in descending] == sorted((row["id"] for row in descending), reverse=True)
    assert client.get("/history/process-definition/unknown/statistics").json() == []
    refused = client.get(f"/history/process-definition/{definition}/statistics", params={"finished": "maybe"})
    assert refused.status_code == 400
    # Only the cases the reader may read are counted.
    accounts.save_account(service.services, "outsider", "outsider-password", ["xj-urumqi-env"])
    with as_user(service, "outsider") as outsider:
        assert outsider.get(f"/history/process-definition/{definition}/statistics").json() == []


def _entries(client, instance: str) -> dict[str, dict]:
    return {row["operationType"]: row for row in client.get("/history/user-operation",
                                                             params={"processInstanceId": instance}).json()}


def test_annotating_user_operations(service, client, root):
    deploy(client, FIXTURES / "eco_review.bpmn")
    accounts.save_account(service.services, "reviewer", "reviewer-password", ["zj-eco-env"])
    accounts.save_account(service.services, "colleague", "colleague-password", ["zj-eco-env"])
    instance = start(client, "eco_review", **REVIEW).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    with as_user(service, "reviewer") as reviewer, as_user(service, "colleague") as colleague:
        assert reviewer.post(f"/task/{task['id']}/claim", json={"userId": "reviewer"}).status_code == 204
        entries = _entries(client, instance)
        claim, create = entries["Claim"]["operationId"], entries["Create"]["operationId"]
        assert entries["Claim"]["annotation"] is None
        # The one who gave the command annotates it, and administrators; no one else.
        noted = reviewer.put(f"/history/user-operation/{claim}/set-annotation", json={"annotation": "代同事受理"})
        assert noted.status_code == 204, noted.text
        assert colleague.put(f"/history/user-operation/{claim}/set-annotation",
                             json={"annotation": "x"}).status_code == 403
        assert reviewer.put(f"/history/user-operation/{create}/set-annotation",
                            json={"annotation": "x"}).status_code == 403
        assert _entries(client, instance)["Claim"]["annotation"] == "代同事受理"
    assert client.put(f"/history/user-operation/{create}/set-annotation",
                      json={"annotation": "受理前已核对材料"}).status_code == 204
    assert client.put(f"/history/user-operation/{claim}/clear-annotation").status_code == 204
    entries = _entries(client, instance)
    assert (entries["Create"]["annotation"], entries["Claim"]["annotation"]) == ("受理前已核对材料", None)
    # The chained entries are unchanged: each annotation is a record of its own, in order.
    recorded = root.get("/api/history/admin-events", params={"kind": "userOperation.annotated"}).json()
    assert [(row["userId"], row["payload"]["operationId"], row["payload"]["annotation"]) for row in recorded] == [
        ("reviewer", claim, "代同事受理"), ("test-admin", create, "受理前已核对材料"), ("test-admin", claim, None)]
    assert root.get("/api/history/verify").json()["intact"] is True
    for unknown in ("unknown", f"{instance}:99999999999", f"{instance}:x", f"{instance}:0"):
        refused = client.put(f"/history/user-operation/{unknown}/set-annotation", json={"annotation": "x"})
        assert (refused.status_code, refused.json()["message"]) == (400, "operation is null"), unknown
    too_long = client.put(f"/history/user-operation/{create}/set-annotation", json={"annotation": "长" * 4001})
    assert too_long.status_code == 400 and "at most 4000 characters" in too_long.json()["message"]


def test_metrics_by_interval(service, client, root):
    deploy_bytes(client, "grading.dmn", grading("region")).raise_for_status()
    deploy_bytes(client, "graded.bpmn", GRADED).raise_for_status()
    for _ in range(2):
        start(client, "graded", size="large").raise_for_status()  # at 09:00 (+08:00)
    root.post("/api/clock", json={"advance": "PT1H30M"}).raise_for_status()
    start(client, "graded", size="small").raise_for_status()  # at 10:30

    def intervals(**params) -> list[dict]:
        answer = client.get("/metrics", params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    hourly = intervals(name="process-instances", interval=3600)
    assert hourly == [
        {"timestamp": "2026-09-28T10:00:00.000+0800", "name": "process-instances", "reporter": None, "value": 1},
        {"timestamp": "2026-09-28T09:00:00.000+0800", "name": "process-instances", "reporter": None, "value": 2}]
    # Camunda's default interval is 15 minutes; each metric under its own name without one asked.
    assert [row["timestamp"] for row in intervals(name="root-process-instance-start")] == [
        "2026-09-28T10:30:00.000+0800", "2026-09-28T09:00:00.000+0800"]
    every = intervals(interval=86400, aggregateByReporter="true")
    assert {row["name"]: row["value"] for row in every} == {
        "activity-instance-start": client.get("/metrics/activity-instance-start/sum").json()["result"],
        "activity-instance-end": client.get("/metrics/activity-instance-end/sum").json()["result"],
        "root-process-instance-start": 3, "executed-decision-instances": 3}
    assert intervals(name="process-instances", interval=3600, startDate="2026-09-28T10:00:00.000+0800") == hourly[:1]
    assert intervals(name="process-instances", interval=3600, endDate="2026-09-28T10:00:00.000+0800") == hourly[1:]
    assert intervals(name="process-instances", interval=3600, firstResult=1, maxResults=5) == hourly[1:]
    assert intervals(name="process-instances", firstResult=2**31 - 1) == []
    assert intervals(name="process-instances", reporter="node-1") == []
    # Camunda keeps the task workers apart from its interval log: none by interval.
    assert intervals(name="task-users") == []
    for params, message in (({"maxResults": 201}, "can't be set larger than 200"), ({"interval": 0}, "interval"),
                            ({"name": "job-acquisition-attempt"}, "not counted here"),
                            ({"firstResult": 2**63 - 1}, "'firstResult' must be at most 2147483647")):
        refused = client.get("/metrics", params=params)
        assert refused.status_code == 400 and message in refused.json()["message"], refused.text
    accounts.save_account(service.services, "auditor", "auditor-password", ["auditors"])
    accounts.save_account(service.services, "official", "official-password", ["region-env"])
    with as_user(service, "auditor") as auditor, as_user(service, "official") as official:
        assert auditor.get("/metrics", params={"name": "process-instances", "interval": 3600}).json() == hourly
        assert official.get("/metrics").status_code == 403
        assert auditor.delete("/metrics/task-worker").status_code == 403
    # The task worker figures come from the chained history and are not deleted apart from it.
    refused = client.delete("/metrics/task-worker", params={"date": "2026-09-29T00:00:00.000+0800"})
    assert refused.status_code == 400 and "cannot lose an entry" in refused.json()["message"]
    assert client.delete("/metrics/task-worker", params={"date": "yesterday"}).status_code == 400


def test_registered_deployments_schema_log_and_telemetry(service, client):
    first = deploy(client, FIXTURES / "eco_review.bpmn")
    second = deploy_bytes(client, "graded.bpmn", GRADED).json()
    # Every deployment is served by the timer workers.
    assert sorted(client.get("/deployment/registered").json()) == sorted([first["id"], second["id"]])
    # A schema upgraded before the log existed has none; the migrate step logs the revision it is at,
    # once.
    with service.services.db.write() as session:
        session.execute(delete(SchemaLogEntry))
    for _ in range(2):
        upgrade_to_head(service.services.db, SimulatedClock(datetime(2026, 12, 7, 2, 0, tzinfo=UTC)))
    logged = client.get("/schema/log").json()
    assert [(row["version"], row["timestamp"]) for row in logged] == [(script_head(), "2026-12-07T10:00:00.000+0800")]
    assert client.get("/schema/log", params={"version": script_head()}).json() == logged[-1:]
    assert client.get("/schema/log", params={"version": "7.11.0"}).json() == []
    assert client.post("/schema/log", params={"maxResults": 1}, json={
        "sorting": [{"sortBy": "timestamp", "sortOrder": "desc"}]}).json() == logged[-1:]
    assert client.get("/schema/log", params={"sortBy": "version"}).status_code == 400
    # Telemetry is sent nowhere: always off, and turning it on changes nothing (as Camunda 7.22 and later).
    assert client.get("/telemetry/configuration").json() == {"enableTelemetry": False}
    assert client.post("/telemetry/configuration", json={"enableTelemetry": True}).status_code == 204
    assert client.get("/telemetry/configuration").json() == {"enableTelemetry": False}
    assert client.post("/telemetry/configuration", json={"enableTelemetry": "yes"}).status_code == 400
    start(client, "eco_review", **REVIEW).raise_for_status()
    data = client.get("/telemetry/data").json()
    assert data["product"]["name"] == "eco-orchestrator"
    assert data["product"]["internals"]["metrics"]["process-instances"] == {"count": 1}
    assert data["product"]["internals"]["database"]["vendor"] in ("sqlite", "postgresql")
    accounts.save_account(service.services, "auditor", "auditor-password", ["auditors"])
    accounts.save_account(service.services, "official", "official-password", ["xj-urumqi-env"])
    with as_user(service, "auditor") as auditor, as_user(service, "official") as official:
        assert auditor.get("/deployment/registered").status_code == 200
        assert auditor.post("/telemetry/configuration", json={"enableTelemetry": True}).status_code == 403
        for path in ("/deployment/registered", "/schema/log", "/telemetry/data", "/telemetry/configuration"):
            assert official.get(path).status_code == 403, path


WAITING = definitions("""
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="objection" />
    <bpmn:receiveTask id="objection" name="异议" messageRef="objection_message" />
    <bpmn:sequenceFlow id="f2" sourceRef="objection" targetRef="review" />
    <bpmn:userTask id="review" camunda:candidateGroups="zj-eco-env" />
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end" />
""", process_id="waiting", root='<bpmn:message id="objection_message" name="objection" />')["inline.bpmn"]


def _waiting_cases(client) -> list[tuple[str, str]]:
    """Two cases whose tokens wait for the message objection: (instance, token execution) each."""
    assert deploy_bytes(client, "waiting.bpmn", WAITING).status_code == 200
    cases = []
    for number in (1, 2):
        instance = start(client, "waiting", f"W-{number}").json()["id"]
        [token] = client.get("/execution", params={"processInstanceId": instance,
                                                   "messageEventSubscriptionName": "objection"}).json()
        cases.append((instance, token["id"]))
    return cases


def test_an_incident_raised_on_an_execution(service, client, root):
    [(instance, token), (other, _)] = _waiting_cases(client)
    raised = client.post(f"/execution/{instance}/create-incident", json={
        "incidentType": "materialsMissing", "configuration": "EIA-2026-17", "message": "缺少环评报告附件"})
    assert raised.status_code == 200, raised.text
    incident = raised.json()
    assert (incident["incidentType"], incident["configuration"], incident["incidentMessage"], incident["activityId"],
            incident["executionId"], incident["processInstanceId"]) == (
        "materialsMissing", "EIA-2026-17", "缺少环评报告附件", "objection", instance, instance)
    on_token = client.post(f"/execution/{token}/create-incident", json={"incidentType": "materialsMissing"}).json()
    assert (on_token["executionId"], on_token["activityId"], on_token["configuration"]) == (token, "objection", None)
    assert client.get(f"/incident/{incident['id']}").json() == incident
    assert client.get("/incident/count", params={"incidentType": "materialsMissing"}).json() == {"count": 2}
    # Custom incidents are resolved by hand; the resolution and the raising are in the case's history.
    assert client.delete(f"/incident/{incident['id']}").status_code == 204
    [resolved] = client.get("/history/incident", params={"resolved": "true"}).json()
    assert resolved["id"] == incident["id"] and resolved["endTime"] is not None
    assert client.get(f"/incident/{incident['id']}").status_code == 404
    recorded = [(event.kind, event.user_id) for event in events_of(service, instance) if event.kind.startswith("incident")]
    assert recorded == [("incident.created", "test-admin")] * 2 + [("incident.resolved", "test-admin")]
    # The other ends, deleted, when its execution moves on.
    assert client.post(f"/execution/{token}/messageSubscriptions/objection/trigger", json={}).status_code == 204
    [deleted] = client.get("/history/incident", params={"deleted": "true"}).json()
    assert deleted["id"] == on_token["id"] and deleted["endTime"] is not None
    assert client.get("/incident/count").json() == {"count": 0}
    definition = client.get("/process-definition/key/waiting").json()["id"]
    statistics = client.get(f"/history/process-definition/{definition}/statistics", params={"incidents": "true"}).json()
    assert {row["id"]: (row["openIncidents"], row["resolvedIncidents"], row["deletedIncidents"])
            for row in statistics}["objection"] == (0, 1, 1)
    assert root.get("/api/history/verify").json()["intact"] is True
    # Camunda's refusals.
    for body, message in (({}, "incidentType is null"),
                          ({"incidentType": "failedExternalTask"}, "raised by the service itself"),
                          ({"incidentType": "x", "message": 5}, "'message' is a text"),
                          ({"incidentType": ""}, "incidentType is empty"), ({"incidentType": "  "}, "is empty"),
                          ({"incidentType": "x" * 65}, "'incidentType' is a text of at most 64 characters"),
                          ({"incidentType": "x", "configuration": "c" * 256}, "at most 255 characters")):
        refused = client.post(f"/execution/{other}/create-incident", json=body)
        assert refused.status_code == 400 and message in refused.json()["message"], refused.text
    assert client.get("/incident/count", params={"processInstanceId": other}).json() == {"count": 0}
    unknown = client.post("/execution/unknown/create-incident", json={"incidentType": "x"})
    assert (unknown.status_code, unknown.json()["message"]) == (
        400, "Cannot find an execution with executionId 'unknown': execution is null")
    accounts.save_account(service.services, "system", "system-password", ["systems"])
    accounts.save_account(service.services, "official", "official-password", ["zj-eco-env"])
    with as_user(service, "system") as system, as_user(service, "official") as official:
        assert official.post(f"/execution/{other}/create-incident", json={"incidentType": "x"}).status_code == 403
        assert system.post(f"/execution/{other}/create-incident", json={"incidentType": "x"}).status_code == 200
    # A deleted case's incidents end with it.
    assert client.delete(f"/process-instance/{other}").status_code == 204
    assert client.get("/incident/count").json() == {"count": 0}
    assert client.get("/history/incident/count", params={"deleted": "true"}).json() == {"count": 2}


def test_a_message_triggered_on_one_waiting_token(service, client):
    [(first, token), (second, other_token)] = _waiting_cases(client)
    # Sent as a message it would match both; triggered on the execution it reaches that token only.
    assert client.post("/message", json={"messageName": "objection"}).status_code == 400
    triggered = client.post(f"/execution/{token}/messageSubscriptions/objection/trigger",
                            json={"variables": {"objector": {"value": "村民委员会"}}})
    assert triggered.status_code == 204, triggered.text
    assert client.get(f"/process-instance/{first}/variables/objector").json()["value"] == "村民委员会"
    assert [task["taskDefinitionKey"] for task in client.get("/task", params={"processInstanceId": first}).json()] == [
        "review"]
    assert client.get("/task", params={"processInstanceId": second}).json() == []
    # An instance's own id names its only token waiting for the message, as its root execution.
    assert client.post(f"/execution/{second}/messageSubscriptions/objection/trigger").status_code == 204
    assert len(client.get("/task", params={"processInstanceId": second}).json()) == 1
    # Nothing waits any more: Camunda's words (with 400 where Camunda answers 500).
    again = client.post(f"/execution/{token}/messageSubscriptions/objection/trigger")
    assert (again.status_code, again.json()["message"]) == (
        400, f"Cannot trigger message objection for execution {token}: Execution with id '{token}' does not have a "
             "subscription to a message event with name 'objection'")
    assert client.post(f"/execution/{other_token}/messageSubscriptions/other/trigger").status_code == 400
    accounts.save_account(service.services, "official", "official-password", ["zj-eco-env"])
    with as_user(service, "official") as official:
        assert official.post(f"/execution/{token}/messageSubscriptions/objection/trigger").status_code == 403

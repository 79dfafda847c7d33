"""Historic reports, single reads and counts by body, event subscriptions, and the deletion of an
ended case's history, over REST as Camunda's clients call them; only the cases the caller may read
count."""
from __future__ import annotations

from datetime import datetime

import pytest

from app.access import accounts
from tests.support.bpmn_text import BPMN, CAMUNDA, definitions
from tests.support.history import verify
from tests.support.http import as_user, complete, deploy, deploy_bytes, start
from tests.support.paths import FIXTURES
from tests.support.service import ADMIN_AUTH

REVIEW = {"park_name": "园区", "province": "zj", "applicant": "park-office"}
APPROVE = {"decision": "approve", "opinion": "符合条件", "score": 90}


def _review(client, root, days: int, business_key: str) -> str:
    """An eco_review case started now, reviewed `days` later and approved by the ministry at once."""
    instance = start(client, "eco_review", business_key, **REVIEW).json()["id"]
    root.post("/api/clock", json={"advance": f"P{days}D"}).raise_for_status()
    complete(client, instance, **APPROVE).raise_for_status()
    complete(client, instance, approved=True).raise_for_status()
    assert client.get(f"/history/process-instance/{instance}").json()["state"] == "COMPLETED"
    return instance


@pytest.fixture
def reviews(client, root):
    deploy(client, FIXTURES / "eco_review.bpmn")
    return [_review(client, root, 2, "EIP-1"), _review(client, root, 4, "EIP-2")]


def _invalid(response, text: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "InvalidRequestException"
    assert text in response.json()["message"]


def test_duration_report_by_month_and_quarter(client, root, reviews):
    running = start(client, "eco_review", "EIP-3", **REVIEW).json()["id"]
    # Both started in September (Asia/Shanghai); the second ended in October.
    month = datetime.fromisoformat(client.get(f"/history/process-instance/{reviews[1]}").json()["startTime"]).month
    day = 86_400_000
    answer = client.get("/history/process-instance/report",
                        params={"reportType": "duration", "periodUnit": "month"})
    assert answer.status_code == 200, answer.text
    # The running case is left out; 2 and 4 days, in the month the cases started.
    [report] = answer.json()
    assert report == {"period": month, "periodUnit": "MONTH", "maximum": 4 * day, "minimum": 2 * day,
                      "average": 3 * day}
    [quarter] = client.get("/history/process-instance/report", params={
        "reportType": "duration", "periodUnit": "QUARTER", "processDefinitionKeyIn": "eco_review,other"}).json()
    assert quarter["periodUnit"] == "QUARTER" and quarter["period"] == (report["period"] + 2) // 3
    assert quarter["average"] == 3 * day
    assert client.get("/history/process-instance/report", params={
        "reportType": "duration", "periodUnit": "month", "processDefinitionKeyIn": "other"}).json() == []
    later = client.get(f"/history/process-instance/{running}").json()["startTime"]
    assert client.get("/history/process-instance/report", params={
        "reportType": "duration", "periodUnit": "month", "startedAfter": later}).json() == []


def test_duration_report_refuses_what_camunda_refuses(client, reviews):
    url = "/history/process-instance/report"
    _invalid(client.get(url, params={"periodUnit": "month"}), "Unknown report type null")
    _invalid(client.get(url, params={"reportType": "count", "periodUnit": "month"}),
             "reportType parameter has invalid value: count")
    _invalid(client.get(url, params={"reportType": "duration"}), "periodUnit is null")
    _invalid(client.get(url, params={"reportType": "duration", "periodUnit": "week"}), "Cannot convert value week")
    _invalid(client.get(url, params={"reportType": "duration", "periodUnit": "month", "startedAfter": "yesterday"}),
             "startedAfter")


def test_an_official_reports_only_the_cases_they_may_read(service, client, reviews):
    accounts.save_account(service.services, "outsider", "outsider-password", ["xj-urumqi-env"])
    with as_user(service, "outsider") as outsider:
        assert outsider.get("/history/process-instance/report",
                            params={"reportType": "duration", "periodUnit": "month"}).json() == []
        assert outsider.post("/history/process-instance/count", json={}).json() == {"count": 0}
        assert outsider.get("/history/task/report", params={"reportType": "count", "groupBy": "taskName"}
                            ).json() == []
        activity = client.get("/history/activity-instance", params={"processInstanceId": reviews[0]}).json()[0]
        assert outsider.get(f"/history/activity-instance/{activity['id']}").status_code == 403


def test_counts_by_body_match_the_lists(client, root, reviews):
    running = start(client, "eco_review", "EIP-3", **REVIEW).json()["id"]
    assert client.post("/history/process-instance/count", json={}).json() == {"count": 3}
    assert client.post("/history/process-instance/count", json={"finished": True}).json() == {"count": 2}
    assert client.post("/history/process-instance/count", json={
        "processInstanceIds": [running, reviews[0]], "unfinished": True}).json() == {"count": 1}
    _invalid(client.post("/history/process-instance/count", json={"finished": "maybe"}), "finished")
    assert client.post("/process-instance/count", json={}).json() == {"count": 1}
    assert client.post("/process-instance/count", json={"businessKey": "EIP-1"}).json() == {"count": 0}
    _invalid(client.post("/process-instance/count", json={"processInstanceIds": [1]}), "processInstanceIds")
    listed = client.post("/history/activity-instance", json={"processInstanceId": reviews[0]}).json()
    counted = client.post("/history/activity-instance/count", json={"processInstanceId": reviews[0]}).json()
    assert counted == {"count": len(listed)} and len(listed) >= 3
    assert client.post("/history/activity-instance/count", json={
        "processInstanceId": reviews[0], "activityType": "userTask"}).json() == {"count": 2}
    _invalid(client.post("/history/activity-instance/count", json={"canceled": "perhaps"}), "canceled")


def test_one_historic_activity_instance(client, reviews):
    [task] = client.get("/history/activity-instance", params={"processInstanceId": reviews[0],
                                                             "activityId": "provincial_review"}).json()
    one = client.get(f"/history/activity-instance/{task['id']}")
    assert one.status_code == 200 and one.json() == task
    assert one.json()["activityId"] == "provincial_review" and one.json()["endTime"] is not None
    missing = client.get("/history/activity-instance/no-such-activity")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Historic activity instance with id no-such-activity does not exist"


def test_one_variable_instance_runtime_and_historic(client, reviews):
    running = start(client, "eco_review", "EIP-3", **REVIEW).json()["id"]
    [live] = client.get("/variable-instance", params={"processInstanceIdIn": running,
                                                      "variableName": "park_name"}).json()
    assert client.get(f"/variable-instance/{live['id']}").json() == live
    assert client.get(f"/history/variable-instance/{live['id']}").json()["value"] == "园区"
    [ended] = client.get("/history/variable-instance", params={"processInstanceId": reviews[0],
                                                              "variableName": "score"}).json()
    assert client.get(f"/history/variable-instance/{ended['id']}").json() == ended
    # An ended case's variables are history only.
    gone = client.get(f"/variable-instance/{ended['id']}")
    assert gone.status_code == 404
    assert gone.json()["message"] == f"Variable instance with Id '{ended['id']}' does not exist."
    for unknown in ("nonsense", f"{running}:bm9uZQ", f"{running}:!!", ":"):
        answer = client.get(f"/history/variable-instance/{unknown}")
        assert answer.status_code == 404, unknown
        assert answer.json()["message"] == f"Historic variable instance with Id '{unknown}' does not exist."


def test_task_reports(client, root, reviews):
    start(client, "eco_review", "EIP-3", **REVIEW)
    by_name = client.get("/history/task/report", params={"reportType": "count", "groupBy": "taskName"})
    assert by_name.status_code == 200, by_name.text
    definition = client.get("/process-definition/key/eco_review").json()
    row = {"count": 2, "processDefinitionKey": "eco_review", "processDefinitionId": definition["id"],
           "processDefinitionName": "生态环境审查", "tenantId": None}
    # The open task of the third case is not counted.
    assert sorted(by_name.json(), key=lambda item: item["taskName"]) == sorted([
        {**row, "taskName": "省级生态环境部门审查"}, {**row, "taskName": "生态环境部审批"}],
        key=lambda item: item["taskName"])
    assert client.get("/history/task/report", params={"reportType": "count", "groupBy": "processDefinition"}
                      ).json() == [{**row, "count": 4, "taskName": None}]
    # By the month the tasks ended: the first case's in September, the second's in October; each
    # ministry approval took no time.
    day = 86_400_000
    assert client.get("/history/task/report", params={"reportType": "duration", "periodUnit": "month"}).json() == [
        {"period": 9, "periodUnit": "MONTH", "maximum": 2 * day, "minimum": 0, "average": day},
        {"period": 10, "periodUnit": "MONTH", "maximum": 4 * day, "minimum": 0, "average": 2 * day}]
    assert client.get("/history/task/report", params={"reportType": "count", "groupBy": "taskName",
                                                      "completedBefore": "2000-01-01T00:00:00.000+0800"}).json() == []
    _invalid(client.get("/history/task/report"), "Parameter reportType is not set.")
    _invalid(client.get("/history/task/report", params={"reportType": "count"}),
             "groupBy parameter has invalid value: null")
    _invalid(client.get("/history/task/report", params={"reportType": "count", "groupBy": "assignee"}),
             "groupBy parameter has invalid value: assignee")
    _invalid(client.get("/history/task/report", params={"reportType": "duration"}), "periodUnit is null")
    _invalid(client.get("/history/task/report", params={"reportType": "sum"}), "reportType parameter has invalid")


def test_candidate_group_count(client, reviews):
    for key, province in (("EIP-3", "zj"), ("EIP-4", "zj"), ("EIP-5", "js")):
        start(client, "eco_review", key, **{**REVIEW, "province": province}).raise_for_status()
    answer = client.get("/task/report/candidate-group-count")
    assert answer.status_code == 200, answer.text
    assert answer.json() == [{"groupName": "js-eco-env", "taskCount": 1}, {"groupName": "zj-eco-env", "taskCount": 2}]


WAITING = definitions("""
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="objection" />
    <bpmn:intermediateCatchEvent id="objection" name="异议">
      <bpmn:messageEventDefinition messageRef="objection_message" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="objection" targetRef="recall" />
    <bpmn:intermediateCatchEvent id="recall">
      <bpmn:signalEventDefinition signalRef="recall_signal" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="recall" targetRef="end" />
    <bpmn:endEvent id="end" />
""", process_id="waiting", root="""
  <bpmn:message id="objection_message" name="objection" />
  <bpmn:signal id="recall_signal" name="recall" />
""")
STARTED_BY_MESSAGE = definitions("""
    <bpmn:startEvent id="filed"><bpmn:messageEventDefinition messageRef="filing_message" /></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="filed" targetRef="review" />
    <bpmn:userTask id="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end" />
""", process_id="filing", root='<bpmn:message id="filing_message" name="filing" />')


def _deploy_waiting(client) -> list[str]:
    for name, files in (("waiting", WAITING), ("filing", STARTED_BY_MESSAGE)):
        [(file_name, content)] = files.items()
        assert deploy_bytes(client, f"{name}.bpmn", content).status_code == 200
    return [start(client, "waiting", f"W-{number}").json()["id"] for number in (1, 2)]


def test_event_subscriptions_of_waiting_cases_and_start_events(client, root):
    first, second = _deploy_waiting(client)
    every = client.get("/event-subscription")
    assert every.status_code == 200, every.text
    by_instance = {row["processInstanceId"]: row for row in every.json()}
    assert set(by_instance) == {first, second, None}
    assert by_instance[None] | {"id": None, "createdDate": None} == {
        "id": None, "eventType": "message", "eventName": "filing", "executionId": None, "processInstanceId": None,
        "activityId": "filed", "createdDate": None, "tenantId": None}
    waiting = by_instance[first]
    assert (waiting["eventType"], waiting["eventName"], waiting["activityId"]) == ("message", "objection", "objection")
    assert waiting["executionId"] and waiting["executionId"] != first and waiting["createdDate"]
    # The token waiting there is the execution Camunda's clients correlate to.
    assert client.get("/execution", params={"messageEventSubscriptionName": "objection",
                                            "processInstanceId": first}).json()[0]["id"] == waiting["executionId"]
    assert client.get("/event-subscription/count").json() == {"count": 3}
    assert client.get("/event-subscription/count", params={"eventType": "message", "eventName": "objection"}
                      ).json() == {"count": 2}
    assert client.get("/event-subscription", params={"processInstanceId": first}).json() == [waiting]
    assert client.get("/event-subscription", params={"eventSubscriptionId": waiting["id"]}).json() == [waiting]
    assert client.get("/event-subscription", params={"executionId": waiting["executionId"]}).json() == [waiting]
    assert client.get("/event-subscription/count", params={"eventType": "compensate"}).json() == {"count": 0}
    # The same subscription, read through the token waiting for it.
    execution = waiting["executionId"]
    assert client.get(f"/execution/{execution}/messageSubscriptions/objection").json() == waiting
    for other in ("recall", "filing"):
        missing = client.get(f"/execution/{execution}/messageSubscriptions/{other}")
        assert missing.status_code == 404
        assert missing.json()["message"] == (f"Message event subscription for execution {execution} named {other} "
                                             "does not exist")
    # The first case moves on to wait for a signal, an hour later.
    root.post("/api/clock", json={"advance": "PT1H"}).raise_for_status()
    client.post("/message", json={"messageName": "objection", "processInstanceId": first}).raise_for_status()
    [signal] = client.get("/event-subscription", params={"processInstanceId": first}).json()
    assert (signal["eventType"], signal["eventName"], signal["activityId"]) == ("signal", "recall", "recall")
    newest = client.get("/event-subscription", params={"sortBy": "created", "sortOrder": "desc", "maxResults": 1})
    assert newest.json() == [signal]
    assert len(client.get("/event-subscription", params={"firstResult": 1, "maxResults": 5}).json()) == 2
    assert client.get("/event-subscription/count", params={"tenantIdIn": "t1"}).json() == {"count": 0}
    assert client.get("/event-subscription/count", params={
        "tenantIdIn": "t1", "includeEventSubscriptionsWithoutTenantId": "true"}).json() == {"count": 3}
    assert client.get("/event-subscription/count", params={"withoutTenantId": True}).json() == {"count": 3}
    # An ended case waits for nothing.
    client.post("/signal", json={"name": "recall"}).raise_for_status()
    assert client.get("/event-subscription/count", params={"processInstanceId": first}).json() == {"count": 0}


def test_event_subscriptions_refuse_bad_input_and_hide_other_cases(service, client):
    _deploy_waiting(client)
    _invalid(client.get("/event-subscription", params={"sortBy": "eventName"}), "Cannot sort by")
    _invalid(client.get("/event-subscription", params={"maxResults": "many"}), "maxResults")
    _invalid(client.get("/event-subscription", params={"withoutTenantId": "sometimes"}), "withoutTenantId")
    accounts.save_account(service.services, "outsider", "outsider-password", ["xj-urumqi-env"])
    with as_user(service, "outsider") as outsider:
        # Only the start event: the cases are not the outsider's.
        assert [row["processInstanceId"] for row in outsider.get("/event-subscription").json()] == [None]
        assert outsider.get("/event-subscription/count").json() == {"count": 1}
        [waiting] = client.get("/event-subscription", params={"eventName": "objection", "maxResults": 1}).json()
        assert outsider.get(f"/execution/{waiting['executionId']}/messageSubscriptions/objection").status_code == 404


def _refused(response, text: str) -> None:
    assert response.status_code == 400, response.text
    assert text in response.json()["message"], response.json()


def test_deleting_an_ended_case_once_its_retention_has_passed(service, client, root, reviews):
    running = start(client, "eco_review", "EIP-3", **REVIEW).json()["id"]
    _refused(client.delete(f"/history/process-instance/{running}"),
             f"Process instance is still running, cannot delete historic process instance: {running}")
    # eco_review keeps histories 180 days (camunda:historyTimeToLive="180").
    _refused(client.delete(f"/history/process-instance/{reviews[0]}"), "is kept until 2027-03-29: it ended on "
             "2026-09-30 and its process eco_review keeps histories 180 days")
    assert client.get(f"/history/process-instance/{reviews[0]}").status_code == 200
    before = verify(root)
    assert before["intact"] is True and before["deletedCases"] == []
    root.post("/api/clock", json={"advance": "P180D"}).raise_for_status()
    deleted = client.delete(f"/history/process-instance/{reviews[0]}")
    assert deleted.status_code == 204, deleted.text
    # The case is gone from every history list.
    assert client.get(f"/history/process-instance/{reviews[0]}").status_code == 404
    assert client.get("/history/activity-instance/count", params={"processInstanceId": reviews[0]}
                      ).json() == {"count": 0}
    assert client.get("/history/task", params={"processInstanceId": reviews[0]}).json() == []
    assert client.post("/history/process-instance/count", json={}).json() == {"count": 2}
    assert root.get(f"/api/process-instances/{reviews[0]}/timeline").status_code == 404
    # The rest of the record still verifies, and says which case was deleted, when and by whom.
    after = verify(root)
    assert after["intact"] is True, after["problems"]
    assert after["instances"] == 2 and after["anchors"] == before["anchors"] + 1
    [case] = after["deletedCases"]
    assert case["processInstanceId"] == reviews[0] and case["deletedBy"] == ADMIN_AUTH[0] and case["events"] > 5
    assert case["historyHash"] not in (None, "0" * 64)
    alone = verify(root, reviews[0])
    assert alone["intact"] is True and alone["instances"] == 0 and alone["deletedCases"] == [case]
    assert verify(root, reviews[1])["intact"] is True
    [recorded] = root.get("/api/history/admin-events", params={"kind": "history.deleted"}).json()
    assert recorded["subject"] == f"process-instance:{reviews[0]}" and recorded["userId"] == ADMIN_AUTH[0]
    assert recorded["payload"]["historyHash"] == case["historyHash"]
    # Once gone, the case is unknown, unless the caller does not mind.
    again = client.delete(f"/history/process-instance/{reviews[0]}")
    assert again.status_code == 404
    assert again.json()["message"] == f"Historic process instance with id {reviews[0]} does not exist"
    assert client.delete(f"/history/process-instance/{reviews[0]}", params={"failIfNotExists": "false"}
                         ).status_code == 204
    _invalid(client.delete(f"/history/process-instance/{reviews[0]}", params={"failIfNotExists": "perhaps"}),
             "failIfNotExists")
    assert verify(root)["anchors"] == after["anchors"]


def test_a_process_without_history_time_to_live_keeps_its_cases(client):
    instant = definitions('<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e" />'
                          '<bpmn:endEvent id="e" />', process_id="instant")
    [(_, content)] = instant.items()
    assert deploy_bytes(client, "instant.bpmn", content).status_code == 200
    case = start(client, "instant").json()["id"]
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    _refused(client.delete(f"/history/process-instance/{case}"),
             f"The history of process instance {case} is kept without end: its process instant (version 1) sets "
             "no camunda:historyTimeToLive")


def test_only_administrators_delete_histories(service, client, root, reviews):
    root.post("/api/clock", json={"advance": "P200D"}).raise_for_status()
    accounts.save_account(service.services, "auditor", "auditor-password", ["auditors"])
    with as_user(service, "auditor") as auditor:
        refused = auditor.delete(f"/history/process-instance/{reviews[0]}")
        assert refused.status_code == 403 and refused.json()["type"] == "AuthorizationException"
    assert client.get(f"/history/process-instance/{reviews[0]}").status_code == 200


def test_a_history_removed_outside_the_service_is_still_found(service, client, root, reviews):
    """Only the service's deletion is recorded: rows removed directly leave anchors nothing explains."""
    from sqlalchemy import delete

    from app.persistence.models import ActivityInstance, HistoryEvent, InstanceParticipant, ProcessInstance
    verify(root)
    with service.services.db.write() as session:
        for table in (HistoryEvent, ActivityInstance, InstanceParticipant):
            session.execute(delete(table).where(table.process_instance_id == reviews[1]))
        session.execute(delete(ProcessInstance).where(ProcessInstance.id == reviews[1]))
    report = verify(root)
    assert report["intact"] is False and report["deletedCases"] == []
    assert any(problem["processInstanceId"] == reviews[1] and "no longer in the instance's chain"
               in problem["problem"] for problem in report["problems"])


def _kept_one_day(key: str, body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="{BPMN}" xmlns:camunda="{CAMUNDA}" '
            f'id="d" targetNamespace="t"><bpmn:process id="{key}" isExecutable="true" camunda:historyTimeToLive="1">'
            f'{body}</bpmn:process></bpmn:definitions>').encode()


def test_a_called_case_is_deleted_before_its_caller(client, root):
    child = _kept_one_day("permit_check", '<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f" sourceRef="s" '
                                          'targetRef="e" /><bpmn:endEvent id="e" />')
    parent = _kept_one_day("permit", '<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" '
                                     'targetRef="call" /><bpmn:callActivity id="call" calledElement="permit_check" />'
                                     '<bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="e" /><bpmn:endEvent id="e" />')
    for name, content in (("permit_check.bpmn", child), ("permit.bpmn", parent)):
        assert deploy_bytes(client, name, content).status_code == 200
    caller = start(client, "permit").json()["id"]
    [called] = client.get("/history/process-instance", params={"superProcessInstanceId": caller}).json()
    assert {client.get(f"/history/process-instance/{case}").json()["state"] for case in (caller, called["id"])} == {
        "COMPLETED"}
    root.post("/api/clock", json={"advance": "P1DT1S"}).raise_for_status()
    _refused(client.delete(f"/history/process-instance/{caller}"),
             f"Process instance {caller} called {called['id']} whose history is kept: delete the history of the "
             "called instances first")
    assert client.delete(f"/history/process-instance/{called['id']}").status_code == 204
    assert client.delete(f"/history/process-instance/{caller}").status_code == 204
    report = verify(root)
    assert report["intact"] is True, report["problems"]
    assert [case["processInstanceId"] for case in report["deletedCases"]] == [called["id"], caller]
    assert report["instances"] == 0

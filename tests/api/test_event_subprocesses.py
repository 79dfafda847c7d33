"""Event subprocesses started by a message, a signal, an error or an escalation, and escalation
events, as Camunda 7 runs them: while a scope runs, its event subprocesses wait for their event; an
interrupting one cancels what else runs in the scope, a non-interrupting one runs beside it as often
as its event comes; an error or escalation goes to the nearest scope that catches its code, and an
escalation nobody catches changes nothing."""
from __future__ import annotations

import pytest

from tests.support.bpmn_text import process
from tests.support.http import deploy, deploy_bytes, start
from tests.support.paths import FIXTURES

CONSTRUCTS = FIXTURES / "constructs"


def open_tasks(client, instance_id: str) -> list[str]:
    return sorted(t["taskDefinitionKey"] for t in client.get("/task", params={"processInstanceId": instance_id}).json())


def complete_task(client, instance_id: str, key: str, **variables) -> None:
    task = next(t for t in client.get("/task", params={"processInstanceId": instance_id}).json()
                if t["taskDefinitionKey"] == key)
    client.post(f"/task/{task['id']}/complete", json={"variables": {name: {"value": value} for name, value
                                                                     in variables.items()}}).raise_for_status()


def history(client, instance_id: str) -> list[dict]:
    return client.get("/history/activity-instance", params={"processInstanceId": instance_id,
                                                           "maxResults": 200}).json()


def state(client, instance_id: str) -> str:
    return client.get(f"/history/process-instance/{instance_id}").json()["state"]


def test_a_message_interrupts_the_case_and_its_handler_ends_it(client):
    deploy(client, CONSTRUCTS / "event_subprocess_messages.bpmn")
    case = start(client, "esp_messages", "APP-1").json()["id"]
    other = start(client, "esp_messages", "APP-2").json()["id"]
    assert open_tasks(client, case) == ["examine"]
    answer = client.post("/message", json={"messageName": "ApplicationWithdrawn", "businessKey": "APP-1",
                                           "processVariables": {"reason": {"value": "搬迁"}}})
    assert answer.status_code == 204, answer.text
    assert open_tasks(client, case) == ["archive_withdrawal"]
    assert open_tasks(client, other) == ["examine"]
    assert client.get(f"/process-instance/{case}/variables/reason").json()["value"] == "搬迁"
    rows = {row["activityId"]: row for row in history(client, case)}
    assert rows["examine"]["canceled"] is True and rows["examine"]["endTime"] is not None
    assert rows["withdrawal"]["activityType"] == "subProcess"
    assert rows["withdrawn"]["activityType"] == "messageStartEvent"
    # Once interrupted, the scope waits for no other event: a reminder finds nobody.
    late = client.post("/message", json={"messageName": "ApplicantReminded", "businessKey": "APP-1"})
    assert late.status_code == 400 and late.json()["type"] == "RestException"
    complete_task(client, case, "archive_withdrawal")
    assert state(client, case) == "COMPLETED"
    # The case has ended: nothing is subscribed for it any more, as in Camunda.
    ended = client.post("/message", json={"messageName": "ApplicationWithdrawn", "businessKey": "APP-1"})
    assert ended.status_code == 400
    assert "No process definition or execution matches" in ended.json()["message"]
    assert open_tasks(client, other) == ["examine"]


def test_a_non_interrupting_message_opens_a_handler_each_time_and_the_case_goes_on(client):
    deploy(client, CONSTRUCTS / "event_subprocess_messages.bpmn")
    case = start(client, "esp_messages", "APP-3").json()["id"]
    for note in ("一催", "二催"):
        answer = client.post("/message", json={"messageName": "ApplicantReminded", "businessKey": "APP-3",
                                               "processVariables": {"note": {"value": note}},
                                               "resultEnabled": True})
        assert answer.status_code == 200, answer.text
        assert answer.json()[0]["resultType"] == "Execution"
    assert open_tasks(client, case) == ["answer_reminder", "answer_reminder", "examine"]
    starts = [row for row in history(client, case) if row["activityId"] == "reminded"]
    assert len(starts) == 2 and {row["activityType"] for row in starts} == {"messageStartEvent"}
    complete_task(client, case, "answer_reminder")
    complete_task(client, case, "examine")
    assert state(client, case) == "ACTIVE"  # the scope ends once its last event subprocess has
    complete_task(client, case, "answer_reminder")
    assert state(client, case) == "COMPLETED"


def test_a_signal_starts_the_event_subprocess_of_every_waiting_case(client):
    deploy(client, CONSTRUCTS / "event_subprocess_messages.bpmn")
    cases = [start(client, "esp_messages", key).json()["id"] for key in ("APP-4", "APP-5")]
    answer = client.post("/signal", json={"name": "UrgentNotice", "variables": {"notice": {"value": "停电"}}})
    assert answer.status_code == 204, answer.text
    for case in cases:
        assert open_tasks(client, case) == ["check_alert", "examine"]
        assert client.get(f"/process-instance/{case}/variables/notice").json()["value"] == "停电"
        rows = {row["activityId"]: row["activityType"] for row in history(client, case)}
        assert rows["alerted"] == "signalStartEvent"


def test_an_external_tasks_bpmn_error_starts_the_error_event_subprocess_of_its_subprocess(client):
    deploy(client, CONSTRUCTS / "event_subprocess_errors.bpmn")
    case = start(client, "esp_errors").json()["id"]
    [task] = client.post("/external-task/fetchAndLock", json={
        "workerId": "w1", "maxTasks": 1, "topics": [{"topicName": "check-documents", "lockDuration": 60_000}]}).json()
    # The process's error event subprocess catches any code, but the nearest scope that catches wins.
    answer = client.post(f"/external-task/{task['id']}/bpmnError", json={
        "workerId": "w1", "errorCode": "DOCUMENTS_MISSING", "errorMessage": "缺身份证"})
    assert answer.status_code == 204, answer.text
    assert open_tasks(client, case) == ["request_documents"]
    variables = client.get(f"/process-instance/{case}/variables").json()
    assert variables["missingCode"]["value"] == "DOCUMENTS_MISSING"
    assert variables["missingMessage"]["value"] == "缺身份证"
    rows = {row["activityId"]: row for row in history(client, case)}
    assert rows["check_documents"]["canceled"] is True
    assert rows["documents_missing"]["activityType"] == "errorStartEvent"
    # The subprocess ends with its event subprocess, and the case goes on after it.
    complete_task(client, case, "request_documents")
    assert open_tasks(client, case) == ["assess"]


def test_an_error_end_event_in_a_subprocess_starts_the_catch_all_error_event_subprocess(client):
    deploy(client, CONSTRUCTS / "event_subprocess_errors.bpmn")
    case = start(client, "esp_errors").json()["id"]
    [task] = client.post("/external-task/fetchAndLock", json={
        "workerId": "w1", "maxTasks": 1, "topics": [{"topicName": "check-documents", "lockDuration": 60_000}]}).json()
    client.post(f"/external-task/{task['id']}/complete", json={"workerId": "w1"}).raise_for_status()
    complete_task(client, case, "assess", eligible=False)
    assert open_tasks(client, case) == ["notify_refusal"]
    rows = {row["activityId"]: row["activityType"] for row in history(client, case)}
    assert rows["ineligible"] == "errorEndEvent" and rows["refused"] == "errorStartEvent"
    # The error left the assessment: Camunda cancels the subprocess it ended, and nothing after it runs.
    [assessment] = [row for row in history(client, case) if row["activityId"] == "assessment"]
    assert assessment["canceled"] is True
    assert "issue_permit" not in rows
    complete_task(client, case, "notify_refusal")
    assert state(client, case) == "COMPLETED"


def test_an_error_end_event_starts_the_event_subprocess_of_its_own_subprocess_which_then_goes_on(client):
    deploy(client, CONSTRUCTS / "event_subprocess_same_scope.bpmn")
    case = start(client, "esp_same_scope").json()["id"]
    complete_task(client, case, "draft", incomplete=True)
    assert open_tasks(client, case) == ["rework_draft"]
    rows = {row["activityId"]: row["activityType"] for row in history(client, case)}
    assert rows["draft_incomplete"] == "errorEndEvent" and rows["rework_needed"] == "errorStartEvent"
    # After its interrupting event subprocess the subprocess has ended, and the case goes on after it.
    complete_task(client, case, "rework_draft", incomplete=False)
    assert open_tasks(client, case) == ["sign"]
    assert client.get(f"/process-instance/{case}/variables/incomplete").json()["value"] is False


def test_a_message_reaches_the_event_subprocess_of_a_running_subprocess_and_nothing_once_it_ended(client):
    deploy(client, CONSTRUCTS / "event_subprocess_errors.bpmn")
    case = start(client, "esp_errors", "DOC-1").json()["id"]
    answer = client.post("/message", json={"messageName": "DocumentsReplaced", "businessKey": "DOC-1",
                                           "resultEnabled": True})
    assert answer.status_code == 200, answer.text
    assert open_tasks(client, case) == ["check_by_hand"]
    # The worker's task was cancelled with the rest of the subprocess.
    assert client.post("/external-task/fetchAndLock", json={
        "workerId": "w1", "maxTasks": 1, "topics": [{"topicName": "check-documents", "lockDuration": 60_000}]}
    ).json() == []
    rows = {row["activityId"]: row for row in history(client, case)}
    assert rows["check_documents"]["canceled"] is True
    assert rows["replacement_received"]["activityType"] == "messageStartEvent"
    complete_task(client, case, "check_by_hand")
    assert open_tasks(client, case) == ["assess"]
    # The subprocess has ended, and with it the subscription: Camunda finds no execution to correlate.
    late = client.post("/message", json={"messageName": "DocumentsReplaced", "businessKey": "DOC-1"})
    assert late.status_code == 400 and late.json()["type"] == "RestException"
    assert "No process definition or execution matches" in late.json()["message"]
    assert open_tasks(client, case) == ["assess"]


def test_escalations_reach_a_non_interrupting_boundary_and_an_event_subprocess(client):
    deploy(client, CONSTRUCTS / "event_subprocess_escalations.bpmn")
    case = start(client, "esp_escalations").json()["id"]
    # Each delay report is caught on the subprocess without stopping it (the boundary event keeps
    # listening); the weather report nobody catches is passed over; the inspection goes on.
    assert open_tasks(client, case) == ["inform_applicant", "inform_applicant", "inspect_site"]
    rows = {row["activityId"]: row["activityType"] for row in history(client, case)}
    assert rows["report_delay"] == "intermediateEscalationThrowEvent"
    assert rows["report_weather"] == "intermediateEscalationThrowEvent"
    assert rows["delay_reported"] == "boundaryEscalation"
    complete_task(client, case, "inspect_site")
    # The escalation end event ends the subprocess normally and starts the non-interrupting handler.
    assert open_tasks(client, case) == ["close_case", "inform_applicant", "inform_applicant", "supervise"]
    rows = {row["activityId"]: row["activityType"] for row in history(client, case)}
    assert rows["inspection_escalated"] == "escalationEndEvent"
    assert rows["lead_escalated"] == "escalationStartEvent"
    for key in ("close_case", "inform_applicant", "inform_applicant", "supervise"):
        complete_task(client, case, key)
    assert state(client, case) == "COMPLETED"


def test_an_event_subprocess_that_cannot_start_is_refused_at_deploy(client):
    xml = (CONSTRUCTS / "event_subprocess_errors.bpmn").read_text()
    broken = xml.replace('<bpmn:errorEventDefinition id="ErrorEventDefinition_any" />',
                         '<bpmn:errorEventDefinition id="ErrorEventDefinition_any" />'
                         '<bpmn:messageEventDefinition id="Both" messageRef="Message_none" />')
    answer = client.post("/deployment/create", files=[("data", ("broken.bpmn", broken.encode(), "application/xml"))])
    assert answer.status_code == 400 and answer.json()["type"] == "ParseException"
    assert "'refusal'" in answer.json()["message"]


def test_an_escalation_rethrown_by_an_event_subprocess_goes_to_the_scope_around_it(client):
    """As in Camunda, the section's handler does not catch its own rethrow: the bureau's does, once."""
    deploy(client, CONSTRUCTS / "event_subprocess_rethrow.bpmn")
    case = start(client, "esp_rethrow").json()["id"]
    assert open_tasks(client, case) == ["inspect_site", "section_review"]
    complete_task(client, case, "section_review")
    assert open_tasks(client, case) == ["bureau_review", "inspect_site"]
    rows = [row["activityId"] for row in history(client, case)]
    assert rows.count("section_informed") == 1 and rows.count("bureau_informed") == 1
    for key in ("bureau_review", "inspect_site"):
        complete_task(client, case, key)
    assert state(client, case) == "COMPLETED"


def _rectification_deadline(timer: str, inside_subprocess: bool) -> bytes:
    """整改: the enterprise rectifies while an interrupting timer event subprocess waits; when it
    fires, the rectification is cut off and the case is handed to enforcement."""
    flow = (f'<bpmn:startEvent id="rs"/><bpmn:sequenceFlow id="r1" sourceRef="rs" targetRef="rectify"/>'
            f'<bpmn:userTask id="rectify"/><bpmn:sequenceFlow id="r2" sourceRef="rectify" targetRef="re"/>'
            f'<bpmn:endEvent id="re"/>'
            f'<bpmn:subProcess id="lapse" triggeredByEvent="true"><bpmn:startEvent id="deadline">'
            f'<bpmn:timerEventDefinition>{timer}</bpmn:timerEventDefinition></bpmn:startEvent>'
            f'<bpmn:sequenceFlow id="l1" sourceRef="deadline" targetRef="enforce"/><bpmn:userTask id="enforce"/>'
            f'<bpmn:sequenceFlow id="l2" sourceRef="enforce" targetRef="le"/><bpmn:endEvent id="le"/>'
            f'</bpmn:subProcess>')
    if inside_subprocess:
        flow = (f'<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="stage"/>'
                f'<bpmn:subProcess id="stage">{flow}</bpmn:subProcess>'
                f'<bpmn:sequenceFlow id="f2" sourceRef="stage" targetRef="after"/><bpmn:userTask id="after"/>')
    return process("rectification_deadline", flow)


@pytest.mark.parametrize("timer", ["<bpmn:timeDuration>P15D</bpmn:timeDuration>",
                                   "<bpmn:timeCycle>R/P15D</bpmn:timeCycle>"])
@pytest.mark.parametrize("inside_subprocess", [False, True])
def test_an_interrupting_timer_event_subprocess_cuts_off_its_scope_when_it_fires(client, root, timer,
                                                                                 inside_subprocess):
    """As Camunda: the timer fires once (a cycle on an interrupting start too), cancels what runs in
    the scope, and the scope ends when its event subprocess has."""
    assert deploy_bytes(client, "deadline.bpmn", _rectification_deadline(timer, inside_subprocess)).status_code == 200
    case = start(client, "rectification_deadline").json()["id"]
    assert open_tasks(client, case) == ["rectify"]
    root.post("/api/clock", json={"advance": "P16D"}).raise_for_status()
    assert open_tasks(client, case) == ["enforce"]
    assert client.get("/job", params={"processInstanceId": case}).json() == []
    canceled = {row["activityId"] for row in history(client, case) if row["canceled"]}
    assert "rectify" in canceled
    complete_task(client, case, "enforce")
    if inside_subprocess:
        assert open_tasks(client, case) == ["after"]
        complete_task(client, case, "after")
    assert state(client, case) == "COMPLETED"
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True


"""Camunda's historic external task log, identity link log and details, as auditors and Cockpit read
them: each row from the case's chained history, with stable ids, filters, sorting and paging, bad
input refused with 400, unknown ids 404, and nothing of a case for those who may not read it."""
from __future__ import annotations

import pytest

from app.access import accounts
from app.audit import ledger
from tests.support.bpmn_text import process
from tests.support.http import as_user, deploy_bytes

NOTICE = process("logged_notice", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="publish" />
  <bpmn:serviceTask id="publish" camunda:type="external" camunda:topic="publish-notice" camunda:taskPriority="7" />
  <bpmn:boundaryEvent id="site_down" attachedToRef="publish"><bpmn:errorEventDefinition /></bpmn:boundaryEvent>
  <bpmn:sequenceFlow id="f2" sourceRef="site_down" targetRef="by_hand" />
  <bpmn:userTask id="by_hand" camunda:candidateGroups="mee-office" />
  <bpmn:sequenceFlow id="f3" sourceRef="by_hand" targetRef="end_by_hand" /><bpmn:endEvent id="end_by_hand" />
  <bpmn:sequenceFlow id="f4" sourceRef="publish" targetRef="end" /><bpmn:endEvent id="end" />""")

REVIEW = process("logged_review", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review" name="审查" camunda:candidateGroups="mee-office" camunda:candidateUsers="wang">
    <bpmn:extensionElements><camunda:formData>
      <camunda:formField id="opinion" type="string" /><camunda:formField id="score" type="long" />
    </camunda:formData></bpmn:extensionElements>
  </bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />""")


def _advance(root, seconds: int = 1) -> None:
    root.post("/api/clock", json={"advance": f"PT{seconds}S"}).raise_for_status()


def _lock(client, instance_id: str, worker: str) -> str:
    [locked] = client.post("/external-task/fetchAndLock", json={
        "workerId": worker, "maxTasks": 1,
        "topics": [{"topicName": "publish-notice", "lockDuration": 60000, "processInstanceId": instance_id}]}).json()
    return locked["id"]


@pytest.fixture
def notices(client, root):
    """A notice published after one failure, and one whose worker reported a BPMN error."""
    deploy_bytes(client, "logged_notice.bpmn", NOTICE).raise_for_status()
    published = client.post("/process-definition/key/logged_notice/start", json={}).json()["id"]
    errored = client.post("/process-definition/key/logged_notice/start", json={}).json()["id"]
    _advance(root)
    task = _lock(client, published, "website")
    client.post(f"/external-task/{task}/failure", json={
        "workerId": "website", "errorMessage": "website down", "errorDetails": "HTTP 503 from the portal",
        "retries": 2, "retryTimeout": 0}).raise_for_status()
    _advance(root)
    assert _lock(client, published, "mirror") == task
    client.post(f"/external-task/{task}/complete", json={"workerId": "mirror"}).raise_for_status()
    _advance(root)
    other = _lock(client, errored, "website")
    client.post(f"/external-task/{other}/bpmnError", json={"workerId": "website", "errorCode": "SITE_DOWN"}
                ).raise_for_status()
    return published, task, errored, other


def test_each_event_of_an_external_task_is_a_log_entry(client, notices, service):
    published, task, errored, other = notices
    logs = client.get("/history/external-task-log", params={"processInstanceId": published}).json()
    states = [[name for name in ("creationLog", "failureLog", "successLog", "deletionLog") if log[name]]
              for log in logs]
    assert states == [["creationLog"], ["failureLog"], ["successLog"]]
    created, failed, done = logs
    assert {log["externalTaskId"] for log in logs} == {task}
    assert (created["topicName"], created["priority"], created["workerId"], created["retries"]) == (
        "publish-notice", 7, None, None)
    assert (failed["workerId"], failed["retries"], failed["errorMessage"]) == ("website", 2, "website down")
    assert (done["workerId"], done["errorMessage"]) == ("mirror", None)
    assert created["timestamp"] == "2026-09-28T09:00:00.000+0800" and done["timestamp"] == "2026-09-28T09:00:02.000+0800"
    assert failed["activityId"] == "publish" and failed["processDefinitionKey"] == "logged_notice"
    assert failed["rootProcessInstanceId"] == published and failed["removalTime"] is None
    # A BPMN error leaves the task: Camunda logs its deletion.
    left = client.get("/history/external-task-log", params={"externalTaskId": other}).json()
    assert [(log["creationLog"], log["deletionLog"]) for log in left] == [(True, False), (False, True)]
    # Read twice, one by one: the same entry with the same id.
    again = client.get(f"/history/external-task-log/{failed['id']}")
    assert again.status_code == 200 and again.json() == failed
    assert client.get("/history/external-task-log", params={"processInstanceId": published}).json() == logs
    details = client.get(f"/history/external-task-log/{failed['id']}/error-details")
    assert details.status_code == 200 and details.text == "HTTP 503 from the portal"
    assert details.headers["content-type"].startswith("text/plain")
    assert client.get(f"/history/external-task-log/{created['id']}/error-details").status_code == 204
    # The new events keep the chain verifiable.
    assert ledger.verify(service.services).intact


def test_external_task_log_filters_sorting_paging_and_counts(client, notices):
    published, task, errored, other = notices
    count = client.get("/history/external-task-log/count").json()["count"]
    assert count == 5
    assert client.post("/history/external-task-log/count", json={"failureLog": True}).json() == {"count": 1}
    assert client.get("/history/external-task-log/count", params={"deletionLog": "true"}).json() == {"count": 1}
    assert client.get("/history/external-task-log/count", params={"workerId": "mirror"}).json() == {"count": 1}
    assert client.get("/history/external-task-log/count", params={"topicName": "publish-notice"}).json() == {
        "count": 5}
    assert client.get("/history/external-task-log/count", params={"errorMessage": "website down"}).json() == {
        "count": 1}
    assert client.get("/history/external-task-log/count", params={"priorityHigherThanOrEquals": 8}).json() == {
        "count": 0}
    # Every entry names the task's priority (7, from the model).
    assert client.get("/history/external-task-log/count", params={"priorityLowerThanOrEquals": 7,
                                                                 "priorityHigherThanOrEquals": 7}).json() == {
        "count": 5}
    assert client.get("/history/external-task-log/count", params={"priorityLowerThanOrEquals": 6}).json() == {
        "count": 0}
    assert client.get("/history/external-task-log/count", params={"activityIdIn": "publish,other"}).json() == {
        "count": 5}
    assert client.get("/history/external-task-log/count", params={"executionIdIn": other}).json() == {"count": 2}
    newest = client.get("/history/external-task-log", params={"sortBy": "timestamp", "sortOrder": "desc",
                                                              "maxResults": 2}).json()
    assert [log["deletionLog"] for log in newest] == [True, False]
    by_body = client.post("/history/external-task-log", params={"firstResult": 1, "maxResults": 1}, json={
        "processInstanceId": published, "sorting": [{"sortBy": "timestamp", "sortOrder": "desc"}]}).json()
    assert [log["failureLog"] for log in by_body] == [True]
    by_worker = client.post("/history/external-task-log", json={
        "externalTaskId": task, "sorting": [{"sortBy": "workerId", "sortOrder": "asc"}]}).json()
    assert [log["workerId"] for log in by_worker] == [None, "mirror", "website"]


@pytest.mark.parametrize("params", [{"sortBy": "colour"}, {"sortBy": "timestamp", "sortOrder": "up"},
                                    {"priorityLowerThanOrEquals": "high"}, {"failureLog": "maybe"},
                                    {"maxResults": "-1"}])
def test_bad_external_task_log_queries_answer_400(client, params):
    response = client.get("/history/external-task-log", params=params)
    assert response.status_code == 400 and response.json()["type"] == "InvalidRequestException"


def test_unknown_external_task_logs_answer_404(client):
    for path in ("/history/external-task-log/999999", "/history/external-task-log/nothing",
                 "/history/external-task-log/999999/error-details"):
        response = client.get(path)
        assert response.status_code == 404 and response.json()["type"] == "InvalidRequestException"
    assert client.get("/history/external-task-log/999999").json()["message"] == (
        "Historic external task log with id 999999 does not exist")


@pytest.fixture
def review(client, root):
    deploy_bytes(client, "logged_review.bpmn", REVIEW).raise_for_status()
    instance = client.post("/process-definition/key/logged_review/start", json={"variables": {
        "park": {"value": "临港园区"}, "stage": {"value": "受理"}}}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    return instance, task["id"]


def test_the_identity_link_log_shows_offers_and_assignments_and_who_made_them(client, root, review):
    instance, task = review
    _advance(root)
    client.post(f"/task/{task}/claim", json={"userId": "wang"}).raise_for_status()
    _advance(root)
    client.post(f"/task/{task}/assignee", json={"userId": "li"}).raise_for_status()
    client.post(f"/task/{task}/identity-links", json={"groupId": "xj-drc", "type": "candidate"}).raise_for_status()
    _advance(root)
    client.post(f"/task/{task}/identity-links/delete", json={"groupId": "xj-drc", "type": "candidate"}
                ).raise_for_status()
    client.post(f"/task/{task}/identity-links", json={"userId": "zhao", "type": "owner"}).raise_for_status()
    logs = client.get("/history/identity-link-log", params={"taskId": task}).json()
    seen = [(log["type"], log["userId"], log["groupId"], log["operationType"], log["assignerId"]) for log in logs]
    assert seen == [
        ("candidate", None, "mee-office", "add", None), ("candidate", "wang", None, "add", None),
        ("assignee", "wang", None, "add", "test-admin"),
        ("assignee", "wang", None, "delete", "test-admin"), ("assignee", "li", None, "add", "test-admin"),
        ("candidate", None, "xj-drc", "add", "test-admin"),
        ("candidate", None, "xj-drc", "delete", "test-admin"), ("owner", "zhao", None, "add", "test-admin")]
    assert {log["taskId"] for log in logs} == {task}
    assert logs[0]["processDefinitionKey"] == "logged_review" and logs[0]["rootProcessInstanceId"] == instance
    assert logs[2]["time"] == "2026-09-28T09:00:01.000+0800"
    assert client.get("/history/identity-link-log", params={"taskId": task}).json() == logs  # stable ids
    assert len({log["id"] for log in logs}) == len(logs)
    count = client.get("/history/identity-link-log/count", params={"type": "assignee"}).json()
    assert count == {"count": 3}
    assert client.get("/history/identity-link-log/count", params={"operationType": "delete"}).json() == {"count": 2}
    assert client.get("/history/identity-link-log/count", params={"groupId": "xj-drc"}).json() == {"count": 2}
    assert client.get("/history/identity-link-log/count", params={"assignerId": "test-admin"}).json() == {"count": 6}
    assert client.get("/history/identity-link-log/count", params={
        "dateAfter": "2026-09-28T09:00:01.500+0800"}).json() == {"count": 5}
    assert client.get("/history/identity-link-log/count", params={
        "dateBefore": "2026-09-28T09:00:01.500+0800", "taskId": task}).json() == {"count": 3}
    # Both ends are included, as in Camunda.
    assert client.get("/history/identity-link-log/count", params={
        "dateAfter": "2026-09-28T09:00:01.000+0800", "dateBefore": "2026-09-28T09:00:01.000+0800"}).json() == {
        "count": 1}
    assert client.get("/history/identity-link-log/count", params={
        "processDefinitionKey": "other"}).json() == {"count": 0}
    by_user = client.get("/history/identity-link-log", params={
        "sortBy": "userId", "sortOrder": "desc", "type": "assignee", "maxResults": 2}).json()
    assert [(log["userId"], log["operationType"]) for log in by_user] == [("wang", "add"), ("wang", "delete")]
    paged = client.get("/history/identity-link-log", params={"taskId": task, "firstResult": 6}).json()
    assert [log["id"] for log in paged] == [log["id"] for log in logs[6:]]


@pytest.mark.parametrize("params", [{"sortBy": "colour"}, {"dateBefore": "yesterday"},
                                    {"sortBy": "time", "sortOrder": "sideways"}, {"maxResults": "x"},
                                    {"withoutTenantId": "often"}])
def test_bad_identity_link_log_queries_answer_400(client, params):
    response = client.get("/history/identity-link-log", params=params)
    assert response.status_code == 400 and response.json()["type"] == "InvalidRequestException"


def test_details_list_the_values_commands_set_and_the_submitted_form(client, root, review):
    instance, task = review
    _advance(root)
    client.post(f"/process-instance/{instance}/variables", json={
        "modifications": {"stage": {"value": "审查"}}, "deletions": ["park"]}).raise_for_status()
    _advance(root)
    client.post(f"/task/{task}/submit-form", json={"variables": {
        "opinion": {"value": "同意"}, "score": {"value": 90, "type": "Long"}}}).raise_for_status()
    details = client.get("/history/detail", params={"processInstanceId": instance}).json()
    updates = [(d["variableName"], d["value"], d["revision"], d["initial"]) for d in details
               if d["type"] == "variableUpdate"]
    assert updates == [("park", "临港园区", 0, True), ("stage", "受理", 0, True), ("stage", "审查", 1, False),
                       ("park", None, 1, False), ("opinion", "同意", 0, False), ("score", 90, 0, False)]
    fields = [(d["fieldId"], d["fieldValue"], d["taskId"]) for d in details if d["type"] == "formField"]
    assert fields == [("opinion", "同意", task), ("score", 90, task)]
    score = next(d for d in details if d.get("variableName") == "score")
    assert (score["variableType"], score["valueInfo"], score["taskId"]) == ("Integer", {}, None)
    stage = [d for d in details if d.get("variableName") == "stage"]
    assert stage[0]["variableInstanceId"] == stage[1]["variableInstanceId"]
    variables = client.get("/history/variable-instance", params={"processInstanceId": instance}).json()
    assert stage[0]["variableInstanceId"] in {v["id"] for v in variables}
    assert stage[1]["userOperationId"] is not None and stage[0]["time"] == "2026-09-28T09:00:00.000+0800"
    assert stage[1]["time"] == "2026-09-28T09:00:01.000+0800"
    # One by one, twice: the same detail under the same id.
    one = client.get(f"/history/detail/{stage[1]['id']}")
    assert one.status_code == 200 and one.json() == stage[1]
    assert client.get(f"/history/detail/{stage[1]['id']}", params={"deserializeValue": "false"}).json() == stage[1]
    count = client.get("/history/detail/count", params={"processInstanceId": instance}).json()
    assert count == {"count": 8}
    assert client.get("/history/detail/count", params={"formFields": "true"}).json() == {"count": 2}
    assert client.get("/history/detail/count", params={"variableUpdates": "true"}).json() == {"count": 6}
    assert client.get("/history/detail/count", params={"excludeTaskDetails": "true"}).json() == {"count": 6}
    assert client.get("/history/detail/count", params={"taskId": task}).json() == {"count": 4}
    assert client.get("/history/detail/count", params={"variableTypeIn": "String"}).json() == {"count": 4}
    assert client.get("/history/detail/count", params={"initial": "true"}).json() == {"count": 2}
    assert client.get("/history/detail/count", params={"variableInstanceId": stage[0]["variableInstanceId"]}
                      ).json() == {"count": 2}
    assert client.get("/history/detail/count", params={"occurredAfter": "2026-09-28T09:00:00.500+0800",
                                                       "occurredBefore": "2026-09-28T09:00:01.500+0800"}
                      ).json() == {"count": 2}
    assert client.get("/history/detail/count", params={"occurredAfter": "2026-09-28T09:00:01.000+0800",
                                                       "occurredBefore": "2026-09-28T09:00:01.000+0800"}
                      ).json() == {"count": 2}
    by_name = client.post("/history/detail", params={"maxResults": 3}, json={
        "variableUpdates": True, "sorting": [{"sortBy": "variableName", "sortOrder": "asc"},
                                             {"sortBy": "variableRevision", "sortOrder": "desc"}]}).json()
    assert [(d["variableName"], d["revision"]) for d in by_name] == [("opinion", 0), ("park", 1), ("park", 0)]
    newest = client.get("/history/detail", params={"sortBy": "time", "sortOrder": "desc", "maxResults": 1}).json()
    assert newest[0]["time"] == "2026-09-28T09:00:02.000+0800"


@pytest.mark.parametrize("params", [{"sortBy": "colour"}, {"occurredBefore": "soon"}, {"formFields": "perhaps"},
                                    {"variableNameLike": "x" * 600}, {"firstResult": "-3"}])
def test_bad_detail_queries_answer_400(client, params):
    response = client.get("/history/detail", params=params)
    assert response.status_code == 400 and response.json()["type"] == "InvalidRequestException"


def test_unknown_details_answer_404(client):
    for detail_id in ("999999-0", "nothing", "12345678901234567890-1"):
        response = client.get(f"/history/detail/{detail_id}")
        assert response.status_code == 404 and response.json()["type"] == "InvalidRequestException"
    assert client.get("/history/detail/999999-0").json()["message"] == "Historic detail with Id '999999-0' does not exist."


def test_those_who_may_not_read_a_case_get_none_of_its_rows(service, client, notices, review):
    instance, task = review
    client.post(f"/task/{task}/claim", json={"userId": "wang"}).raise_for_status()
    logs = client.get("/history/external-task-log").json()
    [detail, *_] = client.get("/history/detail").json()
    accounts.save_account(service.services, "outsider", "outsider-password", ["xj-kashgar-env"])
    accounts.save_account(service.services, "wang", "wang-password", [])
    with as_user(service, "outsider") as outsider:
        for path in ("/history/external-task-log", "/history/identity-link-log", "/history/detail"):
            answer = outsider.get(path)
            assert answer.status_code == 200 and answer.json() == [], path
            assert outsider.get(f"{path}/count").json() == {"count": 0}
        assert outsider.post("/history/external-task-log", json={}).json() == []
        assert outsider.post("/history/detail", json={}).json() == []
        assert outsider.get(f"/history/external-task-log/{logs[0]['id']}").status_code == 404
        assert outsider.get(f"/history/external-task-log/{logs[1]['id']}/error-details").status_code == 404
        assert outsider.get(f"/history/detail/{detail['id']}").status_code == 404
    # A candidate of the review reads its rows, and none of the notices'.
    with as_user(service, "wang") as wang:
        assert wang.get("/history/identity-link-log/count").json() == {"count": 3}
        assert wang.get("/history/detail/count").json() == {"count": 2}
        assert wang.get("/history/external-task-log/count").json() == {"count": 0}


def test_deleting_a_case_logs_the_deletion_of_its_open_external_task(client, root):
    deploy_bytes(client, "logged_notice.bpmn", NOTICE).raise_for_status()
    instance = client.post("/process-definition/key/logged_notice/start", json={}).json()["id"]
    task = _lock(client, instance, "website")
    _advance(root)
    assert client.delete(f"/process-instance/{instance}").status_code == 204
    [created, deleted] = client.get("/history/external-task-log", params={"processInstanceId": instance}).json()
    assert created["creationLog"] and deleted["deletionLog"] and deleted["externalTaskId"] == task
    # The worker that held the lock when the case was deleted is named.
    assert (deleted["workerId"], deleted["timestamp"]) == ("website", "2026-09-28T09:00:01.000+0800")

"""External tasks over engine-rest: locks with leases on the service clock, failures with retries and
incidents, BPMN errors taking the error boundary path, long polling that answers when work appears."""
from __future__ import annotations

import threading
import time

from sqlalchemy import select

from app.persistence.models import HistoryEvent
from tests.support.bpmn_text import process
from tests.support.http import deploy, deploy_bytes
from tests.support.paths import FIXTURES
from tests.support.service import ADMIN_AUTH

EVENTS = FIXTURES / "events"
TOPIC = {"topicName": "publish-notice", "lockDuration": 60_000}


def start_notice(client, business_key: str) -> str:
    deploy(client, EVENTS / "publish_notice.bpmn")
    response = client.post("/process-definition/key/publish_notice/start",
                           json={"businessKey": business_key, "variables": {"title": {"value": "关于园区命名的公示"}}})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def fetch(client, worker: str, **topic) -> list[dict]:
    response = client.post("/external-task/fetchAndLock", json={
        "workerId": worker, "maxTasks": 5, "topics": [{**TOPIC, **topic}]})
    assert response.status_code == 200, response.text
    return response.json()


def open_tasks(client, instance_id: str) -> list[str]:
    return sorted(t["taskDefinitionKey"] for t in client.get("/task", params={"processInstanceId": instance_id}).json())


def test_a_worker_fetches_the_notice_with_its_variables_and_completes_it(client, service):
    instance = start_notice(client, "ECO-12-A")
    [task] = fetch(client, "website", variables=["title"])
    assert task["topicName"] == "publish-notice" and task["workerId"] == "website"
    assert task["businessKey"] == "ECO-12-A" and task["processInstanceId"] == instance
    assert task["variables"] == {"title": {"type": "String", "value": "关于园区命名的公示", "valueInfo": {}}}
    assert task["lockExpirationTime"] == "2026-09-28T09:01:00.000+0800"
    # Locked: nobody else gets it.
    assert fetch(client, "other") == []
    done = client.post(f"/external-task/{task['id']}/complete", json={
        "workerId": "website", "variables": {"noticeUrl": {"value": "https://example.gov.cn/n/1"}}})
    assert done.status_code == 204 and done.content == b""
    assert client.get(f"/history/process-instance/{instance}").json()["state"] == "COMPLETED"
    assert client.get("/external-task").json() == []
    # The record names the account that signed in, not the worker id it chose to send.
    with service.services.db.read() as session:
        completed = session.scalars(select(HistoryEvent).where(HistoryEvent.process_instance_id == instance,
                                                               HistoryEvent.kind == "externalTask.completed")).one()
    assert (completed.user_id, completed.payload["worker_id"]) == (ADMIN_AUTH[0], "website")


def test_an_expired_lock_lets_the_next_worker_take_the_task_and_refuses_the_first(client, root):
    start_notice(client, "ECO-12-B")
    [task] = fetch(client, "slow-worker")
    root.post("/api/clock", json={"advance": "PT59S"}).raise_for_status()
    assert fetch(client, "fast-worker") == []
    root.post("/api/clock", json={"advance": "PT1S"}).raise_for_status()
    [again] = fetch(client, "fast-worker")
    assert again["id"] == task["id"] and again["workerId"] == "fast-worker"
    late = client.post(f"/external-task/{task['id']}/complete", json={"workerId": "slow-worker"})
    assert late.status_code == 400
    assert late.json()["type"] == "BadUserRequestException" and "fast-worker" in late.json()["message"]
    assert client.post(f"/external-task/{task['id']}/complete", json={
        "workerId": "fast-worker", "variables": {"noticeUrl": {"value": None}}}).status_code == 204
    # Without a notice address the notice is published by hand.
    assert [t["taskDefinitionKey"] for t in client.get("/task").json()] == ["publish_by_hand"]


def test_extend_lock_and_unlock(client, root):
    start_notice(client, "ECO-12-C")
    [task] = fetch(client, "w1")
    assert client.post(f"/external-task/{task['id']}/extendLock",
                       json={"workerId": "w2", "newDuration": 1000}).status_code == 400
    assert client.post(f"/external-task/{task['id']}/extendLock",
                       json={"workerId": "w1", "newDuration": 300_000}).status_code == 204
    root.post("/api/clock", json={"advance": "PT2M"}).raise_for_status()
    assert fetch(client, "w2") == []  # the extended lease still holds
    assert client.get(f"/external-task/{task['id']}").json()["lockExpirationTime"] == "2026-09-28T09:05:00.000+0800"
    assert client.post(f"/external-task/{task['id']}/unlock").status_code == 204
    [taken] = fetch(client, "w2")
    assert taken["id"] == task["id"]


def test_failures_retry_after_the_timeout_then_raise_an_incident_that_new_retries_resolve(client, root):
    instance = start_notice(client, "ECO-12-D")
    [task] = fetch(client, "w1")
    assert client.post(f"/external-task/{task['id']}/failure", json={
        "workerId": "w1", "errorMessage": "website timed out", "errorDetails": "Traceback: ...",
        "retries": 1, "retryTimeout": 600_000}).status_code == 204
    assert fetch(client, "w1") == []  # not before the retry timeout
    root.post("/api/clock", json={"advance": "PT10M"}).raise_for_status()
    [retry] = fetch(client, "w1")
    assert retry["retries"] == 1 and retry["errorMessage"] == "website timed out"
    assert client.get(f"/external-task/{task['id']}/errorDetails").text == "Traceback: ..."
    assert client.post(f"/external-task/{task['id']}/failure", json={
        "workerId": "w1", "errorMessage": "website down", "retries": 0, "retryTimeout": 0}).status_code == 204

    [incident] = client.get("/incident", params={"processInstanceId": instance}).json()
    assert incident["incidentType"] == "failedExternalTask" and incident["configuration"] == task["id"]
    assert incident["incidentMessage"] == "website down" and incident["activityId"] == "publish"
    assert client.get(f"/incident/{incident['id']}").json()["id"] == incident["id"]
    assert fetch(client, "w1") == []  # no retries left: it waits for an operator
    assert client.get("/external-task", params={"noRetriesLeft": "true"}).json()[0]["id"] == task["id"]

    assert client.put(f"/external-task/{task['id']}/retries", json={"retries": 2}).status_code == 204
    assert client.get("/incident", params={"processInstanceId": instance}).json() == []
    [fetched] = fetch(client, "w1")
    assert fetched["retries"] == 2


def test_a_bpmn_error_takes_the_error_boundary_path_with_the_code_and_message(client):
    instance = start_notice(client, "ECO-12-E")
    [task] = fetch(client, "w1")
    unknown = client.post(f"/external-task/{task['id']}/bpmnError",
                          json={"workerId": "w1", "errorCode": "NO_SUCH_CODE"})
    assert unknown.status_code == 400 and "NO_SUCH_CODE" in unknown.json()["message"]
    assert client.post(f"/external-task/{task['id']}/bpmnError", json={
        "workerId": "w1", "errorCode": "SITE_DOWN", "errorMessage": "503 from the portal",
        "variables": {"attempts": {"value": 3, "type": "Integer"}}}).status_code == 204
    assert open_tasks(client, instance) == ["publish_by_hand"]
    variables = client.get(f"/process-instance/{instance}/variables").json()
    assert variables["failureCode"]["value"] == "SITE_DOWN"
    assert variables["failureMessage"]["value"] == "503 from the portal"
    assert variables["attempts"]["value"] == 3
    canceled = client.get("/history/activity-instance", params={"processInstanceId": instance,
                                                               "activityId": "publish"}).json()
    assert canceled[0]["canceled"] is True


def test_long_polling_answers_as_soon_as_work_appears(client, service):
    deploy(client, EVENTS / "publish_notice.bpmn")
    answers: list = []

    def poll() -> None:
        began = time.monotonic()
        response = client.post("/external-task/fetchAndLock", json={
            "workerId": "poller", "maxTasks": 1, "asyncResponseTimeout": 20_000, "topics": [TOPIC]})
        answers.append((time.monotonic() - began, response.json()))

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.3)  # the poller is waiting now: the test checks that the start wakes it
    client.post("/process-definition/key/publish_notice/start", json={}).raise_for_status()
    poller.join(timeout=20)
    [(waited, locked)] = answers
    assert len(locked) == 1 and locked[0]["workerId"] == "poller"
    assert waited < 5  # woken by the start, long before its 20 s timeout

    empty = client.post("/external-task/fetchAndLock", json={
        "workerId": "poller", "maxTasks": 1, "asyncResponseTimeout": 200, "topics": [TOPIC]})
    assert empty.json() == []


def test_bad_external_task_requests(client):
    assert client.post("/external-task/fetchAndLock", json={"maxTasks": 1, "topics": [TOPIC]}).status_code == 400
    # A lock past any date a database keeps is refused, not a server error.
    start_notice(client, "ECO-12-Z")
    endless = client.post("/external-task/fetchAndLock", json={
        "workerId": "w", "maxTasks": 1, "topics": [{**TOPIC, "lockDuration": 2**62}]})
    assert endless.status_code == 400 and "at most 3153600000000 ms" in endless.json()["message"], endless.text
    [task] = fetch(client, "w")
    for url, body in (("extendLock", {"workerId": "w", "newDuration": 2**62}),
                      ("failure", {"workerId": "w", "retries": 1, "retryTimeout": 2**62})):
        answer = client.post(f"/external-task/{task['id']}/{url}", json=body)
        assert answer.status_code == 400 and "(100 years)" in answer.json()["message"], answer.text
    assert client.post("/external-task/fetchAndLock", json={
        "workerId": "w", "topics": [{"topicName": "t", "lockDuration": 0}]}).status_code == 400
    assert client.post("/external-task/nope/complete", json={"workerId": "w"}).status_code == 404
    assert client.get("/external-task/nope").status_code == 404
    assert client.post("/external-task/nope/unlock").status_code == 404


def test_operators_count_list_topics_and_give_retries_to_many_tasks_at_once(client):
    instances = [start_notice(client, f"ECO-12-R{number}") for number in range(3)]
    failed = []
    for instance in instances[:2]:
        [task] = fetch(client, "w1", processInstanceId=instance)
        client.post(f"/external-task/{task['id']}/failure", json={
            "workerId": "w1", "errorMessage": "website down", "retries": 0, "retryTimeout": 0}).raise_for_status()
        failed.append(task)
    assert client.post("/external-task/count", json={"noRetriesLeft": True}).json() == {"count": 2}
    assert client.get("/external-task/topic-names").json() == ["publish-notice"]
    assert client.get("/external-task/topic-names", params={"withLockedTasks": "true"}).json() == []
    assert client.get("/external-task/topic-names", params={"withRetriesLeft": "true"}).json() == ["publish-notice"]
    assert len(client.get("/incident").json()) == 2
    bulk = client.put("/external-task/retries", json={"retries": 3, "externalTaskIds": [failed[0]["id"]],
                                                      "processInstanceIds": [failed[1]["processInstanceId"]]})
    assert bulk.status_code == 204, bulk.text
    assert client.get("/incident").json() == []
    assert {task["retries"] for task in client.get("/external-task", params={"topicName": "publish-notice"}).json()
            if task["id"] in {failed[0]["id"], failed[1]["id"]}} == {3}
    by_query = client.put("/external-task/retries", json={"retries": 0, "externalTaskQuery": {
        "processInstanceId": instances[2]}})
    assert by_query.status_code == 204
    assert [incident["processInstanceId"] for incident in client.get("/incident").json()] == [instances[2]]
    assert client.put("/external-task/retries", json={"externalTaskIds": [failed[0]["id"]]}).status_code == 400
    assert client.put("/external-task/retries", json={"retries": 1}).status_code == 400
    assert client.put("/external-task/retries", json={"retries": 1, "externalTaskIds": ["nope"]}).status_code == 404


def test_a_worker_locks_one_task_and_its_priority_orders_the_fetch(client):
    first, second = start_notice(client, "ECO-12-L1"), start_notice(client, "ECO-12-L2")
    tasks = {task["processInstanceId"]: task["id"] for task in client.get("/external-task").json()}
    assert client.post(f"/external-task/{tasks[first]}/lock", json={"workerId": "w1", "lockDuration": 60000}
                       ).status_code == 204
    taken = client.post(f"/external-task/{tasks[first]}/lock", json={"workerId": "w2", "lockDuration": 60000})
    assert taken.status_code == 400 and taken.json()["type"] == "BadUserRequestException"
    assert "locked by worker 'w1'" in taken.json()["message"]
    assert client.post(f"/external-task/{tasks[first]}/lock", json={"workerId": "w1", "lockDuration": 0}
                       ).status_code == 400
    assert client.get(f"/external-task/{tasks[first]}").json()["workerId"] == "w1"
    client.post(f"/external-task/{tasks[first]}/unlock").raise_for_status()
    assert client.put(f"/external-task/{tasks[second]}/priority", json={"priority": 50}).status_code == 204
    [prioritized] = client.post("/external-task/fetchAndLock", json={
        "workerId": "w3", "maxTasks": 1, "usePriority": True,
        "topics": [{"topicName": "publish-notice", "lockDuration": 60000}]}).json()
    assert prioritized["id"] == tasks[second] and prioritized["priority"] == 50
    assert client.put(f"/external-task/{tasks[second]}/priority", json={}).status_code == 400


REGISTER_CHECK = """
  <bpmn:extensionElements><camunda:properties><camunda:property name="region" value="${{province}}" />
  </camunda:properties></bpmn:extensionElements>
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
  <bpmn:serviceTask id="check" name="核查排污登记" camunda:type="external" camunda:topic="register-check">
    <bpmn:extensionElements>
      <camunda:properties><camunda:property name="register" value="{register}" /></camunda:properties>
      <camunda:inputOutput><camunda:inputParameter name="query">${{enterprise}}</camunda:inputParameter>
      </camunda:inputOutput>
    </bpmn:extensionElements>
  </bpmn:serviceTask>
  <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="end" /><bpmn:endEvent id="end" />"""


def register_checks(client) -> dict[str, dict]:
    """Three cases waiting at a register check: two of the national process (tag 2026) in the regions
    zj and xj, one of the provincial process without region. Their tasks, by region."""
    national = process("national_check", REGISTER_CHECK.format(register="national")).replace(
        b'isExecutable="true"', 'isExecutable="true" camunda:versionTag="2026" name="全国排污登记核查"'.encode())
    provincial = process("provincial_check", REGISTER_CHECK.format(register="provincial")).replace(
        b'<camunda:property name="region" value="${province}" />', b"")
    deploy_bytes(client, "national.bpmn", national).raise_for_status()
    deploy_bytes(client, "provincial.bpmn", provincial).raise_for_status()
    for key, province in (("national_check", "zj"), ("national_check", "xj"), ("provincial_check", None)):
        variables = {"enterprise": {"value": f"企业-{province}"}, **({"province": {"value": province}} if province else {})}
        client.post(f"/process-definition/key/{key}/start", json={"variables": variables}).raise_for_status()
    return {task["tenantId"]: task for task in client.get("/external-task", params={"topicName": "register-check"}).json()}


def fetched(client, **topic) -> set[str | None]:
    """The regions of the tasks one fetch with these topic filters locks (each given back after)."""
    locked = fetch(client, "register-worker", topicName="register-check", **topic)
    for task in locked:
        assert client.post(f"/external-task/{task['id']}/unlock").status_code == 204
    return {task["tenantId"] for task in locked}


def test_a_fetch_takes_only_the_tasks_its_topic_filters_name(client):
    tasks = register_checks(client)
    assert set(tasks) == {"zj", "xj", None}
    national = tasks["zj"]["processDefinitionId"]
    assert fetched(client) == {"zj", "xj", None}
    assert fetched(client, tenantIdIn=["zj"]) == {"zj"}
    assert fetched(client, withoutTenantId=True) == {None}
    # As Camunda's topic builder: an empty list filters nothing, and a list replaces withoutTenantId.
    assert fetched(client, tenantIdIn=[]) == {"zj", "xj", None}
    assert fetched(client, withoutTenantId=True, tenantIdIn=["xj"]) == {"xj"}
    assert fetched(client, processDefinitionId=national) == {"zj", "xj"}
    assert fetched(client, processDefinitionIdIn=[tasks[None]["processDefinitionId"]]) == {None}
    assert fetched(client, processDefinitionVersionTag="2026") == {"zj", "xj"}
    assert fetched(client, processDefinitionVersionTag="20%") == {"zj", "xj"}  # Camunda's LIKE
    # A text given must equal, an empty one too: it names no task here.
    assert fetched(client, businessKey="") == set() and fetched(client, processDefinitionKey="") == set()
    # Every filter given must hold, as in Camunda: the key and the list of keys together.
    assert fetched(client, processDefinitionKey="national_check", processDefinitionKeyIn=["provincial_check"]) == set()
    assert fetched(client, processDefinitionKey="national_check", tenantIdIn=["xj", "sh"]) == {"xj"}


def test_a_fetch_gives_the_tasks_properties_and_its_own_variables_when_asked(client):
    register_checks(client)
    [plain] = fetch(client, "w", topicName="register-check", tenantIdIn=["zj"])
    assert plain["extensionProperties"] == {}
    assert plain["variables"]["enterprise"]["value"] == "企业-zj" and plain["variables"]["query"]["value"] == "企业-zj"
    [asked] = fetch(client, "w", topicName="register-check", tenantIdIn=["xj"], includeExtensionProperties=True,
                    localVariables=True)
    assert asked["extensionProperties"] == {"register": "national"}
    # Its own variables only: the input parameter, not the case's.
    assert asked["variables"] == {"query": {"type": "String", "value": "企业-xj", "valueInfo": {}}}


def test_a_fetch_filter_the_service_cannot_honour_is_refused(client):
    register_checks(client)
    refused = client.post("/external-task/fetchAndLock", json={"workerId": "w", "maxTasks": 5, "topics": [
        {"topicName": "register-check", "lockDuration": 1000, "processVariables": {"province": "zj"}}]})
    assert refused.status_code == 400 and "processVariables" in refused.json()["message"]
    assert client.get("/external-task", params={"locked": "true"}).json() == []
    refused = client.post("/external-task/fetchAndLock", json={"workerId": "w", "maxTasks": 5, "topics": [
        {"topicName": "register-check", "lockDuration": 1000, "tenantIdIn": "zj", "withoutTenantId": "maybe"}]})
    assert refused.status_code == 400 and "withoutTenantId" in refused.json()["message"]


def listed_regions(client, method: str = "GET", **criteria) -> list[str | None]:
    """The regions of the open tasks an external task query lists, in its order."""
    answer = client.get("/external-task", params=criteria) if method == "GET" else client.post(
        "/external-task", json=criteria)
    assert answer.status_code == 200, answer.text
    counted = client.post("/external-task/count", json=criteria) if method == "POST" else client.get(
        "/external-task/count", params=criteria)
    assert counted.json() == {"count": len(answer.json())}
    return [task["tenantId"] for task in answer.json()]


def test_camundas_external_task_query_filters_narrow_the_list_as_in_camunda(client):
    tasks = register_checks(client)
    zj, xj, plain = tasks["zj"], tasks["xj"], tasks[None]
    assert sorted(listed_regions(client, externalTaskIdIn=f"{zj['id']},{xj['id']}")) == ["xj", "zj"]
    assert listed_regions(client, "POST", externalTaskIdIn=[zj["id"], xj["id"]], externalTaskId=plain["id"]) == []
    assert listed_regions(client, executionId=xj["executionId"]) == ["xj"]
    assert sorted(listed_regions(client, "POST", processInstanceIdIn=[zj["processInstanceId"],
                                                                      plain["processInstanceId"]]),
                  key=str) == [None, "zj"]
    assert listed_regions(client, processDefinitionKeyIn="provincial_check") == [None]
    assert listed_regions(client, processDefinitionKeyIn="provincial_check", processDefinitionKey="national_check") == []
    assert len(listed_regions(client, activityIdIn="check,elsewhere")) == 3
    assert listed_regions(client, activityIdIn="elsewhere") == []
    assert sorted(listed_regions(client, "POST", tenantIdIn=["zj", "xj"])) == ["xj", "zj"]
    assert sorted(listed_regions(client, processDefinitionName="全国排污登记核查")) == ["xj", "zj"]
    assert sorted(listed_regions(client, "POST", processDefinitionNameLike="全国%")) == ["xj", "zj"]
    assert listed_regions(client, processDefinitionName="全国") == []

    # Locks and priorities.
    client.post(f"/external-task/{xj['id']}/lock", json={"workerId": "w", "lockDuration": 60_000}).raise_for_status()
    assert listed_regions(client, lockExpirationAfter="2000-01-01T00:00:00.000+0800") == ["xj"]
    assert listed_regions(client, lockExpirationBefore="2000-01-01T00:00:00.000+0800") == []
    assert client.put(f"/external-task/{zj['id']}/priority", json={"priority": 9}).status_code == 204
    assert listed_regions(client, priorityHigherThanOrEquals="5") == ["zj"]
    assert "zj" not in listed_regions(client, priorityLowerThanOrEquals="8")
    assert listed_regions(client, sortBy="taskPriority", sortOrder="desc")[0] == "zj"
    assert listed_regions(client, "POST", sorting=[{"sortBy": "lockExpirationTime", "sortOrder": "desc"}])[0] == "xj"
    assert client.get("/external-task", params={"sortBy": "priority", "sortOrder": "asc"}).status_code == 400
    # A set of retries named by such a query reaches only the tasks it finds.
    assert client.put("/external-task/retries", json={"retries": 0, "externalTaskQuery": {
        "tenantIdIn": ["zj"]}}).status_code == 204
    assert listed_regions(client, noRetriesLeft="true") == ["zj"]

    # The case's variables, as Camunda's processVariables filter reads them.
    assert listed_regions(client, processVariables="province_eq_zj") == ["zj"]
    assert listed_regions(client, "POST", processVariables=[{"name": "enterprise", "operator": "like",
                                                             "value": "企业-%"}], tenantIdIn=["xj"]) == ["xj"]

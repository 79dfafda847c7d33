"""camunda-external-task-client-python3 4.5.0 (package `camunda`, sync requests). The client has
engine calls (start, instances, messages) and the worker side of external tasks; it has no deploy,
user-task, signal, incident or history calls, so those steps go through httpx."""
from __future__ import annotations

import warnings

import pytest

from tests.support.clients import BPMN, MESSAGE, PROCESS_KEY, SIGNAL, TOPIC, waiting_at
from tests.support.http import deploy
from tests.support.service import ADMIN_AUTH

with warnings.catch_warnings():
    # camunda.utils.auth_bearer uses pydantic's V1 @validator: PydanticDeprecatedSince20 at import.
    warnings.simplefilter("ignore", DeprecationWarning)
    from camunda.client.engine_client import EngineClient
    from camunda.client.external_task_client import ExternalTaskClient
    from camunda.external_task.external_task import ExternalTask
    from camunda.external_task.external_task_worker import ExternalTaskWorker, NoExternalTaskFound
    from camunda.process_definition.process_definition_client import ProcessDefinitionClient

WORKER = "notice-publisher-2"
# asyncResponseTimeout is real time: short, so that an empty fetch answers quickly.
# Both clients sign in with the configuration's `auth_basic`, as the library documents.
SIGNED_IN = {"auth_basic": {"username": ADMIN_AUTH[0], "password": ADMIN_AUTH[1]}}
CONFIG = {"maxTasks": 1, "lockDuration": 60_000, "asyncResponseTimeout": 100, "retries": 3, "retryTimeout": 0,
          "sleepSeconds": 0, **SIGNED_IN}


@pytest.fixture
def url(service, client) -> str:
    deploy(client, BPMN, name="eco-park-application")
    return f"{service.base_url}/engine-rest"


@pytest.fixture
def engine(url) -> EngineClient:
    return EngineClient(engine_base_url=url, config=dict(SIGNED_IN))


@pytest.fixture
def worker(url) -> ExternalTaskWorker:
    return ExternalTaskWorker(worker_id=WORKER, base_url=url, config=CONFIG)


def review(client, instance_id: str, official: str = "wang.fang") -> None:
    tasks = client.get("/task", params={"candidateGroup": "mee-sti", "processInstanceId": instance_id}).json()
    assert [t["taskDefinitionKey"] for t in tasks] == ["review"]
    assert client.post(f"/task/{tasks[0]['id']}/claim", json={"userId": official}).status_code == 204
    body = {"variables": {"reviewOpinion": {"value": "同意公示", "type": "String"}}}
    assert client.post(f"/task/{tasks[0]['id']}/complete", json=body).status_code == 204


def test_review_publish_then_message_and_signal(url, engine, worker, client):
    definitions = ProcessDefinitionClient(engine_base_url=url, config=dict(SIGNED_IN)).get_process_definitions(
        process_key=PROCESS_KEY, version_tag=None, tenant_ids=None)
    assert [(d["key"], d["version"]) for d in definitions] == [(PROCESS_KEY, 1)]
    named = engine.start_process(process_key=PROCESS_KEY, business_key="EIP-2026-0011",
                                 variables={"parkName": "苏州工业园区", "areaHectares": 27800,
                                            "industries": ["电子信息", "生物医药"]})
    waiting = engine.start_process(process_key=PROCESS_KEY, business_key="EIP-2026-0012",
                                   variables={"parkName": "天津经济技术开发区", "areaHectares": 40000})
    assert named["businessKey"] == "EIP-2026-0011" and not named["ended"]

    queue = client.get("/task", params={"candidateGroup": "mee-sti"}).json()
    assert sorted(t["processInstanceId"] for t in queue) == sorted([named["id"], waiting["id"]])
    for instance in (named, waiting):
        review(client, instance["id"])
    assert client.get("/task", params={"candidateGroup": "mee-sti"}).json() == []

    seen = {}

    def publish(task: ExternalTask):
        seen[task.get_business_key()] = task.get_variables()
        return task.complete(global_variables={"noticeUrl": f"https://www.mee.gov.cn/gs/{task.get_business_key()}"})

    worker.fetch_and_execute(topic_names=TOPIC, action=publish)
    worker.fetch_and_execute(topic_names=TOPIC, action=publish)
    with pytest.raises(NoExternalTaskFound):
        worker.fetch_and_execute(topic_names=TOPIC, action=publish)
    assert sorted(seen) == ["EIP-2026-0011", "EIP-2026-0012"]  # both tasks were created in the same instant
    assert seen["EIP-2026-0011"] == {"parkName": "苏州工业园区", "areaHectares": 27800, "industries": '["电子信息", "生物医药"]',
                          "reviewOpinion": "同意公示"}

    results = engine.correlate_message(MESSAGE, business_key="EIP-2026-0011",
                                       process_variables={"objectionCount": 0})
    assert [(r["resultType"], r["execution"]["processInstanceId"]) for r in results] == [("Execution", named["id"])]
    assert waiting_at(client, named["id"]) == {"park_list_published"}
    assert waiting_at(client, waiting["id"]) == {"objection_window_closed"}

    signal = {"name": SIGNAL, "variables": {"listNotice": {"value": "环办科财函〔2026〕12号"}}}
    assert client.post("/signal", json=signal).status_code == 204
    assert [p["id"] for p in engine.get_process_instance(process_key=PROCESS_KEY)] == [waiting["id"]]
    ended = client.get(f"/history/process-instance/{named['id']}").json()
    assert (ended["state"], ended["businessKey"]) == ("COMPLETED", "EIP-2026-0011")
    final = {v["name"]: v["value"] for v in client.get(
        "/history/variable-instance", params={"processInstanceId": named["id"]}).json()}
    assert (final["noticeUrl"], final["objectionCount"], final["listNotice"]) == (
        "https://www.mee.gov.cn/gs/EIP-2026-0011", 0, "环办科财函〔2026〕12号")


def test_failure_without_retries_leaves_an_incident(url, engine, worker, client):
    instance = engine.start_process(process_key=PROCESS_KEY, variables={"parkName": "青岛经济技术开发区"},
                                    business_key="EIP-2026-0013")
    review(client, instance["id"])
    tasks_client = ExternalTaskClient(worker_id=WORKER, engine_base_url=url, config=CONFIG)
    locked = tasks_client.fetch_and_lock(TOPIC)
    assert [(t["processInstanceId"], t["workerId"], t["retries"]) for t in locked] == [(instance["id"], WORKER, None)]
    assert tasks_client.failure(locked[0]["id"], "公示网站超时", "ReadTimeout: www.mee.gov.cn", retries=0,
                                retry_timeout=0) is True

    incidents = client.get("/incident", params={"processInstanceId": instance["id"]}).json()
    assert [(i["incidentType"], i["activityId"], i["incidentMessage"]) for i in incidents] == [
        ("failedExternalTask", "publish_notice", "公示网站超时")]
    with pytest.raises(NoExternalTaskFound):  # no retries left: not handed out again
        worker.fetch_and_execute(topic_names=TOPIC, action=lambda task: task.complete())
    assert waiting_at(client, instance["id"]) == {"publish_notice"}


def test_bpmn_error_sends_the_notice_to_manual_publishing(url, engine, worker, client):
    instance = engine.start_process(process_key=PROCESS_KEY, variables={"parkName": "烟台经济技术开发区"},
                                    business_key="EIP-2026-0014")
    review(client, instance["id"])
    worker.fetch_and_execute(topic_names=TOPIC, action=lambda task: task.bpmn_error(
        "SITE_DOWN", "公示网站维护中", {"outageTicket": "OPS-4471"}))

    assert waiting_at(client, instance["id"]) == {"publish_by_hand"}
    manual = client.get("/task", params={"candidateGroup": "mee-office"}).json()
    assert [(t["taskDefinitionKey"], t["processInstanceId"]) for t in manual] == [("publish_by_hand", instance["id"])]
    values = client.get(f"/process-instance/{instance['id']}/variables").json()
    assert {name: values[name]["value"] for name in ("failureCode", "failureMessage", "outageTicket")} == {
        "failureCode": "SITE_DOWN", "failureMessage": "公示网站维护中", "outageTicket": "OPS-4471"}
    assert client.get("/external-task", params={"processInstanceId": instance["id"]}).json() == []

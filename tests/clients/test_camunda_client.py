"""camunda-client 0.15.0 (package `camunda_client`, async httpx, strict pydantic v2 responses: UUID ids,
restricted variable types). The client has no deploy or signal call; those steps go through httpx."""
from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta

import httpx
from camunda_client import (
    CamundaEngineClient,
    ExternalTaskClient,
    ExternalTaskConfig,
    ExternalTaskWorker,
    VariableValueSchema,
)
from camunda_client.clients.dto import AuthData
from camunda_client.clients.engine.schemas import (
    GetHistoryTasksFilterSchema,
    GetTasksFilterSchema,
    ProcessInstanceQuerySchema,
    SendCorrelationMessageSchema,
)
from camunda_client.clients.engine.schemas.body import HistoricProcessInstanceFilterSchema
from camunda_client.clients.engine.schemas.query import (
    HistoryVariableInstanceFilterParamsSchema,
    VariableInstanceFilterParamsSchema,
)
from camunda_client.clients.schemas import PaginationParams
from camunda_client.utils import deserialize

from app.access import accounts
from tests.support.clients import BPMN, MESSAGE, PROCESS_KEY, SIGNAL, TOPIC, waiting_at
from tests.support.http import deploy

WORKER = "notice-publisher-3"
# The integration signs in as a system (messages, external tasks) that also does the review (mee-sti).
ACCOUNT, PASSWORD = "notice-publisher", "publisher-password"
PAGE = PaginationParams(limit=50, offset=0)


@contextlib.asynccontextmanager
async def camunda(url: str):
    """The engine and external-task clients; the library never closes its httpx clients, so the test
    owns their transports (an unclosed one is a ResourceWarning, an error here)."""
    auth = AuthData(username=ACCOUNT, password=PASSWORD)
    engine_transport, task_transport = httpx.AsyncHTTPTransport(), httpx.AsyncHTTPTransport()
    # async_response_timeout is real time: short, so that the worker's empty polls end quickly.
    config = ExternalTaskConfig(lock_duration=timedelta(minutes=5), async_response_timeout=timedelta(seconds=0.2),
                                retry_timeout=timedelta(seconds=0))
    try:
        yield (CamundaEngineClient(base_url=url, auth_data=auth, transport=engine_transport),
               ExternalTaskClient(worker_id=WORKER, base_url=url, auth_data=auth, transport=task_transport,
                                  config=config))
    finally:
        await engine_transport.aclose()
        await task_transport.aclose()


def run(service, client, scenario) -> None:
    accounts.save_account(service.services, ACCOUNT, PASSWORD, ["systems", "mee-sti"])
    deploy(client, BPMN, name="eco-park-application")
    asyncio.run(scenario(f"{service.base_url}/engine-rest"))


async def start(engine: CamundaEngineClient, business_key: str, park: str):
    return await engine.start_process(process_key=PROCESS_KEY, business_key=business_key, variables={
        "parkName": VariableValueSchema(value=park, type="String"), "areaHectares": deserialize(27800)})


async def pass_review(engine: CamundaEngineClient, instance_id: uuid.UUID) -> None:
    task = (await engine.get_tasks(GetTasksFilterSchema(candidate_group="mee-sti", process_instance_id=instance_id)))[0]
    await engine.submit_task_form(task.id, {"reviewOpinion": deserialize("同意公示")})


async def notice_to_publish(engine: CamundaEngineClient, tasks: ExternalTaskClient, business_key: str, park: str):
    """A started application past its review, and its notice locked by this worker."""
    instance = await start(engine, business_key, park)
    await pass_review(engine, instance.id)
    locked = await tasks.fetch_and_lock([TOPIC])
    assert [t.process_instance_id for t in locked] == [str(instance.id)]
    return instance, locked[0]


def test_review_publish_then_message_signal_and_history(service, client):
    async def scenario(url: str) -> None:
        async with camunda(url) as (engine, tasks):
            named = await start(engine, "EIP-2026-0021", "苏州工业园区")
            waiting = await start(engine, "EIP-2026-0022", "天津经济技术开发区")
            assert isinstance(named.id, uuid.UUID) and named.business_key == "EIP-2026-0021"
            found = await engine.get_process_instances(ProcessInstanceQuerySchema(business_key="EIP-2026-0021"))
            assert [p.id for p in found] == [named.id]

            queue = await engine.get_tasks(GetTasksFilterSchema(candidate_group="mee-sti"), PAGE)
            assert sorted(t.process_instance_id for t in queue) == sorted([named.id, waiting.id])
            assert (await engine.get_tasks_count(GetTasksFilterSchema(candidate_group="mee-sti"))).count == 2
            task = next(t for t in queue if t.process_instance_id == named.id)
            official = uuid.uuid4()  # the client types user ids as UUIDs
            await engine.claim_task(task.id, official)
            assert (await engine.get_task(task.id)).assignee == str(official)
            queue = await engine.get_tasks(GetTasksFilterSchema(candidate_group="mee-sti"), PAGE)
            assert [t.process_instance_id for t in queue] == [waiting.id]  # claimed: off the group's list
            await engine.submit_task_form(task.id, {"reviewOpinion": deserialize("同意公示")})
            assert await engine.get_task(task.id) is None  # done: gone from the runtime
            await pass_review(engine, waiting.id)

            locked = await tasks.fetch_and_lock([TOPIC], business_key="EIP-2026-0021")
            assert [(t.process_instance_id, t.business_key) for t in locked] == [(str(named.id), "EIP-2026-0021")]
            assert locked[0].parsed_variables["reviewOpinion"] == "同意公示"
            await tasks.extend_lock(locked[0].id, new_duration=600_000)
            await tasks.unlock(locked[0].id)  # handed back: the worker below takes it again
            published = []
            worker = ExternalTaskWorker(client=tasks, pull_interval=timedelta(seconds=0.05))

            async def publish_both() -> None:
                async with worker.subscribe(TOPIC) as contexts:
                    async for context in contexts:
                        async with context as notice:
                            url = f"https://www.mee.gov.cn/gs/{notice.business_key}"
                            await context.complete(global_variables={"noticeUrl": deserialize(url)})
                            published.append(notice.business_key)
                        if len(published) == 2:
                            break

            async with worker:
                await asyncio.wait_for(publish_both(), timeout=10)
            assert sorted(published) == ["EIP-2026-0021", "EIP-2026-0022"]

            assert await engine.send_correlation_message(SendCorrelationMessageSchema(
                message_name=MESSAGE, business_key="EIP-2026-0021",
                process_variables={"objectionCount": deserialize(0)})) is None
            assert waiting_at(client, str(named.id)) == {"park_list_published"}
            assert waiting_at(client, str(waiting.id)) == {"objection_window_closed"}
            running = await engine.get_variable_instances(VariableInstanceFilterParamsSchema(
                process_instance_id_in=[named.id, waiting.id], variable_name="objectionCount"))
            assert [(v.process_instance_id, v.value) for v in running] == [(named.id, 0)]

            signal = {"name": SIGNAL, "variables": {"listNotice": {"value": "环办科财函〔2026〕12号", "type": "String"}}}
            assert client.post("/signal", json=signal).status_code == 204

            ended = await engine.get_history_process_instance(named.id)
            assert ended.state.value == "COMPLETED"
            finished = await engine.get_history_process_instances(
                HistoricProcessInstanceFilterSchema(process_definition_key=PROCESS_KEY, finished=True), PAGE)
            assert [p.id for p in finished] == [named.id]
            reviews = await engine.get_history_tasks(GetHistoryTasksFilterSchema(task_assignee=str(official)))
            assert [(t.process_instance_id, t.task_definition_key, t.delete_reason) for t in reviews] == [
                (named.id, "review", "completed")]
            assert reviews[0].end_time is not None and reviews[0].id == task.id
            assert await engine.get_history_tasks(GetHistoryTasksFilterSchema(
                process_definition_key=PROCESS_KEY, unfinished=True)) == []
            final = await engine.get_history_variable_instances(
                HistoryVariableInstanceFilterParamsSchema(process_instance_id=named.id))
            assert {v.name: v.value for v in final} == {
                "parkName": "苏州工业园区", "areaHectares": 27800, "reviewOpinion": "同意公示",
                "noticeUrl": "https://www.mee.gov.cn/gs/EIP-2026-0021", "objectionCount": 0,
                "listNotice": "环办科财函〔2026〕12号"}
            assert await engine.get_variable_instances(
                VariableInstanceFilterParamsSchema(process_instance_id_in=[named.id])) == []  # ended

    run(service, client, scenario)


def test_failure_without_retries_leaves_an_incident(service, client):
    async def scenario(url: str) -> None:
        async with camunda(url) as (engine, tasks):
            instance, notice = await notice_to_publish(engine, tasks, "EIP-2026-0023", "青岛经济技术开发区")
            await tasks.failure(notice.id, error_message="公示网站超时", retries=0,
                                error_details="ReadTimeout: www.mee.gov.cn")

            incidents = await engine.get_incidents("failedExternalTask")
            assert [(i.process_instance_id, i.activity_id, i.incident_message) for i in incidents] == [
                (instance.id, "publish_notice", "公示网站超时")]
            assert await engine.get_external_task_error_details(notice.id) == "ReadTimeout: www.mee.gov.cn"
            assert (await engine.get_external_task(notice.id)).retries == 0
            assert await tasks.fetch_and_lock([TOPIC]) == []  # not handed out again

    run(service, client, scenario)


def test_bpmn_error_sends_the_notice_to_manual_publishing(service, client):
    async def scenario(url: str) -> None:
        async with camunda(url) as (engine, tasks):
            instance, notice = await notice_to_publish(engine, tasks, "EIP-2026-0024", "烟台经济技术开发区")
            await tasks.bpmn_error(notice.id, "SITE_DOWN", "公示网站维护中", {"outageTicket": deserialize("OPS-4471")})

            manual = await engine.get_tasks(GetTasksFilterSchema(candidate_group="mee-office"))
            assert [(t.task_definition_key, t.process_instance_id) for t in manual] == [
                ("publish_by_hand", instance.id)]
            history = await engine.get_history_tasks(GetHistoryTasksFilterSchema(process_instance_id=instance.id))
            assert [(t.task_definition_key, t.end_time is None) for t in history] == [
                ("review", False), ("publish_by_hand", True)]
            values = await engine.get_variable_instances(VariableInstanceFilterParamsSchema(
                process_instance_id_in=[instance.id], variable_name_like="failure%"))
            assert {v.name: v.value for v in values} == {"failureCode": "SITE_DOWN", "failureMessage": "公示网站维护中"}
            ticket = await engine.get_history_variable_instances(HistoryVariableInstanceFilterParamsSchema(
                process_instance_id=instance.id, variable_name="outageTicket"))
            assert [(v.value, v.type) for v in ticket] == [("OPS-4471", "String")]
            assert await engine.get_external_task(notice.id) is None  # the boundary event cancelled it

    run(service, client, scenario)

"""pycamunda 0.6.1 (sync, requests): deploy, start, review, publish, correlate, fail, raise BPMN errors.
pycamunda has no history API: the runtime variable instances stand in for it."""
from __future__ import annotations

import pycamunda.base
import pycamunda.deployment
import pycamunda.externaltask
import pycamunda.filter
import pycamunda.group
import pycamunda.incident
import pycamunda.message
import pycamunda.processdef
import pycamunda.processinst
import pycamunda.signal
import pycamunda.task
import pycamunda.user
import pycamunda.variable
import pytest
import requests
import requests.auth

from tests.support.clients import BPMN, MESSAGE, PROCESS_KEY, SIGNAL, TOPIC, waiting_at
from tests.support.service import ADMIN_AUTH

WORKER = "notice-publisher-1"


@pytest.fixture(autouse=True)
def signed_in(monkeypatch):
    """pycamunda takes credentials per request object (`request.auth`, as requests does): every
    request of these tests signs in, as an integration configures its client once."""
    original = pycamunda.base.CamundaRequest.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.auth = requests.auth.HTTPBasicAuth(*ADMIN_AUTH)

    monkeypatch.setattr(pycamunda.base.CamundaRequest, "__init__", init)
    # pycamunda fetches an external task's errorDetails with a bare requests.get, without the request's
    # credentials (against Camunda with authentication on it fails the same way): give it them.
    monkeypatch.setattr(pycamunda.externaltask, "requests", _SignedRequests())


class _SignedRequests:
    def __getattr__(self, name):
        return getattr(requests, name)

    def get(self, *args, **kwargs):
        return requests.get(*args, auth=requests.auth.HTTPBasicAuth(*ADMIN_AUTH), **kwargs)


@pytest.fixture
def url(service) -> str:
    url = f"{service.base_url}/engine-rest"
    create = pycamunda.deployment.Create(url=url, name="eco-park-application")
    create.add_resource((BPMN.name, BPMN.read_bytes(), "application/octet-stream"))
    deployment = create()
    assert [d.key for d in deployment.deployed_process_definitions.values()] == [PROCESS_KEY]
    return url


def start(url: str, business_key: str, **variables) -> pycamunda.processinst.ProcessInstance:
    request = pycamunda.processdef.StartInstance(url=url, key=PROCESS_KEY, business_key=business_key)
    for name, value in variables.items():
        request.add_variable(name=name, value=value)  # untyped: the service infers the type
    return request()


def review(url: str, instance_id: str, official: str = "li.ming") -> None:
    task = pycamunda.task.GetList(url=url, candidate_group="mee-sti", process_instance_id=instance_id)()[0]
    pycamunda.task.Claim(url=url, id_=task.id_, user_id=official)()
    complete = pycamunda.task.Complete(url=url, id_=task.id_)
    complete.add_variable(name="reviewOpinion", value="材料齐全，同意公示", type_="String")
    complete()


def fetch(url: str) -> tuple:
    request = pycamunda.externaltask.FetchAndLock(url=url, worker_id=WORKER, max_tasks=1, async_response_timeout=100)
    request.add_topic(name=TOPIC, lock_duration=60_000)
    return request()


def variables(url: str, instance_id: str) -> dict:
    rows = pycamunda.variable.GetList(url=url, process_instance_id_in=[instance_id])()
    assert {row.process_instance_id for row in rows} == {instance_id}
    return {row.name: row.value for row in rows}


def test_review_then_publish_the_notice(url, client):
    assert pycamunda.processdef.GetList(url=url, key=PROCESS_KEY, latest_version=True)()[0].version == 1
    instance = start(url, "EIP-2026-0001", parkName="苏州工业园区", areaHectares=27800)
    assert instance.business_key == "EIP-2026-0001"

    tasks = pycamunda.task.GetList(url=url, candidate_group="mee-sti")()
    assert [(t.task_definition_key, t.process_instance_id) for t in tasks] == [("review", instance.id_)]
    pycamunda.task.Claim(url=url, id_=tasks[0].id_, user_id="li.ming")()
    assert pycamunda.task.Get(url=url, id_=tasks[0].id_)().assignee == "li.ming"
    assert pycamunda.task.GetList(url=url, candidate_group="mee-sti")() == ()  # claimed: off the group's list
    complete = pycamunda.task.Complete(url=url, id_=tasks[0].id_)
    complete.add_variable(name="reviewOpinion", value="材料齐全，同意公示", type_="String")
    complete()

    locked = fetch(url)
    assert len(locked) == 1
    task = locked[0]
    assert (task.topic_name, task.business_key, task.worker_id) == (TOPIC, "EIP-2026-0001", WORKER)
    assert task.variables["parkName"].value == "苏州工业园区"
    assert (task.variables["areaHectares"].type_, task.variables["areaHectares"].value) == ("Integer", 27800)
    assert task.variables["reviewOpinion"].value == "材料齐全，同意公示"
    assert fetch(url) == ()  # locked by this worker
    done = pycamunda.externaltask.Complete(url=url, id_=task.id_, worker_id=WORKER)
    done.add_variable(name="noticeUrl", value="https://www.mee.gov.cn/gs/EIP-2026-0001", type_="String")
    done()

    assert waiting_at(client, instance.id_) == {"objection_window_closed"}
    assert variables(url, instance.id_) == {
        "parkName": "苏州工业园区", "areaHectares": 27800, "reviewOpinion": "材料齐全，同意公示",
        "noticeUrl": "https://www.mee.gov.cn/gs/EIP-2026-0001"}


def test_message_reaches_only_the_instance_of_its_business_key_then_the_signal_ends_it(url, client):
    named = start(url, "EIP-2026-0001", parkName="苏州工业园区")
    waiting = start(url, "EIP-2026-0002", parkName="天津经济技术开发区")
    for instance in (named, waiting):
        review(url, instance.id_)
        task = fetch(url)[0]
        pycamunda.externaltask.Complete(url=url, id_=task.id_, worker_id=WORKER)()

    # result_enabled: without it the service answers 204 as Camunda does, which pycamunda cannot parse.
    correlate = pycamunda.message.CorrelateSingle(url=url, message_name=MESSAGE, business_key="EIP-2026-0001",
                                                  result_enabled=True)
    correlate.add_process_variable(name="objectionCount", value=0, type_="Integer")
    results = correlate()
    assert [r.execution.process_instance_id for r in results] == [named.id_]
    assert waiting_at(client, named.id_) == {"park_list_published"}
    assert waiting_at(client, waiting.id_) == {"objection_window_closed"}
    assert variables(url, named.id_)["objectionCount"] == 0
    assert "objectionCount" not in variables(url, waiting.id_)

    signal = pycamunda.signal.EventAll(url=url, name=SIGNAL)
    signal.add_variable(name="listNotice", value="环办科财函〔2026〕12号", type_="String")
    signal()
    assert pycamunda.processinst.GetList(url=url, business_key="EIP-2026-0001")() == ()
    assert [p.id_ for p in pycamunda.processinst.GetList(url=url, business_key="EIP-2026-0002")()] == [waiting.id_]


def test_failure_without_retries_leaves_an_incident(url):
    instance = start(url, "EIP-2026-0003", parkName="青岛经济技术开发区")
    review(url, instance.id_)
    task = fetch(url)[0]
    pycamunda.externaltask.HandleFailure(url=url, id_=task.id_, worker_id=WORKER, error_message="公示网站超时",
                                         error_details="ReadTimeout: www.mee.gov.cn", retries=0, retry_timeout=0)()

    incidents = pycamunda.incident.GetList(url=url, process_instance_id=instance.id_)()
    assert [(i.incident_type, i.activity_id, i.incident_message, i.configuration) for i in incidents] == [
        (pycamunda.incident.IncidentType.failed_external_task, "publish_notice", "公示网站超时", task.id_)]
    failed = pycamunda.externaltask.GetList(url=url, process_instance_id=instance.id_, no_retries_left=True)()
    assert [(t.id_, t.retries, t.error_message, t.error_details) for t in failed] == [
        (task.id_, 0, "公示网站超时", "ReadTimeout: www.mee.gov.cn")]
    assert fetch(url) == ()  # no retries left: no worker gets it until an operator resets them


def test_bpmn_error_sends_the_notice_to_manual_publishing(url, client):
    instance = start(url, "EIP-2026-0004", parkName="烟台经济技术开发区")
    review(url, instance.id_)
    task = fetch(url)[0]
    error = pycamunda.externaltask.HandleBPMNError(url=url, id_=task.id_, worker_id=WORKER, error_code="SITE_DOWN",
                                                    error_message="公示网站维护中")
    error.add_variable(name="outageTicket", value="OPS-4471", type_="String")
    error()

    assert waiting_at(client, instance.id_) == {"publish_by_hand"}
    manual = pycamunda.task.GetList(url=url, candidate_group="mee-office")()
    assert [(t.task_definition_key, t.process_instance_id) for t in manual] == [("publish_by_hand", instance.id_)]
    values = variables(url, instance.id_)
    assert (values["failureCode"], values["failureMessage"], values["outageTicket"]) == (
        "SITE_DOWN", "公示网站维护中", "OPS-4471")
    assert pycamunda.externaltask.GetList(url=url, process_instance_id=instance.id_)() == ()


def test_case_work_through_pycamunda(url, client):
    """Opinions, 加签, delegation, updating a task, suspension and modification, as pycamunda calls them."""
    instance = start(url, "EIP-2026-0009", parkName="昌吉园区", areaHectares=1200)
    [task] = pycamunda.task.GetList(url=url, process_instance_id=instance.id_)()
    comment = pycamunda.task.CommentCreate(url=url, task_id=task.id_, message="材料齐全")()
    assert (comment.message, comment.task_id) == ("材料齐全", task.id_)
    assert [c.id_ for c in pycamunda.task.CommentGetList(url=url, task_id=task.id_)()] == [comment.id_]
    assert pycamunda.task.CommentGet(url=url, task_id=task.id_, comment_id=comment.id_)().message == "材料齐全"

    pycamunda.task.IdentityLinksAdd(url=url, task_id=task.id_, type_="candidate", group_id="xj-drc")()
    links = pycamunda.task.IdentityLinksGetList(url=url, task_id=task.id_)()
    assert ("xj-drc", "candidate") in {(link.group_id, link.type_) for link in links}
    pycamunda.task.IdentityLinksDelete(url=url, task_id=task.id_, type_="candidate", group_id="xj-drc")()
    assert "xj-drc" not in {link.group_id for link in pycamunda.task.IdentityLinksGetList(url=url, task_id=task.id_)()}

    pycamunda.task.Claim(url=url, id_=task.id_, user_id="li.ming")()
    pycamunda.task.Delegate(url=url, id_=task.id_, user_id="expert.wang")()
    delegated = pycamunda.task.Get(url=url, id_=task.id_)()
    assert (delegated.assignee, delegated.owner, delegated.delegation_state) == (
        "expert.wang", "li.ming", "PENDING")
    pycamunda.task.Resolve(url=url, id_=task.id_)()
    resolved = pycamunda.task.Get(url=url, id_=task.id_)()
    assert (resolved.assignee, resolved.delegation_state) == ("li.ming", "RESOLVED")

    pycamunda.task.Update(url=url, id_=task.id_, name="审查（加急）", description=resolved.description,
                          assignee=resolved.assignee, owner=resolved.owner, delegation_state=resolved.delegation_state,
                          due=resolved.due, follow_up=resolved.follow_up, priority=80, parent_task_id=None,
                          case_instance_id=None, tenant_id=None)()
    updated = pycamunda.task.Get(url=url, id_=task.id_)()
    assert (updated.name, updated.priority) == ("审查（加急）", 80)

    pycamunda.processinst.Suspend(url=url, id_=instance.id_)()
    assert pycamunda.processinst.Get(url=url, id_=instance.id_)().suspended is True
    assert pycamunda.task.Get(url=url, id_=task.id_)().suspended is True
    with pytest.raises(pycamunda.PyCamundaException):
        pycamunda.task.Complete(url=url, id_=task.id_)()
    pycamunda.processinst.Activate(url=url, id_=instance.id_)()

    tree = pycamunda.processinst.GetActivityInstance(url=url, id_=instance.id_)()
    assert [child.activity_id for child in tree.child_activity_instances] == ["review"]
    modify = pycamunda.processinst.Modify(url=url, id_=instance.id_, annotation="退回重审")
    modify.add_cancel_activity_instance_instruction(id_=tree.child_activity_instances[0].id_)
    modify.add_before_activity_instruction(id_="review")
    modify()
    [again] = pycamunda.task.GetList(url=url, process_instance_id=instance.id_)()
    assert again.task_definition_key == "review" and again.id_ != task.id_


def test_users_groups_and_a_shared_filter_through_pycamunda(url, client):
    """As Camunda's Admin and a task-list integration manage them with pycamunda."""
    pycamunda.user.Create(url, id_="li.ming", first_name="明", last_name="李", email="li.ming@xj.gov.cn",
                          password="li-ming-password")()
    pycamunda.group.Create(url, id_="xj-env", name="新疆生态环境厅", type_="AUTHORITY")()
    pycamunda.group.MemberCreate(url, id_="xj-env", user_id="li.ming")()
    profile = pycamunda.user.GetProfile(url, id_="li.ming")()
    assert (profile.first_name, profile.last_name, profile.email) == ("明", "李", "li.ming@xj.gov.cn")
    [group] = pycamunda.group.GetList(url, member="li.ming")()
    assert (group.id_, group.name, group.type_) == ("xj-env", "新疆生态环境厅", "AUTHORITY")
    assert [user.id_ for user in pycamunda.user.GetList(url, member_of_group="xj-env")()] == ["li.ming"]

    started = start(url, "ECO-PY-F")
    shared = pycamunda.filter.Create(url, name="全部待办")()
    assert shared.owner is None and shared.resource_type == "Task"
    tasks = pycamunda.filter.Execute(url, id_=shared.id_)()
    assert [task.process_instance_id for task in tasks] == [started.id_]
    assert pycamunda.filter.ExecuteCount(url, id_=shared.id_)() == 1
    assert [row.name for row in pycamunda.filter.GetList(url, item_count=True)()] == ["全部待办"]
    pycamunda.filter.Delete(url, id_=shared.id_)()
    assert pycamunda.filter.Count(url)() == 0
    pycamunda.group.MemberDelete(url, id_="xj-env", user_id="li.ming")()
    pycamunda.user.Delete(url, id_="li.ming")()
    assert pycamunda.user.Count(url)() == 1  # the administrator is left


def test_task_local_variables_through_pycamunda(url):
    instance = start(url, "EIP-2026-0010", parkName="哈密园区")
    [task] = pycamunda.task.GetList(url=url, process_instance_id=instance.id_)()
    # (pycamunda's LocalVariablesUpdate sends a plain value as a multipart file, which Camunda refuses too.)
    modify = pycamunda.task.LocalVariablesModify(url=url, task_id=task.id_)
    modify.add_variable(name="parkName", value="草稿园区名", type_="String")
    modify.add_variable(name="siteVisit", value=True, type_="Boolean")
    modify()
    local = pycamunda.task.LocalVariablesGetList(url=url, task_id=task.id_)()
    assert {name: variable.value for name, variable in local.items()} == {"parkName": "草稿园区名", "siteVisit": True}
    assert pycamunda.task.LocalVariablesGet(url=url, task_id=task.id_, var_name="siteVisit")().value is True
    pycamunda.task.LocalVariablesDelete(url=url, task_id=task.id_, var_name="siteVisit")()
    assert set(pycamunda.task.LocalVariablesGetList(url=url, task_id=task.id_)()) == {"parkName"}
    # The case's own variable is untouched by the task's.
    assert variables(url, instance.id_) == {"parkName": "哈密园区"}

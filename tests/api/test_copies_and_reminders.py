"""Copies (抄送) and reminders (催办): a step copied by the procedure when it ends (ccGroups / ccUsers)
or by whoever works it lets the recipients read the case, read-only, and lists it as "copied to
me"; whoever reads a case reminds the handlers of its open task, and the systems read every
reminder to send it on, or take those of the topic the procedure names (reminderTopic) under a lease
on the service clock, no two senders the same one, and report each delivered. Each is an event of
the case's chained history."""
from __future__ import annotations

import threading

import httpx
import pytest

from app.access import accounts
from tests.support.bpmn_text import process, properties
from tests.support.history import events_of, verify
from tests.support.http import as_user, deploy_bytes

# Reminders of the decision go to the leaders' SMS topic (the element's), the others to the bureau's.
NAMING = process("naming_case", f"""{properties(reminderTopic="sms-xj-env")}
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide" />
  <bpmn:userTask id="decide" name="命名决定" camunda:candidateGroups="xj-env">
    {properties(ccGroups="xj-leaders", ccUsers="director-wang", reminderTopic="sms-leaders")}</bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="publish" />
  <bpmn:userTask id="publish" name="公告" camunda:candidateGroups="xj-env" />
  <bpmn:sequenceFlow id="f3" sourceRef="publish" targetRef="end" /><bpmn:endEvent id="end" />""")
ACCOUNTS = {"li": ["xj-env"], "zhao": ["xj-drc"], "leader": ["xj-leaders"], "director-wang": [],
            "firm": ["enterprises"], "platform": ["systems"]}


@pytest.fixture
def case(service, client):
    for user, groups in ACCOUNTS.items():
        accounts.save_account(service.services, user, f"{user}-password", groups)
    deploy_bytes(client, "naming.bpmn", NAMING).raise_for_status()
    with as_user(service, "firm") as firm:
        instance = firm.post("/process-definition/key/naming_case/start", json={"businessKey": "ECO-9"}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    return instance, task["id"]


def test_the_procedure_copies_a_step_when_it_ends(service, client, root, case):
    instance, task = case
    with as_user(service, "leader") as leader, as_user(service, "director-wang") as wang:
        assert leader.get(f"/process-instance/{instance}").status_code == 403
        with as_user(service, "li") as li:
            li.post(f"/task/{task}/complete", json={}).raise_for_status()
        for reader in (leader, wang):
            assert reader.get(f"/process-instance/{instance}").status_code == 200
            [copy] = reader.get("../api/copies").json()
            assert (copy["processInstanceId"], copy["activityId"], copy["taskId"], copy["copiedBy"],
                    copy["businessKey"]) == (instance, "decide", task, None, "ECO-9")
        # Read-only: the copied leader is not offered the case's next task and may not work it.
        [publish] = client.get("/task", params={"processInstanceId": instance}).json()
        assert leader.get("/task", params={"candidateGroup": "xj-leaders"}).json() == []
        assert leader.post(f"/task/{publish['id']}/complete", json={}).status_code == 403
    said = [e["what"] for e in root.get(f"/api/process-instances/{instance}/timeline").json()]
    assert "抄送：命名决定" in said
    assert verify(root, instance)["intact"] is True


def test_whoever_works_a_task_copies_it(service, client, case):
    instance, task = case
    with as_user(service, "zhao") as zhao, as_user(service, "li") as li:
        assert zhao.post(f"../api/tasks/{task}/copies", json={"groups": ["xj-drc"]}).status_code == 403
        copied = li.post(f"../api/tasks/{task}/copies", json={"groups": ["xj-drc"], "note": "请发改委知悉"})
        assert copied.status_code == 200, copied.text
        assert [(c["recipientType"], c["recipient"], c["copiedBy"]) for c in copied.json()] == [
            ("group", "xj-drc", "li")]
        assert zhao.get(f"/process-instance/{instance}").status_code == 200
        assert [c["note"] for c in zhao.get("../api/copies", params={"processInstanceId": instance}).json()] == [
            "请发改委知悉"]
        assert li.get("../api/copies").json() == []


@pytest.mark.parametrize("body, says", [
    ({}, "1 to 50"), ({"groups": "xj-drc"}, "list of names"), ({"users": [""]}, "list of names"),
    ({"groups": [f"g{n}" for n in range(51)]}, "1 to 50"), ({"groups": ["g"], "note": 5}, "'note'"),
])
def test_bad_copies_are_refused(client, case, body, says):
    _, task = case
    answer = client.post(f"../api/tasks/{task}/copies", json=body)
    assert answer.status_code == 400 and says in answer.json()["message"], answer.text


def test_the_applicant_reminds_the_handlers_and_the_platform_sends_it_on(service, client, root, case):
    instance, task = case
    with as_user(service, "firm") as firm:
        sent = firm.post(f"../api/tasks/{task}/reminders", json={"message": "已逾三日，请尽快审查"})
        assert sent.status_code == 200, sent.text
        assert firm.post(f"../api/tasks/{task}/reminders", json={"message": "长" * 501}).status_code == 400
        assert firm.post("../api/tasks/nope/reminders", json={}).status_code == 404
    with as_user(service, "zhao") as zhao:
        assert zhao.post(f"../api/tasks/{task}/reminders", json={}).status_code == 403
        assert zhao.get("../api/reminders").status_code == 403
    assert [(r["userId"], r["message"]) for r in client.get(f"../api/tasks/{task}/reminders").json()] == [
        ("firm", "已逾三日，请尽快审查")]
    with as_user(service, "platform") as platform:
        [outgoing] = platform.get("../api/reminders").json()
        assert (outgoing["taskId"], outgoing["businessKey"], outgoing["activityId"]) == (task, "ECO-9", "decide")
        later = platform.get("../api/reminders", params={"createdAfter": outgoing["time"]}).json()
        assert later == []
    said = [e["what"] for e in root.get(f"/api/process-instances/{instance}/timeline").json()]
    assert "催办：命名决定" in said


def test_a_copy_property_naming_nobody_is_refused_at_deploy(client):
    empty = process("empty_copy", f"""<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t" />
      <bpmn:userTask id="t">{properties(ccGroups=" , ")}</bpmn:userTask>""")
    answer = deploy_bytes(client, "empty.bpmn", empty)
    assert answer.status_code == 400 and "ccGroups" in answer.json()["message"], answer.text


def remind(service, task, times=1):
    with as_user(service, "firm") as firm:
        return [firm.post(f"../api/tasks/{task}/reminders", json={"message": f"第{n + 1}次催办"}).json()["id"]
                for n in range(times)]


def fetch(http, worker, topics=("sms-leaders",), max_tasks=10, lock_ms=60_000):
    answer = http.post("../api/reminders/fetchAndLock",
                       json={"workerId": worker, "topics": list(topics), "maxTasks": max_tasks, "lockDuration": lock_ms})
    assert answer.status_code == 200, answer.text
    return [row["id"] for row in answer.json()]


def test_a_reminder_is_published_to_the_topic_its_task_or_procedure_names(service, client, case):
    instance, task = case
    [to_leaders] = remind(service, task)
    with as_user(service, "li") as li:
        li.post(f"/task/{task}/complete", json={}).raise_for_status()
    [publish] = client.get("/task", params={"processInstanceId": instance}).json()
    [to_bureau] = remind(service, publish["id"])
    with as_user(service, "platform") as platform:
        [leaders] = platform.get("../api/reminders", params={"topic": "sms-leaders"}).json()
        [bureau] = platform.get("../api/reminders", params={"topic": "sms-xj-env"}).json()
        assert (leaders["id"], leaders["topic"], leaders["activityId"]) == (to_leaders, "sms-leaders", "decide")
        assert (bureau["id"], bureau["topic"], bureau["activityId"]) == (to_bureau, "sms-xj-env", "publish")
        assert platform.get("../api/reminders", params={"topic": "sms-other"}).json() == []
        [outgoing] = platform.post("../api/reminders/fetchAndLock", json={
            "workerId": "sms-gateway", "topics": ["sms-xj-env"], "lockDuration": 30_000}).json()
        assert (outgoing["id"], outgoing["businessKey"], outgoing["message"], outgoing["workerId"]) == (
            to_bureau, "ECO-9", "第1次催办", "sms-gateway")
        assert outgoing["lockExpirationTime"].startswith("2026-09-28T09:00:30")


def test_senders_take_reminders_under_a_lease_and_report_them_delivered(service, client, root, case):
    instance, task = case
    sent = remind(service, task, 3)
    with as_user(service, "platform") as platform:
        first = fetch(platform, "sms-a", max_tasks=2)
        second = fetch(platform, "sms-b", lock_ms=120_000)
        # Reminders made at one instant: which goes first is not said, but each goes to one sender only.
        assert len(first) == 2 and sorted(first + second) == sorted(sent)
        assert fetch(platform, "sms-b") == []
        taken = platform.post(f"../api/reminders/{first[0]}/complete", json={"workerId": "sms-b"})
        assert taken.status_code == 400 and "locked by worker 'sms-a'" in taken.json()["message"], taken.text
        assert platform.post(f"../api/reminders/{first[0]}/complete", json={"workerId": "sms-a"}).status_code == 204
        again = platform.post(f"../api/reminders/{first[0]}/complete", json={"workerId": "sms-a"})
        assert again.status_code == 409 and "delivered already" in again.json()["message"], again.text
        assert platform.post("../api/reminders/nope/complete", json={"workerId": "sms-a"}).status_code == 404
        # sms-a stops answering: once its lease has run out on the service clock, sms-b takes its other
        # reminder, never the delivered one, and sms-a can no longer report it.
        root.post("/api/clock", json={"advance": "PT59S"}).raise_for_status()
        assert fetch(platform, "sms-b") == []
        root.post("/api/clock", json={"advance": "PT1S"}).raise_for_status()
        assert fetch(platform, "sms-b") == [first[1]]
        late = platform.post(f"../api/reminders/{first[1]}/complete", json={"workerId": "sms-a"})
        assert late.status_code == 400 and "locked by worker 'sms-b'" in late.json()["message"], late.text
        rows = {row["id"]: row for row in platform.get("../api/reminders").json()}
    assert (rows[first[0]]["workerId"], rows[first[0]]["delivered"]) == ("sms-a", "2026-09-28T09:00:00.000+0800")
    assert rows[first[1]]["delivered"] is None and rows[first[1]]["workerId"] == "sms-b"
    [delivered] = [e for e in events_of(service, instance) if e.kind == "task.reminderDelivered"]
    assert (delivered.user_id, delivered.task_id, delivered.payload["worker_id"], delivered.payload["reminderId"]) == (
        "platform", task, "sms-a", first[0])
    said = [e["what"] for e in root.get(f"/api/process-instances/{instance}/timeline").json()]
    assert "催办已送达：命名决定" in said
    assert verify(root, instance)["intact"] is True


def test_senders_fetching_at_once_never_get_the_same_reminder(service, case):
    _, task = case
    sent = remind(service, task, 12)
    start, got = threading.Barrier(4), {}

    def sender(worker):
        with httpx.Client(base_url=f"{service.base_url}/api", auth=("platform", "platform-password"),
                          timeout=30) as http:
            start.wait()
            got[worker] = [row["id"] for row in http.post("/reminders/fetchAndLock", json={
                "workerId": worker, "topics": ["sms-leaders"], "maxTasks": 5, "lockDuration": 60_000}).json()]
    threads = [threading.Thread(target=sender, args=(f"sms-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    handed = [reminder for worker in got.values() for reminder in worker]
    assert sorted(handed) == sorted(sent) and len(set(handed)) == 12


@pytest.mark.parametrize("body, says", [
    ({"topics": ["sms-leaders"], "lockDuration": 1000}, "workerId is required"),
    ({"workerId": "w" * 256, "topics": ["sms-leaders"], "lockDuration": 1000}, "workerId is required"),
    ({"workerId": "w", "lockDuration": 1000}, "topics names 1 to 20"),
    ({"workerId": "w", "topics": [f"t{n}" for n in range(21)], "lockDuration": 1000}, "topics names 1 to 20"),
    ({"workerId": "w", "topics": ["t" * 256], "lockDuration": 1000}, "each topic"),
    ({"workerId": "w", "topics": "sms-leaders,", "lockDuration": 1000, "maxTasks": 101}, "maxTasks must be 1 to 100"),
    ({"workerId": "w", "topics": ["sms-leaders"], "lockDuration": 1000, "maxTasks": 0}, "maxTasks must be 1 to 100"),
    ({"workerId": "w", "topics": ["sms-leaders"]}, "lockDuration is required"),
    ({"workerId": "w", "topics": ["sms-leaders"], "lockDuration": 86_400_001}, "lockDuration is required"),
    ({"workerId": "w", "topics": [5], "lockDuration": 1000}, "list of strings"),
])
def test_bad_fetches_are_refused_and_lock_nothing(service, case, body, says):
    _, task = case
    remind(service, task)
    with as_user(service, "platform") as platform:
        answer = platform.post("../api/reminders/fetchAndLock", json=body)
        assert answer.status_code == 400 and says in answer.json()["message"], answer.text
        assert fetch(platform, "sms-a") != []
    with as_user(service, "li") as li:
        assert li.post("../api/reminders/fetchAndLock", json=body).status_code == 403


@pytest.mark.parametrize("where, says", [
    ("task", "is blank"), ("process", "is blank"), ("start", "on a user task or on the process"),
])
def test_a_reminder_topic_that_names_no_topic_is_refused_at_deploy(client, where, says):
    topic = " " if where != "start" else "sms-xj-env"
    text = process("blank_topic", f"""{properties(reminderTopic=topic) if where == "process" else ""}
      <bpmn:startEvent id="s">{properties(reminderTopic=topic) if where == "start" else ""}</bpmn:startEvent>
      <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t" />
      <bpmn:userTask id="t">{properties(reminderTopic=topic) if where == "task" else ""}</bpmn:userTask>""")
    answer = deploy_bytes(client, "blank.bpmn", text)
    assert answer.status_code == 400, answer.text
    assert "reminderTopic" in answer.json()["message"] and says in answer.json()["message"], answer.text


def test_a_copy_names_the_department_of_the_cases_region(service, client):
    """ccGroups="${province}-env": the naming is copied to the provincial bureau of the case's province."""
    accounts.save_account(service.services, "hu", "hu-password", ["hb-env"])
    regional = process("regional_naming", f"""
      <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide" />
      <bpmn:userTask id="decide" name="命名决定" camunda:candidateGroups="cn-mee">
        {properties(ccGroups="${province}-env", ccUsers="${director}")}</bpmn:userTask>
      <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="end" /><bpmn:endEvent id="end" />""")
    deploy_bytes(client, "regional.bpmn", regional).raise_for_status()
    def named(variables: dict) -> str:
        instance = client.post("/process-definition/key/regional_naming/start",
                               json={"variables": {name: {"value": value} for name, value in variables.items()}}).json()
        [task] = client.get("/task", params={"processInstanceId": instance["id"]}).json()
        client.post(f"/task/{task['id']}/complete", json={}).raise_for_status()
        return instance["id"]

    instance = named({"province": "hb", "director": ""})  # no director: the group alone
    with as_user(service, "hu") as hu:
        assert [(c["recipientType"], c["recipient"]) for c in hu.get("../api/copies").json()] == [("group", "hb-env")]
        assert hu.get(f"/history/process-instance/{instance}").status_code == 200
    broken = process("broken_copy", f"""<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t" />
      <bpmn:userTask id="t">{properties(ccGroups="${province")}</bpmn:userTask>""")
    answer = deploy_bytes(client, "broken.bpmn", broken)
    assert answer.status_code == 400 and "camunda:property ccGroups" in answer.json()["message"], answer.text


def test_a_copy_whose_templates_name_nobody_for_the_case_is_not_made(client, root):
    quiet = process("quiet_naming", f"""
      <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide" />
      <bpmn:userTask id="decide" name="命名决定">{properties(ccUsers="${director}")}</bpmn:userTask>
      <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="end" /><bpmn:endEvent id="end" />""")
    deploy_bytes(client, "quiet.bpmn", quiet).raise_for_status()
    instance = client.post("/process-definition/key/quiet_naming/start",
                           json={"variables": {"director": {"value": ""}}}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    client.post(f"/task/{task['id']}/complete", json={}).raise_for_status()
    said = [e["what"] for e in root.get(f"/api/process-instances/{instance}/timeline").json()]
    assert not any(line.startswith("抄送") for line in said), said

"""Copies (抄送) and reminders (催办): a step copied by the procedure when it ends (ccGroups / ccUsers)
or by whoever works it lets the recipients read the case, read-only, and lists it as "copied to
me"; whoever reads a case reminds the handlers of its open task, and the systems read every
reminder to send it on. Each is an event of the case's chained history."""
from __future__ import annotations

import pytest

from app.access import accounts
from tests.support.bpmn_text import process, properties
from tests.support.history import verify
from tests.support.http import as_user, deploy_bytes

NAMING = process("naming_case", f"""
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide" />
  <bpmn:userTask id="decide" name="命名决定" camunda:candidateGroups="xj-env">
    {properties(ccGroups="xj-leaders", ccUsers="director-wang")}</bpmn:userTask>
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
    assert answer.status_code == 400 and "not a valid template" in answer.json()["message"], answer.text


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

"""Issue 22 (part 2): the eco-industrial park measures of 2026 replaced those of 2015, and running
cases move to the new version of their procedure with Camunda's /migration: a plan generated for
the unchanged steps, an explicit instruction for the renamed one, validation reports and refusals
in Camunda's shapes, and migrated cases that keep their ids, tasks, timers and history, go on to
their end on the new version, and replay true."""
from __future__ import annotations

import httpx

from app.access import accounts
from tests.support.history import events_of, verify
from tests.support.http import as_user, deploy
from tests.support.paths import FIXTURES, PROCESSES

OLD = PROCESSES / "eco_park_sanction.bpmn"
NEW = FIXTURES / "migration" / "eco_park_sanction_2026.bpmn"
RENAMED = {"sourceActivityIds": ["re_evaluation"], "targetActivityIds": ["expert_re_evaluation"],
           "updateEventTrigger": False}


def versions(client: httpx.Client) -> tuple[str, str]:
    [old] = deploy(client, OLD, name="2015")["deployedProcessDefinitions"].values()
    [new] = deploy(client, NEW, name="2026")["deployedProcessDefinitions"].values()
    assert (old["version"], new["version"]) == (1, 2)
    return old["id"], new["id"]


def register(root: httpx.Client, *parks: str) -> None:
    for park in parks:
        response = root.put(f"/api/parks/{park}/standing", json={
            "parkName": f"{park} 生态工业园区", "province": "js", "status": "named", "since": "2025-06-01"})
        assert response.status_code == 200, response.text
    for number in range(6):
        response = root.post("/api/experts", json={"id": f"expert-{number}", "name": f"专家{number}",
                                                   "specialty": "环境工程", "organization": "环科院"})
        assert response.status_code == 200, response.text


def start(client: httpx.Client, definition_id: str, park: str, cause: str) -> str:
    variables = {"park_id": park, "park_name": f"{park} 生态工业园区", "province": "js", "cause": cause,
                 "facts": "依据2015年办法开立"}
    response = client.post(f"/process-definition/{definition_id}/start", json={
        "businessKey": park, "variables": {name: {"value": value} for name, value in variables.items()}})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def only_task(client: httpx.Client, instance_id: str) -> dict:
    [task] = client.get("/task", params={"processInstanceId": instance_id}).json()
    return task


def complete(client: httpx.Client, instance_id: str, key: str, **variables) -> None:
    task = only_task(client, instance_id)
    assert task["taskDefinitionKey"] == key
    response = client.post(f"/task/{task['id']}/complete",
                           json={"variables": {name: {"value": value} for name, value in variables.items()}})
    assert response.status_code == 204, response.text


def cases_at_every_step(client: httpx.Client, root: httpx.Client, old: str) -> dict[str, str]:
    """One running case of the 2015 version waiting at each of its steps."""
    register(root, "JS-01", "JS-02", "JS-03", "JS-04", "JS-05")
    cases = {"issue_exit_warning": start(client, old, "JS-01", "annual_report_late"),
             "warning_rectification": start(client, old, "JS-02", "annual_report_noncompliant"),
             "re_evaluation": start(client, old, "JS-03", "unreported_major_change"),
             "decide_revocation": start(client, old, "JS-04", "data_fraud"),
             "announce_revocation": start(client, old, "JS-05", "serious_pollution")}
    for step in ("warning_rectification", "re_evaluation"):
        complete(client, cases[step], "issue_exit_warning", warning_issued=True, warning_requirements="限期整改",
                 rectification_months=12)
    complete(client, cases["re_evaluation"], "warning_rectification", rectification_report="整改报告")
    complete(client, cases["announce_revocation"], "decide_revocation", revoke=True, revocation_opinion="撤销")
    return cases


def plan(old: str, new: str, *instructions: dict) -> dict:
    return {"sourceProcessDefinitionId": old, "targetProcessDefinitionId": new, "instructions": list(instructions)}


def execute(client: httpx.Client, migration_plan: dict, *instance_ids: str) -> httpx.Response:
    return client.post("/migration/execute", json={"migrationPlan": migration_plan,
                                                    "processInstanceIds": list(instance_ids),
                                                    "skipCustomListeners": False, "skipIoMappings": False})


def waiting_at(client: httpx.Client, instance_id: str) -> list[str]:
    tree = client.get(f"/process-instance/{instance_id}/activity-instances").json()
    return [child["activityId"] for child in tree["childActivityInstances"]]


def test_running_cases_at_every_step_move_to_the_2026_version_and_end_there(client, root):
    old, new = versions(client)
    cases = cases_at_every_step(client, root, old)
    client.post(f"/task/{only_task(client, cases['issue_exit_warning'])['id']}/claim",
                json={"userId": "wang-wei"}).raise_for_status()
    tasks_before = {step: only_task(client, case) for step, case in cases.items() if step != "announce_revocation"}
    [timer_before] = client.get("/job", params={"processInstanceId": cases["warning_rectification"]}).json()
    [external_before] = client.get("/external-task", params={"processInstanceId": cases["announce_revocation"]}).json()
    variables_before = {step: client.get(f"/process-instance/{case}/variables").json() for step, case in cases.items()}
    keys_before = {step: client.get(f"/process-instance/{case}").json()["businessKey"] for step, case in cases.items()}

    generated = client.post("/migration/generate", json={"sourceProcessDefinitionId": old,
                                                         "targetProcessDefinitionId": new,
                                                         "updateEventTriggers": False})
    assert generated.status_code == 200, generated.text
    body = generated.json()
    assert (body["sourceProcessDefinitionId"], body["targetProcessDefinitionId"]) == (old, new)
    mapped = {(i["sourceActivityIds"][0], i["targetActivityIds"][0], i["updateEventTrigger"])
              for i in body["instructions"]}
    # The unchanged steps and the rectification's deadline; neither the renamed step nor the added one.
    assert mapped == {(step, step, False) for step in ("issue_exit_warning", "warning_rectification",
                                                        "warning_year_over", "decide_revocation",
                                                        "announce_revocation")}
    regulation = {"value": "生态工业园区管理办法（2026）", "type": "String", "valueInfo": {}}
    full_plan = {**body, "instructions": [*body["instructions"], RENAMED], "variables": {"regulation": regulation}}
    report = client.post("/migration/validate", json=full_plan)
    assert report.status_code == 200 and report.json() == {"instructionReports": [], "variableReports": {}}

    response = execute(client, full_plan, *cases.values())
    assert response.status_code == 204, response.text

    for step, case in cases.items():
        instance = client.get(f"/process-instance/{case}").json()
        assert instance["definitionId"] == new and instance["businessKey"] == keys_before[step]
        assert instance["id"] == case and instance["ended"] is False
        # The plan's variables are set on each case, beside its own.
        assert client.get(f"/process-instance/{case}/variables").json() == {**variables_before[step],
                                                                           "regulation": regulation}
    # Each task is the same task (id, assignee, candidates), now of the new version's step.
    for step, before in tasks_before.items():
        after = only_task(client, cases[step])
        assert after["id"] == before["id"] and after["assignee"] == before["assignee"]
        assert after["processDefinitionId"] == new and after["name"] == before["name"]
        assert after["taskDefinitionKey"] == ("expert_re_evaluation" if step == "re_evaluation" else step)
    assert only_task(client, cases["issue_exit_warning"])["assignee"] == "wang-wei"
    experts = client.get(f"/task/{tasks_before['re_evaluation']['id']}/identity-links").json()
    assert len([link for link in experts if link["type"] == "candidate" and link["userId"]]) == 5
    assert waiting_at(client, cases["re_evaluation"]) == ["expert_re_evaluation"]
    # The rectification deadline keeps its job and its due date; the external task its id.
    [timer_after] = client.get("/job", params={"processInstanceId": cases["warning_rectification"]}).json()
    assert (timer_after["id"], timer_after["dueDate"]) == (timer_before["id"], timer_before["dueDate"])
    assert timer_after["processDefinitionId"] == new
    [external_after] = client.get("/external-task", params={"processInstanceId": cases["announce_revocation"]}).json()
    assert external_after["id"] == external_before["id"] and external_after["processDefinitionId"] == new
    [logged] = client.get("/history/user-operation", params={"processInstanceId": cases["re_evaluation"],
                                                             "operationType": "Migrate"}).json()
    assert logged["userId"] == "test-admin" and logged["entityType"] == "ProcessInstance"

    # Each case goes on to its end on the 2026 version, through the added step where its path leads.
    complete(client, cases["issue_exit_warning"], "issue_exit_warning", warning_issued=False,
             warning_requirements="不属于警示情形")
    complete(client, cases["warning_rectification"], "warning_rectification", rectification_report="整改报告")
    complete(client, cases["warning_rectification"], "expert_re_evaluation", meets_standard=False,
             re_evaluation_opinion="仍不达标")
    complete(client, cases["warning_rectification"], "hear_park_statement", park_statement="已完成大部分整改")
    complete(client, cases["warning_rectification"], "decide_revocation", revoke=False, revocation_opinion="保留")
    complete(client, cases["re_evaluation"], "expert_re_evaluation", meets_standard=True,
             re_evaluation_opinion="达标")
    complete(client, cases["decide_revocation"], "decide_revocation", revoke=False, revocation_opinion="保留")
    [locked] = client.post("/external-task/fetchAndLock", json={
        "workerId": "publisher", "maxTasks": 5,
        "topics": [{"topicName": "eco-park-revocation", "lockDuration": 60000}]}).json()
    assert locked["id"] == external_before["id"]
    client.post(f"/external-task/{locked['id']}/complete", json={"workerId": "publisher"}).raise_for_status()
    ends = {"issue_exit_warning": "no_sanction", "warning_rectification": "naming_kept",
            "re_evaluation": "warning_lifted", "decide_revocation": "naming_kept",
            "announce_revocation": "revoked"}
    for step, case in cases.items():
        historic = client.get(f"/history/process-instance/{case}").json()
        assert historic["state"] == "COMPLETED" and historic["processDefinitionId"] == new
        reached = client.get("/history/activity-instance", params={"processInstanceId": case,
                                                                    "activityId": ends[step]}).json()
        assert [row["processDefinitionId"] for row in reached] == [new]
    heard = client.get("/history/activity-instance", params={"processInstanceId": cases["warning_rectification"],
                                                              "activityId": "hear_park_statement"}).json()
    assert len(heard) == 1 and heard[0]["processDefinitionId"] == new

    # The record shows the migration, and replay reproduces each case on both versions.
    [migrated] = [event for event in events_of_case(root, cases["re_evaluation"])
                  if event["kind"] == "instance.migrated"]
    assert migrated["payload"]["source_definition_id"] == old
    assert migrated["payload"]["target_definition_id"] == new and RENAMED in migrated["payload"]["instructions"]
    for case in cases.values():
        replay = root.get(f"/api/process-instances/{case}/replay").json()
        assert replay["reproduced"] is True, replay
        assert verify(root, case)["intact"] is True
    timeline = [entry["what"]
                for entry in root.get(f"/api/process-instances/{cases['re_evaluation']}/timeline").json()]
    # Each step reads as it was named then: before the migration on the 2015 version, after it on the 2026 one.
    assert timeline[timeline.index("案件转入流程新版本办理") - 1:] == [
        "待办：重新评价", "案件转入流程新版本办理", "办理完成：专家重新评价", "园区名录登记：解除退出警示", "案件办结"]
    export = root.get(f"/api/process-instances/{cases['re_evaluation']}/export").json()
    assert [definition["id"] for definition in export["definitions"]] == [old, new]


def events_of_case(root: httpx.Client, instance_id: str) -> list[dict]:
    return root.get(f"/api/process-instances/{instance_id}/export").json()["events"]


def test_an_instance_waiting_where_no_instruction_maps_is_refused_and_nothing_moves(client, root, service):
    old, new = versions(client)
    cases = cases_at_every_step(client, root, old)
    generated = client.post("/migration/generate", json={"sourceProcessDefinitionId": old,
                                                         "targetProcessDefinitionId": new}).json()
    waiting = only_task(client, cases["re_evaluation"])
    response = execute(client, generated, cases["issue_exit_warning"], cases["re_evaluation"])
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["type"] == "MigratingProcessInstanceValidationException"
    assert f"Cannot migrate process instance '{cases['re_evaluation']}'" in body["message"]
    assert body["validationReport"] == {
        "processInstanceId": cases["re_evaluation"], "failures": [],
        "activityInstanceValidationReports": [{
            "migrationInstruction": None, "activityInstanceId": waiting["id"], "sourceScopeId": "re_evaluation",
            "failures": ["There is no migration instruction for this instance's activity"]}],
        "transitionInstanceValidationReports": []}
    # All or nothing: the case before it in the list stays on the 2015 version too.
    for case in cases.values():
        assert client.get(f"/process-instance/{case}").json()["definitionId"] == old
        assert "instance.migrated" not in [event.kind for event in events_of(service, case)]
    backwards = plan(new, old, {"sourceActivityIds": ["decide_revocation"], "targetActivityIds": ["decide_revocation"]})
    other = execute(client, backwards, cases["decide_revocation"])
    assert other.status_code == 400
    assert other.json()["message"] == (
        f"Process instance '{cases['decide_revocation']}' cannot be migrated. Its process definition '{old}' does "
        f"not match the source process definition of the migration plan '{new}'")


def test_a_plan_naming_what_cannot_map_is_reported_and_refused(client):
    old, new = versions(client)
    wrong = plan(old, new,
                 {"sourceActivityIds": ["re_evaluation"], "targetActivityIds": ["no_such_step"]},
                 {"sourceActivityIds": ["issue_exit_warning"], "targetActivityIds": ["announce_revocation"]},
                 {"sourceActivityIds": ["warning_year_over"], "targetActivityIds": ["warning_year_over"]},
                 {"sourceActivityIds": ["decide_revocation"], "targetActivityIds": ["decide_revocation"],
                  "updateEventTrigger": True})
    report = client.post("/migration/validate", json=wrong)
    assert report.status_code == 200, report.text
    failures = {tuple(r["instruction"]["sourceActivityIds"]): r["failures"] for r in report.json()["instructionReports"]}
    assert failures == {
        ("re_evaluation",): ["Target activity 'no_such_step' does not exist"],
        ("issue_exit_warning",): ["Activities have incompatible types (UserTaskActivityBehavior is not compatible "
                                  "with ExternalTaskActivityBehavior)"],
        ("warning_year_over",): ["The source activity's event scope (warning_rectification) must be mapped to the "
                                 "target activity's event scope (warning_rectification)"],
        ("decide_revocation",): ["Cannot update event trigger because the activity does not define a persistent "
                                 "event trigger"]}
    assert report.json()["variableReports"] == {}
    refused = execute(client, wrong, "any-case")
    assert refused.status_code == 400
    body = refused.json()
    assert body["type"] == "MigrationPlanValidationException"
    assert body["message"].startswith(f"Migration plan for process definition '{old}' to '{new}' is not valid:")
    assert body["validationReport"] == report.json()
    unknown = client.post("/migration/generate", json={"sourceProcessDefinitionId": "no-such-definition",
                                                       "targetProcessDefinitionId": new})
    assert unknown.status_code == 400
    assert unknown.json()["message"] == "Source process definition with id 'no-such-definition' does not exist"


def test_only_administrators_migrate(service, client, root):
    old, new = versions(client)
    register(root, "JS-09")
    case = start(client, old, "JS-09", "annual_report_late")
    accounts.save_account(service.services, "wg-zhao", "wg-zhao-password", ["cn-eco-park-working-group"])
    generated = {**plan(old, new), "instructions": [RENAMED]}
    with as_user(service, "wg-zhao") as official:
        for path, body in (("generate", {"sourceProcessDefinitionId": old, "targetProcessDefinitionId": new}),
                           ("validate", generated),
                           ("execute", {"migrationPlan": generated, "processInstanceIds": [case]})):
            refused = official.post(f"/migration/{path}", json=body)
            assert refused.status_code == 403 and refused.json()["type"] == "AuthorizationException"
    assert client.get(f"/process-instance/{case}").json()["definitionId"] == old

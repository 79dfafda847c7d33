"""Call activities over engine-rest, run as Camunda 7 runs them: the called process runs as an
instance of its own (its super process instance is the caller), found by key when the call activity is
reached, with the variables the camunda:in mappings pass; its end hands camunda:out back to the caller
in the same unit of work, and an error it does not catch reaches an error boundary event on the call
activity."""
from __future__ import annotations

import httpx

from tests.support.history import events_of, verify
from tests.support.http import deploy, deploy_bytes
from tests.support.paths import FIXTURES

CONSTRUCTS = FIXTURES / "constructs"
CHECK = CONSTRUCTS / "called_check.bpmn"
PERMIT = CONSTRUCTS / "call_permit.bpmn"
BINDINGS = CONSTRUCTS / "call_bindings.bpmn"
ALL_VARIABLES = CONSTRUCTS / "call_all_variables.bpmn"
EACH_SITE = CONSTRUCTS / "call_each_site.bpmn"
LOCAL_VARIABLES = CONSTRUCTS / "call_local_variables.bpmn"


def start(client: httpx.Client, key: str, business_key: str | None = None, **variables) -> dict:
    body: dict = {"variables": {name: {"value": value, "type": "Json" if isinstance(value, list) else None}
                                for name, value in variables.items()}}
    if business_key is not None:
        body["businessKey"] = business_key
    response = client.post(f"/process-definition/key/{key}/start", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def called_by(client: httpx.Client, caller_id: str) -> list[dict]:
    return client.get("/process-instance", params={"superProcessInstance": caller_id}).json()


def open_tasks(client: httpx.Client, instance_id: str) -> list[dict]:
    return client.get("/task", params={"processInstanceId": instance_id}).json()


def complete_only_task(client: httpx.Client, instance_id: str, **variables) -> None:
    [task] = open_tasks(client, instance_id)
    response = client.post(f"/task/{task['id']}/complete",
                           json={"variables": {name: {"value": value} for name, value in variables.items()}})
    assert response.status_code == 204, response.text


def variables_of(client: httpx.Client, instance_id: str) -> dict:
    return {name: value["value"] for name, value in
            client.get(f"/process-instance/{instance_id}/variables").json().items()}


def replayed(root: httpx.Client, instance_id: str) -> dict:
    """The case rebuilt from its own record: what a called instance handed back is part of it."""
    answer = root.get(f"/api/process-instances/{instance_id}/replay").json()
    assert answer["reproduced"] is True, answer
    return answer


def historic(client: httpx.Client, instance_id: str) -> dict:
    response = client.get(f"/history/process-instance/{instance_id}")
    assert response.status_code == 200, response.text
    return response.json()


def test_the_called_process_runs_as_an_instance_of_its_own_with_the_mapped_variables(client, root, service):
    deploy(client, CHECK, name="check")
    deploy(client, PERMIT, name="permit")  # the callee is in another deployment
    caller = start(client, "permit_application", "PERMIT-7", checkProcess="permit_check", caseNo="CHECK-7",
                   applicant="绿源公司", area=150, secret="not passed")
    assert open_tasks(client, caller["id"]) == []  # the caller waits at its call activity
    [child] = called_by(client, caller["id"])
    assert child["definitionKey"] == "permit_check" and child["businessKey"] == "CHECK-7"
    # Only what camunda:in passes: the named variable under its target name and the expression's value.
    assert variables_of(client, child["id"]) == {"applicantName": "绿源公司", "inspectedArea": 300}
    [parent] = client.get("/process-instance", params={"subProcessInstance": child["id"]}).json()
    assert parent["id"] == caller["id"]
    record = historic(client, child["id"])
    assert record["superProcessInstanceId"] == caller["id"] and record["rootProcessInstanceId"] == caller["id"]
    assert record["state"] == "ACTIVE"
    [call] = client.get("/history/activity-instance", params={"processInstanceId": caller["id"],
                                                              "activityId": "run_check"}).json()
    assert call["activityType"] == "callActivity" and call["calledProcessInstanceId"] == child["id"]
    assert call["endTime"] is None
    listed = client.get("/history/process-instance", params={"superProcessInstanceId": caller["id"]}).json()
    assert [row["id"] for row in listed] == [child["id"]]
    assert [row["id"] for row in client.get("/history/process-instance",
                                            params={"subProcessInstanceId": child["id"]}).json()] == [caller["id"]]
    # The child's task is a task like any other, with its own history chain.
    [task] = open_tasks(client, child["id"])
    assert task["taskDefinitionKey"] == "check" and task["processInstanceId"] == child["id"]
    kinds = [event.kind for event in events_of(service, child["id"])]
    assert kinds[0] == "process.started" and "task.created" in kinds
    assert "call_activity.started" in [event.kind for event in events_of(service, caller["id"])]
    assert verify(root, child["id"])["intact"] is True


def test_the_child_ending_applies_camunda_out_and_moves_the_caller_on_in_one_step(client, root):
    deploy(client, CHECK, name="check")
    deploy(client, PERMIT, name="permit")
    caller = start(client, "permit_application", checkProcess="permit_check", caseNo="CHECK-8",
                   applicant="绿源公司", area=10)
    [child] = called_by(client, caller["id"])
    complete_only_task(client, child["id"], verdict="符合", rejected=False, note="child only")
    assert historic(client, child["id"])["state"] == "COMPLETED"
    [next_task] = open_tasks(client, caller["id"])
    assert next_task["taskDefinitionKey"] == "issue_permit"
    values = variables_of(client, caller["id"])
    # camunda:out took `verdict` back as `checkVerdict`, and nothing else of the child's.
    assert values["checkVerdict"] == "符合" and "note" not in values and "verdict" not in values
    [call] = client.get("/history/activity-instance", params={"processInstanceId": caller["id"],
                                                              "activityId": "run_check"}).json()
    assert call["endTime"] is not None and call["canceled"] is False
    assert called_by(client, caller["id"]) == []
    replayed(root, caller["id"])
    replayed(root, child["id"])


def test_an_error_the_child_does_not_catch_reaches_the_boundary_event_of_the_call_activity(client, root):
    deploy(client, CHECK, name="check")
    deploy(client, PERMIT, name="permit")
    caller = start(client, "permit_application", checkProcess="permit_check", caseNo="CHECK-9",
                   applicant="绿源公司", area=10)
    [child] = called_by(client, caller["id"])
    complete_only_task(client, child["id"], verdict="不符合", rejected=True)
    assert historic(client, child["id"])["state"] == "COMPLETED"
    [task] = open_tasks(client, caller["id"])
    assert task["taskDefinitionKey"] == "notify_rejection"
    values = variables_of(client, caller["id"])
    # The error was caught: its code is kept, and no camunda:out was applied.
    assert values["rejectionCode"] == "CHECK_REJECTED" and "checkVerdict" not in values
    [call] = client.get("/history/activity-instance", params={"processInstanceId": caller["id"],
                                                              "activityId": "run_check"}).json()
    assert call["canceled"] is True
    replayed(root, caller["id"])


def test_bindings_choose_latest_deployment_version_and_version_tag(client):
    deploy(client, CHECK, BINDINGS, name="bindings with check v1")
    second = CHECK.read_text(encoding="utf-8").replace('camunda:versionTag="1.0"', 'camunda:versionTag="2.0"')
    assert deploy_bytes(client, "called_check.bpmn", second.encode()).status_code == 200
    versions = {row["version"]: row["id"] for row in
                client.get("/process-definition", params={"key": "permit_check"}).json()}
    assert sorted(versions) == [1, 2]
    caller = start(client, "permit_bindings", anything="kept at home")
    children = {row["id"]: row for row in called_by(client, caller["id"])}
    assert len(children) == 4
    calls = {row["activityId"]: row["calledProcessInstanceId"] for row in
             client.get("/history/activity-instance", params={"processInstanceId": caller["id"],
                                                              "activityType": "callActivity"}).json()}
    chosen = {activity: children[child]["definitionId"] for activity, child in calls.items()}
    assert chosen == {"by_latest": versions[2], "by_deployment": versions[1], "by_version": versions[1],
                      "by_tag": versions[1]}
    # Without any camunda:in, Camunda passes no variable to the called instance.
    assert all(variables_of(client, child) == {} for child in children)
    for child in children:
        complete_only_task(client, child, rejected=False)
    assert historic(client, caller["id"])["state"] == "COMPLETED"


def test_variables_all_passes_every_variable_in_and_out(client):
    deploy(client, CHECK, name="check")
    deploy(client, ALL_VARIABLES, name="all")
    caller = start(client, "permit_all_variables", applicant="绿源公司", area=42)
    [child] = called_by(client, caller["id"])
    assert variables_of(client, child["id"]) == {"applicant": "绿源公司", "area": 42}
    complete_only_task(client, child["id"], verdict="符合", rejected=False)
    assert variables_of(client, caller["id"]) == {"applicant": "绿源公司", "area": 42, "verdict": "符合",
                                                  "rejected": False}
    assert [task["taskDefinitionKey"] for task in open_tasks(client, caller["id"])] == ["summarize"]


def test_local_mappings_pass_the_call_activitys_own_variables_and_keep_what_comes_back_its_own(client, root):
    """As Camunda's local="true": camunda:in passes only the call activity's input parameters, a local
    camunda:out puts a value beside them for the output parameters to read, and none of them stays in
    the case; an expression of a local camunda:in cannot read the case's variables."""
    deploy(client, CHECK, name="check")
    deploy(client, LOCAL_VARIABLES, name="local")
    caller = start(client, "permit_local_variables", applicant="绿源公司", area=42)
    [child] = called_by(client, caller["id"])
    assert variables_of(client, child["id"]) == {"inspectedArea": 84, "officeNote": "现场核查"}
    assert variables_of(client, caller["id"]) == {"applicant": "绿源公司", "area": 42}
    complete_only_task(client, child["id"], verdict="符合", rejected=False)
    # officeNote came back through a camunda:out that is not local, but the name is the call
    # activity's own (an input parameter), so it went with it, as in Camunda.
    assert variables_of(client, caller["id"]) == {"applicant": "绿源公司", "area": 42, "rejected": False,
                                                  "verdictText": "符合"}
    [summarize] = open_tasks(client, caller["id"])
    response = client.post(f"/task/{summarize['id']}/complete", json={})
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "ProcessEngineException"
    assert "area" in response.json()["message"] and "check_again" in response.json()["message"]
    assert [task["taskDefinitionKey"] for task in open_tasks(client, caller["id"])] == ["summarize"]
    replayed(root, caller["id"])


def test_a_local_flag_that_is_no_boolean_is_refused_at_deploy(client):
    text = LOCAL_VARIABLES.read_text().replace('local="true" />\n        <camunda:out source="verdict"',
                                               'local="yes" />\n        <camunda:out source="verdict"')
    response = deploy_bytes(client, "local.bpmn", text.encode())
    assert response.status_code == 400, response.text
    assert 'local="yes"' in response.json()["message"] and "check_local" in response.json()["message"]


def test_a_called_key_that_does_not_exist_fails_the_step_and_saves_nothing(client):
    deploy(client, PERMIT, name="permit")
    response = client.post("/process-definition/key/permit_application/start", json={"variables": {
        "checkProcess": {"value": "no_such_process"}, "caseNo": {"value": "X"}, "applicant": {"value": "a"},
        "area": {"value": 1}}})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["type"] == "ProcessEngineException"
    assert "no_such_process" in body["message"] and "run_check" in body["message"]
    assert "Error" not in body["message"] and "Traceback" not in body["message"]
    assert client.get("/history/process-instance/count").json()["count"] == 0


def test_deleting_the_caller_deletes_the_instances_it_called(client, service):
    deploy(client, CHECK, name="check")
    deploy(client, PERMIT, name="permit")
    caller = start(client, "permit_application", checkProcess="permit_check", caseNo="C", applicant="a", area=1)
    [child] = called_by(client, caller["id"])
    response = client.delete(f"/process-instance/{caller['id']}", params={"deleteReason": "withdrawn"})
    assert response.status_code == 204, response.text
    record = historic(client, child["id"])
    assert record["state"] == "EXTERNALLY_TERMINATED" and record["deleteReason"] == "withdrawn"
    assert open_tasks(client, child["id"]) == []
    assert client.get("/process-instance", params={"processInstanceIds": child["id"]}).json() == []
    deleted = [event for event in events_of(service, child["id"]) if event.kind == "process.deleted"]
    assert len(deleted) == 1 and deleted[0].payload["reason"] == "withdrawn"
    assert historic(client, caller["id"])["state"] == "EXTERNALLY_TERMINATED"


def test_deleting_a_called_instance_cancels_the_call_activity_of_its_caller(client, root):
    deploy(client, CHECK, name="check")
    deploy(client, PERMIT, name="permit")
    caller = start(client, "permit_application", checkProcess="permit_check", caseNo="C", applicant="a", area=1)
    [child] = called_by(client, caller["id"])
    response = client.delete(f"/process-instance/{child['id']}", params={"deleteReason": "inspection dropped"})
    assert response.status_code == 204, response.text
    assert historic(client, child["id"])["state"] == "EXTERNALLY_TERMINATED"
    # As Camunda's delete does: the caller's call activity is cancelled; with nothing left, the caller ends.
    [call] = client.get("/history/activity-instance", params={"processInstanceId": caller["id"],
                                                              "activityId": "run_check"}).json()
    assert call["canceled"] is True and call["endTime"] is not None
    record = historic(client, caller["id"])
    assert record["state"] == "EXTERNALLY_TERMINATED" and record["deleteReason"] == "inspection dropped"
    replayed(root, caller["id"])


def test_a_multi_instance_call_activity_starts_one_instance_per_element(client, root):
    deploy(client, CHECK, name="check")
    deploy(client, EACH_SITE, name="sites")
    sites = ["东区", "西区", "南区"]
    caller = start(client, "permit_sites", sites=sites, applicant="绿源公司")
    children = called_by(client, caller["id"])
    assert len(children) == 3
    assert sorted(variables_of(client, child["id"])["siteName"] for child in children) == sorted(sites)
    for number, child in enumerate(children):
        assert open_tasks(client, caller["id"]) == []
        complete_only_task(client, child["id"], verdict=f"场地{number}符合", rejected=False)
    [task] = open_tasks(client, caller["id"])
    assert task["taskDefinitionKey"] == "summarize"
    assert variables_of(client, caller["id"])["lastVerdict"] == "场地2符合"
    body = client.get("/history/activity-instance", params={"processInstanceId": caller["id"],
                                                            "activityId": "check_each_site"}).json()
    assert sorted(row["calledProcessInstanceId"] for row in body) == sorted(child["id"] for child in children)
    replayed(root, caller["id"])


def test_a_call_activity_without_called_element_is_refused_at_deploy_in_plain_words(client):
    broken = PERMIT.read_text(encoding="utf-8").replace(' calledElement="${checkProcess}"', "")
    response = deploy_bytes(client, "call_permit.bpmn", broken.encode())
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "ParseException"
    assert "run_check" in body["message"] and "calledElement" in body["message"]
    unknown = PERMIT.read_text(encoding="utf-8").replace(
        'calledElement="${checkProcess}"', 'calledElement="permit_check" camunda:calledElementBinding="newest"')
    response = deploy_bytes(client, "call_permit.bpmn", unknown.encode())
    assert response.status_code == 400 and "newest" in response.json()["message"]
    # A call activity calling a CMMN case (camunda:caseRef, no calledElement) is refused for that.
    case = PERMIT.read_text(encoding="utf-8").replace('calledElement="${checkProcess}"', 'camunda:caseRef="permitCase"')
    response = deploy_bytes(client, "call_permit.bpmn", case.encode())
    assert response.status_code == 400 and "calling a CMMN case is not supported" in response.json()["message"]


def test_a_child_that_ends_at_once_hands_back_before_the_callers_step_is_saved(client, root):
    deploy(client, CONSTRUCTS / "called_notice.bpmn", name="notice")
    deploy(client, PERMIT, name="permit")
    caller = start(client, "permit_application", checkProcess="permit_notice", caseNo="N-1", applicant="绿源公司",
                   area=1)
    [task] = open_tasks(client, caller["id"])
    assert task["taskDefinitionKey"] == "issue_permit"
    assert variables_of(client, caller["id"])["checkVerdict"] == "免于核查：绿源公司"
    [child] = client.get("/history/process-instance", params={"superProcessInstanceId": caller["id"]}).json()
    assert child["state"] == "COMPLETED" and child["businessKey"] == "N-1"
    [call] = client.get("/history/activity-instance", params={"processInstanceId": caller["id"],
                                                              "activityId": "run_check"}).json()
    assert call["calledProcessInstanceId"] == child["id"] and call["endTime"] is not None
    replayed(root, caller["id"])


def test_skip_subprocesses_leaves_the_called_instance_running_on_its_own(client):
    deploy(client, CHECK, name="check")
    deploy(client, PERMIT, name="permit")
    caller = start(client, "permit_application", "P-2", checkProcess="permit_check",
                   caseNo="${never evaluated}", applicant="a", area=1)
    [child] = called_by(client, caller["id"])
    assert child["businessKey"] == "${never evaluated}"  # a variable's value is data, never an expression
    response = client.delete(f"/process-instance/{caller['id']}", params={"skipSubprocesses": "true"})
    assert response.status_code == 204, response.text
    assert historic(client, child["id"])["state"] == "ACTIVE"
    complete_only_task(client, child["id"], verdict="符合", rejected=False)
    assert historic(client, child["id"])["state"] == "COMPLETED"
    assert historic(client, caller["id"])["state"] == "EXTERNALLY_TERMINATED"


def test_a_boundary_timer_interrupting_the_call_activity_ends_the_called_instance(client, root, service):
    deploy(client, CHECK, name="check")
    deploy(client, PERMIT, name="permit")
    caller = start(client, "permit_application", checkProcess="permit_check", caseNo="C", applicant="a", area=1)
    [child] = called_by(client, caller["id"])
    root.post("/api/clock", json={"advance": "P31D"}).raise_for_status()
    assert [task["taskDefinitionKey"] for task in open_tasks(client, caller["id"])] == ["close_overdue"]
    # As in Camunda, the interrupted call activity takes the instance it called with it.
    record = historic(client, child["id"])
    assert record["state"] == "EXTERNALLY_TERMINATED" and "run_check" in record["deleteReason"]
    assert open_tasks(client, child["id"]) == []
    assert [event.kind for event in events_of(service, child["id"])][-1] in ("process.deleted", "activity.canceled")
    replayed(root, caller["id"])


def test_the_modelers_business_key_box_gives_the_child_the_callers_business_key(client):
    deploy(client, CHECK, name="check")
    ticked = ALL_VARIABLES.read_text(encoding="utf-8").replace(
        '<camunda:in variables="all" />',
        '<camunda:in businessKey="#{execution.processBusinessKey}" />\n        <camunda:in variables="all" />')
    assert deploy_bytes(client, "call_all_variables.bpmn", ticked.encode()).status_code == 200
    caller = start(client, "permit_all_variables", "PERMIT-42", applicant="绿源公司")
    [child] = called_by(client, caller["id"])
    assert child["businessKey"] == "PERMIT-42"
    assert variables_of(client, child["id"]) == {"applicant": "绿源公司"}


def test_a_process_that_calls_itself_before_anything_waits_is_stopped_and_nothing_is_saved(client):
    calls_itself = ALL_VARIABLES.read_text(encoding="utf-8").replace('calledElement="permit_check"',
                                                                     'calledElement="permit_all_variables"')
    assert deploy_bytes(client, "call_all_variables.bpmn", calls_itself.encode()).status_code == 200
    response = client.post("/process-definition/key/permit_all_variables/start", json={})
    assert response.status_code == 400, response.text
    assert "call itself" in response.json()["message"]
    assert client.get("/history/process-instance/count").json()["count"] == 0


def test_a_version_tag_given_by_an_expression_is_read_when_the_call_is_reached(client):
    tagged = BINDINGS.read_text(encoding="utf-8").replace('camunda:calledElementVersionTag="1.0"',
                                                          'camunda:calledElementVersionTag="${wantedTag}"')
    deploy(client, CHECK, name="check v1")
    second = CHECK.read_text(encoding="utf-8").replace('camunda:versionTag="1.0"', 'camunda:versionTag="2.0"')
    both = client.post("/deployment/create", files=[("a", ("called_check.bpmn", second.encode(), "application/xml")),
                                                    ("b", ("call_bindings.bpmn", tagged.encode(), "application/xml"))])
    assert both.status_code == 200, both.text
    versions = {row["versionTag"]: row["id"] for row in
                client.get("/process-definition", params={"key": "permit_check"}).json()}
    caller = start(client, "permit_bindings", wantedTag="2.0")
    [by_tag] = client.get("/history/activity-instance", params={"processInstanceId": caller["id"],
                                                                "activityId": "by_tag"}).json()
    child = client.get(f"/process-instance/{by_tag['calledProcessInstanceId']}").json()
    assert child["definitionId"] == versions["2.0"]
    caller = start(client, "permit_bindings", wantedTag="1.0")
    [by_tag] = client.get("/history/activity-instance", params={"processInstanceId": caller["id"],
                                                                "activityId": "by_tag"}).json()
    child = client.get(f"/process-instance/{by_tag['calledProcessInstanceId']}").json()
    assert child["definitionId"] == versions["1.0"]
    refused = client.post("/process-definition/key/permit_bindings/start", json={"variables": {"wantedTag": {"value": ""}}})
    assert refused.status_code == 400 and "gives no version tag" in refused.json()["message"]

"""Multi-instance activities over engine-rest, as a Modeler diagram draws them: 会签 (every department
signs, one task each), 或签 (the first expert decides, the others' tasks are withdrawn) and a sequential
review of three levels that stops at a rejection."""
from __future__ import annotations

import json

import httpx

from tests.support.bpmn_text import process
from tests.support.http import deploy, deploy_bytes
from tests.support.paths import FIXTURES

JOINT_REVIEW = FIXTURES / "constructs" / "joint_review.bpmn"
DEPARTMENTS = ["xj-eco-env", "xj-commerce", "xj-sti"]
EXPERTS = ["expert-wang", "expert-li"]


def start(client: httpx.Client, **variables) -> str:
    deploy(client, JOINT_REVIEW)
    body = {"variables": {name: {"value": value, "type": "Json" if isinstance(value, list) else None}
                          for name, value in variables.items()}}
    response = client.post("/process-definition/key/joint_review/start", json=body)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def open_tasks(client: httpx.Client, instance_id: str) -> list[dict]:
    return client.get("/task", params={"processInstanceId": instance_id, "sortBy": "created",
                                        "sortOrder": "asc"}).json()


def groups_of(client: httpx.Client, task_id: str) -> list[str]:
    return [link["groupId"] for link in client.get(f"/task/{task_id}/identity-links").json()
            if link["type"] == "candidate"]


def complete(client: httpx.Client, task_id: str, **variables) -> None:
    response = client.post(f"/task/{task_id}/complete",
                           json={"variables": {name: {"value": value} for name, value in variables.items()}})
    assert response.status_code == 204, response.text


def activities(client: httpx.Client, instance_id: str, activity_id: str) -> list[dict]:
    return client.get("/history/activity-instance", params={"processInstanceId": instance_id,
                                                            "activityId": activity_id}).json()


def test_countersign_gives_each_department_its_task_and_goes_on_when_all_have_signed(client):
    case = start(client, departments=DEPARTMENTS, experts=EXPERTS, rejected=False)
    tasks = open_tasks(client, case)
    assert [task["taskDefinitionKey"] for task in tasks] == ["countersign"] * 3
    assert sorted(groups_of(client, task["id"])[0] for task in tasks) == sorted(DEPARTMENTS)
    for number, task in enumerate(tasks[:2]):
        complete(client, task["id"], opinion=f"同意 {number}")
        assert [t["taskDefinitionKey"] for t in open_tasks(client, case)] == ["countersign"] * (2 - number)
    complete(client, tasks[2]["id"], opinion="同意")
    assert [task["taskDefinitionKey"] for task in open_tasks(client, case)] == ["first_expert"] * 2
    # What the departments wrote is the case's; the instances' own variables are not.
    variables = client.get(f"/process-instance/{case}/variables").json()
    assert variables["opinion"]["value"] == "同意"
    assert not {"department", "loopCounter", "nrOfInstances", "expert"} & variables.keys()
    body = activities(client, case, "countersign#multiInstanceBody")
    assert len(body) == 1 and body[0]["activityType"] == "multiInstanceBody" and body[0]["endTime"]
    signed = activities(client, case, "countersign")
    assert len(signed) == 3 and all(row["endTime"] and not row["canceled"] for row in signed)


def test_the_first_expert_decides_and_the_other_experts_task_is_withdrawn(client):
    case = start(client, departments=["xj-eco-env"], experts=EXPERTS, rejected=False)
    [countersign] = open_tasks(client, case)
    complete(client, countersign["id"])
    experts = open_tasks(client, case)
    assert sorted(task["assignee"] for task in experts) == sorted(EXPERTS)
    first, second = experts
    complete(client, first["id"], expertOpinion="可以命名")
    left = open_tasks(client, case)
    assert [task["taskDefinitionKey"] for task in left] == ["level_review"]
    assert client.post(f"/task/{second['id']}/complete", json={}).status_code in (404, 409)
    rows = {row["taskId"]: row for row in activities(client, case, "first_expert")}
    assert rows[first["id"]]["canceled"] is False and rows[second["id"]]["canceled"] is True


def test_a_sequential_review_runs_level_after_level_and_stops_at_a_rejection(client):
    case = start(client, departments=[], experts=[], rejected=False)
    # An empty collection runs no instance: the token goes straight on, as in Camunda.
    [level] = open_tasks(client, case)
    assert level["taskDefinitionKey"] == "level_review"
    counters = []
    for _ in range(2):
        [level] = open_tasks(client, case)
        counters.append(client.get(f"/task/{level['id']}/variables").json()["loopCounter"]["value"])
        rejected = len(counters) == 2
        complete(client, level["id"], rejected=rejected)
    assert counters == [0, 1]
    assert open_tasks(client, case) == []
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    assert len(activities(client, case, "level_review")) == 2


def test_a_collection_that_is_no_list_is_refused_in_words_without_python(client):
    deploy(client, JOINT_REVIEW)
    response = client.post("/process-definition/key/joint_review/start", json={"variables": {
        "departments": {"value": "xj-eco-env"}, "experts": {"value": "[]", "type": "Json"},
        "rejected": {"value": False}}})
    assert response.status_code == 400
    message = response.json()["message"]
    assert "countersign" in message and "collection" in message and "no list" in message
    assert "NoneType" not in message and "Error" not in message.split(":")[0]


def test_a_rejection_stops_a_second_round_although_the_first_round_ended_with_one(client, root):
    # Each department's answer is the case's the moment it is given, as in Camunda: in the second
    # round the commerce department's "no" replaces the environment department's "yes", although it
    # equals the value the round began with (the first round's "no").
    deploy(client, FIXTURES / "constructs" / "joint_review_rounds.bpmn")
    response = client.post("/process-definition/key/joint_review_rounds/start", json={"variables": {
        "departments": {"value": json.dumps(DEPARTMENTS), "type": "Json"}}})
    assert response.status_code == 200, response.text
    case = response.json()["id"]
    for _ in range(2):
        tasks = {groups_of(client, task["id"])[0]: task for task in open_tasks(client, case)}
        assert sorted(tasks) == sorted(DEPARTMENTS)
        complete(client, tasks["xj-eco-env"]["id"], approved=True)
        assert client.get(f"/task/{tasks['xj-sti']['id']}/variables").json()["approved"]["value"] is True
        complete(client, tasks["xj-commerce"]["id"], approved=False)
        # The veto withdrew the third department's task and the case went back for rework.
        assert [task["taskDefinitionKey"] for task in open_tasks(client, case)] == ["rework"]
        assert client.get(f"/process-instance/{case}/variables").json()["approved"]["value"] is False
        complete(client, open_tasks(client, case)[0]["id"])
    tasks = open_tasks(client, case)
    for task in tasks:
        complete(client, task["id"], approved=True)
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    assert len([row for row in activities(client, case, "countersign") if row["canceled"]]) == 2
    # The case keeps the answer written last; every department's own answer stays in the history.
    events = root.get(f"/api/process-instances/{case}/export").json()["events"]
    answers = [event["payload"]["variables"]["approved"] for event in events
               if event["kind"] == "task.completed" and event["activityId"] == "countersign"]
    assert answers == [True, False, True, False, True, True, True]


def test_an_error_every_instance_of_a_multi_instance_subprocess_throws_is_caught_once_by_its_boundary_event(client):
    # Camunda: the first instance's error cancels the activity, its other instances with it; the
    # library had already set those running, and the step failed naming a task of theirs.
    body = """
  <bpmn:error id="failed" errorCode="inspection_failed" />
  <bpmn:process id="inspections" isExecutable="true">
    <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="inspect" />
    <bpmn:subProcess id="inspect">
      <bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>3</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:startEvent id="site" /><bpmn:sequenceFlow id="i1" sourceRef="site" targetRef="both" />
      <bpmn:parallelGateway id="both" /><bpmn:sequenceFlow id="i2" sourceRef="both" targetRef="record" />
      <bpmn:userTask id="record" /><bpmn:sequenceFlow id="i3" sourceRef="both" targetRef="fails" />
      <bpmn:endEvent id="fails"><bpmn:errorEventDefinition errorRef="failed" /></bpmn:endEvent>
    </bpmn:subProcess>
    <bpmn:boundaryEvent id="caught" attachedToRef="inspect"><bpmn:errorEventDefinition errorRef="failed" />
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="inspect" targetRef="done" /><bpmn:endEvent id="done" />
    <bpmn:sequenceFlow id="f3" sourceRef="caught" targetRef="rectify" />
    <bpmn:userTask id="rectify" /><bpmn:sequenceFlow id="f4" sourceRef="rectify" targetRef="closed" />
    <bpmn:endEvent id="closed" />
  </bpmn:process>"""
    xml = ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
           f'id="d" targetNamespace="t">{body}</bpmn:definitions>')
    client.post("/deployment/create", files=[("data", ("inspections.bpmn", xml.encode(), "application/xml"))]
                ).raise_for_status()
    started = client.post("/process-definition/key/inspections/start", json={})
    assert started.status_code == 200, started.text
    instance = started.json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    assert task["taskDefinitionKey"] == "rectify"
    client.post(f"/task/{task['id']}/complete", json={}).raise_for_status()
    assert client.get(f"/history/process-instance/{instance}").json()["state"] == "COMPLETED"
    ended = client.get("/history/activity-instance", params={"processInstanceId": instance, "activityId": "done"})
    assert ended.json() == []  # the subprocess's own way out was not taken


def test_bpmns_own_loop_data_input_and_input_data_item_name_the_collection_and_element_as_in_camunda(client):
    body = """
  <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sign" />
  <bpmn:userTask id="sign" camunda:candidateGroups="${department}">
    <bpmn:multiInstanceLoopCharacteristics camunda:collection="ignored" camunda:elementVariable="ignored">
      <bpmn:loopDataInputRef>departments</bpmn:loopDataInputRef>
      <bpmn:inputDataItem name="department" />
    </bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="sign" targetRef="e" /><bpmn:endEvent id="e" />"""
    assert deploy_bytes(client, "standard.bpmn", process("standard", body)).status_code == 200
    started = client.post("/process-definition/key/standard/start", json={"variables": {
        "departments": {"value": json.dumps(DEPARTMENTS), "type": "Json"}}})
    assert started.status_code == 200, started.text
    tasks = open_tasks(client, started.json()["id"])
    assert sorted(groups_of(client, task["id"])[0] for task in tasks) == sorted(DEPARTMENTS)


def test_each_instance_of_a_countersign_has_its_own_input_parameters_read_from_its_element_as_in_camunda(client, root):
    """会签 with input parameters: each department's task gets its own variables, computed from its
    element and loopCounter when the instance starts; they never become the case's."""
    body = """
  <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sign" />
  <bpmn:userTask id="sign" camunda:candidateGroups="${reviewer_group}">
    <bpmn:extensionElements><camunda:inputOutput>
      <camunda:inputParameter name="reviewer_group">${department}</camunda:inputParameter>
      <camunda:inputParameter name="seat">${loopCounter + 1}</camunda:inputParameter>
      <camunda:inputParameter name="opinion" />
    </camunda:inputOutput></bpmn:extensionElements>
    <bpmn:multiInstanceLoopCharacteristics camunda:collection="${departments}" camunda:elementVariable="department">
      <bpmn:completionCondition>${nrOfCompletedInstances == nrOfInstances}</bpmn:completionCondition>
    </bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="sign" targetRef="check" />
  <bpmn:userTask id="check" /><bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="e" /><bpmn:endEvent id="e" />"""
    assert deploy_bytes(client, "seats.bpmn", process("seats", body)).status_code == 200
    started = client.post("/process-definition/key/seats/start", json={"variables": {
        "departments": {"value": json.dumps(DEPARTMENTS), "type": "Json"}}})
    assert started.status_code == 200, started.text
    case = started.json()["id"]
    tasks = open_tasks(client, case)
    seats = {}
    for task in tasks:
        local = {name: row["value"] for name, row in client.get(f"/task/{task['id']}/localVariables").json().items()}
        assert groups_of(client, task["id"]) == [local["reviewer_group"]] and "opinion" in local
        seats[local["reviewer_group"]] = local["seat"]
    assert seats == {department: seat for seat, department in enumerate(DEPARTMENTS, start=1)}
    # An opinion given on completion is the instance's own, as Camunda sets a variable in the scope
    # that has it: none reaches the case.
    for task in tasks:
        complete(client, task["id"], opinion="同意")
    [check] = open_tasks(client, case)
    assert check["taskDefinitionKey"] == "check"
    case_values = client.get(f"/process-instance/{case}/variables").json()
    assert not {"reviewer_group", "seat", "opinion", "department", "loopCounter"} & set(case_values)
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True


def test_each_round_of_a_sequential_multi_instance_subprocess_has_its_own_input_parameters(client):
    body = """
  <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="each_office" />
  <bpmn:subProcess id="each_office">
    <bpmn:extensionElements><camunda:inputOutput>
      <camunda:inputParameter name="office_group">${office}</camunda:inputParameter>
    </camunda:inputOutput></bpmn:extensionElements>
    <bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="${departments}"
        camunda:elementVariable="office" />
    <bpmn:startEvent id="in_s" /><bpmn:sequenceFlow id="i1" sourceRef="in_s" targetRef="inspect" />
    <bpmn:userTask id="inspect" camunda:candidateGroups="${office_group}" />
    <bpmn:sequenceFlow id="i2" sourceRef="inspect" targetRef="in_e" /><bpmn:endEvent id="in_e" />
  </bpmn:subProcess>
  <bpmn:sequenceFlow id="f2" sourceRef="each_office" targetRef="e" /><bpmn:endEvent id="e" />"""
    assert deploy_bytes(client, "rounds.bpmn", process("rounds", body)).status_code == 200
    started = client.post("/process-definition/key/rounds/start", json={"variables": {
        "departments": {"value": json.dumps(DEPARTMENTS), "type": "Json"}}})
    assert started.status_code == 200, started.text
    case = started.json()["id"]
    seen = []
    for _ in DEPARTMENTS:
        [task] = open_tasks(client, case)
        seen.extend(groups_of(client, task["id"]))
        complete(client, task["id"])
    assert seen == DEPARTMENTS
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    assert "office_group" not in {row["name"] for row in client.get(
        "/history/variable-instance", params={"processInstanceId": case}).json()}

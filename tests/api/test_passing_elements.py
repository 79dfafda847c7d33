"""Elements nobody works on, as Camunda runs them: a plain task and a manual task pass, a branch that
ends without an end event ends its token there, a link throw goes on at its catch, a message throw
without an implementation passes and a message end event with camunda:type="external" waits for its
worker, and a data object drawn beside a task changes nothing. What cannot run is refused at deploy,
in words."""
from __future__ import annotations

import json

import pytest

from tests.support.bpmn_text import process
from tests.support.http import deploy, deploy_bytes, refusal, start
from tests.support.paths import FIXTURES
from tests.support.service import ADMIN_AUTH

PASSING = FIXTURES / "constructs" / "passing_elements.bpmn"


def test_a_case_runs_through_elements_nobody_works_on_to_its_worker_and_its_end(client):
    deploy(client, PASSING)
    started = client.post("/process-definition/key/passing_elements/start", json={})
    assert started.status_code == 200, started.text
    case = started.json()["id"]
    [review] = client.get("/task", params={"processInstanceId": case}).json()
    assert review["taskDefinitionKey"] == "review"
    # The task's line to a data object is for readers: the opinion stays a case variable.
    done = client.post(f"/task/{review['id']}/complete", json={"variables": {"opinion": {"value": "同意"}}})
    assert done.status_code == 204, done.text
    assert client.get(f"/process-instance/{case}/variables").json()["opinion"]["value"] == "同意"
    locked = client.post("/external-task/fetchAndLock", json={
        "workerId": "notifier", "maxTasks": 1, "topics": [{"topicName": "notify-applicant", "lockDuration": 60_000}]})
    [notice] = locked.json()
    assert notice["activityId"] == "notified" and notice["processInstanceId"] == case
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "ACTIVE"
    done = client.post(f"/external-task/{notice['id']}/complete", json={"workerId": "notifier"})
    assert done.status_code == 204, done.text
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    passed = {row["activityId"]: row["activityType"] for row in client.get(
        "/history/activity-instance", params={"processInstanceId": case, "maxResults": 100}).json()}
    assert passed == {"received": "startEvent", "split": "parallelGateway", "file_copy": "task",
                      "check_paper": "manualTask", "to_review": "intermediateNoneThrowEvent",
                      "at_review": "intermediateLinkCatch", "announce": "intermediateMessageThrowEvent",
                      "review": "userTask", "notified": "messageEndEvent"}


REFUSED = {
    "a link to no catch": ('<bpmn:startEvent id="s"/><bpmn:intermediateThrowEvent id="jump">'
                           '<bpmn:linkEventDefinition name="nowhere"/></bpmn:intermediateThrowEvent>'
                           '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="jump"/>', "jump", "no link catch"),
    "two catches of one name": ('<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="a">'
                                '<bpmn:linkEventDefinition name="L"/></bpmn:intermediateCatchEvent>'
                                '<bpmn:intermediateCatchEvent id="b"><bpmn:linkEventDefinition name="L"/>'
                                '</bpmn:intermediateCatchEvent>', "b", "two link catch events"),
    "a message end event of another implementation": (
        '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"><bpmn:messageEventDefinition camunda:type="connector"/>'
        '</bpmn:endEvent><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/>', "e", "external task"),
    "an escalation reference to no escalation": (
        '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"><bpmn:escalationEventDefinition escalationRef="E_none"/>'
        '</bpmn:endEvent><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/>', "e", "names no bpmn:escalation"),
    "a method call where the service reads no expression": (
        '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t"/>'
        '<bpmn:userTask id="t" camunda:jobPriority="${priorityBean.getPriority()}"/>'
        '<bpmn:sequenceFlow id="g" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>',
        "t", "invalid expression in the attribute camunda:jobPriority of userTask"),
    "a method call in a form field's label": (
        '<bpmn:startEvent id="s"><bpmn:extensionElements><camunda:formData><camunda:formField id="size" '
        'type="string" label="${labels.sizeOf(execution)}"/></camunda:formData></bpmn:extensionElements>'
        '</bpmn:startEvent><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/><bpmn:endEvent id="e"/>',
        "size", "method calls and calling values are not supported"),
    "a process without a start event": (
        '<bpmn:userTask id="alone"/><bpmn:sequenceFlow id="f" sourceRef="alone" targetRef="e"/><bpmn:endEvent id="e"/>',
        "refused", "has no start event, so no instance of it can start"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_what_cannot_run_is_refused_naming_the_element_and_why(client, case):
    body, element, words = REFUSED[case]
    answer = refusal(client, body)
    assert f"'{element}'" in answer["message"] and words in answer["message"]
    assert answer["type"] == "ParseException"


def test_a_terminate_end_event_in_a_subprocess_ends_that_subprocess_only(client):
    body = ('<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="split"/>'
            '<bpmn:parallelGateway id="split"/><bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="sp"/>'
            '<bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="outer"/><bpmn:userTask id="outer"/>'
            '<bpmn:sequenceFlow id="f4" sourceRef="outer" targetRef="e2"/><bpmn:endEvent id="e2"/>'
            '<bpmn:subProcess id="sp"><bpmn:startEvent id="ss"/><bpmn:sequenceFlow id="i1" sourceRef="ss" targetRef="ps"/>'
            '<bpmn:parallelGateway id="ps"/><bpmn:sequenceFlow id="i2" sourceRef="ps" targetRef="a"/>'
            '<bpmn:sequenceFlow id="i3" sourceRef="ps" targetRef="b"/><bpmn:userTask id="a"/><bpmn:userTask id="b"/>'
            '<bpmn:sequenceFlow id="i4" sourceRef="a" targetRef="term"/><bpmn:endEvent id="term"><bpmn:terminateEventDefinition/></bpmn:endEvent>'
            '<bpmn:sequenceFlow id="i5" sourceRef="b" targetRef="se"/><bpmn:endEvent id="se"/></bpmn:subProcess>'
            '<bpmn:sequenceFlow id="f5" sourceRef="sp" targetRef="after"/><bpmn:userTask id="after"/>'
            '<bpmn:sequenceFlow id="f6" sourceRef="after" targetRef="e"/><bpmn:endEvent id="e"/>')
    answer = deploy_bytes(client, "t.bpmn", process("term", body))
    assert answer.status_code == 200, answer.text
    case = client.post("/process-definition/key/term/start", json={}).json()["id"]
    tasks = {t["taskDefinitionKey"]: t["id"] for t in client.get("/task", params={"processInstanceId": case}).json()}
    assert client.post(f"/task/{tasks['a']}/complete", json={}).status_code == 204
    after = sorted(t["taskDefinitionKey"] for t in client.get("/task", params={"processInstanceId": case}).json())
    # The subprocess's other branch ended with it; the case goes on after the subprocess and beside it.
    assert after == ["after", "outer"]

def test_a_data_store_drawn_beside_a_task_changes_nothing(client):
    body = ('<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
            '<bpmn:userTask id="t"><bpmn:dataOutputAssociation id="da"><bpmn:targetRef>ref</bpmn:targetRef></bpmn:dataOutputAssociation></bpmn:userTask>'
            '<bpmn:dataStoreReference id="ref" dataStoreRef="store"/>'
            '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>')
    xml = process("ds", body).replace(b"</bpmn:process>", b'</bpmn:process><bpmn:dataStore id="store" name="Archive"/>')
    answer = deploy_bytes(client, "d.bpmn", xml)
    assert answer.status_code == 200, answer.text
    case = client.post("/process-definition/key/ds/start", json={}).json()["id"]
    [t] = client.get("/task", params={"processInstanceId": case}).json()
    assert client.post(f"/task/{t['id']}/complete", json={}).status_code == 204
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"


def test_references_are_read_as_camunda_reads_them(client):
    # An errorRef naming no bpmn:error is the error's code; a messageRef may carry the prefix of the
    # file's own namespace.
    body = ('<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sp"/>'
            '<bpmn:subProcess id="sp"><bpmn:startEvent id="ss"/><bpmn:sequenceFlow id="i1" sourceRef="ss" '
            'targetRef="late"/><bpmn:endEvent id="late"><bpmn:errorEventDefinition errorRef="LATE"/></bpmn:endEvent>'
            '</bpmn:subProcess><bpmn:boundaryEvent id="caught" attachedToRef="sp"><bpmn:errorEventDefinition '
            'errorRef="LATE"/></bpmn:boundaryEvent><bpmn:sequenceFlow id="f2" sourceRef="caught" targetRef="wait"/>'
            '<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="tns:reply"/>'
            '</bpmn:intermediateCatchEvent><bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="e"/>'
            '<bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f4" sourceRef="sp" targetRef="wrong"/>'
            '<bpmn:endEvent id="wrong"/>')
    xml = process("refs", body).replace(b'targetNamespace="t">', b'targetNamespace="t" xmlns:tns="t">'
                                        b'<bpmn:message id="reply" name="reply"/>')
    answer = deploy_bytes(client, "refs.bpmn", xml)
    assert answer.status_code == 200, answer.text
    case = client.post("/process-definition/key/refs/start", json={}).json()["id"]
    assert client.post("/message", json={"messageName": "reply", "processInstanceId": case}).status_code == 204
    passed = {row["activityId"] for row in client.get(
        "/history/activity-instance", params={"processInstanceId": case, "maxResults": 100}).json()}
    assert {"caught", "wait", "e"} <= passed and "wrong" not in passed
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"


def test_camundas_extensions_in_the_activiti_namespace_are_read_and_their_code_refused(client):
    # Camunda 7 still reads files of the Activiti era, whose extensions are in http://activiti.org/bpmn.
    body = ('<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
            '<bpmn:userTask id="t" activiti:candidateGroups="xj-env" activiti:formKey="embedded:app:forms/t.html"/>'
            '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>')
    xml = process("old_namespace", body).replace(b'id="d"', b'id="d" xmlns:activiti="http://activiti.org/bpmn"')
    assert deploy_bytes(client, "old.bpmn", xml).status_code == 200
    case = client.post("/process-definition/key/old_namespace/start", json={}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": case}).json()
    assert task["formKey"] == "embedded:app:forms/t.html"
    assert client.get(f"/task/{task['id']}/identity-links").json()[0]["groupId"] == "xj-env"
    refused_as_code(client, xml.replace(b'activiti:formKey="embedded:app:forms/t.html"/>', b'><bpmn:extensionElements>'
                                        b'<activiti:taskListener event="create" class="org.example.Listener"/>'
                                        b'</bpmn:extensionElements></bpmn:userTask>'), "listeners")


def refused_as_code(client, xml: bytes, says: str) -> None:
    refused = deploy_bytes(client, "code.bpmn", xml)
    assert refused.status_code == 400 and says in refused.json()["message"], refused.text


def test_operatons_namespace_is_read_as_camundas_before_it_and_its_code_refused(client):
    # Operaton, Camunda 7's fork, saves its extensions in its own namespace and reads it first.
    body = ('<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
            '<bpmn:userTask id="t" camunda:candidateGroups="ignored" operaton:candidateGroups="${dept}">'
            '<bpmn:multiInstanceLoopCharacteristics operaton:collection="${departments}" '
            'operaton:elementVariable="dept"/></bpmn:userTask>'
            '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>')
    xml = process("forked", body).replace(b'id="d"', b'id="d" xmlns:operaton="http://operaton.org/schema/1.0/bpmn"')
    assert deploy_bytes(client, "forked.bpmn", xml).status_code == 200
    started = client.post("/process-definition/key/forked/start", json={"variables": {
        "departments": {"value": json.dumps(["xj-env", "xj-sti"]), "type": "Json"}}})
    assert started.status_code == 200, started.text
    tasks = client.get("/task", params={"processInstanceId": started.json()["id"]}).json()
    assert sorted(client.get(f"/task/{task['id']}/identity-links").json()[0]["groupId"]
                  for task in tasks) == ["xj-env", "xj-sti"]
    refused_as_code(client, xml.replace(b'operaton:elementVariable="dept"/>', b'operaton:elementVariable="dept"/>'
                                        b'<bpmn:extensionElements><operaton:taskListener event="create" '
                                        b'class="org.example.Listener"/></bpmn:extensionElements>'), "listeners")
    refused_as_code(client, xml.replace(b'<bpmn:endEvent id="e"/>',
                                        b'<bpmn:serviceTask id="e" operaton:class="org.example.Bean"/>'), "Java delegates")


def test_a_condition_written_on_lines_of_its_own_is_read_without_its_white_space_as_in_camunda(client):
    body = ('<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g"/>'
            '<bpmn:exclusiveGateway id="g"/>'
            '<bpmn:sequenceFlow id="f1" sourceRef="g" targetRef="one"><bpmn:conditionExpression>\n'
            '        ${input == 1}\n      </bpmn:conditionExpression></bpmn:sequenceFlow>'
            '<bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="two"><bpmn:conditionExpression> ${input == 2} '
            '</bpmn:conditionExpression></bpmn:sequenceFlow><bpmn:userTask id="one"/><bpmn:userTask id="two"/>')
    assert deploy_bytes(client, "spaced.bpmn", process("spaced", body)).status_code == 200
    case = start(client, "spaced", input=2).json()["id"]
    assert [t["taskDefinitionKey"] for t in client.get("/task", params={"processInstanceId": case}).json()] == ["two"]
    missing = start(client, "spaced")
    assert missing.status_code == 400
    assert "expression: ${input == 1}. Cause: Cannot resolve identifier 'input'" in missing.json()["message"]
    neither = start(client, "spaced", input=3)
    assert neither.status_code == 400 and neither.json()["message"] == (
        "activity 'g': no outgoing sequence flow could be selected for continuing the process: no condition holds "
        "and the gateway has no default flow"), neither.text


def test_an_intermediate_catch_events_input_parameters_are_its_own_while_it_waits_as_in_camunda(client, root):
    body = ('<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>'
            '<bpmn:intermediateCatchEvent id="wait"><bpmn:extensionElements><camunda:inputOutput>'
            '<camunda:inputParameter name="publicity">${days}</camunda:inputParameter>'
            '<camunda:inputParameter name="due">P${publicity}D</camunda:inputParameter>'
            '<camunda:outputParameter name="waited">${due}</camunda:outputParameter>'
            '</camunda:inputOutput></bpmn:extensionElements>'
            '<bpmn:timerEventDefinition><bpmn:timeDuration>${due}</bpmn:timeDuration></bpmn:timerEventDefinition>'
            '</bpmn:intermediateCatchEvent><bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="t"/>'
            '<bpmn:userTask id="t"/><bpmn:sequenceFlow id="f3" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>')
    assert deploy_bytes(client, "own.bpmn", process("own_inputs", body)).status_code == 200
    case = start(client, "own_inputs", days=5).json()["id"]
    [job] = client.get("/job", params={"processInstanceId": case}).json()
    assert job["dueDate"] == "2026-10-03T09:00:00.000+0800"
    assert set(client.get(f"/process-instance/{case}/variables").json()) == {"days"}
    root.post("/api/clock", json={"advance": "P5D"}).raise_for_status()
    variables = client.get(f"/process-instance/{case}/variables").json()
    assert set(variables) == {"days", "waited"} and variables["waited"]["value"] == "P5D"
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True


def test_the_start_initiator_holds_who_started_the_case_as_in_camunda(client):
    body = ('<bpmn:startEvent id="s" camunda:initiator="applicant"/>'
            '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
            '<bpmn:userTask id="t" camunda:assignee="${applicant}"/>'
            '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>')
    assert deploy_bytes(client, "initiated.bpmn", process("initiated", body)).status_code == 200
    case = client.post("/process-definition/key/initiated/start", json={}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": case}).json()
    assert task["assignee"] == ADMIN_AUTH[0]
    assert client.get(f"/process-instance/{case}/variables/applicant").json()["value"] == ADMIN_AUTH[0]
    # A variable given at the start is the one kept, as Camunda sets it after the initiator.
    given = client.post("/process-definition/key/initiated/start", json={
        "variables": {"applicant": {"value": "zhang-san"}}}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": given}).json()
    assert task["assignee"] == "zhang-san"


def test_the_ids_start_end_and_root_run_and_are_shown_as_drawn(client, root):
    # Hand-written diagrams name their events so; the library keeps these names for its own steps.
    body = ('<bpmn:startEvent id="Start"/><bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="Root"/>'
            '<bpmn:userTask id="Root"/><bpmn:sequenceFlow id="f2" sourceRef="Root" targetRef="End"/>'
            '<bpmn:endEvent id="End"/><bpmn:boundaryEvent id="chase" attachedToRef="Root" cancelActivity="false">'
            '<bpmn:messageEventDefinition messageRef="m"/></bpmn:boundaryEvent>')
    xml = process("reserved", body).replace(b"<bpmn:process", b'<bpmn:message id="m" name="chase"/><bpmn:process')
    assert deploy_bytes(client, "reserved.bpmn", xml).status_code == 200
    case = client.post("/process-definition/key/reserved/start", json={}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": case}).json()
    assert task["taskDefinitionKey"] == "Root"
    assert client.post("/message", json={"messageName": "chase", "processInstanceId": case}).status_code == 204
    moved = client.post(f"/process-instance/{case}/modification", json={"instructions": [
        {"type": "startBeforeActivity", "activityId": "Root"}]})
    assert moved.status_code == 204, moved.text
    for task in client.get("/task", params={"processInstanceId": case}).json():
        assert client.post(f"/task/{task['id']}/complete", json={}).status_code == 204
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    passed = [a["activityId"] for a in client.get("/history/activity-instance", params={
        "processInstanceId": case, "sortBy": "startTime", "sortOrder": "asc"}).json()]
    assert sorted(passed) == sorted(["Start", "Root", "chase", "Root", "End", "End"])
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True


@pytest.mark.parametrize("element, says", [
    ('<bpmn:userTask id="t" camunda:formHandlerClass="org.example.Handler"/>', "form handlers"),
    ('<bpmn:endEvent id="t"><bpmn:messageEventDefinition><bpmn:extensionElements><camunda:connector>'
     '<camunda:connectorId>http-connector</camunda:connectorId></camunda:connector></bpmn:extensionElements>'
     '</bpmn:messageEventDefinition></bpmn:endEvent>', "connectors"),
])
def test_code_in_other_places_is_refused(client, element, says):
    answer = deploy_bytes(client, "code.bpmn", process("code", '<bpmn:startEvent id="s"/>' + element))
    assert answer.status_code == 400 and says in answer.json()["message"], answer.text


SPLITTING = process("implicit_split", """
  <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="assess" />
  <bpmn:userTask id="assess" default="to_normal" />
  <bpmn:sequenceFlow id="to_experts" sourceRef="assess" targetRef="experts">
    <bpmn:conditionExpression>${amount > 100}</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="to_hearing" sourceRef="assess" targetRef="hearing">
    <bpmn:conditionExpression>${amount > 1000}</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="to_normal" sourceRef="assess" targetRef="normal" />
  <bpmn:userTask id="experts" /><bpmn:userTask id="hearing" /><bpmn:userTask id="normal" />
""")
FORKING = process("implicit_fork", """
  <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="assess" />
  <bpmn:userTask id="assess" />
  <bpmn:sequenceFlow id="to_notice" sourceRef="assess" targetRef="notice" />
  <bpmn:sequenceFlow id="to_archive" sourceRef="assess" targetRef="archive" />
  <bpmn:userTask id="notice" /><bpmn:userTask id="archive" />
""")


@pytest.mark.parametrize("diagram, amount, opened", [
    (SPLITTING, 50, ["normal"]), (SPLITTING, 500, ["experts"]), (SPLITTING, 5000, ["experts", "hearing"]),
    (FORKING, 0, ["archive", "notice"]),
])
def test_an_activity_with_several_outgoing_flows_takes_them_as_camunda_does(client, diagram, amount, opened):
    # Every flow without a condition, every flow whose condition holds, the default flow when none does.
    assert deploy_bytes(client, "split.bpmn", diagram).status_code == 200
    key = "implicit_split" if diagram is SPLITTING else "implicit_fork"
    case = client.post(f"/process-definition/key/{key}/start", json={}).json()["id"]
    [assess] = client.get("/task", params={"processInstanceId": case}).json()
    done = client.post(f"/task/{assess['id']}/complete", json={"variables": {"amount": {"value": amount}}})
    assert done.status_code == 204, done.text
    assert sorted(t["taskDefinitionKey"] for t in client.get("/task", params={"processInstanceId": case}).json()) \
        == opened
    # The split is the activity's own behaviour: no gateway appears in the case's history.
    assert "assess__split" not in {row["activityId"] for row in client.get(
        "/history/activity-instance", params={"processInstanceId": case}).json()}


def test_a_subprocess_drawn_without_an_end_event_ends_when_its_last_token_does(client):
    body = ('<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sp"/>'
            '<bpmn:subProcess id="sp"><bpmn:startEvent id="ss"/><bpmn:sequenceFlow id="i1" sourceRef="ss" '
            'targetRef="check"/><bpmn:userTask id="check"/></bpmn:subProcess>'
            '<bpmn:sequenceFlow id="f2" sourceRef="sp" targetRef="after"/><bpmn:userTask id="after"/>')
    assert deploy_bytes(client, "no_end.bpmn", process("no_end", body)).status_code == 200
    case = client.post("/process-definition/key/no_end/start", json={}).json()["id"]
    for expected in ("check", "after"):
        [task] = client.get("/task", params={"processInstanceId": case}).json()
        assert task["taskDefinitionKey"] == expected
        assert client.post(f"/task/{task['id']}/complete", json={}).status_code == 204
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"


@pytest.mark.parametrize("loop", ["", '<bpmn:multiInstanceLoopCharacteristics isSequential="true">'
                                      '<bpmn:loopCardinality>2</bpmn:loopCardinality>'
                                      '</bpmn:multiInstanceLoopCharacteristics>'])
def test_an_activity_with_a_boundary_event_and_no_outgoing_flow_ends_its_case(client, loop):
    """As Camunda's implicit end: neither the task (single or multi-instance) nor its boundary event
    has an outgoing flow; completing the task ends the case instead of leaving it with nothing to do."""
    body = (f'<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="check"/>'
            f'<bpmn:userTask id="check">{loop}</bpmn:userTask><bpmn:boundaryEvent id="withdrawn" attachedToRef="check">'
            '<bpmn:messageEventDefinition messageRef="m"/></bpmn:boundaryEvent>')
    xml = process("open_ended", body).replace(b"</bpmn:definitions>",
                                              b'<bpmn:message id="m" name="withdrawn"/></bpmn:definitions>')
    assert deploy_bytes(client, "open_ended.bpmn", xml).status_code == 200
    case = client.post("/process-definition/key/open_ended/start", json={}).json()["id"]
    while tasks := client.get("/task", params={"processInstanceId": case}).json():
        assert client.post(f"/task/{tasks[0]['id']}/complete", json={}).status_code == 204
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"


def test_a_flow_without_condition_out_of_an_exclusive_gateway_is_taken_when_no_flow_before_it_is(client):
    # Camunda takes the first outgoing flow in the file's order whose condition holds or that has none.
    body = ('<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="route"/>'
            '<bpmn:exclusiveGateway id="route"/>'
            '<bpmn:sequenceFlow id="big" sourceRef="route" targetRef="province">'
            '<bpmn:conditionExpression>${size == "large"}</bpmn:conditionExpression></bpmn:sequenceFlow>'
            '<bpmn:sequenceFlow id="other" sourceRef="route" targetRef="county"/>'
            '<bpmn:userTask id="province"/><bpmn:userTask id="county"/>')
    deploy_bytes(client, "routed.bpmn", process("routed", body)).raise_for_status()
    for size, task in (("large", "province"), ("small", "county")):
        instance = start(client, "routed", size=size).json()["id"]
        [open_task] = client.get("/task", params={"processInstanceId": instance}).json()
        assert open_task["taskDefinitionKey"] == task

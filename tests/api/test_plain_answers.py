"""No answer shows Python: malformed and odd diagrams, and requests with bad input, get the service's
own words (Camunda's error shape), never an exception name, a type, a repr or a file of the library.
And no token is lost at deploy: what the service would pass over without a word (a sequence flow
without an id, an element it does not run, a flow across a subprocess's border) is refused, naming
the element."""
from __future__ import annotations

import pytest

from tests.support.http import deploy, deploy_bytes
from tests.support.paths import FIXTURES
from tests.support.plain import python_shown

HEAD = ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">')
START, END = '<bpmn:startEvent id="s"/>', '<bpmn:endEvent id="e"/>'


def flow(source: str, target: str, flow_id: str) -> str:
    return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'


def through(element: str, element_id: str) -> str:
    """A start, `element` and an end, joined in that order."""
    return START + element + END + flow("s", element_id, "f1") + flow(element_id, "e", "f2")


def process_file(body: str, root: str = "", key: str = "odd") -> bytes:
    return (HEAD + root + f'<bpmn:process id="{key}" isExecutable="true">{body}</bpmn:process></bpmn:definitions>'
            ).encode()


def assert_plain(response) -> None:
    shown = python_shown(response.text)
    assert shown is None, f"{response.request.method} {response.request.url} shows {shown!r}: {response.text[:400]}"
    if response.status_code >= 400 and response.content:
        body = response.json()
        assert isinstance(body.get("type"), str) and isinstance(body.get("message"), str), response.text


TIMER = '<bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition>{}</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
SUBPROCESS = ('<bpmn:subProcess id="sp"><bpmn:startEvent id="ss"/><bpmn:userTask id="u"/><bpmn:endEvent id="se"/>'
              + flow("ss", "u", "i1") + flow("u", "se", "i2") + '</bpmn:subProcess>')

# name: (process body, file-level declarations, the element the refusal names (None: none can be), words)
REFUSED = {
    "a flow to no element": (START + flow("s", "ghost", "f1"), "", "f1", "names no element"),
    "a task without an id": (START + END + flow("s", "e", "f1") + '<bpmn:userTask name="审核"/>', "", None,
                             "a userTask named '审核' has no id"),
    "a sequence flow to nowhere": (START + '<bpmn:sequenceFlow id="f1" sourceRef="s"/>', "", "f1", "has no targetRef"),
    "a sequence flow into a start event": (START + '<bpmn:userTask id="u"/>' + flow("s", "u", "f1") + flow("u", "s", "f2"),
                                           "", "f2", "leads into the start event 's'"),
    "a sequence flow out of an end event": (through('<bpmn:userTask id="u"/>', "u") + '<bpmn:userTask id="v"/>'
                                            + flow("e", "v", "f3"), "", "f3", "leaves end event 'e'"),
    "a sequence flow to a data object": (START + '<bpmn:dataObjectReference id="d"/>' + flow("s", "d", "f1"), "", "f1",
                                         "no token can pass it"),
    "a default flow that is not the gateway's": (
        START + '<bpmn:exclusiveGateway id="g" default="f1"/>' + END + flow("s", "g", "f1")
        + '<bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="e"><bpmn:conditionExpression>${a}'
        '</bpmn:conditionExpression></bpmn:sequenceFlow>', "", "g", "no outgoing sequence flow of the element"),
    "two elements of one id": (START + '<bpmn:userTask id="s"/>' + END + flow("s", "e", "f1"), "", "s",
                               "two elements have the id 's'"),
    "an id the engine keeps for itself": (START.replace('id="s"', 'id="p.EndJoin"') + END + flow("p.EndJoin", "e", "f1"),
                                          "", "p.EndJoin", "the id 'p.EndJoin' is one the engine keeps for itself"),
    "a huge id": (START.replace('"s"', '"' + "s" * 100_000 + '"') + END + flow("s" * 100_000, "e", "f1"), "", None,
                  "more than 255 characters"),
    "a huge name": (through('<bpmn:userTask id="u" name="' + "审" * 10_000 + '"/>', "u"), "", "u",
                    "name has more than 255 characters"),
    "an unknown escalation": (START + '<bpmn:endEvent id="e"><bpmn:escalationEventDefinition escalationRef="nope"/>'
                              '</bpmn:endEvent>' + flow("s", "e", "f1"), "", "e", "names no bpmn:escalation"),
    # Camunda's own refusals at deploy, in its words (app.engine.deploy_rules).
    "two plain start events": ('<bpmn:startEvent id="s1"/><bpmn:startEvent id="s2"/><bpmn:userTask id="u"/>'
                               + flow("s1", "u", "f1") + flow("s2", "u", "f2"), "", "s2",
                               "multiple none start events or timer start events not supported"),
    "a plain and a timer start event": (
        '<bpmn:startEvent id="s1"><bpmn:timerEventDefinition><bpmn:timeDuration>PT2H</bpmn:timeDuration>'
        '</bpmn:timerEventDefinition></bpmn:startEvent><bpmn:startEvent id="s2"/><bpmn:userTask id="u"/>'
        + flow("s1", "u", "f1") + flow("s2", "u", "f2"), "", "s2",
        "multiple none start events or timer start events not supported"),
    "a decision's result kept in decisionResult": (
        through('<bpmn:businessRuleTask id="r" camunda:decisionRef="grading" camunda:resultVariable="decisionResult"/>',
                "r"), "", "r", "Cannot set transient variable with name decisionResult to non-transient"),
    "two conditional start events of one condition": (
        '<bpmn:startEvent id="s1"><bpmn:conditionalEventDefinition><bpmn:condition>${variable == 1}'
        '</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:startEvent><bpmn:startEvent id="s2">'
        '<bpmn:conditionalEventDefinition><bpmn:condition>${variable == 1}</bpmn:condition>'
        '</bpmn:conditionalEventDefinition></bpmn:startEvent><bpmn:userTask id="u"/>' + flow("s1", "u", "f1")
        + flow("s2", "u", "f2"), "", "s2",
        "Cannot have more than one conditional event subscription with the same condition '${variable == 1}'"),
    "an error end event naming no error": (
        START + '<bpmn:endEvent id="e"><bpmn:errorEventDefinition/></bpmn:endEvent>' + flow("s", "e", "f1"), "", "e",
        "'errorRef' attribute is mandatory on error end event"),
    "an error end event throwing an error without code": (
        START + '<bpmn:endEvent id="e"><bpmn:errorEventDefinition errorRef="err"/></bpmn:endEvent>' + flow("s", "e", "f1"),
        '<bpmn:error id="err" name="no code"/>', "e", "'errorCode' is mandatory on errors referenced by throwing"),
    "a message start event named by an expression": (
        '<bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="m"/></bpmn:startEvent>' + END
        + flow("s", "e", "f1"), '<bpmn:message id="m" name="apply-${region}"/>', "s",
        "expressions in the message start event name are not allowed"),
    "two boundary events on one task waiting for one message": (
        through('<bpmn:userTask id="u"/>', "u") + '<bpmn:boundaryEvent id="b1" attachedToRef="u">'
        '<bpmn:messageEventDefinition messageRef="m"/></bpmn:boundaryEvent><bpmn:boundaryEvent id="b2" '
        'attachedToRef="u" cancelActivity="false"><bpmn:messageEventDefinition messageRef="m"/></bpmn:boundaryEvent>',
        '<bpmn:message id="m" name="withdrawn"/>', "b2",
        "Cannot have more than one message event subscription with name 'withdrawn' for scope 'u'"),
    "a link catch event after an event-based gateway": (
        START + '<bpmn:eventBasedGateway id="g"/><bpmn:intermediateCatchEvent id="l"><bpmn:linkEventDefinition '
        'name="L"/></bpmn:intermediateCatchEvent>' + END + flow("s", "g", "f1") + flow("g", "l", "f2")
        + flow("l", "e", "f3"), "", "l", "IntermediateCatchLinkEvent is not supported after an EventBasedGateway"),
    "a form key and a form reference": (
        START.replace('id="s"', 'id="s" camunda:formKey="embedded:app:forms/a.html" camunda:formRef="a" '
                      'camunda:formRefBinding="latest"') + END + flow("s", "e", "f1"), "", "s",
        "only one of the attributes formKey and formRef is allowed"),
    "output parameters on a multi-instance activity": (
        through('<bpmn:userTask id="u"><bpmn:extensionElements><camunda:inputOutput><camunda:outputParameter '
                'name="out">${loopCounter}</camunda:outputParameter></camunda:inputOutput></bpmn:extensionElements>'
                '<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>2</bpmn:loopCardinality>'
                '</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>', "u"), "", "u",
        "camunda:outputParameter not allowed for multi-instance constructs"),
    "a form reference without binding": (
        START.replace('id="s"', 'id="s" camunda:formRef="a"') + END + flow("s", "e", "f1"), "", "s",
        "value for formRefBinding attribute has to be one of"),
    "two message start events of one message": (
        '<bpmn:startEvent id="s1"><bpmn:messageEventDefinition messageRef="m1"/></bpmn:startEvent>'
        '<bpmn:startEvent id="s2"><bpmn:messageEventDefinition messageRef="m2"/></bpmn:startEvent>'
        '<bpmn:userTask id="u"/>' + flow("s1", "u", "f1") + flow("s2", "u", "f2"),
        '<bpmn:message id="m1" name="newInvoice"/><bpmn:message id="m2" name="newInvoice"/>', "s2",
        "two message start events of the process wait for message 'newInvoice'"),
    "an unknown message": (through('<bpmn:intermediateCatchEvent id="c"><bpmn:messageEventDefinition messageRef='
                                   '"nope"/></bpmn:intermediateCatchEvent>', "c"), "", "c", "messageRef"),
    "a boundary event on nothing": (through('<bpmn:userTask id="u"/>', "u") + '<bpmn:boundaryEvent id="b" '
                                    'attachedToRef="ghost"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H'
                                    '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>', "", "b",
                                    "attached to 'ghost'"),
    "a boundary event on a gateway": (through('<bpmn:exclusiveGateway id="g"/>', "g") + '<bpmn:boundaryEvent id="b" '
                                      'attachedToRef="g"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H'
                                      '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>', "", "b",
                                      "no task, subprocess or call activity"),
    "a boundary event waiting for nothing": (through('<bpmn:userTask id="u"/>', "u")
                                             + '<bpmn:boundaryEvent id="b" attachedToRef="u"/>', "", "b",
                                             "needs what it waits for"),
    "a catch event waiting for nothing": (through('<bpmn:intermediateCatchEvent id="c"/>', "c"), "", "c",
                                          "needs what it waits for"),
    "a catch event of an error": (through('<bpmn:intermediateCatchEvent id="c"><bpmn:errorEventDefinition/>'
                                          '</bpmn:intermediateCatchEvent>', "c"), "", "c", "cannot be an error event"),
    "a throw event of two kinds": (through('<bpmn:intermediateThrowEvent id="t"><bpmn:escalationEventDefinition/>'
                                           '<bpmn:compensateEventDefinition/></bpmn:intermediateThrowEvent>', "t"), "",
                                   "t", "more than one event definition"),
    "a call activity calling nothing": (through('<bpmn:callActivity id="c"/>', "c"), "", "c", "calledElement"),
    "an empty process": ("", "", "odd", "no start event"),
    "a timer without a time": (through(TIMER.format(""), "t"), "", "t", "no date, duration or cycle"),
    "a timer of garbage": (through(TIMER.format("<bpmn:timeDuration>P1Q</bpmn:timeDuration>"), "t"), "", "t",
                           "timeDuration"),
    "a timer of half an expression": (through(TIMER.format("<bpmn:timeDuration>${</bpmn:timeDuration>"), "t"), "",
                                      "t", "timeDuration"),
    "a start event inside a task": (through('<bpmn:userTask id="u"><bpmn:startEvent id="inner"/></bpmn:userTask>', "u"),
                                    "", "inner", "inside a userTask"),
    "a sequence flow inside a task": (through('<bpmn:userTask id="u">' + flow("s", "e", "inner") + '</bpmn:userTask>',
                                              "u"), "", "inner", "inside a userTask"),
    "a flow out of a subprocess": (through(SUBPROCESS, "sp") + flow("u", "e", "f3"), "", "f3",
                                   "crosses the border of a subprocess"),
    "a flow into a subprocess": (START + SUBPROCESS + END + flow("s", "u", "f1") + flow("sp", "e", "f2"), "", "f1",
                                 "crosses the border of a subprocess"),
    "a subprocess without a start": (through('<bpmn:subProcess id="sp"><bpmn:userTask id="u"/></bpmn:subProcess>',
                                             "sp"), "", "sp", "exactly one start event"),
    "a subprocess started by a timer": (through(SUBPROCESS.replace(
        '<bpmn:startEvent id="ss"/>', '<bpmn:startEvent id="ss"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H'
        '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent>'), "sp"), "", "ss", "plain start event"),
    "a complex gateway": (through('<bpmn:complexGateway id="g"/>', "g"), "", "g", "complex gateways"),
    "a transaction cancelled with nowhere to go": (
        through('<bpmn:transaction id="tx"><bpmn:startEvent id="ts"/><bpmn:endEvent id="te">'
                '<bpmn:cancelEventDefinition/></bpmn:endEvent>' + flow("ts", "te", "i1") + '</bpmn:transaction>', "tx"),
        "", "tx", "no cancel boundary event"),
    "a cron cycle of five fields": (through(TIMER.format("<bpmn:timeCycle>0 9 * * *</bpmn:timeCycle>"), "t"), "", "t",
                                    "six fields"),
    "an ad-hoc subprocess": (through('<bpmn:adHocSubProcess id="ah"><bpmn:userTask id="a"/><bpmn:userTask id="b"/>'
                                     '</bpmn:adHocSubProcess>', "ah"), "", "ah", "ad-hoc subprocesses"),
    "a choreography task": (through('<bpmn:choreographyTask id="ct"/>', "ct"), "", "ct", "choreographies"),
    "a call choreography": (through('<bpmn:callChoreography id="cc"/>', "cc"), "", "cc", "choreographies"),
    "a cancel end event": (START + '<bpmn:endEvent id="e"><bpmn:cancelEventDefinition id="Cancel_1"/></bpmn:endEvent>'
                           + flow("s", "e", "f1"), "", "e", "drawn directly in a transaction"),
    "a standard loop": (through('<bpmn:userTask id="u"><bpmn:standardLoopCharacteristics id="Loop_1"/>'
                                '</bpmn:userTask>', "u"), "", "u", "loop activities"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_malformed_diagram_is_refused_in_plain_words_naming_the_element(client, case):
    body, root, element, words = REFUSED[case]
    response = deploy_bytes(client, "odd.bpmn", process_file(body, root))
    assert response.status_code == 400, response.text[:400]
    assert_plain(response)
    answer = response.json()
    assert answer["type"] == "ParseException" and words in answer["message"], answer["message"][:400]
    [error] = answer["details"]["odd.bpmn"]["errors"]
    assert error["mainElementId"] == element and words in error["message"]
    if element is None:
        assert isinstance(error["line"], int)  # the designer finds it by its line
    assert client.get("/process-definition/count").json()["count"] == 0


def test_files_that_are_no_process_get_plain_answers(client):
    for content in (b"", b"\x00\xff\xfe", b"<a>", HEAD.encode() + b"</bpmn:definitions>",
                    (HEAD + '<bpmn:process isExecutable="true"/></bpmn:definitions>').encode(),
                    (HEAD + '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s" name="\udcff"/>'
                     '</bpmn:process></bpmn:definitions>').encode("utf-8", "surrogateescape")):
        response = deploy_bytes(client, "odd.bpmn", content)
        assert response.status_code == 400, response.text[:400]
        assert_plain(response)


def test_odd_but_runnable_diagrams_run_and_answer_plainly(client):
    # A gateway with no way out ends its token there, as an element without an outgoing flow does;
    # a task nothing leads to never runs.
    odd = process_file(START + '<bpmn:exclusiveGateway id="g"/><bpmn:userTask id="never"/>' + flow("s", "g", "f1"))
    assert deploy_bytes(client, "odd.bpmn", odd).status_code == 200
    started = client.post("/process-definition/key/odd/start", json={})
    assert started.status_code == 200, started.text
    assert_plain(started)
    case = started.json()["id"]
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    assert "never" not in {row["activityId"] for row in client.get(
        "/history/activity-instance", params={"processInstanceId": case}).json()}


def test_sequence_flows_drawn_without_an_id_are_followed_as_camunda_follows_them(client):
    # Hand-written files often leave flows without ids; Camunda runs them, and so does the service.
    body = (START + '<bpmn:userTask id="u"/><bpmn:userTask id="v"/>' + END + '<bpmn:sequenceFlow sourceRef="s" '
            'targetRef="u"/><bpmn:sequenceFlow sourceRef="u" targetRef="v"/><bpmn:sequenceFlow sourceRef="v" '
            'targetRef="e"/>')
    assert deploy_bytes(client, "no_ids.bpmn", process_file(body, key="no_ids")).status_code == 200
    case = client.post("/process-definition/key/no_ids/start", json={}).json()["id"]
    for expected in ("u", "v"):
        [task] = client.get("/task", params={"processInstanceId": case}).json()
        assert task["taskDefinitionKey"] == expected
        assert client.post(f"/task/{task['id']}/complete", json={}).status_code == 204
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"


def test_a_process_that_is_not_executable_is_not_held_to_what_runs(client):
    # As in Camunda, a pool drawn for readers (isExecutable="false") is never run, so a sketch in it
    # does not stop the executable process beside it from being deployed.
    sketch = ('<bpmn:process id="partner" isExecutable="false"><bpmn:startEvent id="ps"/><bpmn:complexGateway id="pg"/>'
              '<bpmn:sequenceFlow sourceRef="ps" targetRef="pg"/></bpmn:process>')
    content = process_file(through('<bpmn:userTask id="u"/>', "u"), root=sketch)
    deployed = deploy_bytes(client, "odd.bpmn", content)
    assert deployed.status_code == 200, deployed.text
    assert [definition["key"] for definition in client.get("/process-definition").json()] == ["odd"]


def test_the_enterprise_s_pool_drawn_for_the_record_beside_the_authority_s_is_not_held_to_what_runs(client):
    """A collaboration as the field draws it: the authority's pool runs; the enterprise's, drawn for
    readers, holds a service task without implementation and a message catch without a message,
    which Camunda does not read in a pool that is not executable, and neither does the service."""
    deployed = deploy(client, FIXTURES / "constructs" / "disclosure_collaboration.bpmn")
    assert [row["key"] for row in deployed["deployedProcessDefinitions"].values()] == ["disclosure_check"]
    case = client.post("/process-definition/key/disclosure_check/start", json={}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": case}).json()
    assert task["taskDefinitionKey"] == "check_disclosure"
    assert client.post(f"/task/{task['id']}/complete", json={}).status_code == 204
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    # Its file is kept as deployed, the enterprise's pool with it.
    xml = client.get(f"/process-definition/{deployed['deployedProcessDefinitions'].popitem()[0]}/xml").json()
    assert 'id="publish_emissions"' in xml["bpmn20Xml"]


@pytest.mark.parametrize(("code", "words"), [
    ('<bpmn:serviceTask id="pc" camunda:class="org.example.Publish"/>', "Java delegates (camunda:class)"),
    ('<bpmn:scriptTask id="pc" scriptFormat="groovy"><bpmn:script>1</bpmn:script></bpmn:scriptTask>',
     "script tasks are not run"),
    ('<bpmn:userTask id="pc" camunda:assignee="${users.pick()}"/>', "method"),
])
def test_code_in_a_pool_that_is_not_executable_is_refused_all_the_same(client, code, words):
    sketch = f'<bpmn:process id="partner" isExecutable="false">{code}</bpmn:process>'
    refused = deploy_bytes(client, "odd.bpmn", process_file(through('<bpmn:userTask id="u"/>', "u"), root=sketch))
    assert refused.status_code == 400 and words in refused.json()["message"], refused.text
    assert_plain(refused)


@pytest.mark.parametrize(("condition", "variables", "words"), [
    ("${amount > 5}", {"amount": {"value": '{"a": 1}', "type": "Json"}}, "map"),
    ("${items[0] > 1}", {"items": {"value": "text"}}, "only maps and lists"),
    ("${addWorkingDays(1)}", {}, "does not take these arguments"),
    ("${missing == 1}", {}, "Cannot resolve identifier 'missing'"),
])
def test_a_condition_that_fails_at_run_time_says_why_in_the_service_s_words(client, condition, variables, words):
    gateway = ('<bpmn:exclusiveGateway id="g" default="f3"/><bpmn:endEvent id="e2"/>'
               f'<bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="e"><bpmn:conditionExpression>{condition}'
               '</bpmn:conditionExpression></bpmn:sequenceFlow>' + flow("g", "e2", "f3"))
    assert deploy_bytes(client, "odd.bpmn", process_file(START + END + flow("s", "g", "f1") + gateway)
                        ).status_code == 200
    response = client.post("/process-definition/key/odd/start", json={"variables": variables})
    assert response.status_code == 400, response.text
    assert_plain(response)
    assert response.json()["type"] == "ProcessEngineException" and words in response.json()["message"]


@pytest.mark.parametrize(("timer", "due", "words"), [
    ("timeDate", "garbage", "'garbage' is not a date and time"),
    ("timeDuration", "P1Q", "not an ISO 8601 duration"),
    ("timeCycle", "R3/nonsense", "is not a repeating interval"),
])
def test_a_timer_that_cannot_be_read_at_run_time_says_why_in_the_service_s_words(client, timer, due, words):
    timed = through(TIMER.format(f"<bpmn:{timer}>${{due}}</bpmn:{timer}>"), "t")
    assert deploy_bytes(client, "odd.bpmn", process_file(timed)).status_code == 200
    response = client.post("/process-definition/key/odd/start", json={"variables": {"due": {"value": due}}})
    assert response.status_code == 400, response.text
    assert_plain(response)
    assert words in response.json()["message"]


BAD_REQUESTS = [
    ("GET", "/task", {"params": {"maxResults": "many"}}),
    ("GET", "/task", {"params": {"firstResult": "-1"}}),
    ("GET", "/task", {"params": {"createdAfter": "yesterday"}}),
    ("GET", "/task", {"params": {"sortBy": "__class__", "sortOrder": "up"}}),
    ("GET", "/task/not-a-task", {}),
    ("POST", "/task", {"json": ["not", "a", "filter"]}),
    ("POST", "/task", {"json": {"processVariables": "x"}}),
    ("POST", "/task/not-a-task/complete", {"json": {"variables": []}}),
    ("POST", "/task/not-a-task/claim", {"json": {"userId": None}}),
    ("GET", "/process-instance/not-an-instance", {}),
    ("GET", "/process-instance", {"params": {"variables": "a_eq_"}}),
    ("POST", "/process-instance", {"json": {"variables": [{"name": "a", "operator": "like", "value": {}}]}}),
    ("DELETE", "/process-instance/not-an-instance", {}),
    ("PUT", "/process-instance/not-an-instance/variables/x", {"json": {"value": {"a": 1}, "type": "Integer"}}),
    ("POST", "/process-definition/key/no_such_process/start", {"json": {}}),
    ("POST", "/process-definition/key/odd/start", {"json": "just text"}),
    ("POST", "/process-definition/key/odd/start", {"content": b"{not json"}),
    ("POST", "/process-definition/key/odd/start", {"json": {"variables": []}}),
    ("POST", "/process-definition/key/odd/start", {"json": {"variables": {"a": None}}}),
    ("POST", "/process-definition/key/odd/start", {"json": {"variables": {"a": {"value": "x", "type": "Integer"}}}}),
    ("POST", "/process-definition/key/odd/start", {"json": {"variables": {"a": {"value": "x", "type": "Date"}}}}),
    ("POST", "/process-definition/key/odd/start", {"json": {"variables": {"a": {"value": "{bad", "type": "Json"}}}}),
    ("POST", "/process-definition/key/odd/start", {"json": {"variables": {"a": {"value": "x", "type": "Object"}}}}),
    ("POST", "/process-definition/key/odd/start", {"json": {"variables": {"a": {"value": 1, "type": "Nope"}}}}),
    ("POST", "/process-definition/key/odd/start", {"json": {"variables": {"a": {"value": 2 ** 70, "type": "Long"}}}}),
    ("POST", "/process-definition/key/odd/start", {"json": {"businessKey": {"a": 1}}}),
    ("GET", "/process-definition/not-a-definition/xml", {}),
    ("GET", "/process-definition/key/odd/form-variables", {"params": {"variableNames": "\x00"}}),
    ("POST", "/message", {"json": {}}),
    ("POST", "/message", {"json": {"messageName": "m", "processVariables": []}}),
    ("POST", "/message", {"json": {"messageName": "m", "correlationKeys": {"k": {"value": [1], "type": "String"}}}}),
    ("POST", "/signal", {"json": {"name": None}}),
    ("POST", "/external-task/fetchAndLock", {"json": {"workerId": "w", "maxTasks": -1, "topics": "t"}}),
    ("POST", "/external-task/fetchAndLock", {"json": {"workerId": "w", "maxTasks": 1,
                                                      "topics": [{"topicName": "t", "lockDuration": "long"}]}}),
    ("POST", "/external-task/not-a-task/complete", {"json": {"workerId": None}}),
    ("POST", "/external-task/not-a-task/bpmnError", {"json": {"workerId": "w", "errorCode": 1}}),
    ("PUT", "/external-task/not-a-task/retries", {"json": {"retries": "many"}}),
    ("GET", "/history/activity-instance", {"params": {"startedAfter": "garbage"}}),
    ("GET", "/history/process-instance", {"params": {"sortBy": "nope", "sortOrder": "desc"}}),
    ("GET", "/history/variable-instance", {"params": {"maxResults": "9" * 40}}),
    ("GET", "/job", {"params": {"dueDates": "due_gt_garbage"}}),
    ("GET", "/deployment/not-a-deployment/resources", {}),
    ("POST", "/deployment/create", {"data": {"enable-duplicate-filtering": "maybe"}}),
    ("POST", "/deployment/create", {"files": [("data", ("x.bpmn", b"\xff" * 64, "application/xml"))]}),
]


def test_requests_with_bad_input_get_plain_answers(client, root):
    assert deploy_bytes(client, "odd.bpmn", process_file(START + '<bpmn:userTask id="u"/>' + END
                                                         + flow("s", "u", "f1") + flow("u", "e", "f2"))
                        ).status_code == 200
    answered = set()
    for method, path, arguments in BAD_REQUESTS:
        response = client.request(method, path, **arguments)
        assert response.status_code < 500, f"{method} {path}: {response.status_code} {response.text[:300]}"
        assert_plain(response)
        assert "{'" not in response.text, f"{method} {path} shows a Python mapping: {response.text[:300]}"
        answered.add(response.status_code)
    assert {400, 404} <= answered
    for body in ({"advance": "P1Q"}, {"set": "tomorrow"}, {"advance": 5}, [], "x"):
        response = root.post("/api/clock", json=body)
        assert_plain(response)

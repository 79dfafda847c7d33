"""Process-definition reads and starts of a region's (Camunda tenant's) definition by key:
/key/{key}/tenant-id/{tenant-id}/xml, /form-variables and /submit-form, as Camunda answers them."""
from __future__ import annotations

import pytest

from app.audit import ledger
from tests.support.bpmn_text import grading, process

START_FORM = """
  <bpmn:startEvent id="start" camunda:formKey="{form}"><bpmn:extensionElements><camunda:formData>
    <camunda:formField id="applicant" type="string" defaultValue="{name}" />
  </camunda:formData></bpmn:extensionElements></bpmn:startEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review" name="审查" />
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />"""


@pytest.fixture
def regional(client) -> dict[str, str]:
    """The same key deployed for region xj and without region, with different default applicants."""
    ids = {}
    for tenant, name in (("xj", "新疆申请人"), (None, "无区域申请人")):
        files = [("data", ("eia.bpmn", process("eia_filing", START_FORM.format(name=name, form=f"embedded:app:forms/{tenant or 'all'}.html")), "application/xml"))]
        data = {"tenant-id": tenant} if tenant else {}
        response = client.post("/deployment/create", data=data, files=files)
        assert response.status_code == 200, response.text
        [definition] = response.json()["deployedProcessDefinitions"].values()
        ids[tenant or ""] = definition["id"]
    return ids


def test_the_xml_of_a_regions_definition(client, regional):
    answer = client.get("/process-definition/key/eia_filing/tenant-id/xj/xml")
    assert answer.status_code == 200
    assert answer.json()["id"] == regional["xj"]
    assert "新疆申请人" in answer.json()["bpmn20Xml"] and "无区域申请人" not in answer.json()["bpmn20Xml"]
    plain = client.get("/process-definition/key/eia_filing/xml").json()
    assert plain["id"] == regional[""]


def test_the_start_form_variables_of_a_regions_definition(client, regional):
    answer = client.get("/process-definition/key/eia_filing/tenant-id/xj/form-variables")
    assert answer.status_code == 200
    assert answer.json()["applicant"]["value"] == "新疆申请人"
    assert client.get("/process-definition/key/eia_filing/form-variables").json()["applicant"]["value"] \
        == "无区域申请人"


def test_submitting_the_start_form_of_a_regions_definition_starts_its_version(client, regional):
    body = {"variables": {"applicant": {"value": "乌鲁木齐环保公司"}}, "businessKey": "XJ-2026-1"}
    answer = client.post("/process-definition/key/eia_filing/tenant-id/xj/submit-form", json=body)
    assert answer.status_code == 200, answer.text
    started = answer.json()
    assert started["definitionId"] == regional["xj"] and started["tenantId"] == "xj"
    assert started["businessKey"] == "XJ-2026-1"
    variables = client.get(f"/process-instance/{started['id']}/variables").json()
    assert variables["applicant"]["value"] == "乌鲁木齐环保公司"


def test_the_start_form_key_by_id_key_and_region(client, regional):
    by_tenant = client.get("/process-definition/key/eia_filing/tenant-id/xj/startForm")
    assert by_tenant.status_code == 200
    assert by_tenant.json() == {"key": "embedded:app:forms/xj.html", "camundaFormRef": None, "contextPath": None}
    assert client.get("/process-definition/key/eia_filing/startForm").json()["key"] == "embedded:app:forms/all.html"
    assert client.get(f"/process-definition/{regional['xj']}/startForm").json()["key"] == "embedded:app:forms/xj.html"
    unknown = client.get("/process-definition/no-such-id/startForm")
    assert unknown.status_code == 404 and unknown.json()["type"] == "RestException"


def test_a_start_event_without_form_key_answers_a_null_key(client):
    files = [("data", ("bare.bpmn", process("bare", '<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f" '
                                               'sourceRef="s" targetRef="e" /><bpmn:endEvent id="e" />'),
                       "application/xml"))]
    assert client.post("/deployment/create", files=files).status_code == 200
    assert client.get("/process-definition/key/bare/startForm").json() == {
        "key": None, "camundaFormRef": None, "contextPath": None}


def test_a_process_without_deployed_image_has_no_diagram(client, regional):
    for path in ("key/eia_filing/tenant-id/xj/diagram", "key/eia_filing/diagram", f"{regional['xj']}/diagram"):
        answer = client.get(f"/process-definition/{path}")
        assert answer.status_code == 204 and answer.content == b""
    unknown = client.get("/process-definition/no-such-id/diagram")
    assert unknown.status_code == 404 and unknown.json()["type"] == "RestException"


@pytest.mark.parametrize("call", [("get", "xml"), ("get", "form-variables"), ("post", "submit-form"),
                                  ("get", "startForm"), ("get", "diagram")])
def test_an_unknown_region_or_key_answers_404_as_camunda(client, regional, call):
    method, tail = call
    answer = client.request(method, f"/process-definition/key/eia_filing/tenant-id/zj/{tail}", json={})
    assert answer.status_code == 404
    assert answer.json()["type"] == "RestException"
    assert answer.json()["message"] == "No matching process definition with key: eia_filing and tenant-id: zj"
    missing = client.request(method, f"/process-definition/key/no_such/tenant-id/xj/{tail}", json={})
    assert missing.status_code == 404
    assert "no_such" in missing.json()["message"]


def test_an_administrator_sets_the_history_time_to_live_recorded_with_who_did_it(service, client, regional):
    for path, days in (("key/eia_filing/tenant-id/xj", 180), ("key/eia_filing", 30), (regional["xj"], 365)):
        answer = client.put(f"/process-definition/{path}/history-time-to-live", json={"historyTimeToLive": days})
        assert answer.status_code == 204, answer.text
    assert client.get(f"/process-definition/{regional['xj']}").json()["historyTimeToLive"] == 365
    assert client.get(f"/process-definition/{regional['']}").json()["historyTimeToLive"] == 30
    assert client.put(f"/process-definition/{regional['']}/history-time-to-live",
                      json={"historyTimeToLive": None}).status_code == 204
    assert client.get(f"/process-definition/{regional['']}").json()["historyTimeToLive"] is None
    events = ledger.admin_events(service.services, kind="definition.history_time_to_live")
    mine = [event for event in events if event.subject == f"process-definition:{regional['xj']}"]
    assert [(event.user_id, event.payload["previous"], event.payload["value"]) for event in mine] == [
        ("test-admin", None, 180), ("test-admin", 180, 365)]


@pytest.mark.parametrize("value", [-1, "many", 1.5, True, [3], 36501, 3000000])
def test_a_bad_history_time_to_live_is_refused(client, regional, value):
    answer = client.put(f"/process-definition/{regional['xj']}/history-time-to-live", json={"historyTimeToLive": value})
    assert answer.status_code == 400
    assert answer.json()["type"] == "InvalidRequestException"
    assert client.get(f"/process-definition/{regional['xj']}").json()["historyTimeToLive"] is None


def test_a_history_time_to_live_of_more_than_a_century_is_refused(client, regional):
    assert client.put(f"/process-definition/{regional['xj']}/history-time-to-live",
                      json={"historyTimeToLive": 36500}).status_code == 204
    deployed = client.post("/deployment/create", files=[("data", ("grading.dmn", grading("region"), "application/xml"))])
    [decision] = deployed.json()["deployedDecisionDefinitions"].values()
    refused = client.put(f"/decision-definition/{decision['id']}/history-time-to-live",
                         json={"historyTimeToLive": 3000000})
    assert (refused.status_code, refused.json()["type"]) == (400, "InvalidRequestException")
    assert refused.json()["message"] == "historyTimeToLive must be at most 36500 days (100 years)"
    assert client.get(f"/decision-definition/{decision['id']}").json()["historyTimeToLive"] is None
    too_long = process("kept_forever", '<bpmn:startEvent id="s" />').replace(
        b'isExecutable="true"', b'isExecutable="true" camunda:historyTimeToLive="3000000"')
    answer = client.post("/deployment/create", files=[("data", ("kept.bpmn", too_long, "application/xml"))])
    assert (answer.status_code, answer.json()["type"]) == (400, "ParseException")
    assert "kept_forever" in answer.json()["message"] and "more than 36500 days" in answer.json()["message"]
    dmn = grading("region").replace(b'<decision id="grading"', b'<decision camunda:historyTimeToLive="99999" '
                                    b'id="grading"')
    answer = client.post("/deployment/create", files=[("data", ("grading2.dmn", dmn, "application/xml"))])
    assert (answer.status_code, answer.json()["type"]) == (400, "ParseException"), answer.text
    assert client.get("/process-definition/count", params={"key": "kept_forever"}).json() == {"count": 0}


def test_the_history_time_to_live_of_an_unknown_definition_answers_404(client):
    answer = client.put("/process-definition/no-such-id/history-time-to-live", json={"historyTimeToLive": 5})
    assert answer.status_code == 404 and answer.json()["type"] == "RestException"


def test_a_decision_without_deployed_image_has_no_diagram(client):
    files = [("data", ("grading.dmn", grading("region"), "application/xml"))]
    deployed = client.post("/deployment/create", files=files)
    assert deployed.status_code == 200, deployed.text
    [decision] = deployed.json()["deployedDecisionDefinitions"].values()
    for path in ("key/grading/diagram", f"{decision['id']}/diagram"):
        answer = client.get(f"/decision-definition/{path}")
        assert answer.status_code == 204 and answer.content == b""
    unknown = client.get("/decision-definition/no-such-id/diagram")
    assert unknown.status_code == 404 and unknown.json()["type"] == "RestException"

"""Versions by key, duplicate filtering, and instances that stay on the version they started with."""
from __future__ import annotations

from tests.support.bpmn_text import definitions, grading
from tests.support.http import deploy, deploy_bytes, start
from tests.support.paths import FIXTURES
from tests.support.processes import GRADED

ECO_REVIEW = (FIXTURES / "eco_review.bpmn").read_bytes()


def upload(client, content: bytes, **fields):
    response = client.post("/deployment/create", data={"deployment-name": "eco", **fields},
                           files=[("data", ("eco_review.bpmn", content, "application/octet-stream"))])
    assert response.status_code == 200, response.text
    return response.json()


def test_changed_file_gets_next_version_and_unchanged_is_filtered(client):
    first = upload(client, ECO_REVIEW, **{"enable-duplicate-filtering": "true"})
    assert [d["version"] for d in first["deployedProcessDefinitions"].values()] == [1]
    assert set(first) >= {"links", "id", "name", "source", "deploymentTime", "tenantId",
                          "deployedCaseDefinitions", "deployedDecisionDefinitions",
                          "deployedDecisionRequirementsDefinitions"}

    again = upload(client, ECO_REVIEW, **{"enable-duplicate-filtering": "True"})
    assert again["deployedProcessDefinitions"] is None and again["id"] == first["id"]

    changed = ECO_REVIEW.replace("生态环境部审批".encode(), "生态环境部批准".encode())
    second = upload(client, changed, **{"deploy-changed-only": "true"})
    assert [d["version"] for d in second["deployedProcessDefinitions"].values()] == [2]

    # Without filtering every upload is a new version, as in Camunda.
    third = upload(client, changed)
    assert [d["version"] for d in third["deployedProcessDefinitions"].values()] == [3]
    assert client.get("/process-definition/count", params={"key": "eco_review"}).json() == {"count": 3}
    latest = client.get("/process-definition", params={"key": "eco_review", "latestVersion": "true"}).json()
    assert [d["version"] for d in latest] == [3]
    assert client.get("/deployment/count").json() == {"count": 3}


def test_running_instance_stays_on_its_version(client):
    upload(client, ECO_REVIEW)
    started = client.post("/process-definition/key/eco_review/start", json={"variables": {
        "province": {"value": "gd"}, "applicant": {"value": "alice"}}}).json()
    changed = ECO_REVIEW.replace("生态环境部审批".encode(), "生态环境部批准".encode())
    upload(client, changed)
    [task] = client.get("/task", params={"processInstanceId": started["id"]}).json()
    client.post(f"/task/{task['id']}/complete", json={"variables": {
        "decision": {"value": "approve"}, "opinion": {"value": "同意"}}}).raise_for_status()
    [approval] = client.get("/task", params={"processInstanceId": started["id"]}).json()
    assert approval["name"] == "生态环境部审批"
    assert approval["processDefinitionId"] == started["definitionId"]
    assert started["definitionId"].startswith("eco_review:1:")
    new = client.post("/process-definition/key/eco_review/start", json={"variables": {
        "province": {"value": "gd"}}}).json()
    assert new["definitionId"].startswith("eco_review:2:")


def test_definition_xml_and_resources_are_the_uploaded_file(client):
    deployment = deploy(client, FIXTURES / "eco_review.bpmn")
    xml = client.get("/process-definition/key/eco_review/xml").json()
    assert xml["bpmn20Xml"].encode() == ECO_REVIEW
    resources = client.get(f"/deployment/{deployment['id']}/resources").json()
    assert [r["name"] for r in resources] == ["eco_review.bpmn"]
    definition = client.get("/process-definition/key/eco_review").json()
    assert client.get(f"/process-definition/{definition['id']}/xml").json()["id"] == definition["id"]


def test_unknown_keys_and_ids_answer_404(client):
    for path in ["/process-definition/key/nope", "/process-definition/nope:1:x", "/deployment/nope",
                 "/process-instance/00000000-0000-0000-0000-000000000000", "/task/nope",
                 "/history/process-instance/nope"]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert set(response.json()) >= {"type", "message"}
    assert client.post("/process-definition/key/nope/start", json={}).status_code == 404
    assert client.post("/task/nope/complete", json={}).status_code == 404


def test_start_form_is_validated_by_submit_form(client):
    deploy(client, FIXTURES / "eco_review.bpmn")
    refused = client.post("/process-definition/key/eco_review/submit-form",
                          json={"variables": {"province": {"value": "gd"}}})
    assert refused.status_code == 400 and "park_name" in refused.json()["message"]
    assert client.get("/process-instance/count").json() == {"count": 0}
    fields = client.get("/process-definition/key/eco_review/form-variables").json()
    assert set(fields) == {"park_name", "province"}
    accepted = client.post("/process-definition/key/eco_review/submit-form", json={
        "businessKey": "p-1", "variables": {"province": {"value": "gd"}, "park_name": {"value": "园"}}})
    assert accepted.status_code == 200 and accepted.json()["businessKey"] == "p-1"


def test_deploy_as_camunda_modeler_sends_it(client):
    # The Modeler checks the endpoint, then posts the diagram as a part named after its file.
    assert client.get("/deployment", params={"maxResults": 0}).json() == []
    response = client.post("/deployment/create", data={
        "deployment-name": "eco_review", "deployment-source": "Camunda Modeler", "deploy-changed-only": "true"},
        files=[("eco_review.bpmn", ("eco_review.bpmn", ECO_REVIEW, "application/octet-stream"))])
    assert response.status_code == 200
    body = response.json()
    assert body["source"] == "Camunda Modeler" and len(body["deployedProcessDefinitions"]) == 1
    broken = ECO_REVIEW.replace(b'targetRef="ministry_approval"', b'targetRef="nowhere"')
    refused = client.post("/deployment/create", data={"deployment-name": "eco_review"},
                          files=[("eco_review.bpmn", ("eco_review.bpmn", broken, "application/octet-stream"))])
    assert refused.status_code == 400
    [error] = refused.json()["details"]["eco_review.bpmn"]["errors"]
    assert "nowhere" in error["message"] and error["mainElementId"]


def test_a_resource_and_its_bytes_are_read_one_by_one(client):
    deployment = deploy(client, FIXTURES / "eco_review.bpmn")
    [listed] = client.get(f"/deployment/{deployment['id']}/resources").json()
    one = client.get(f"/deployment/{deployment['id']}/resources/{listed['id']}")
    assert one.json() == {"id": listed["id"], "name": "eco_review.bpmn", "deploymentId": deployment["id"]}
    data = client.get(f"/deployment/{deployment['id']}/resources/{listed['id']}/data")
    assert data.content == ECO_REVIEW and data.headers["content-type"].startswith("application/xml")
    assert data.headers["content-disposition"] == 'attachment; filename="eco_review.bpmn"'
    missing = client.get(f"/deployment/{deployment['id']}/resources/nope/data")
    assert missing.status_code == 404 and missing.json()["message"] == (
        f"Deployment resource with resource id 'nope' for deployment id '{deployment['id']}' does not exist.")


def test_a_redeployment_makes_new_versions_of_the_same_files(client):
    first = upload(client, ECO_REVIEW)
    again = client.post(f"/deployment/{first['id']}/redeploy", json={"source": "cockpit"})
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["id"] != first["id"] and body["source"] == "cockpit" and body["name"] == "eco"
    assert [d["version"] for d in body["deployedProcessDefinitions"].values()] == [2]
    assert client.get("/process-definition/key/eco_review/xml").json()["bpmn20Xml"].encode() == ECO_REVIEW
    unknown = client.post(f"/deployment/{first['id']}/redeploy", json={"resourceNames": ["other.bpmn"]})
    assert unknown.status_code == 400 and "other.bpmn" in unknown.json()["message"]
    assert client.post("/deployment/nope/redeploy", json={}).status_code == 404


def test_a_deployment_no_case_used_is_deleted_and_the_previous_version_is_newest_again(client, root):
    first = upload(client, ECO_REVIEW)
    second = upload(client, ECO_REVIEW.replace("生态环境部审批".encode(), "生态环境部批准".encode()))
    assert client.get("/process-definition/key/eco_review").json()["version"] == 2
    assert client.delete(f"/deployment/{second['id']}").status_code == 204
    assert client.get(f"/deployment/{second['id']}").status_code == 404
    assert client.get("/process-definition/key/eco_review").json()["version"] == 1
    started = client.post("/process-definition/key/eco_review/start", json={"variables": {
        "province": {"value": "gd"}}}).json()
    assert started["definitionId"].startswith("eco_review:1:")
    kept = client.delete(f"/deployment/{first['id']}")
    assert kept.status_code == 400 and "cases ran on its definitions" in kept.json()["message"]
    assert client.get("/process-definition/key/eco_review").json()["version"] == 1
    assert client.delete("/deployment/nope").status_code == 404
    [event] = root.get("/api/history/admin-events", params={"kind": "deployment.deleted"}).json()
    assert event["subject"] == f"deployment:{second['id']}" and event["userId"] == "test-admin"


def message_start(task_name: str) -> bytes:
    [content] = definitions(f"""
  <bpmn:startEvent id="start"><bpmn:messageEventDefinition messageRef="m" /></bpmn:startEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review" name="{task_name}" /><bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
  <bpmn:endEvent id="end" />""", "notice_start", root='<bpmn:message id="m" name="notice_received" />').values()
    return content


def test_the_previous_versions_start_events_wait_again_when_the_newest_is_deleted(client):
    deploy_bytes(client, "v1.bpmn", message_start("审查一")).raise_for_status()
    newest = deploy_bytes(client, "v2.bpmn", message_start("审查二")).json()
    assert client.delete(f"/deployment/{newest['id']}").status_code == 204
    started = client.post("/message", json={"messageName": "notice_received", "resultEnabled": True})
    assert started.status_code == 200, started.text
    [task] = client.get("/task", params={"processInstanceId": started.json()[0]["processInstance"]["id"]}).json()
    assert task["name"] == "审查一"


def test_a_decision_a_case_evaluated_keeps_its_deployment(client):
    unused = deploy_bytes(client, "grading.dmn", grading("region")).json()
    assert client.delete(f"/deployment/{unused['id']}").status_code == 204
    table = deploy_bytes(client, "grading.dmn", grading("region")).json()
    deploy_bytes(client, "graded.bpmn", GRADED).raise_for_status()
    start(client, "graded", size="large")
    kept = client.delete(f"/deployment/{table['id']}")
    assert kept.status_code == 400, kept.text

"""Uploads that try to read files, exhaust memory or run code are refused and run nothing."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.bpmn_text import process
from tests.support.http import deploy, deploy_bytes
from tests.support.paths import FIXTURES

PWNED = [Path("/tmp/bpmn_pwned_script"), Path("/tmp/bpmn_pwned_condition"), Path("/tmp/bpmn_pwned_condition2")]


@pytest.fixture(autouse=True)
def no_traces():
    for path in PWNED:
        path.unlink(missing_ok=True)
    yield
    assert not [path for path in PWNED if path.exists()], "an uploaded BPMN ran code"


def upload(client, name: str, content: bytes):
    return client.post("/deployment/create", data={"deployment-name": "hostile"},
                       files=[("data", (name, content, "application/octet-stream"))])


@pytest.mark.parametrize("fixture", ["xxe.bpmn", "billion_laughs.bpmn", "external_entity_net.bpmn"])
def test_entity_tricks_are_refused_fast_and_read_nothing(client, fixture):
    started = time.perf_counter()
    response = upload(client, fixture, (FIXTURES / fixture).read_bytes())
    assert time.perf_counter() - started < 1.0
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "ParseException" and "document type" in body["message"]
    assert "root:" not in response.text  # nothing of /etc/passwd came back
    assert client.get("/process-definition").json() == []


def test_entity_in_element_text_is_refused(client):
    content = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="leak" isExecutable="true"><bpmn:documentation>&xxe;</bpmn:documentation>
    <bpmn:startEvent id="s"/></bpmn:process></bpmn:definitions>"""
    response = upload(client, "leak.bpmn", content)
    assert response.status_code == 400 and response.json()["type"] == "ParseException"


def test_script_task_is_refused_at_deploy_naming_the_element(client):
    response = upload(client, "script_task.bpmn", (FIXTURES / "script_task.bpmn").read_bytes())
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "ParseException"
    error = body["details"]["script_task.bpmn"]["errors"][0]
    assert error["mainElementId"] == "run_script" and "script" in body["message"]


def test_python_in_conditions_is_refused_and_never_evaluated(client):
    response = upload(client, "condition_attack.bpmn", (FIXTURES / "condition_attack.bpmn").read_bytes())
    assert response.status_code == 400
    assert response.json()["type"] == "ParseException"
    assert client.get("/process-definition").json() == []


def test_python_in_a_variable_is_only_data(client):

    deploy(client, FIXTURES / "eco_review.bpmn")
    attack = "__import__('os').system('touch /tmp/bpmn_pwned_script')"
    response = client.post("/process-definition/key/eco_review/start", json={"variables": {
        "park_name": {"value": attack}, "province": {"value": attack}}})
    assert response.status_code == 200
    [task] = client.get("/task", params={"processInstanceId": response.json()["id"]}).json()
    links = client.get(f"/task/{task['id']}/identity-links").json()
    assert links == [{"userId": None, "groupId": f"{attack}-eco-env", "type": "candidate"}]


def test_invalid_bpmn_names_the_element_and_why(client):
    response = upload(client, "broken.bpmn", (FIXTURES / "invalid_missing_target.bpmn").read_bytes())
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "ParseException"
    error = body["details"]["broken.bpmn"]["errors"][0]
    assert error["mainElementId"] == "flow_broken" and "ghost_task" in error["message"]


def test_not_xml_and_not_bpmn_are_refused(client):
    assert upload(client, "x.bpmn", b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'"
                  ).json()["type"] == "ParseException"
    response = upload(client, "notes.txt", b"hello")
    assert response.status_code == 400 and response.json()["type"] == "InvalidRequestException"


def test_oversized_requests_are_refused_before_reading(client, service):
    limit = service.services.settings.max_request_bytes
    response = upload(client, "big.bpmn", b"<" + b"a" * (limit + 10))
    assert response.status_code == 413
    assert response.json()["type"] == "InvalidRequestException"


def test_deployment_without_files_is_a_bad_request(client):
    response = client.post("/deployment/create", data={"deployment-name": "empty"}, files={})
    assert response.status_code == 400


@pytest.mark.parametrize("business_key", ["x" * 256, "a\u0000b", 42])
def test_a_business_key_that_cannot_be_kept_is_refused_on_every_database(client, business_key):
    deploy(client, FIXTURES / "eco_review.bpmn")
    refused = client.post("/process-definition/key/eco_review/start", json={"businessKey": business_key})
    assert refused.status_code == 400 and "businessKey" in refused.json()["message"]
    assert client.get("/process-instance/count").json() == {"count": 0}


def test_a_list_of_more_values_than_one_statement_can_bind_is_refused_plainly(client):
    # PostgreSQL binds at most 65,535 values in one statement: such a list was a server error there.
    ids = [f"id-{number}" for number in range(70_000)]
    for url, body in (("/process-instance", {"processInstanceIds": ids}),
                      ("/external-task/fetchAndLock", {"workerId": "w", "maxTasks": 1, "topics": [
                          {"topicName": "t", "lockDuration": 1000, "tenantIdIn": ids}]})):
        answer = client.post(url, json=body)
        assert answer.status_code == 400, answer.text
        assert "lists 70000 values; at most 10000 are taken" in answer.json()["message"]
    assert client.post("/process-instance", json={"processInstanceIds": ids[:10_000]}).json() == []


def test_many_lists_in_one_query_past_what_a_statement_binds_are_refused_plainly(client):
    lists = {name: [f"{name}-{number}" for number in range(10_000)] for name in (
        "taskIdIn", "processInstanceIdIn", "processDefinitionKeyIn", "taskDefinitionKeyIn", "candidateGroups",
        "assigneeIn", "tenantIdIn")}
    answer = client.post("/task", json=lists)
    assert answer.status_code == 400, answer.text
    assert "more than one query can take (65535)" in answer.json()["message"]
    del lists["tenantIdIn"]
    assert client.post("/task", json=lists).json() == []


def test_query_paging_sorting_and_numbers_out_of_bounds_are_refused_plainly(client):
    """What a hostile client sends to the lists: each refused with 400 in words, or answered, never 500."""
    deploy(client, FIXTURES / "clients" / "review_and_notify.bpmn")
    client.post("/process-definition/key/eco_park_application/start", json={"variables": {
        "memo": {"value": "a" * 200_000, "type": "String"}}}).raise_for_status()
    # firstResult is Camunda's int, also where a list is paged after filtering the cases' variables.
    for path in ("/variable-instance", "/history/variable-instance", "/process-instance?variables=memo_neq_x",
                 "/task?processVariables=memo_neq_x"):
        answer = client.get(path, params={"firstResult": 2**63 - 1})
        assert answer.status_code == 400 and "firstResult" in answer.json()["message"], (path, answer.text)
    # A number is a whole number: not a fraction, a boolean or other digits than 0-9.
    for value in (50.9, True, "٣", "1_000", " 5"):
        answer = client.post("/history/task/count", json={"taskPriority": value})
        assert answer.status_code == 400 and "taskPriority" in answer.json()["message"], (value, answer.text)
        assert "True" not in answer.text
    assert client.post("/history/task/count", json={"taskPriority": 50.0}).status_code == 200
    # A job definition is named by texts.
    for body in ({"processDefinitionId": ["a"]}, {"processDefinitionKey": 2**64}, {"jobType": {"a": 1}}):
        answer = client.post("/job-definition/count", json=body)
        assert answer.status_code == 400 and "must be a string" in answer.json()["message"], (body, answer.text)
    # A key sorted by again adds nothing; the first of each counts.
    for path, key in (("/task", "id"), ("/process-instance", "instanceId"), ("/job", "jobId"),
                      ("/external-task", "id"), ("/history/job-log", "timestamp")):
        many = [{"sortBy": key, "sortOrder": "asc"}] * 2000 + [{"sortBy": key, "sortOrder": "desc"}]
        assert client.post(path, json={"sorting": many}).status_code == 200, path
    refused = client.post("/task", json={"sorting": [{"sortBy": {"a": 1}, "sortOrder": "asc"}]})
    assert refused.status_code == 400 and "{" not in refused.json()["message"], refused.text
    # A LIKE on a long variable is a scan, and as LIKE reads it.
    assert client.post("/process-instance/count", json={"variables": [
        {"name": "memo", "operator": "like", "value": "%" + "a" * 500 + "b"}]}).json() == {"count": 0}
    assert client.post("/process-instance/count", json={"variables": [
        {"name": "memo", "operator": "like", "value": "a%" + "a" * 250 + "_" + "a" * 249 + "%a"}]}).json() == {
        "count": 1}
    # Many names to look for are one set, not a list read for each variable.
    names = [f"name{index}" for index in range(9_999)] + ["memo"]
    assert client.post("/history/variable-instance/count", json={"variableNameIn": names}).json() == {"count": 1}


def _chain(tasks: int) -> bytes:
    body = ['<bpmn:startEvent id="start" />', '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="t0" />']
    for index in range(tasks):
        target = f"t{index + 1}" if index + 1 < tasks else "end"
        body += [f'<bpmn:manualTask id="t{index}" />',
                 f'<bpmn:sequenceFlow id="f{index + 1}" sourceRef="t{index}" targetRef="{target}" />']
    return process("chain", "\n".join([*body, '<bpmn:endEvent id="end" />']))


def test_a_process_file_holds_a_bounded_number_of_flow_elements(client):
    """A file's size in flow elements bounds the time its deployment takes and how deep a chain is read."""
    refused = deploy_bytes(client, "long.bpmn", _chain(400))  # 803 flow elements
    assert refused.status_code == 400, refused.text
    assert refused.json()["type"] == "ParseException"
    assert "803 flow elements" in refused.json()["message"] and "at most 800" in refused.json()["message"]
    deployed = deploy_bytes(client, "long.bpmn", _chain(398))  # 799
    assert deployed.status_code == 200, deployed.text
    started = client.post("/process-definition/key/chain/start", json={})
    assert started.status_code == 200 and started.json()["ended"] is True, started.text

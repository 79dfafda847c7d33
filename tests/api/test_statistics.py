"""Where cases stand, as Cockpit asks it: running instances per process definition and per
activity, with their open incidents, counted only over the cases the reader may read."""
from __future__ import annotations

import pytest

from app.access import accounts
from tests.support.bpmn_text import process
from tests.support.http import as_user, deploy_bytes

FLOW = process("standing_case", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="route" />
  <bpmn:exclusiveGateway id="route" default="f3" />
  <bpmn:sequenceFlow id="f2" sourceRef="route" targetRef="publish"><bpmn:conditionExpression>${publish}</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="f3" sourceRef="route" targetRef="review" />
  <bpmn:serviceTask id="publish" camunda:type="external" camunda:topic="publish-notice" />
  <bpmn:userTask id="review" camunda:candidateGroups="xj-env" />
  <bpmn:sequenceFlow id="f4" sourceRef="publish" targetRef="end" />
  <bpmn:sequenceFlow id="f5" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />""")


@pytest.fixture
def standing(service, client):
    deploy_bytes(client, "standing.bpmn", FLOW).raise_for_status()
    started = [client.post("/process-definition/key/standing_case/start", json={
        "variables": {"publish": {"value": publish, "type": "Boolean"}}}).json()
        for publish in (False, False, True)]
    accounts.save_account(service.services, "li", "li-password", [])
    [task] = client.get("/task", params={"processInstanceId": started[0]["id"]}).json()
    client.post(f"/task/{task['id']}/identity-links", json={"userId": "li", "type": "candidate"}).raise_for_status()
    [locked] = client.post("/external-task/fetchAndLock", json={
        "workerId": "w1", "maxTasks": 1, "topics": [{"topicName": "publish-notice", "lockDuration": 60000}]}).json()
    client.post(f"/external-task/{locked['id']}/failure", json={
        "workerId": "w1", "errorMessage": "website down", "retries": 0, "retryTimeout": 0}).raise_for_status()
    ended = client.post("/process-definition/key/standing_case/start", json={
        "variables": {"publish": {"value": False, "type": "Boolean"}}}).json()
    [finished] = client.get("/task", params={"processInstanceId": ended["id"]}).json()
    client.post(f"/task/{finished['id']}/complete", json={}).raise_for_status()
    return started[0]["definitionId"]


def test_definitions_count_their_running_instances_and_open_incidents(client, standing):
    [row] = client.get("/process-definition/statistics", params={"incidents": "true"}).json()
    assert row["id"] == standing and row["definition"]["key"] == "standing_case"
    assert (row["instances"], row["failedJobs"]) == (3, 0)
    assert row["incidents"] == [{"incidentType": "failedExternalTask", "incidentCount": 1}]
    [plain] = client.get("/process-definition/statistics").json()
    assert plain["incidents"] == [] and plain["instances"] == 3
    [other_type] = client.get("/process-definition/statistics", params={"incidentsForType": "failedJob"}).json()
    assert other_type["incidents"] == []


def test_activities_show_where_the_instances_stand(client, standing):
    by_id = client.get(f"/process-definition/{standing}/statistics", params={"incidents": "true"}).json()
    assert by_id == [
        {"id": "publish", "instances": 1, "failedJobs": 0,
         "incidents": [{"incidentType": "failedExternalTask", "incidentCount": 1}]},
        {"id": "review", "instances": 2, "failedJobs": 0, "incidents": []}]
    by_key = client.get("/process-definition/key/standing_case/statistics",
                        params={"incidentsForType": "failedExternalTask"}).json()
    assert by_key == by_id
    assert client.get("/process-definition/nothing/statistics").status_code == 404


def test_an_official_counts_only_the_cases_they_take_part_in(service, standing):
    with as_user(service, "li") as li:
        [row] = li.get("/process-definition/statistics", params={"incidents": "true"}).json()
        assert (row["instances"], row["incidents"]) == (1, [])
        assert li.get(f"/process-definition/{standing}/statistics").json() == [
            {"id": "review", "instances": 1, "failedJobs": 0, "incidents": []}]

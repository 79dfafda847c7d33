"""Nobody sees what is not theirs: an official of one province reads, by no endpoint, a task, an
instance, a variable or a history row of another province's case; queries leave such rows out
silently, a single one answers 403. Those who take part in a case, auditors and administrators
read it."""
from __future__ import annotations

import httpx
import pytest

from app.access import accounts
from tests.support.bpmn_text import process
from tests.support.http import deploy_bytes

CASE = process("provincial_case", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split" />
  <bpmn:parallelGateway id="split" />
  <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="review" />
  <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="publish" />
  <bpmn:userTask id="review" name="省级审查" camunda:candidateGroups="${province}-env"
      camunda:dueDate="${addDays(now(), 15)}" />
  <bpmn:boundaryEvent id="reminder" attachedToRef="review" cancelActivity="false">
    <bpmn:timerEventDefinition><bpmn:timeDuration>P10D</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:boundaryEvent>
  <bpmn:serviceTask id="publish" camunda:type="external" camunda:topic="publish-notice" />
  <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="join" />
  <bpmn:sequenceFlow id="f5" sourceRef="publish" targetRef="join" />
  <bpmn:parallelGateway id="join" /><bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="end" />
  <bpmn:endEvent id="end" />""")

OFFICIALS = {"zj-official": ["zj-env"], "gd-official": ["gd-env"], "auditor": ["auditors"]}


@pytest.fixture
def cases(service, client):
    for user, groups in OFFICIALS.items():
        accounts.save_account(service.services, user, f"{user}-password", groups)
    deploy_bytes(client, "case.bpmn", CASE).raise_for_status()
    started = {}
    for province in ("zj", "gd"):
        body = {"businessKey": f"{province.upper()}-1", "variables": {"province": {"value": province}}}
        started[province] = client.post("/process-definition/key/provincial_case/start", json=body).json()["id"]
    # A failed external task leaves an incident of the gd case.
    [locked] = client.post("/external-task/fetchAndLock", json={
        "workerId": "w", "maxTasks": 1, "topics": [{"topicName": "publish-notice", "lockDuration": 60000,
                                                     "processInstanceId": started["gd"]}]}).json()
    client.post(f"/external-task/{locked['id']}/failure", json={"workerId": "w", "errorMessage": "down",
                                                                  "retries": 0, "retryTimeout": 0}).raise_for_status()
    tasks = {province: client.get("/task", params={"processInstanceId": instance}).json()[0]["id"]
             for province, instance in started.items()}
    return started, tasks, locked["id"]


def signed(service, user: str) -> httpx.Client:
    return httpx.Client(base_url=service.base_url, auth=(user, f"{user}-password"), timeout=30)


LISTS = ["/engine-rest/process-instance", "/engine-rest/task", "/engine-rest/history/process-instance",
         "/engine-rest/history/activity-instance", "/engine-rest/history/task", "/engine-rest/variable-instance",
         "/engine-rest/history/variable-instance", "/engine-rest/job", "/engine-rest/external-task",
         "/engine-rest/incident"]


def rows_of(http: httpx.Client, path: str) -> str:
    answer = http.get(path)
    assert answer.status_code == 200, (path, answer.text)
    return answer.text


def test_an_official_of_one_province_reads_nothing_of_another_provinces_case(service, cases):
    started, tasks, external = cases
    with signed(service, "zj-official") as zj:
        for path in LISTS:
            text = rows_of(zj, path)
            assert started["gd"] not in text and tasks["gd"] not in text, path
            if path not in ("/engine-rest/external-task", "/engine-rest/incident"):
                assert started["zj"] in text, path  # their own case they do see
        for path in ("/engine-rest/process-instance/count", "/engine-rest/task/count",
                     "/engine-rest/history/process-instance/count"):
            assert zj.get(path).json() == {"count": 1}, path
        deadlines = zj.get("/api/deadlines", params={"businessKey": "GD-1"}).json()
        assert deadlines == [] and zj.get("/api/deadlines", params={"businessKey": "ZJ-1"}).json()
        for path in (f"/engine-rest/process-instance/{started['gd']}",
                     f"/engine-rest/process-instance/{started['gd']}/variables",
                     f"/engine-rest/process-instance/{started['gd']}/variables/province",
                     f"/engine-rest/history/process-instance/{started['gd']}",
                     f"/engine-rest/task/{tasks['gd']}", f"/engine-rest/task/{tasks['gd']}/variables",
                     f"/engine-rest/task/{tasks['gd']}/form-variables", f"/engine-rest/task/{tasks['gd']}/form",
                     f"/engine-rest/task/{tasks['gd']}/identity-links", f"/engine-rest/external-task/{external}",
                     f"/engine-rest/external-task/{external}/errorDetails"):
            answer = zj.get(path)
            assert answer.status_code == 403 and answer.json()["type"] == "AuthorizationException", path
        assert zj.post(f"/engine-rest/task/{tasks['gd']}/complete", json={}).status_code == 403


def test_those_who_take_part_auditors_and_administrators_read_the_case(service, client, cases):
    started, tasks, _ = cases
    with signed(service, "gd-official") as gd, signed(service, "auditor") as auditor:
        for http in (gd, auditor):
            assert http.get(f"/engine-rest/process-instance/{started['gd']}/variables").json()["province"]["value"] == "gd"
            assert http.get(f"/engine-rest/task/{tasks['gd']}").status_code == 200
        assert auditor.get("/engine-rest/process-instance/count").json() == {"count": 2}
        assert gd.get("/engine-rest/incident").json() != []
    assert client.get("/process-instance/count").json() == {"count": 2}

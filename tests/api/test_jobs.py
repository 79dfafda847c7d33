"""The timers cases wait on, read as Camunda's jobs one by one and by a query in the body, only by
those who may read the case."""
from __future__ import annotations

from app.access import accounts
from tests.support.bpmn_text import process
from tests.support.http import as_user, deploy_bytes

PUBLICITY = process("publicity_wait", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="publicity" />
  <bpmn:intermediateCatchEvent id="publicity" name="公示十五天">
    <bpmn:timerEventDefinition><bpmn:timeDuration>P15D</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f2" sourceRef="publicity" targetRef="end" /><bpmn:endEvent id="end" />""")


def test_a_job_is_read_by_its_id_and_by_a_query_in_the_body(service, client):
    deploy_bytes(client, "publicity_wait.bpmn", PUBLICITY).raise_for_status()
    cases = [client.post("/process-definition/key/publicity_wait/start", json={}).json()["id"] for _ in range(2)]
    [listed] = client.get("/job", params={"processInstanceId": cases[0]}).json()
    assert listed["dueDate"] == "2026-10-13T09:00:00.000+0800"
    assert client.get(f"/job/{listed['id']}").json() == listed
    assert client.post("/job", json={"processInstanceId": cases[0]}).json() == [listed]
    assert client.post("/job", params={"maxResults": 1}, json={"processDefinitionKey": "publicity_wait"}
                       ).status_code == 200
    assert client.post("/job/count", json={"activityId": "publicity"}).json() == {"count": 2}
    assert client.post("/job/count", json={"jobId": listed["id"]}).json() == {"count": 1}
    missing = client.get("/job/no-such-job")
    assert missing.status_code == 404 and missing.json()["message"] == "Job with id no-such-job does not exist"
    accounts.save_account(service.services, "zhao", "zhao-password", ["xj-drc"])
    with as_user(service, "zhao") as zhao:
        assert zhao.get(f"/job/{listed['id']}").status_code == 404
        assert zhao.post("/job/count", json={}).json() == {"count": 0}

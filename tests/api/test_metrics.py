"""Camunda's usage metrics, counted from the cases the service recorded: what Cockpit's dashboard
shows (process instances, decision evaluations, flow node instances, people who worked tasks)."""
from __future__ import annotations

from app.access import accounts
from tests.support.bpmn_text import grading
from tests.support.http import as_user, deploy_bytes, start
from tests.support.processes import GRADED


def test_metrics_count_what_the_cases_recorded_within_the_period(service, client):
    deploy_bytes(client, "grading.dmn", grading("region")).raise_for_status()
    deploy_bytes(client, "graded.bpmn", GRADED).raise_for_status()
    accounts.save_account(service.services, "li", "li-password", ["region-env"])
    instances = [start(client, "graded", size="large").json()["id"] for _ in range(2)]
    [task] = client.get("/task", params={"processInstanceId": instances[0]}).json()
    with as_user(service, "li") as li:
        li.post(f"/task/{task['id']}/claim", json={"userId": "li"}).raise_for_status()
        li.post(f"/task/{task['id']}/complete", json={}).raise_for_status()

    def total(name: str, **period: str) -> int:
        answer = client.get(f"/metrics/{name}/sum", params=period)
        assert answer.status_code == 200, answer.text
        return answer.json()["result"]

    activities = client.get("/history/activity-instance/count").json()["count"]
    ended = client.get("/history/activity-instance/count", params={"finished": "true"}).json()["count"]
    assert total("activity-instance-start") == total("flow-node-instances") == activities
    assert total("activity-instance-end") == ended < activities
    assert total("process-instances") == total("root-process-instance-start") == 2
    assert total("decision-instances") == 2
    assert total("task-users") == total("unique-task-workers") == 1
    assert total("process-instances", startDate="2099-01-01T00:00:00.000+0800") == 0
    assert total("process-instances", endDate="2000-01-01T00:00:00.000+0800") == 0
    unknown = client.get("/metrics/job-acquisition-attempt/sum")
    assert unknown.status_code == 400 and "not counted here" in unknown.json()["message"]
    accounts.save_account(service.services, "auditor", "auditor-password", ["auditors"])
    with as_user(service, "auditor") as auditor:
        assert auditor.get("/metrics/process-instances/sum").json() == {"result": 2}

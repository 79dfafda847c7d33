"""Two officials completing the same task at once, and a service restarted mid-procedure."""
from __future__ import annotations

import threading

import httpx

from tests.support.http import deploy
from tests.support.paths import FIXTURES
from tests.support.service import ADMIN_AUTH, database_url, start_service


def _start_review(client, business_key):
    instance = client.post("/process-definition/key/eco_review/start", json={
        "businessKey": business_key,
        "variables": {"province": {"value": "gd"}, "applicant": {"value": "alice"}}}).json()
    [task] = client.get("/task", params={"processInstanceId": instance["id"]}).json()
    return instance, task


def test_simultaneous_completions_exactly_one_wins_and_nothing_is_half_written(client, service):
    deploy(client, FIXTURES / "eco_review.bpmn")
    for attempt in range(5):
        instance, task = _start_review(client, f"race-{attempt}")
        barrier = threading.Barrier(2)
        statuses: list[int] = []
        bodies: list[dict] = []

        def complete(decision: str) -> None:
            with httpx.Client(base_url=f"{service.base_url}/engine-rest", auth=ADMIN_AUTH, timeout=30) as own:
                barrier.wait()
                response = own.post(f"/task/{task['id']}/complete", json={"variables": {
                    "decision": {"value": decision}, "opinion": {"value": f"由{decision}完成"}}})
                statuses.append(response.status_code)
                if response.status_code != 204:
                    bodies.append(response.json())

        threads = [threading.Thread(target=complete, args=(d,)) for d in ("approve", "reject")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(statuses) == [204, 409], statuses
        assert bodies[0]["type"] in ("OptimisticLockingException", "RestException")
        # The winner's decision alone took effect: one path, one review completion, one set of variables.
        activities = client.get("/history/activity-instance", params={"processInstanceId": instance["id"]}).json()
        assert sum(1 for a in activities if a["activityId"] == "provincial_review") == 1
        assert sum(1 for a in activities if a["activityId"] == "decision_gateway") == 1
        historic = client.get(f"/history/process-instance/{instance['id']}").json()
        if historic["state"] == "ACTIVE":  # approve won: the ministry's task is open, once
            [next_task] = client.get("/task", params={"processInstanceId": instance["id"]}).json()
            assert next_task["taskDefinitionKey"] == "ministry_approval"
            opinion = client.get(f"/process-instance/{instance['id']}/variables/opinion").json()
            assert opinion["value"] == "由approve完成"
        else:
            assert [a["activityId"] for a in activities if a["activityType"] == "noneEndEvent"] == ["rejected_end"]


def test_state_survives_a_restart_of_the_service(service, tmp_path):
    url = database_url(tmp_path)
    first = start_service(url)
    try:
        with httpx.Client(base_url=f"{first.base_url}/engine-rest", auth=ADMIN_AUTH, timeout=30) as client:
            deploy(client, FIXTURES / "eco_review.bpmn")
            instance, task = _start_review(client, "restart-1")
    finally:
        first.stop()
        first.services.db.dispose()

    second = start_service(url)
    try:
        with httpx.Client(base_url=f"{second.base_url}/engine-rest", auth=ADMIN_AUTH, timeout=30) as client:
            # The second process has parsed nothing yet: its cache is empty, the spec comes from the database.
            [again] = client.get("/task", params={"processInstanceBusinessKey": "restart-1"}).json()
            assert again["id"] == task["id"]
            client.post(f"/task/{task['id']}/complete", json={"variables": {
                "decision": {"value": "approve"}, "opinion": {"value": "同意"}}}).raise_for_status()
            [approval] = client.get("/task", params={"processInstanceId": instance["id"]}).json()
            assert approval["taskDefinitionKey"] == "ministry_approval"
            assert client.get(f"/process-instance/{instance['id']}/variables/province").json()["value"] == "gd"
    finally:
        second.stop()
        second.services.db.dispose()

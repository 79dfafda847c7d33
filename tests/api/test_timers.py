"""Timers on the simulated clock: they fire when the clock reaches them, in due order, exactly once."""
from __future__ import annotations

from datetime import datetime, timedelta

from tests.support.http import deploy
from tests.support.paths import FIXTURES

PUBLICITY = (FIXTURES / "publicity_timers.bpmn").read_bytes()



def open_tasks(client, instance_id):
    return sorted(t["taskDefinitionKey"] for t in client.get("/task", params={"processInstanceId": instance_id}).json())


def test_publicity_waits_fifteen_days_then_naming_is_chased_and_lapses(client, root):
    client.post("/deployment/create", data={"deployment-name": "publicity"},
                files=[("data", ("publicity.bpmn", PUBLICITY, "application/xml"))]).raise_for_status()
    instance = client.post("/process-definition/key/publicity/start", json={
        "variables": {"namingPeriod": {"value": "P30D"}}}).json()
    [task] = client.get("/task", params={"processInstanceId": instance["id"]}).json()
    started = datetime.fromisoformat(root.get("/api/clock").json()["now"])
    client.post(f"/task/{task['id']}/complete", json={}).raise_for_status()

    [job] = client.get("/job", params={"processInstanceId": instance["id"], "timers": "true"}).json()
    due = datetime.fromisoformat(job["dueDate"])
    assert due - started == timedelta(days=15)

    assert root.post("/api/clock", json={"advance": "P14D"}).json()["instancesAdvanced"] == 0
    assert open_tasks(client, instance["id"]) == []
    moved = root.post("/api/clock", json={"advance": "P1D"}).json()
    assert moved["instancesAdvanced"] == 1
    assert open_tasks(client, instance["id"]) == ["naming"]

    # Ten days on, the non-interrupting reminder opens a chase task; the naming task stays open.
    root.post("/api/clock", json={"advance": "P10D"}).raise_for_status()
    assert open_tasks(client, instance["id"]) == ["chase", "naming"]
    # At thirty days the interrupting deadline ends the naming task.
    root.post("/api/clock", json={"advance": "P20D"}).raise_for_status()
    assert open_tasks(client, instance["id"]) == ["chase"]
    ends = client.get("/history/activity-instance", params={"processInstanceId": instance["id"],
                                                           "activityId": "lapsed"}).json()
    assert len(ends) == 1 and ends[0]["endTime"]
    canceled = client.get("/history/activity-instance", params={"processInstanceId": instance["id"],
                                                               "canceled": "true"}).json()
    assert "naming" in [a["activityId"] for a in canceled]


def test_clock_refuses_bad_moves(root):
    assert root.post("/api/clock", json={"advance": "fifteen days"}).status_code == 400
    assert root.post("/api/clock", json={"advance": "P1D", "set": "2026-10-01T00:00:00+08:00"}).status_code == 400
    moved = root.post("/api/clock", json={"set": "2026-10-01T09:00:00+08:00"}).json()
    assert moved["now"] == "2026-10-01T09:00:00.000+0800" and moved["mode"] == "simulated"


def test_a_yearly_cycle_fires_through_the_service_once_a_year_three_times(client, root):
    client.post("/deployment/create", files=[("data", ("annual_cycle.bpmn",
                (FIXTURES / "annual_cycle.bpmn").read_bytes(), "application/xml"))]).raise_for_status()
    instance = client.post("/process-definition/key/annual_cycle/start", json={}).json()
    reports = []
    for _ in range(4):
        root.post("/api/clock", json={"advance": "P1Y"}).raise_for_status()
        tasks = client.get("/task", params={"processInstanceId": instance["id"]}).json()
        reports.append(sum(1 for t in tasks if t["taskDefinitionKey"] == "annual_report"))
    assert reports == [1, 2, 3, 3]
    assert client.get("/job", params={"processInstanceId": instance["id"]}).json() == []


def test_a_timer_start_event_starts_one_listing_batch_a_year_three_times(client, root):
    deployed = deploy(client, FIXTURES / "events" / "yearly_listing.bpmn")
    [definition_id] = deployed["deployedProcessDefinitions"]
    [job] = client.get("/job", params={"processDefinitionId": definition_id}).json()
    assert job["processInstanceId"] is None and job["dueDate"] == "2027-03-31T09:00:00.000+0800"
    refused = client.post("/process-definition/key/yearly_listing/start", json={})
    assert refused.status_code == 400

    root.post("/api/clock", json={"set": "2027-03-31T08:59:59+08:00"}).raise_for_status()
    assert client.get("/process-instance").json() == []
    root.post("/api/clock", json={"set": "2027-03-31T09:00:00+08:00"}).raise_for_status()
    [first] = client.get("/task", params={"candidateGroup": "xuar-epb"}).json()
    assert client.get("/job").json()[0]["dueDate"] == "2028-03-31T09:00:00.000+0800"

    root.post("/api/clock", json={"set": "2030-01-01T00:00:00+08:00"}).raise_for_status()
    batches = client.get("/history/process-instance", params={"processDefinitionKey": "yearly_listing"}).json()
    assert sorted(b["startTime"] for b in batches) == [
        "2027-03-31T09:00:00.000+0800", "2028-03-31T09:00:00.000+0800", "2029-03-31T09:00:00.000+0800"]
    assert {b["startActivityId"] for b in batches} == {"listing_due"}
    assert client.get("/job").json() == []  # R3: three batches, then no more
    assert first["processInstanceId"] in {b["id"] for b in batches}


def test_a_new_version_replaces_the_previous_versions_start_timer(client):
    deploy(client, FIXTURES / "events" / "yearly_listing.bpmn")
    changed = (FIXTURES / "events" / "yearly_listing.bpmn").read_text().replace("R3/2027-03-31", "R3/2027-06-30")
    client.post("/deployment/create", files=[("data", ("yearly_listing.bpmn", changed.encode(), "application/xml"))]
                ).raise_for_status()
    [job] = client.get("/job").json()
    assert job["dueDate"] == "2027-06-30T09:00:00.000+0800"

"""Deadlines in working days, written as Camunda Modeler expressions, on a moved clock."""
from __future__ import annotations


from tests.conftest import FIXTURES

PUBLICITY = (FIXTURES / "working_day_publicity.bpmn").read_bytes()



def test_publicity_over_national_day_ends_after_the_make_up_saturday(client, root):
    client.post("/deployment/create", files=[("data", ("p.bpmn", PUBLICITY, "application/xml"))]).raise_for_status()
    root.post("/api/clock", json={"set": "2026-09-28T09:00:00+08:00"}).raise_for_status()
    instance = client.post("/process-definition/key/working_day_publicity/start", json={"variables": {
        "verifiedAt": {"value": "2026-10-28T10:00:00.000+0800", "type": "Date"}}}).json()

    # The 5th working day after 28 September 2026 is Saturday 10 October (a make-up working day).
    [timer] = client.get("/job", params={"processInstanceId": instance["id"]}).json()
    assert timer["dueDate"] == "2026-10-11T00:00:00.000+0800"
    root.post("/api/clock", json={"set": "2026-10-10T23:59:00+08:00"}).raise_for_status()
    assert client.get("/task", params={"processInstanceId": instance["id"]}).json() == []
    root.post("/api/clock", json={"set": "2026-10-11T00:00:00+08:00"}).raise_for_status()
    [task] = client.get("/task", params={"processInstanceId": instance["id"]}).json()
    # Three working days after Sunday 11 October: the 12th, 13th and 14th.
    assert task["due"] == "2026-10-15T00:00:00.000+0800"

    client.post(f"/task/{task['id']}/complete", json={}).raise_for_status()
    # One month after 28 October is 28 November 2026, a Saturday: the period ends on Monday 30 November.
    [rectification] = client.get("/job", params={"processInstanceId": instance["id"]}).json()
    assert rectification["dueDate"] == "2026-12-01T00:00:00.000+0800"
    root.post("/api/clock", json={"set": "2026-12-01T00:00:00+08:00"}).raise_for_status()
    historic = client.get(f"/history/process-instance/{instance['id']}").json()
    assert historic["state"] == "COMPLETED" and historic["endTime"] == "2026-12-01T00:00:00.000+0800"

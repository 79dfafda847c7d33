"""Deadlines in working days, written as Camunda Modeler expressions, on a moved clock."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from sqlalchemy import text

from tests.support.http import deploy
from tests.support.paths import FIXTURES

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


def test_deadline_warnings_turn_from_normal_to_warning_to_overdue(client, root):
    client.post("/deployment/create", files=[("data", ("p.bpmn", PUBLICITY, "application/xml"))]).raise_for_status()
    root.post("/api/clock", json={"set": "2026-09-28T09:00:00+08:00"}).raise_for_status()
    instance = client.post("/process-definition/key/working_day_publicity/start", json={
        "businessKey": "park-7", "variables": {"verifiedAt": {"value": "2026-10-28T10:00:00.000+0800",
                                                              "type": "Date"}}}).json()

    [publicity] = root.get("/api/deadlines", params={"businessKey": "park-7"}).json()
    assert publicity["kind"] == "timer" and publicity["lastDay"] == "2026-10-10"
    # After today: 29 and 30 September, 8, 9 and 10 October.
    assert publicity["workingDaysLeft"] == 5 and publicity["level"] == "normal"
    root.post("/api/clock", json={"set": "2026-10-09T09:00:00+08:00"}).raise_for_status()
    [publicity] = root.get("/api/deadlines", params={"processInstanceId": instance["id"]}).json()
    assert publicity["workingDaysLeft"] == 1 and publicity["level"] == "warning"

    root.post("/api/clock", json={"set": "2026-10-11T00:00:00+08:00"}).raise_for_status()
    [task] = root.get("/api/deadlines", params={"businessKey": "park-7"}).json()
    assert task["kind"] == "task" and task["activityId"] == "approve"
    assert task["workingDaysLeft"] == 3 and task["level"] == "warning"  # 12, 13 and 14 October
    assert root.get("/api/deadlines", params={"candidateGroup": "nobody"}).json() == []
    root.post("/api/clock", json={"set": "2026-10-15T08:00:00+08:00"}).raise_for_status()
    [task] = root.get("/api/deadlines", params={"businessKey": "park-7"}).json()
    assert task["level"] == "overdue"
    assert root.get("/api/deadlines").status_code == 400


def test_a_provisional_deadline_into_2027_is_recomputed_when_the_2027_calendar_is_imported(client, root, service):
    client.post("/deployment/create", files=[("data", ("p.bpmn", PUBLICITY, "application/xml"))]).raise_for_status()
    root.post("/api/clock", json={"set": "2026-12-25T10:00:00+08:00"}).raise_for_status()
    instance = client.post("/process-definition/key/working_day_publicity/start", json={
        "businessKey": "ECO-04-2026-12", "variables": {
            "verifiedAt": {"value": "2027-01-10T10:00:00.000+0800", "type": "Date"}}}).json()
    # 2027 has no confirmed calendar yet: by the weekday rule alone the 5th working day is Friday 1 January.
    [timer] = client.get("/job", params={"processInstanceId": instance["id"]}).json()
    assert timer["dueDate"] == "2027-01-02T00:00:00.000+0800"
    [computed] = history_of(service, instance["id"], "deadline.computed")
    assert computed["provisional"] is True and computed["unconfirmed_years"] == [2027]
    # Provisional every day until the year is imported, its last day (1 January) included.
    for now in ("2026-12-31T10:00:00+08:00", "2027-01-01T00:00:00+08:00", "2027-01-01T23:59:00+08:00"):
        service.clock.set(datetime.fromisoformat(now))
        [listed] = root.get("/api/deadlines", params={"processInstanceId": instance["id"]}).json()
        assert listed["provisional"] is True and listed["lastDay"] == "2027-01-01", (now, listed)
    service.clock.set(datetime.fromisoformat("2026-12-25T10:00:00+08:00"))

    imported = root.put("/api/calendar/2027", json={"year": 2027, "confirmed": True, "notice": "国办发明电〔2026〕X号",
                                                    "days": [{"date": "2027-01-01", "working": False, "name": "元旦"},
                                                             {"date": "2027-01-04", "working": False, "name": "元旦"}]})
    assert imported.status_code == 200, imported.text
    [moved] = imported.json()["recomputedDeadlines"]
    assert moved["processInstanceId"] == instance["id"] and moved["activities"] == ["publicity"]
    assert (moved["previousDue"], moved["due"], moved["provisional"]) == ("2027-01-01", "2027-01-05", False)

    [timer] = client.get("/job", params={"processInstanceId": instance["id"]}).json()
    assert timer["dueDate"] == "2027-01-06T00:00:00.000+0800"
    [recomputed] = history_of(service, instance["id"], "deadline.recomputed")
    assert recomputed["rule"] == "working_days:5" and "元旦" not in recomputed["basis"]
    # The publicity now ends after 5 January, not on New Year's Day.
    root.post("/api/clock", json={"set": "2027-01-05T23:59:00+08:00"}).raise_for_status()
    assert client.get("/task", params={"processInstanceId": instance["id"]}).json() == []
    root.post("/api/clock", json={"set": "2027-01-06T00:00:00+08:00"}).raise_for_status()
    assert len(client.get("/task", params={"processInstanceId": instance["id"]}).json()) == 1
    # Importing the year again finds nothing provisional left to move.
    again = root.put("/api/calendar/2027", json={"year": 2027, "confirmed": True, "notice": "国办发明电〔2026〕X号",
                                                 "days": [{"date": "2027-01-01", "working": False, "name": "元旦"}]})
    assert again.json()["recomputedDeadlines"] == []


def history_of(service, instance_id: str, kind: str) -> list[dict]:
    with service.services.db.read() as session:
        rows = session.execute(text("SELECT payload FROM history_event WHERE process_instance_id = :id AND kind = :k "
                                    "ORDER BY sequence"), {"id": instance_id, "k": kind}).scalars().all()
    return [json.loads(row) if isinstance(row, str) else row for row in rows]


def test_month_year_and_thirtieth_of_june_periods_fire_the_day_after_their_last_day(client, root):
    deploy(client, FIXTURES / "statutory_periods.bpmn")
    instance = client.post("/process-definition/key/statutory_periods/start", json={"variables": {
        "listedAt": {"value": "2026-10-15T10:00:00.000+0800", "type": "Date"},
        "namedAt": {"value": "2026-10-15T10:00:00.000+0800", "type": "Date"}}}).json()["id"]
    # (activity, last day of the period): 2 months (CPA-04), 30 June of the next year (ECO-15),
    # 1 year (CPA-06), 3 years (ECO-16); each a working day, so none is moved.
    for activity, last_day in [("agency_due", "2026-12-15"), ("annual_report_due", "2027-06-30"),
                               ("audit_due", "2027-10-15"), ("evaluation_due", "2029-10-15")]:
        [job] = client.get("/job", params={"processInstanceId": instance}).json()
        over = (date.fromisoformat(last_day) + timedelta(days=1)).isoformat()
        assert (job["jobDefinitionId"].split("#")[1], job["dueDate"]) == (activity, f"{over}T00:00:00.000+0800")
        root.post("/api/clock", json={"set": f"{last_day}T23:59:59+08:00"}).raise_for_status()
        assert client.get("/job", params={"processInstanceId": instance}).json()[0]["id"] == job["id"]
        root.post("/api/clock", json={"set": f"{over}T00:00:00+08:00"}).raise_for_status()
    assert client.get(f"/history/process-instance/{instance}").json()["state"] == "COMPLETED"

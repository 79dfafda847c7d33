"""The official working calendar over REST: working days, deadlines, and yearly files."""
from __future__ import annotations

import httpx
import pytest

from tests.support.service import ADMIN_AUTH


@pytest.fixture
def api(service):
    with httpx.Client(base_url=f"{service.base_url}/api/calendar", auth=ADMIN_AUTH, timeout=30) as http:
        yield http


def test_five_working_days_after_national_day_eve_end_on_the_make_up_saturday(api):
    deadline = api.get("/working-days", params={"start": "2026-09-28", "count": 5}).json()
    assert deadline["due"] == "2026-10-10" and deadline["rule"] == "working_days:5"
    assert deadline["provisional"] is False and deadline["calendarVersion"]


def test_days_off_and_make_up_days(api):
    saturday = api.get("/days/2026-02-14").json()
    assert saturday["workingDay"] is True and saturday["confirmed"] is True
    national_day = api.get("/days/2026-10-01").json()
    assert national_day["workingDay"] is False and national_day["name"] == "国庆节"
    assert api.get("/days/2026-10-12").json()["workingDay"] is True
    assert api.get("/days/2026-13-01").status_code == 400


def test_a_deadline_into_an_unconfirmed_year_is_provisional_until_the_year_is_imported(api):
    before = api.get("/working-days", params={"start": "2026-12-25", "count": 5}).json()
    assert before["provisional"] is True and before["unconfirmedYears"] == [2027]
    assert before["due"] == "2027-01-01"  # a Friday: by the weekday rule alone
    assert api.get("/days/2027-01-01").json()["confirmed"] is False

    notice = "国办发明电〔2026〕X号"
    imported = api.put("/2027", json={"year": 2027, "confirmed": True, "notice": notice, "days": [
        {"date": "2027-01-01", "working": False, "name": "元旦"},
        {"date": "2027-01-04", "working": False, "name": "元旦"}]})
    assert imported.status_code == 200, imported.text
    after = api.get("/working-days", params={"start": "2026-12-25", "count": 5}).json()
    assert after["provisional"] is False and after["due"] == "2027-01-05"
    assert after["calendarVersion"] != before["calendarVersion"]

    exported = api.get("/2027")
    assert "calendar-2027.json" in exported.headers["content-disposition"]
    assert [d["date"] for d in exported.json()["days"]] == ["2027-01-01", "2027-01-04"]
    assert exported.json()["days"][0]["notice"] == notice
    years = {row["year"]: row for row in api.get("/years").json()}
    assert years[2027]["confirmed"] is True and years[2026]["notice"].startswith("chinese_calendar")


def test_bad_calendar_files_are_refused_and_change_nothing(api):
    for body in [{"notice": "", "days": []}, {"notice": "n", "days": "x"},
                 {"notice": "n", "days": [{"date": "2027-02-01", "working": True}]},
                 {"notice": "n", "days": [{"date": "2026-02-01", "working": False}]},
                 {"notice": "n", "days": [{"date": "2027-02-06", "working": True}] * 2},
                 {"notice": "n", "days": [{"working": True}]}, {"year": 2028, "notice": "n", "days": []}]:
        assert api.put("/2027", json=body).status_code == 400, body
    assert api.get("/2027").status_code == 404

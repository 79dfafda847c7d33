"""An event-based gateway racing several timers (and a message), as Camunda 7 runs it: each timer
waits as a job of its own from the moment the gateway is reached, the first event to come wins, and
the other branches are cancelled with their jobs; a token never takes two branches."""
from __future__ import annotations

from datetime import datetime, timedelta

from tests.support.http import deploy, start
from tests.support.paths import FIXTURES

RACE = FIXTURES / "constructs" / "event_gateway_race.bpmn"


def open_tasks(client, instance_id: str) -> list[str]:
    return sorted(t["taskDefinitionKey"] for t in client.get("/task", params={"processInstanceId": instance_id}).json())


def jobs(client, instance_id: str) -> dict[str, datetime]:
    return {job["id"]: datetime.fromisoformat(job["dueDate"])
            for job in client.get("/job", params={"processInstanceId": instance_id, "timers": "true"}).json()}


def passed(client, instance_id: str) -> list[str]:
    rows = client.get("/history/activity-instance", params={"processInstanceId": instance_id,
                                                           "maxResults": 100}).json()
    return sorted(row["activityId"] for row in rows if row["endTime"] and not row["canceled"])


def test_the_earlier_timer_wins_even_drawn_second_and_the_later_one_is_cancelled(client, root):
    deploy(client, RACE)
    now = datetime.fromisoformat(root.get("/api/clock").json()["now"])
    case = start(client, "supplement_race", "SUP-1", supplementPeriod="P15D", reminderPeriod="P5D").json()["id"]
    waiting = jobs(client, case)
    assert sorted(due - now for due in waiting.values()) == [timedelta(days=5), timedelta(days=15)]
    assert len(waiting) == 2  # two jobs, two ids
    for activity, days in (("reminder_due", 5), ("supplement_lapsed", 15)):
        [job] = client.get("/job", params={"processInstanceId": case, "activityId": activity}).json()
        assert datetime.fromisoformat(job["dueDate"]) - now == timedelta(days=days)

    assert root.post("/api/clock", json={"advance": "P4D"}).json()["instancesAdvanced"] == 0
    root.post("/api/clock", json={"advance": "P1D"}).raise_for_status()
    assert open_tasks(client, case) == ["remind_applicant"]
    assert jobs(client, case) == {}  # the fifteen-day timer went with the gateway
    root.post("/api/clock", json={"advance": "P30D"}).raise_for_status()
    assert open_tasks(client, case) == ["remind_applicant"]  # and never fires later
    assert "supplement_lapsed" not in passed(client, case)
    assert passed(client, case) == ["await_supplement", "reminder_due", "start"]
    fired = client.get("/history/activity-instance", params={"processInstanceId": case,
                                                            "activityId": "reminder_due"}).json()
    assert [row["activityType"] for row in fired] == ["intermediateTimer"]


def test_the_other_timer_wins_when_its_period_is_shorter(client, root):
    deploy(client, RACE)
    case = start(client, "supplement_race", "SUP-2", supplementPeriod="P3D", reminderPeriod="P5D").json()["id"]
    root.post("/api/clock", json={"advance": "P10D"}).raise_for_status()
    assert open_tasks(client, case) == ["terminate_review"]
    assert jobs(client, case) == {}
    assert "reminder_due" not in passed(client, case)


def test_a_message_before_either_timer_wins_and_cancels_both_jobs(client, root):
    deploy(client, RACE)
    case = start(client, "supplement_race", "SUP-3", supplementPeriod="P15D", reminderPeriod="P5D").json()["id"]
    root.post("/api/clock", json={"advance": "P2D"}).raise_for_status()
    answer = client.post("/message", json={"messageName": "SupplementArrived", "businessKey": "SUP-3"})
    assert answer.status_code == 204, answer.text
    assert open_tasks(client, case) == ["review_material"]
    assert jobs(client, case) == {}
    root.post("/api/clock", json={"advance": "P20D"}).raise_for_status()
    assert open_tasks(client, case) == ["review_material"]


def test_after_a_timer_won_the_message_finds_nobody_waiting(client, root):
    deploy(client, RACE)
    case = start(client, "supplement_race", "SUP-4", supplementPeriod="P15D", reminderPeriod="P5D").json()["id"]
    root.post("/api/clock", json={"advance": "P6D"}).raise_for_status()
    late = client.post("/message", json={"messageName": "SupplementArrived", "businessKey": "SUP-4"})
    assert late.status_code == 400 and late.json()["type"] == "RestException"
    assert open_tasks(client, case) == ["remind_applicant"]

"""Operators' reads and commands of Cockpit and Admin beyond the cases themselves, over real HTTP:
historic activity statistics of a process definition."""
from __future__ import annotations

from app.access import accounts
from tests.support.http import as_user, complete, deploy, start
from tests.support.paths import FIXTURES

REVIEW = {"park_name": "园区", "province": "zj", "applicant": "park-office"}


def _statistics(client, definition_id: str, **params) -> dict[str, dict]:
    answer = client.get(f"/history/process-definition/{definition_id}/statistics", params=params)
    assert answer.status_code == 200, answer.text
    return {row.pop("id"): row for row in answer.json()}


def _counts(instances=0, canceled=0, finished=0, complete_scope=0, **incidents) -> dict[str, int]:
    return {"instances": instances, "canceled": canceled, "finished": finished, "completeScope": complete_scope,
            "openIncidents": incidents.get("open", 0), "resolvedIncidents": incidents.get("resolved", 0),
            "deletedIncidents": incidents.get("deleted", 0)}


def test_historic_activity_statistics(service, client, root):
    deploy(client, FIXTURES / "eco_review.bpmn")
    definition = client.get("/process-definition/key/eco_review").json()["id"]
    approved = start(client, "eco_review", **REVIEW).json()["id"]
    complete(client, approved, decision="approve", opinion="符合条件", score=90).raise_for_status()
    complete(client, approved, approved=True).raise_for_status()
    waiting = start(client, "eco_review", **REVIEW).json()["id"]
    withdrawn = start(client, "eco_review", **REVIEW).json()["id"]
    assert client.delete(f"/process-instance/{withdrawn}").status_code == 204
    # Without flags: where instances stand now.
    assert _statistics(client, definition) == {"provincial_review": _counts(instances=1)}
    ended = _statistics(client, definition, finished="true", canceled="true", completeScope="true")
    assert ended["provincial_review"] == _counts(instances=1, canceled=1, finished=2)
    assert ended["approved_end"] == _counts(finished=1, complete_scope=1)
    assert ended["application_received"] == _counts(finished=3)
    assert "rejected_end" not in ended
    assert _statistics(client, definition, canceled="true") == {"provincial_review": _counts(instances=1, canceled=1)}
    assert _statistics(client, definition, completeScope="true") == {
        "provincial_review": _counts(instances=1), "approved_end": _counts(complete_scope=1)}
    only = _statistics(client, definition, finished="true", processInstanceIdIn=f"{waiting},{withdrawn}")
    assert only["provincial_review"] == _counts(instances=1, finished=1) and "approved_end" not in only
    assert _statistics(client, definition, finished="true", finishedAfter="2026-09-28T00:00:00+08:00").keys() == {
        "application_received", "provincial_review", "decision_gateway", "ministry_approval", "approved_end"}
    assert _statistics(client, definition, startedBefore="2026-01-01T00:00:00+08:00") == {}
    descending = client.get(f"/history/process-definition/{definition}/statistics",
                            params={"finished": "true", "sortBy": "activityId", "sortOrder": "desc"}).json()
    assert [row["id"] for row in descending] == sorted((row["id"] for row in descending), reverse=True)
    assert client.get("/history/process-definition/unknown/statistics").json() == []
    refused = client.get(f"/history/process-definition/{definition}/statistics", params={"finished": "maybe"})
    assert refused.status_code == 400
    # Only the cases the reader may read are counted.
    accounts.save_account(service.services, "outsider", "outsider-password", ["xj-urumqi-env"])
    with as_user(service, "outsider") as outsider:
        assert outsider.get(f"/history/process-definition/{definition}/statistics").json() == []

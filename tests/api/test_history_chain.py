"""Tamper evidence: editing, deleting or reordering a history row directly in the database is found
by verify, which names the row; rewriting an instance's whole chain is found through the anchors;
a unit of work that fails leaves no history row."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import text, update

from app.audit import ledger
from app.persistence.models import HistoryEvent, ProcessInstance
from tests.support.history import events_of, verify
from tests.support.http import as_user, deploy, deploy_bytes, start
from tests.support.paths import FIXTURES
from tests.support.processes import SECRET, TIMED


def test_an_untouched_record_is_intact(root, cases):
    report = verify(root)
    assert report["intact"] is True and report["instances"] == 2 and report["events"] > 10
    # One signed anchor per unit of work that moved a head: the administrator, the deployment, and
    # the start and the completed task of each case.
    assert report["anchors"] == 6 and report["problems"] == []


def test_an_edited_row_is_found_and_named(service, root, cases):
    verify(root)  # anchored
    target = events_of(service, cases[0])[3]
    with service.services.db.write() as session:
        payload = dict(target.payload, forged="改过")
        session.execute(update(HistoryEvent).where(HistoryEvent.id == target.id).values(payload=payload))
    report = verify(root)
    assert report["intact"] is False
    assert report["problems"][0] == {"processInstanceId": cases[0], "sequence": target.sequence,
                                     "eventId": target.id, "problem": "the event's row was changed"}
    assert verify(root, cases[1])["intact"] is True


def test_a_deleted_or_reordered_row_is_found(service, root, cases):
    rows = events_of(service, cases[0])
    with service.services.db.write() as session:
        session.execute(text("DELETE FROM history_event WHERE id = :id"), {"id": rows[2].id})
    problem = verify(root, cases[0])["problems"][0]
    assert problem["sequence"] == rows[3].sequence and "removed" in problem["problem"]
    other = events_of(service, cases[1])
    with service.services.db.write() as session:
        session.execute(update(HistoryEvent).where(HistoryEvent.id == other[1].id).values(sequence=-1))
    problem = verify(root, cases[1])["problems"][0]
    assert problem["eventId"] == other[1].id and "reordered" in problem["problem"]


def test_rewriting_a_whole_chain_is_found_through_the_anchors(service, root, cases):
    verify(root)  # the heads are anchored
    rows = events_of(service, cases[0])
    previous = ledger.GENESIS
    with service.services.db.write() as session:  # a forger who knows the algorithm rewrites every hash
        for row in rows:
            payload = dict(row.payload, rewritten=True)
            event = {"process_instance_id": row.process_instance_id, "sequence": row.sequence, "kind": row.kind,
                     "occurred_at": row.occurred_at, "user_id": row.user_id, "activity_id": row.activity_id,
                     "task_id": row.task_id, "payload": json.loads(json.dumps(payload))}
            digest = ledger.event_hash(previous, event)
            session.execute(update(HistoryEvent).where(HistoryEvent.id == row.id)
                            .values(payload=payload, previous_hash=previous, hash=digest))
            previous = digest
        session.execute(update(ProcessInstance).where(ProcessInstance.id == cases[0])
                        .values(history_hash=previous, revision=ProcessInstance.revision + 1))
    report = verify(root)
    assert report["intact"] is False
    assert any("no longer in the instance's chain" in p["problem"] and p["processInstanceId"] == cases[0]
               for p in report["problems"])


def test_a_failed_unit_of_work_leaves_no_history_row(service, client, cases):
    before = len(events_of(service, cases[1]))
    deploy(client, FIXTURES / "eco_review.bpmn")
    body = {"businessKey": "EIP-3", "variables": {"park_name": {"value": "园区3"}, "province": {"value": "zj"},
                                                  "applicant": {"value": "park-office"}}}
    instance = client.post("/process-definition/key/eco_review/start", json=body).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    recorded = len(events_of(service, instance))
    refused = client.post(f"/task/{task['id']}/complete", json={"variables": {"decision": {"value": "approve"}}})
    assert refused.status_code == 400  # the form's required fields are missing: nothing is saved
    assert len(events_of(service, instance)) == recorded and len(events_of(service, cases[1])) == before
    assert ledger.verify(service.services).intact


def test_the_verify_command_exits_1_naming_the_row(service, cases, monkeypatch, capsys):
    from app.cli import main
    from app.settings import get_settings

    target = events_of(service, cases[1])[1]
    with service.services.db.write() as session:
        session.execute(update(HistoryEvent).where(HistoryEvent.id == target.id).values(kind="forged"))
    monkeypatch.setenv("DATABASE_URL", service.services.settings.database_url)
    monkeypatch.setenv("ANCHOR_SIGNING_KEY", service.services.settings.anchor_signing_key)
    monkeypatch.setenv("ANCHOR_LOG", str(service.services.signer.log_path))
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as exited:
            main(["verify"])
    finally:
        get_settings.cache_clear()
    assert exited.value.code == 1
    out = capsys.readouterr().out
    assert f"event {target.sequence} (row {target.id}): the event's row was changed" in out
    # The command checks with the service's key and log: the anchors are in order.
    assert not [line for line in out.splitlines()[1:] if "anchor" in line]


def test_the_timeline_tells_who_did_what_and_when_and_whether_deadlines_were_met(client, root):
    deploy_bytes(client, "timed.bpmn", TIMED).raise_for_status()
    met, missed = (client.post("/process-definition/key/timed_review/start", json={}).json()["id"] for _ in "ab")
    complete = {"variables": {"opinion": {"value": "符合条件"}}}
    [task] = client.get("/task", params={"processInstanceId": met}).json()
    client.post(f"/task/{task['id']}/complete", json=complete).raise_for_status()
    root.post("/api/clock", json={"advance": "P30D"}).raise_for_status()
    [task] = client.get("/task", params={"processInstanceId": missed}).json()
    client.post(f"/task/{task['id']}/complete", json=complete).raise_for_status()
    for instance, verdict in ((met, "met"), (missed, "missed")):
        entries = root.get(f"/api/process-instances/{instance}/timeline").json()
        assert [entry["kind"] for entry in entries] == ["process.started", "task.created", "task.completed",
                                                         "process.completed"]
        done = entries[2]
        assert done["who"] == "test-admin" and done["what"] == "办理完成：省级审查" and done["deadline"] == verdict
        assert done["due"] == entries[1]["due"] is not None
        assert "符合条件" not in str(entries)  # no submitted data is shown
    assert root.get("/api/process-instances/unknown/timeline").status_code == 404


def test_administrative_changes_are_a_chained_history_of_their_own(service, client, root):
    deployed = deploy(client, FIXTURES / "eco_review.bpmn")
    root.put("/api/parks/JS-01/standing", json={"parkName": "某园区", "province": "js", "status": "named",
                                                "since": "2025-05-01"}).raise_for_status()
    root.post("/api/experts", json={"id": "E1", "name": "专家1", "specialty": "园区", "organization": "研究院"}
              ).raise_for_status()
    events = root.get("/api/history/admin-events").json()
    by_kind = {event["kind"]: event for event in events}
    created = by_kind["deployment.created"]
    assert created["subject"] == f"deployment:{deployed['id']}" and created["userId"] == "test-admin"
    assert len(created["payload"]["resources"]["eco_review.bpmn"]) == 64  # the file's SHA-256
    assert by_kind["park.standing"]["payload"]["status"] == "named" and by_kind["expert.added"]["userId"] == "test-admin"
    assert [e["kind"] for e in root.get("/api/history/admin-events", params={"subject": "park:JS-01"}).json()] == [
        "park.standing"]
    report = verify(root)
    assert report["intact"] is True and report["adminEvents"] == len(events)
    with service.services.db.write() as session:
        session.execute(text("UPDATE admin_event SET user_id = 'someone-else' WHERE kind = 'park.standing'"))
    report = verify(root)
    assert report["intact"] is False
    assert report["problems"][0]["eventId"] == by_kind["park.standing"]["id"]
    assert report["problems"][0]["problem"] == "the administrative event's row was changed"


def test_removing_the_last_administrative_event_is_found_through_the_anchors(service, root):
    root.post("/api/experts", json={"id": "E2", "name": "专家2", "specialty": "园区", "organization": "研究院"}
              ).raise_for_status()
    assert verify(root)["intact"] is True  # the administrative head is anchored now
    with service.services.db.write() as session:
        session.execute(text("DELETE FROM admin_event WHERE id = (SELECT MAX(id) FROM admin_event)"))
    report = verify(root)
    assert report["intact"] is False
    assert any("no longer in the administrative chain" in p["problem"] for p in report["problems"])


def test_an_exported_case_is_verified_offline_and_tampering_with_the_file_is_found(client, root, tmp_path, capsys):
    from app.cli import main

    deploy_bytes(client, "timed.bpmn", TIMED).raise_for_status()
    instance = client.post("/process-definition/key/timed_review/start", json={}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    client.post(f"/task/{task['id']}/complete", json={"variables": {"opinion": {"value": "同意"}}}).raise_for_status()
    verify(root)  # anchored
    answer = root.get(f"/api/process-instances/{instance}/export")
    assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
    document = answer.json()
    assert document["instance"]["id"] == instance and document["anchors"]
    assert document["definitions"][0]["resource"] == "timed.bpmn" and "timed_review" in document["definitions"][0]["content"]
    assert [year["year"] for year in document["calendar"]] == [2026]  # the deadline counted in 2026
    exported = tmp_path / "case.json"
    exported.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    main(["verify-export", str(exported)])  # exits normally: intact
    assert "intact" in capsys.readouterr().out
    forged = json.loads(exported.read_text(encoding="utf-8"))
    completed = next(event for event in forged["events"] if event["kind"] == "task.completed")
    completed["payload"]["variables"]["opinion"] = "不同意"
    forged["definitions"][0]["content"] = forged["definitions"][0]["content"].replace("省级审查", "市级审查")
    exported.write_text(json.dumps(forged, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        main(["verify-export", str(exported)])
    assert exited.value.code == 1
    out = capsys.readouterr().out
    assert f"event {completed['sequence']}: it was changed" in out and "does not match its SHA-256" in out


def test_a_case_with_confidential_data_is_exported_only_to_those_who_may_read_all_of_it(service, client):
    from app.access import accounts

    accounts.save_account(service.services, "handler", "handler-password", ["xj-urumqi-env"])
    accounts.save_account(service.services, "inspector", "inspector-password", ["auditors"])
    deploy_bytes(client, "secret.bpmn", SECRET).raise_for_status()
    instance = start(client, "secret_case", enterprise_id="E1", audit_data="物料平衡").json()["id"]
    with as_user(service, "inspector") as inspector, as_user(service, "handler") as handler:
        base = service.base_url + f"/api/process-instances/{instance}/export"
        refused = inspector.get(base)
        assert refused.status_code == 403 and "confidential" in refused.json()["message"]
        assert handler.get(base).status_code == 200


def test_a_case_replays_as_reproduced_and_a_forged_record_diverges(client, root, tmp_path, capsys):
    from app.cli import main

    deploy_bytes(client, "timed.bpmn", TIMED).raise_for_status()
    instance = client.post("/process-definition/key/timed_review/start", json={}).json()["id"]
    root.post("/api/clock", json={"advance": "P3D"}).raise_for_status()
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    client.post(f"/task/{task['id']}/complete", json={"variables": {"opinion": {"value": "同意"}}}).raise_for_status()
    answer = root.get(f"/api/process-instances/{instance}/replay").json()
    assert answer["reproduced"] is True and answer["divergence"] is None and answer["activities"] == 4
    document = root.get(f"/api/process-instances/{instance}/export").json()
    exported = tmp_path / "case.json"
    exported.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    main(["replay", str(exported)])
    assert "reproduced" in capsys.readouterr().out
    # A record that claims the case ended elsewhere is not what its process does.
    forged = json.loads(json.dumps(document))
    end = next(e for e in forged["events"] if e["kind"] == "activity.completed" and e["activityId"] == "end")
    end["activityId"] = "review"
    exported.write_text(json.dumps(forged, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["replay", str(exported)])
    assert f"NOT reproduced at event {end['sequence']}" in capsys.readouterr().out

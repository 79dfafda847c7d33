"""Tampering by someone who can write to the database and knows the hash algorithms, but does not
hold the anchor signing key: every kind is found by verify (or by verify-export for a file), and a
replay of a broken record is refused plainly."""
from __future__ import annotations

import json
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError
from sqlalchemy import delete, func, select, text, update

from app.audit import anchors, export, ledger
from app.persistence.models import (
    ActivityInstance,
    AdminEvent,
    HistoryAnchor,
    HistoryEvent,
    ProcessInstance,
    UserTask,
)
from app.settings import Settings
from tests.support.history import events_of, verify
from tests.support.http import deploy_bytes
from tests.support.processes import TIMED


def problems_of(report: dict) -> str:
    assert report["intact"] is False, report
    return "\n".join(problem["problem"] for problem in report["problems"])


def anchors_of(service) -> list[HistoryAnchor]:
    with service.services.db.read() as session:
        return list(session.scalars(select(HistoryAnchor).order_by(HistoryAnchor.number)))


def append_forged_event(service, instance_id: str) -> HistoryEvent:
    """What a forger writes: a well-formed event after the head, with its hash and the head recomputed."""
    with service.services.db.write() as session:
        instance = session.get(ProcessInstance, instance_id)
        event = {"process_instance_id": instance_id, "sequence": instance.last_sequence + 1,
                 "kind": "variables.modified", "occurred_at": service.clock.now(), "user_id": "test-admin",
                 "activity_id": None, "task_id": None,
                 "payload": ledger.normalized({"modifications": {"decision": "reject"}, "deletions": []})}
        event["previous_hash"] = instance.history_hash
        event["hash"] = ledger.event_hash(event["previous_hash"], event)
        session.execute(HistoryEvent.__table__.insert(), [event])
        session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id).values(
            history_hash=event["hash"], last_sequence=event["sequence"], revision=ProcessInstance.revision + 1))
    return events_of(service, instance_id)[-1]


def test_a_forged_event_appended_with_its_hashes_recomputed_is_found(service, root, cases):
    forged = append_forged_event(service, cases[0])
    report = verify(root)
    assert report["problems"][0]["eventId"] == forged.id and report["problems"][0]["sequence"] == forged.sequence
    assert "not covered by a signed anchor" in problems_of(report)
    assert verify(root, cases[1])["intact"] is True


def test_a_rewritten_case_with_its_anchor_chain_recomputed_is_found_by_the_signatures(service, root, cases):
    rows = events_of(service, cases[0])
    renamed, previous = {}, ledger.GENESIS
    with service.services.db.write() as session:
        for row in rows:  # the case's chain, recomputed
            fields = dict(ledger.event_fields(row), payload=ledger.normalized(dict(row.payload, rewritten=True)))
            digest = ledger.event_hash(previous, fields)
            session.execute(update(HistoryEvent).where(HistoryEvent.id == row.id)
                            .values(payload=fields["payload"], previous_hash=previous, hash=digest))
            renamed[row.hash], previous = digest, digest
        session.execute(update(ProcessInstance).where(ProcessInstance.id == cases[0]).values(history_hash=previous))
        previous = ledger.GENESIS
        for anchor in session.scalars(select(HistoryAnchor).order_by(HistoryAnchor.number)).all():
            head = renamed.get(anchor.event_hash, anchor.event_hash)  # and the anchor chain, recomputed
            fields = {"process_instance_id": anchor.process_instance_id, "event_hash": head,
                      "anchored_at": anchor.anchored_at}
            digest = ledger.anchor_hash(previous, fields)
            session.execute(update(HistoryAnchor).where(HistoryAnchor.id == anchor.id)
                            .values(event_hash=head, previous_hash=previous, hash=digest))
            previous = digest
    found = problems_of(verify(root))
    assert "its signature does not match the anchor signing key" in found
    assert "differs from the anchor log" in found


def test_deleting_the_last_anchor_or_all_of_them_is_found(service, root, cases):
    last = anchors_of(service)[-1]
    with service.services.db.write() as session:
        session.execute(delete(HistoryAnchor).where(HistoryAnchor.id == last.id))
    found = problems_of(verify(root))
    assert f"anchor {last.number} of the anchor log is missing from the database" in found
    assert "not covered by a signed anchor" in found  # its case's head is not covered any more
    with service.services.db.write() as session:
        session.execute(delete(HistoryAnchor))
    found = problems_of(verify(root))
    assert f"anchor 1 of the anchor log is missing from the database ({last.number} anchors in all" in found
    assert "no signed anchor covers its history" in found


def test_renumbered_unsigned_or_re_signed_anchors_are_found(service, root, cases):
    rows = anchors_of(service)
    with service.services.db.write() as session:
        session.execute(update(HistoryAnchor).where(HistoryAnchor.id == rows[-1].id).values(number=rows[-1].number + 1))
    assert f"anchor {rows[-1].number} of the chain over all instances is missing" in problems_of(verify(root))
    with service.services.db.write() as session:
        session.execute(update(HistoryAnchor).where(HistoryAnchor.id == rows[-1].id)
                        .values(number=rows[-1].number, signature=None))
    assert f"anchor {rows[-1].number} is not signed" in problems_of(verify(root))
    with service.services.db.write() as session:  # a signature, but of another anchor
        session.execute(update(HistoryAnchor).where(HistoryAnchor.id == rows[-1].id)
                        .values(signature=rows[0].signature))
    assert f"anchor {rows[-1].number}: its signature does not match" in problems_of(verify(root))


def test_the_anchor_log_and_the_database_must_agree(service, root, cases):
    log = service.services.signer.log_path
    lines = log.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["number"] for line in lines] == [a.number for a in anchors_of(service)]
    edited = json.loads(lines[2])
    edited["anchoredAt"] = "2020-01-01T00:00:00.000000+00:00"
    log.write_text("\n".join([*lines[:2], json.dumps(edited), *lines[3:]]) + "\n", encoding="utf-8")
    assert "anchor 3 differs from the anchor log" in problems_of(verify(root))


def test_a_forged_administrative_event_with_its_hashes_recomputed_is_found(service, root, cases):
    with service.services.db.write() as session:
        last = session.scalars(select(AdminEvent).order_by(AdminEvent.id.desc()).limit(1)).one()
        row = {"kind": "account.saved", "subject": "account:intruder", "occurred_at": service.clock.now(),
               "user_id": None, "payload": ledger.normalized({"groups": ["admins"]})}
        session.add(AdminEvent(previous_hash=last.hash, hash=ledger.admin_hash(last.hash, row), **row))
    report = verify(root)
    forged = report["problems"][0]
    assert "administrative event and those after it are not covered by a signed anchor" in forged["problem"]
    with service.services.db.read() as session:
        assert forged["eventId"] == session.scalar(select(func.max(AdminEvent.id)))


@pytest.mark.parametrize("change, named", [
    (lambda case, task: update(ActivityInstance).where(ActivityInstance.process_instance_id == case,
                                                       ActivityInstance.activity_id == "start")
     .values(end_time=None), "('start'): its end time is none"),
    (lambda case, task: update(ActivityInstance).where(ActivityInstance.id == task)
     .values(assignee="someone-else"), "its assignee is 'someone-else' where the history says none"),
    (lambda case, task: update(UserTask).where(UserTask.id == task).values(assignee="someone-else"),
     "its assignee is 'someone-else' where the history says none"),
    (lambda case, task: update(UserTask).where(UserTask.id == task).values(name="改过的名称"),
     "its name is '改过的名称'"),
    (lambda case, task: delete(UserTask).where(UserTask.id == task), "open according to the history, has no row"),
    (lambda case, task: update(ProcessInstance).where(ProcessInstance.id == case)
     .values(status="COMPLETED", revision=ProcessInstance.revision + 1),
     "the instance's status is 'COMPLETED' where its history says 'ACTIVE'"),
])
def test_changed_projections_are_named(service, client, root, change, named):
    deploy_bytes(client, "timed.bpmn", TIMED).raise_for_status()
    case = client.post("/process-definition/key/timed_review/start", json={}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": case}).json()
    assert verify(root, case)["intact"] is True
    with service.services.db.write() as session:
        session.execute(change(case, task["id"]))
    [problem] = verify(root, case)["problems"]
    assert problem["processInstanceId"] == case and named in problem["problem"]


def test_a_changed_completed_task_is_named(service, root, cases):
    with service.services.db.write() as session:
        session.execute(update(ActivityInstance).where(ActivityInstance.process_instance_id == cases[1],
                                                       ActivityInstance.task_id.is_not(None)).values(canceled=True))
    assert "its canceled is True where the history says False" in problems_of(verify(root, cases[1]))


def export_of(client, root) -> dict:
    deploy_bytes(client, "timed.bpmn", TIMED).raise_for_status()
    instance = client.post("/process-definition/key/timed_review/start", json={"businessKey": "EIP-7"}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    client.post(f"/task/{task['id']}/complete", json={"variables": {"opinion": {"value": "同意"}}}).raise_for_status()
    return root.get(f"/api/process-instances/{instance}/export").json()


@pytest.mark.parametrize("field, value", [
    ("variables", {"opinion": "不同意"}), ("status", "EXTERNALLY_TERMINATED"), ("businessKey", "EIP-8"),
    ("endTime", "2026-12-31T00:00:00.000000+00:00"), ("exportedBy", "someone-else"), ("exportedAt", "2020-01-01"),
])
def test_every_field_of_an_export_is_covered(client, root, field, value):
    document = export_of(client, root)
    key = root.get("/api/history/anchor-key").text
    assert document["anchorKey"] == key and export.verify_document(document, key) == []
    assert all(anchor["signature"] for anchor in document["anchors"])
    if field in document["instance"]:
        document["instance"][field] = value
        name = f"instance.{field}"
    else:
        document[field] = value
        name = field
    assert f"{name}: it was changed after export" in export.verify_document(document, key)


def test_a_re_sealed_export_is_found_by_the_published_key_and_the_history(client, root):
    document = export_of(client, root)
    published = root.get("/api/history/anchor-key").text
    forger = Ed25519PrivateKey.generate()
    document["instance"]["status"] = "EXTERNALLY_TERMINATED"
    document["anchorKey"] = anchors.public_pem(forger.public_key())
    digests = export._digests(document)
    document["seal"] = {"digests": digests, "signature": anchors.AnchorSigner(forger, None).sign(
        anchors.canonical(digests))}
    alone = export.verify_document(document)
    assert "instance.status: it is 'EXTERNALLY_TERMINATED' where the history says 'COMPLETED'" in alone
    assert any("its signature does not match the anchor key" in problem for problem in alone)
    assert any(problem.startswith("anchorKey: the file carries another public key")
               for problem in export.verify_document(document, published))


def test_the_anchor_key_command_and_verify_export_with_a_public_key(service, client, root, tmp_path, capsys,
                                                                     monkeypatch):
    from app.cli import main
    from app.settings import get_settings

    document = export_of(client, root)
    monkeypatch.setenv("DATABASE_URL", service.services.settings.database_url)
    monkeypatch.setenv("ANCHOR_SIGNING_KEY", service.services.settings.anchor_signing_key)
    get_settings.cache_clear()
    try:
        main(["anchor-key"])
    finally:
        get_settings.cache_clear()
    key_file = tmp_path / "anchor.pub.pem"
    key_file.write_text(capsys.readouterr().out, encoding="ascii")
    assert key_file.read_text(encoding="ascii") == service.services.signer.public_pem
    exported = tmp_path / "case.json"
    document["exportedBy"] = "someone-else"
    exported.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["verify-export", str(exported), "--public-key", str(key_file)])
    assert "exportedBy: it was changed after export" in capsys.readouterr().out


def test_replaying_a_case_whose_events_were_deleted_answers_409(service, client, root):
    deploy_bytes(client, "timed.bpmn", TIMED).raise_for_status()
    instance = client.post("/process-definition/key/timed_review/start", json={}).json()["id"]
    rows = events_of(service, instance)
    with service.services.db.write() as session:
        session.execute(delete(HistoryEvent).where(HistoryEvent.id == rows[1].id))
    answer = root.get(f"/api/process-instances/{instance}/replay")
    assert answer.status_code == 409
    assert answer.json()["message"].startswith("The case's recorded history is not intact, so it cannot be replayed")
    with service.services.db.write() as session:
        session.execute(delete(HistoryEvent).where(HistoryEvent.process_instance_id == instance))
    answer = root.get(f"/api/process-instances/{instance}/replay")
    assert answer.status_code == 409 and "the last events were removed" in answer.json()["message"]


def test_histories_from_before_signed_anchors_are_sealed_once(service, root, cases):
    with service.services.db.write() as session:  # as revision 0012 leaves them: numbered, unsigned, no log
        session.execute(update(HistoryAnchor).values(signature=None))
    service.services.signer.log_path.write_text("", encoding="utf-8")
    report = verify(root)
    assert report["intact"] is False and all("eco-orchestrator verify --seal" in p["problem"]
                                             for p in report["problems"])
    assert len(report["problems"]) == 3  # the two cases and the administrative chain
    assert ledger.seal(service.services).intact is True
    assert verify(root)["intact"] is True
    append_forged_event(service, cases[0])  # sealing again signs nothing while something else is wrong
    assert ledger.seal(service.services).intact is False


def test_the_signing_key_is_required_in_production_and_private_in_development(service):
    with pytest.raises(ValidationError, match="ANCHOR_SIGNING_KEY must be set with ENVIRONMENT=production"):
        Settings(environment="production")
    if service.services.settings.is_sqlite:
        generated = service.services.signer.log_path.parent / anchors.KEY_FILE
        assert stat.S_IMODE(generated.stat().st_mode) == 0o600
        key = serialization.load_pem_private_key(generated.read_bytes(), password=None)
        assert anchors.public_pem(key.public_key()) == service.services.signer.public_pem


def test_an_in_memory_sqlite_database_still_gets_its_signer():
    # `sqlite://` names no file to keep the anchor files beside.
    pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()).decode("ascii")
    signer = anchors.AnchorSigner.from_settings(Settings(database_url="sqlite://", anchor_signing_key=pem))
    assert signer.log_path is not None and signer.log_path.name == anchors.LOG_FILE


def test_verify_names_no_problem_in_a_busy_record(service, client, root, cases):
    """Claims, assignments, deletions and variable changes are all accounted for by the history."""
    case = client.post("/process-definition/key/eco_review/start", json={
        "businessKey": "EIP-9", "variables": {"park_name": {"value": "园区9"}, "province": {"value": "zj"},
                                              "applicant": {"value": "park-office"}}}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": case}).json()
    client.post(f"/task/{task['id']}/claim", json={"userId": "test-admin"}).raise_for_status()
    client.post(f"/task/{task['id']}/assignee", json={"userId": "li.ming"}).raise_for_status()
    client.post(f"/process-instance/{case}/variables", json={"modifications": {"note": {"value": "补正"}}}
                ).raise_for_status()
    assert verify(root)["intact"] is True
    client.delete(f"/process-instance/{case}").raise_for_status()
    report = verify(root)
    assert report["intact"] is True, report["problems"]
    with service.services.db.read() as session:
        assert session.execute(text("SELECT COUNT(*) FROM user_task WHERE process_instance_id = :id"),
                               {"id": case}).scalar() == 0


def test_the_migration_numbers_the_anchors_written_before(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine

    from app.persistence.migrations import alembic_config

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    command.upgrade(alembic_config(url), "0011")
    engine = create_engine(url)
    with engine.begin() as connection:
        for previous, digest in ((ledger.GENESIS, "a" * 64), ("a" * 64, "b" * 64)):
            connection.execute(text("INSERT INTO history_anchor (process_instance_id, event_hash, anchored_at, "
                                    "previous_hash, hash) VALUES (NULL, 'e', '2026-01-01 00:00:00', :p, :h)"),
                               {"p": previous, "h": digest})
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT hash, number, signature FROM history_anchor ORDER BY id")).all() == [
            ("a" * 64, 1, None), ("b" * 64, 2, None)]
    engine.dispose()

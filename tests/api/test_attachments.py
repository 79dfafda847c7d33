"""Materials (材料) as Camunda's task attachments: a file or a link attached to an open task by whoever
works it, read by whoever reads the case (also after the task), handed back byte for byte; its
SHA-256 in the case's chained history; its size and type bounded and checked against its content;
removed only while the task is open, with the removal recorded; a file changed where it is kept is
never handed out as the original."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import update

from app.access import accounts
from app.main import create_app
from app.persistence.contents import DirectoryContents
from app.persistence.models import AttachmentContent
from app.settings import Settings
from tests.support.bpmn_text import process
from tests.support.history import events_of, verify
from tests.support.http import as_user, deploy_bytes

REVIEW = process("materials_case", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
  <bpmn:userTask id="check" name="材料审查" camunda:candidateGroups="xj-env" />
  <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="end" /><bpmn:endEvent id="end" />""")
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def case(service, client):
    for user, groups in {"li": ["xj-env"], "zhao": ["xj-drc"]}.items():
        accounts.save_account(service.services, user, f"{user}-password", groups)
    deploy_bytes(client, "materials.bpmn", REVIEW).raise_for_status()
    instance = client.post("/process-definition/key/materials_case/start", json={}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    return instance, task["id"]


def attach(http, task, content=PDF, kind="application/pdf", **fields):
    data = {"attachment-name": "营业执照.pdf", "attachment-description": "申请单位营业执照副本", **fields}
    files = {"content": ("licence.pdf", content, kind)} if content is not None else None
    return http.post(f"/task/{task}/attachment/create", data=data, files=files)


def test_a_file_attached_to_a_task_is_handed_back_as_it_was_and_recorded(service, client, root, case):
    instance, task = case
    with as_user(service, "li") as li:
        created = attach(li, task)
        assert created.status_code == 200, created.text
        row = created.json()
        assert (row["name"], row["description"], row["type"], row["taskId"], row["url"]) == (
            "营业执照.pdf", "申请单位营业执照副本", "application/pdf", task, None)
        assert row["sha256"] == hashlib.sha256(PDF).hexdigest() and row["size"] == len(PDF)
        assert row["links"][0]["href"].endswith(f"/task/{task}/attachment/{row['id']}")
        linked = attach(li, task, content=None, url="https://zwfw.example.gov.cn/files/EIA-2026-7",
                        **{"attachment-name": "环评批复（政务网）"})
        assert linked.status_code == 200, linked.text
        li.post(f"/task/{task}/complete", json={}).raise_for_status()
    with as_user(service, "zhao") as zhao:
        assert zhao.get(f"/task/{task}/attachment").status_code == 403
        assert zhao.get(f"/task/{task}/attachment/{row['id']}/data").status_code == 403
    # The case has ended with its one task: its materials are still served, as Camunda serves a
    # historic task's.
    assert client.get(f"/history/process-instance/{instance}").json()["state"] == "COMPLETED"
    listed = client.get(f"/task/{task}/attachment").json()
    assert [a["name"] for a in listed] == ["营业执照.pdf", "环评批复（政务网）"]
    data = client.get(f"/task/{task}/attachment/{row['id']}/data")
    assert data.status_code == 200 and data.content == PDF
    assert data.headers["content-type"] == "application/octet-stream"
    assert data.headers["x-content-type-options"] == "nosniff"
    assert client.get(f"/task/{task}/attachment/{linked.json()['id']}/data").status_code == 404
    [added, _] = [e for e in events_of(service, instance) if e.kind == "task.attachmentAdded"]
    assert added.user_id == "li" and added.payload["sha256"] == row["sha256"]
    assert verify(root, instance)["intact"] is True
    said = [e["what"] for e in root.get(f"/api/process-instances/{instance}/timeline").json()]
    assert "上传材料（材料审查）：营业执照.pdf" in said


def test_a_file_changed_where_it_is_kept_is_not_handed_out(service, client, case):
    _, task = case
    row = attach(client, task).json()
    with service.services.db.write() as session:
        session.execute(update(AttachmentContent).values(data=PDF.replace(b"obj", b"OBJ")))
    changed = client.get(f"/task/{task}/attachment/{row['id']}/data")
    assert changed.status_code == 409 and "no longer has that hash" in changed.json()["message"], changed.text


def test_removing_a_material_while_the_task_is_open(service, client, case):
    instance, task = case
    first, second = attach(client, task).json(), attach(client, task, **{"attachment-name": "副本"}).json()
    assert client.delete(f"/task/{task}/attachment/{first['id']}").status_code == 204
    # The same content attached twice is kept once, and stays while another attachment holds it.
    assert client.get(f"/task/{task}/attachment/{second['id']}/data").content == PDF
    assert client.get(f"/task/{task}/attachment/{first['id']}").status_code == 404
    assert [e.payload["attachmentId"] for e in events_of(service, instance) if e.kind == "task.attachmentDeleted"] \
        == [first["id"]]
    with as_user(service, "zhao") as zhao:
        assert zhao.delete(f"/task/{task}/attachment/{second['id']}").status_code == 403
    log = client.get("/history/user-operation", params={"processInstanceId": instance, "entityType": "Attachment"})
    assert [(e["operationType"], e["property"], e["newValue"], e["taskId"], e["category"]) for e in log.json()] == [
        ("AddAttachment", "name", "营业执照.pdf", task, "TaskWorker"), ("AddAttachment", "name", "副本", task, "TaskWorker"),
        ("DeleteAttachment", "name", "营业执照.pdf", task, "TaskWorker")]


@pytest.mark.parametrize("content, kind, fields, says", [
    (b"MZ\x90\x00 not a pdf", "application/pdf", {}, "is not of its type"),
    (PDF, "text/html", {}, "must be one of"),
    (b"<script>alert(1)</script>", "image/svg+xml", {}, "must be one of"),
    (b"\x00\x01binary", "text/plain", {}, "is not of its type"),
    (b"", "application/pdf", {}, "empty"),
    (b"%PDF-" + b"0" * (6 * 1024 * 1024), "application/pdf", {}, "at most"),
    (PDF, "application/pdf", {"attachment-name": "名" * 256}, "at most 255"),
    (None, None, {"url": "javascript:alert(1)"}, "http or https"),
    (None, None, {}, "either a file"),
    (PDF, "application/pdf", {"url": "https://example.gov.cn/x"}, "either a file"),
])
def test_bad_materials_are_refused_and_nothing_is_kept(service, client, case, content, kind, fields, says):
    instance, task = case
    answer = attach(client, task, content=content, kind=kind, **fields)
    assert answer.status_code == 400 and says in answer.json()["message"], answer.text
    assert client.get(f"/task/{task}/attachment").json() == []
    assert not [e for e in events_of(service, instance) if e.kind.startswith("task.attachment")]


def test_unknown_tasks_and_attachments(client, case):
    _, task = case
    assert attach(client, "nope").status_code == 400
    assert client.get("/task/nope/attachment").status_code == 404
    assert client.get(f"/task/{task}/attachment/nope").status_code == 404
    assert client.post(f"/task/{task}/attachment/create", json={"url": "https://x.cn"}).status_code == 400


@pytest.fixture
def directory_store(service, tmp_path):
    """The running service keeping attachment content in a directory (ATTACHMENT_STORE=directory)."""
    kept = service.services.contents
    service.services.contents = DirectoryContents(str(tmp_path))
    yield tmp_path
    service.services.contents = kept


def test_a_directory_keeps_the_files_by_their_hash(client, case, directory_store):
    _, task = case
    row = attach(client, task).json()
    path = directory_store / row["sha256"][:2] / row["sha256"]
    assert path.read_bytes() == PDF
    assert client.get(f"/task/{task}/attachment/{row['id']}/data").content == PDF
    path.write_bytes(PDF + b"% appended")
    assert client.get(f"/task/{task}/attachment/{row['id']}/data").status_code == 409
    assert client.delete(f"/task/{task}/attachment/{row['id']}").status_code == 204
    assert not path.exists()


def test_a_type_whose_content_cannot_be_checked_stops_the_service_from_starting(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}", attachment_types="application/pdf,image/tiff")
    with pytest.raises(ValueError, match="image/tiff"):
        create_app(settings)

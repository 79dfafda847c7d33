"""Materials (材料) as Camunda's task attachments: a file or a link attached to an open task by whoever
works it, read by whoever reads the case (also after the task), handed back byte for byte; its
SHA-256 in the case's chained history; its size and type bounded and checked against its content;
removed only while the task is open, with the removal recorded; a file changed where it is kept is
never handed out as the original. The content is kept in the database, in a directory or in an
S3-compatible bucket (a moto server in this process, spoken to over HTTP), each test on every one."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from pydantic import ValidationError
from sqlalchemy import select, update

from app.access import accounts
from app.main import build_services, create_app, first_start
from app.persistence.contents import DirectoryContents, S3Contents
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


BUCKET, SECRET = "eco-materials", "s3-secret-never-shown"


@pytest.fixture(scope="module")
def s3_endpoint():
    """An S3-compatible server (moto) on a free port of this machine."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_settings(endpoint: str, tmp_path, **overrides) -> Settings:
    return Settings(**{"database_url": f"sqlite:///{tmp_path / 's3.sqlite3'}", "attachment_store": "s3",
                       "attachment_s3_endpoint_url": endpoint, "attachment_s3_bucket": BUCKET,
                       "attachment_s3_region": "cn-north-1", "attachment_s3_access_key_id": "eco-service",
                       "attachment_s3_secret_access_key": SECRET, "attachment_s3_prefix": "/materials/",
                       "attachment_s3_path_style": True, **overrides})


@dataclass
class Kept:
    """Where the running service keeps attachment content, and a way around it to the content."""

    holds: Callable[[str], bool]
    tamper: Callable[[str, bytes], None]


@pytest.fixture(params=["database", "directory", "s3"])
def store(request, service, tmp_path):
    kept = service.services.contents
    if request.param == "database":
        def holds(sha256):
            with service.services.db.read() as session:
                return session.scalar(select(AttachmentContent.sha256).where(AttachmentContent.sha256 == sha256)) \
                    is not None

        def tamper(sha256, data):
            with service.services.db.write() as session:
                session.execute(update(AttachmentContent).where(AttachmentContent.sha256 == sha256).values(data=data))
        yield Kept(holds, tamper)
        return
    if request.param == "directory":
        service.services.contents = DirectoryContents(str(tmp_path))
        path = lambda sha256: tmp_path / sha256[:2] / sha256  # noqa: E731
        yield Kept(lambda sha256: path(sha256).exists(), lambda sha256, data: path(sha256).write_bytes(data))
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        httpx.post(f"{endpoint}/moto-api/reset").raise_for_status()
        bucket = boto3.client("s3", endpoint_url=endpoint, region_name="cn-north-1", aws_access_key_id="x",
                              aws_secret_access_key="x")
        bucket.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "cn-north-1"})
        service.services.contents = S3Contents(s3_settings(endpoint, tmp_path))

        def holds(sha256):
            return any(item["Key"] == f"materials/{sha256}"
                       for item in bucket.list_objects_v2(Bucket=BUCKET).get("Contents", []))
        yield Kept(holds, lambda sha256, data: bucket.put_object(Bucket=BUCKET, Key=f"materials/{sha256}", Body=data))
        bucket.close()
    service.services.contents = kept


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


def test_a_file_attached_to_a_task_is_handed_back_as_it_was_and_recorded(service, client, root, store, case):
    instance, task = case
    with as_user(service, "li") as li:
        created = attach(li, task)
        assert created.status_code == 200, created.text
        row = created.json()
        assert store.holds(row["sha256"])
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


def test_a_file_changed_where_it_is_kept_is_not_handed_out(client, store, case):
    _, task = case
    row = attach(client, task).json()
    store.tamper(row["sha256"], PDF.replace(b"obj", b"OBJ"))
    changed = client.get(f"/task/{task}/attachment/{row['id']}/data")
    assert changed.status_code == 409 and "no longer has that hash" in changed.json()["message"], changed.text


def test_removing_a_material_while_the_task_is_open(service, client, store, case):
    instance, task = case
    first, second = attach(client, task).json(), attach(client, task, **{"attachment-name": "副本"}).json()
    assert client.delete(f"/task/{task}/attachment/{first['id']}").status_code == 204
    # The same content attached twice is kept once, and stays while another attachment holds it.
    assert store.holds(second["sha256"])
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
    assert client.delete(f"/task/{task}/attachment/{second['id']}").status_code == 204
    assert not store.holds(second["sha256"])


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


def test_a_bucket_that_fails_answers_plainly_and_nothing_is_attached(service, client, case, s3_endpoint, tmp_path):
    _, task = case
    kept = service.services.contents
    service.services.contents = S3Contents(s3_settings(s3_endpoint, tmp_path, attachment_s3_bucket="no-such-bucket"))
    try:
        answer = attach(client, task)
    finally:
        service.services.contents = kept
    assert answer.status_code == 503, answer.text
    assert answer.json()["message"].startswith("The store of attached files could not keep the content")
    assert not any(word in answer.text for word in ("NoSuchBucket", "botocore", "Traceback", SECRET))
    assert client.get(f"/task/{task}/attachment").json() == []


@pytest.mark.parametrize("overrides, says", [
    ({"attachment_s3_bucket": " "}, "ATTACHMENT_S3_BUCKET"),
    ({"attachment_s3_endpoint_url": "minio.internal:9000"}, "the store.s http"),
    ({"attachment_s3_endpoint_url": "", "attachment_s3_region": ""}, "ATTACHMENT_S3_REGION"),
    ({"attachment_s3_access_key_id": ""}, "given together"),
])
def test_a_misconfigured_bucket_stops_the_service_from_starting(overrides, says, tmp_path):
    with pytest.raises(ValidationError, match=says) as refused:
        s3_settings("http://127.0.0.1:9000", tmp_path, **overrides)
    assert SECRET not in str(refused.value)


def test_a_bucket_that_cannot_be_used_stops_the_service_from_starting(s3_endpoint, tmp_path):
    httpx.post(f"{s3_endpoint}/moto-api/reset").raise_for_status()
    settings = s3_settings(s3_endpoint, tmp_path)
    assert SECRET not in repr(settings) and SECRET not in settings.model_dump_json()
    services = build_services(settings)
    try:
        with pytest.raises(ValueError, match=f"bucket '{BUCKET}' at {s3_endpoint} cannot be used") as refused:
            first_start(services)
    finally:
        services.db.dispose()
    assert SECRET not in str(refused.value)


def test_a_type_whose_content_cannot_be_checked_stops_the_service_from_starting(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}", attachment_types="application/pdf,image/tiff")
    with pytest.raises(ValueError, match="image/tiff"):
        create_app(settings)

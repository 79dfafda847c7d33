"""Camunda's Bytes and File variables, as integrations send materials: taken as base64 JSON wherever
typed variables are taken, and through each `/data` upload (multipart); read back byte for byte through
each `/data` download, also from the history after the case has ended. The case's state holds only a
reference; the history records each value's SHA-256, size, file name and type, and stays verifiable
and replayable. Oversized content, values that are not binary, unknown variables and readers without
rights are refused in Camunda's words."""
from __future__ import annotations

import base64
import hashlib

import pytest
from sqlalchemy import update

from app.access import accounts
from app.persistence.models import AttachmentContent, ProcessInstance
from tests.support.bpmn_text import process, properties
from tests.support.history import events_of, verify
from tests.support.http import as_user, deploy, deploy_bytes
from tests.support.paths import FIXTURES

CASE = process("binary_case", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
  <bpmn:userTask id="check" name="材料审查" camunda:candidateGroups="xj-env" />
  <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="route" />
  <bpmn:exclusiveGateway id="route" default="f4" />
  <bpmn:sequenceFlow id="f3" sourceRef="route" targetRef="end"><bpmn:conditionExpression>${licence == null}</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="f4" sourceRef="route" targetRef="end" /><bpmn:endEvent id="end" />""")
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n" + bytes(range(256))
SEAL = b"\x89SEAL\x00\x01\x02\xff" * 40


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def file_variable(data: bytes = PDF, filename: str = "营业执照.pdf", mime_type: str = "application/pdf") -> dict:
    return {"type": "File", "value": b64(data),
            "valueInfo": {"filename": filename, "mimeType": mime_type, "encoding": None}}


@pytest.fixture
def case(service, client):
    for user, groups in {"li": ["xj-env"], "zhao": ["xj-drc"]}.items():
        accounts.save_account(service.services, user, f"{user}-password", groups)
    deploy_bytes(client, "binary.bpmn", CASE).raise_for_status()

    def start(variables: dict | None = None) -> tuple[str, str]:
        started = client.post("/process-definition/key/binary_case/start", json={"variables": variables or {}})
        assert started.status_code == 200, started.text
        instance = started.json()["id"]
        [task] = client.get("/task", params={"processInstanceId": instance}).json()
        return instance, task["id"]

    return start


def test_bytes_and_files_as_json_are_kept_out_of_the_state_and_read_back_after_the_case(service, client, root,
                                                                                         case):
    instance, task = case({"licence": file_variable(), "applicant": {"value": "park-office"}})
    shown = client.get(f"/process-instance/{instance}/variables/licence").json()
    # Camunda's shape: a File's value is not sent along, its valueInfo is.
    assert shown == {"type": "File", "value": None,
                     "valueInfo": {"filename": "营业执照.pdf", "mimeType": "application/pdf"}}
    data = client.get(f"/process-instance/{instance}/variables/licence/data")
    assert data.status_code == 200 and data.content == PDF
    assert data.headers["content-type"] == "application/pdf"
    assert data.headers["content-disposition"].startswith("attachment; filename=")
    assert "filename*=UTF-8''%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7.pdf" in data.headers["content-disposition"]
    with as_user(service, "li") as li:
        completed = li.post(f"/task/{task}/complete", json={"variables": {"seal": {"type": "Bytes", "value": b64(SEAL)}}})
        assert completed.status_code == 204, completed.text
    with service.services.db.read() as session:
        state = session.get(ProcessInstance, instance).state
    assert b64(PDF)[:40] not in state and b64(SEAL)[:40] not in state
    assert hashlib.sha256(PDF).hexdigest() in state

    # The case has ended (past a gateway that read the File): its values are read from the history.
    assert client.get(f"/history/process-instance/{instance}").json()["state"] == "COMPLETED"
    rows = {row["name"]: row for row in client.get("/history/variable-instance",
                                                   params={"processInstanceId": instance}).json()}
    assert (rows["seal"]["type"], rows["seal"]["value"], rows["licence"]["type"]) == ("Bytes", None, "File")
    seal = client.get(f"/history/variable-instance/{rows['seal']['id']}/data")
    assert seal.status_code == 200 and seal.content == SEAL
    assert seal.headers["content-type"] == "application/octet-stream"
    assert client.get(f"/history/variable-instance/{rows['licence']['id']}/data").content == PDF
    details = client.get("/history/detail", params={"processInstanceId": instance, "variableName": "seal"}).json()
    [detail] = [d for d in details if d.get("variableName") == "seal"]
    assert detail["variableType"] == "Bytes"
    assert client.get(f"/history/detail/{detail['id']}/data").content == SEAL

    # The history records what an auditor checks the content against; it stays verifiable and replayable.
    [started] = [e for e in events_of(service, instance) if e.kind == "process.started"]
    assert started.payload["variables"]["licence"] == {
        "typename": "BinaryValue", "type": "File", "sha256": hashlib.sha256(PDF).hexdigest(), "size": len(PDF),
        "filename": "营业执照.pdf", "mimeType": "application/pdf", "encoding": None}
    [done] = [e for e in events_of(service, instance) if e.kind == "task.completed"]
    assert (done.payload["variables"]["seal"]["sha256"], done.payload["variables"]["seal"]["size"]) == (
        hashlib.sha256(SEAL).hexdigest(), len(SEAL))
    assert verify(root, instance)["intact"] is True
    assert root.get(f"/api/process-instances/{instance}/replay").json()["reproduced"] is True


def upload(http, path: str, data: bytes, value_type: str | None, filename: str = "scan.png",
           content_type: str = "image/png"):
    fields = {"valueType": value_type} if value_type is not None else {}
    return http.post(f"{path}/data", files={"data": (filename, data, content_type)}, data=fields)


def test_each_data_upload_and_download(service, client, case):
    instance, task = case()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    assert upload(client, f"/process-instance/{instance}/variables/scan", png, "File").status_code == 204
    assert upload(client, f"/task/{task}/variables/seal", SEAL, None).status_code == 204
    assert upload(client, f"/task/{task}/localVariables/draft", b"draft text", "File", "意见.txt",
                  "text/plain; encoding=UTF-8").status_code == 204
    assert upload(client, f"/execution/{instance}/localVariables/raw", PDF, "Bytes").status_code == 204

    scan = client.get(f"/task/{task}/variables/scan/data")
    assert (scan.status_code, scan.content, scan.headers["content-type"]) == (200, png, "image/png")
    assert 'filename="scan.png"' in scan.headers["content-disposition"]
    seal = client.get(f"/process-instance/{instance}/variables/seal/data")
    assert (seal.content, seal.headers["content-type"]) == (SEAL, "application/octet-stream")
    draft = client.get(f"/task/{task}/localVariables/draft/data")
    assert (draft.content, draft.headers["content-type"]) == (b"draft text", "text/plain; charset=UTF-8")
    assert client.get(f"/task/{task}/localVariables/draft").json() == {
        "type": "File", "value": None, "valueInfo": {"filename": "意见.txt", "mimeType": "text/plain",
                                                     "encoding": "UTF-8"}}
    assert client.get(f"/execution/{instance}/localVariables/raw/data").content == PDF
    # As Camunda sends them: a running case's Bytes with their content (base64), a File without.
    assert client.get(f"/execution/{instance}/localVariables/raw").json() == {
        "type": "Bytes", "value": b64(PDF), "valueInfo": {}}
    assert client.get(f"/task/{task}/variables").json()["seal"] == {"type": "Bytes", "value": b64(SEAL),
                                                                     "valueInfo": {}}
    assert client.get(f"/process-instance/{instance}/variables").json()["scan"]["value"] is None
    [row] = client.get("/variable-instance", params={"processInstanceIdIn": instance, "variableName": "scan"}).json()
    assert client.get(f"/variable-instance/{row['id']}/data").content == png
    kinds = [e.kind for e in events_of(service, instance)]
    assert kinds.count("variables.modified") == 3 and kinds.count("task.localVariablesModified") == 1


def test_messages_and_variable_posts_take_binary_values(client, case):
    instance, task = case()
    body = {"modifications": {"report": file_variable(SEAL, "report.bin", "application/octet-stream"),
                              "sig": {"type": "Bytes", "value": b64(b"\x00\x01")}}}
    assert client.post(f"/process-instance/{instance}/variables", json=body).status_code == 204
    assert client.get(f"/process-instance/{instance}/variables/sig/data").content == b"\x00\x01"
    assert client.get(f"/task/{task}/variables/report/data").content == SEAL
    assert client.put(f"/task/{task}/variables/one", json={"type": "Bytes", "value": b64(b"1")}).status_code == 204
    assert client.get(f"/task/{task}/variables/one/data").content == b"1"


def test_what_is_not_binary_unknown_or_oversized_is_refused(service, client, monkeypatch, case):
    instance, task = case({"applicant": {"value": "park-office"}})
    plain = client.get(f"/process-instance/{instance}/variables/applicant/data")
    assert plain.status_code == 400
    assert plain.json() == {"type": "InvalidRequestException", "code": 400,
                            "message": f"Value of variable with id {instance} is not a binary value."}
    missing = client.get(f"/task/{task}/variables/nothing/data")
    assert missing.status_code == 404
    assert missing.json()["message"] == "task variable with name nothing does not exist"
    assert client.get(f"/variable-instance/{instance}:bm9wZQ/data").status_code == 404
    assert client.get("/history/detail/nope/data").status_code == 404

    monkeypatch.setattr(service.services.settings, "max_binary_variable_bytes", 2048)
    big = b"\x01" * 2049
    oversized = client.put(f"/process-instance/{instance}/variables/big", json={"type": "Bytes", "value": b64(big)})
    assert oversized.status_code == 400 and "at most 2048 bytes" in oversized.json()["message"], oversized.text
    assert upload(client, f"/task/{task}/variables/big", big, "File").status_code == 400
    assert client.post("/process-definition/key/binary_case/start", json={
        "variables": {"big": file_variable(big)}}).status_code == 400
    for refused in ({"type": "Bytes", "value": "not base64!"}, {"type": "File", "value": b64(b"x")},
                    {"type": "Bytes", "value": 12}):
        answer = client.put(f"/process-instance/{instance}/variables/bad", json=refused)
        assert answer.status_code == 400, answer.text
    assert upload(client, f"/task/{task}/variables/bad", b"x", "Json").status_code == 400
    assert client.get(f"/process-instance/{instance}/variables").json().keys() == {"applicant"}


def test_readers_and_writers_are_those_of_the_variables(service, client, case):
    instance, task = case({"licence": file_variable()})
    with as_user(service, "zhao") as zhao:
        assert zhao.get(f"/task/{task}/variables/licence/data").status_code == 403
        assert zhao.get(f"/process-instance/{instance}/variables/licence/data").status_code == 403
        assert upload(zhao, f"/task/{task}/variables/x", b"x", None).status_code == 403
    with as_user(service, "li") as li:
        assert li.get(f"/task/{task}/variables/licence/data").content == PDF
        assert upload(li, f"/task/{task}/variables/x", b"x", None).status_code == 204
        # Writing a case's variables outside a task is an administrator's.
        assert upload(li, f"/process-instance/{instance}/variables/x", b"x", None).status_code == 403
        assert upload(li, f"/execution/{instance}/localVariables/x", b"x", None).status_code == 403


def test_content_stays_while_a_case_or_an_attachment_refers_to_it(service, client, root, case):
    kept_a_day = CASE.replace(b'isExecutable="true"', b'isExecutable="true" camunda:historyTimeToLive="1"', 1)
    deploy_bytes(client, "binary.bpmn", kept_a_day).raise_for_status()
    first, first_task = case({"licence": file_variable()})
    second, second_task = case({"licence": file_variable()})
    digest = hashlib.sha256(PDF).hexdigest()

    def kept() -> bool:
        with service.services.db.read() as session:
            return session.get(AttachmentContent, digest) is not None

    # The same bytes attached as a material and taken back: the variables still hold them.
    attached = client.post(f"/task/{second_task}/attachment/create", data={"attachment-name": "licence.pdf"},
                           files={"content": ("licence.pdf", PDF, "application/pdf")}).json()
    assert client.delete(f"/task/{second_task}/attachment/{attached['id']}").status_code == 204
    assert kept() and client.get(f"/task/{second_task}/variables/licence/data").content == PDF
    # A case's history deleted: the other case still holds them; once both are deleted, they go.
    for task in (first_task, second_task):
        client.post(f"/task/{task}/complete", json={}).raise_for_status()
    root.post("/api/clock", json={"advance": "P1DT1S"}).raise_for_status()
    assert client.delete(f"/history/process-instance/{first}").status_code == 204
    [row] = client.get("/history/variable-instance", params={"processInstanceId": second}).json()
    assert kept() and client.get(f"/history/variable-instance/{row['id']}/data").content == PDF
    assert client.delete(f"/history/process-instance/{second}").status_code == 204
    assert not kept()
    assert verify(root)["intact"] is True


def test_a_confidential_file_is_read_only_by_the_departments_handling_the_case(service, client, case):
    confidential = process("binary_case", properties(confidentialVariables="licence") + CASE.decode().split(
        'isExecutable="true">', 1)[1].rsplit("</bpmn:process>", 1)[0])
    deploy_bytes(client, "binary.bpmn", confidential).raise_for_status()
    accounts.save_account(service.services, "qian", "qian-password", ["auditors"])
    instance, task = case({"licence": file_variable()})
    with as_user(service, "li") as li:
        assert li.get(f"/task/{task}/variables/licence/data").content == PDF
        [row] = li.get("/variable-instance", params={"processInstanceIdIn": instance}).json()
        assert li.get(f"/variable-instance/{row['id']}/data").content == PDF
        [detail] = [d for d in li.get("/history/detail", params={"processInstanceId": instance}).json()
                    if d.get("variableName") == "licence"]
        assert li.get(f"/history/detail/{detail['id']}/data").content == PDF
    # Who reads the case without handling it (an auditor, an administrator) finds no such variable.
    with as_user(service, "qian") as auditor:
        for other in (auditor, client):
            hidden = other.get(f"/process-instance/{instance}/variables/licence/data")
            assert hidden.status_code == 404, hidden.text
            assert other.get(f"/task/{task}/variables/licence/data").status_code == 404
            assert other.get(f"/variable-instance/{row['id']}/data").status_code == 404
            assert other.get(f"/history/detail/{detail['id']}/data").status_code == 404


def test_messages_and_workers_send_and_receive_binary_values(service, client, root):
    for name in ("enterprise_listed.bpmn", "publish_notice.bpmn"):
        deploy(client, FIXTURES / "events" / name)
    sent = client.post("/message", json={"messageName": "enterprise_listed", "resultEnabled": True,
                                         "variablesInResultEnabled": True,
                                         "processVariables": {"enterprise": {"value": "xj-env"},
                                                              "list": file_variable(SEAL, "名单.bin", ""),
                                                              "sig": {"type": "Bytes", "value": b64(b"sig")}}})
    assert sent.status_code == 200, sent.text
    assert sent.json()[0]["variables"]["sig"] == {"type": "Bytes", "value": b64(b"sig"), "valueInfo": {}}
    assert sent.json()[0]["variables"]["list"] == {"type": "File", "value": None, "valueInfo": {"filename": "名单.bin"}}
    listed = sent.json()[0]["processInstance"]["id"]
    assert client.get(f"/process-instance/{listed}/variables/list/data").content == SEAL

    notice = client.post("/process-definition/key/publish_notice/start", json={"variables": {
        "notice": file_variable(), "stamp": {"type": "Bytes", "value": b64(SEAL)}}}).json()["id"]
    [locked] = client.post("/external-task/fetchAndLock", json={"workerId": "site", "maxTasks": 1, "topics": [
        {"topicName": "publish-notice", "lockDuration": 60000}]}).json()
    assert locked["variables"]["notice"] == {"type": "File", "value": None, "valueInfo": {
        "filename": "营业执照.pdf", "mimeType": "application/pdf"}}
    assert locked["variables"]["stamp"] == {"type": "Bytes", "value": b64(SEAL), "valueInfo": {}}
    assert client.get(f"/execution/{locked['processInstanceId']}/localVariables/notice/data").content == PDF
    # Where Camunda's external-task client asks for a File's content: the task's executionId.
    fetched = client.get(f"/process-instance/{locked['executionId']}/variables/notice/data")
    assert fetched.status_code == 200 and fetched.content == PDF
    done = client.post(f"/external-task/{locked['id']}/complete", json={"workerId": "site", "variables": {
        "receipt": {"type": "Bytes", "value": b64(b"\x01receipt")},
        "noticeUrl": {"value": "https://zwfw.example.gov.cn/notice/1"}}})
    assert done.status_code == 204, done.text
    [row] = client.get("/history/variable-instance", params={"processInstanceId": notice,
                                                             "variableName": "receipt"}).json()
    assert client.get(f"/history/variable-instance/{row['id']}/data").content == b"\x01receipt"
    for case in (listed, notice):
        assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"] is True
    assert verify(root)["intact"] is True


def test_a_condition_reads_a_binary_variable_as_a_reference_without_its_bytes(service, client, case):
    instance, task = case({"licence": file_variable()})
    # The gateway after the task tests `licence == null`: the reference is not null, the default is taken.
    client.post(f"/task/{task}/complete", json={}).raise_for_status()
    assert client.get(f"/history/process-instance/{instance}").json()["state"] == "COMPLETED"
    measured = CASE.replace(b"${licence == null}", b"${licence &gt; 1}")
    deploy_bytes(client, "binary.bpmn", measured).raise_for_status()
    _, task = case({"licence": file_variable()})
    refused = client.post(f"/task/{task}/complete", json={})
    assert refused.status_code == 400 and refused.json()["type"] == "ProcessEngineException", refused.text
    assert "营业执照.pdf (" in refused.json()["message"] and "BinaryValue" not in refused.text
    assert client.get(f"/task/{task}").status_code == 200


def test_content_changed_where_it_is_kept_is_not_handed_out(service, client, case):
    instance, _ = case({"licence": file_variable()})
    digest = hashlib.sha256(PDF).hexdigest()
    with service.services.db.write() as session:
        session.execute(update(AttachmentContent).where(AttachmentContent.sha256 == digest).values(data=b"forged"))
    changed = client.get(f"/process-instance/{instance}/variables/licence/data")
    assert changed.status_code == 409 and "no longer has that hash" in changed.json()["message"], changed.text


def test_a_file_name_type_or_encoding_that_cannot_be_a_header_is_refused(client, case):
    instance, task = case()
    refused = {"filename": {"filename": "a\r\nSet-Cookie: x=1"},
               "filename nul": {"filename": "a\x00.pdf"},
               "mimeType": {"filename": "a.pdf", "mimeType": "text/plain\r\nX: 1"},
               "mimeType form": {"filename": "a.pdf", "mimeType": "nonsense"},
               "encoding": {"filename": "a.txt", "mimeType": "text/plain", "encoding": "utf-8\x01"}}
    for why, info in refused.items():
        body = {"modifications": {"f": {"type": "File", "value": b64(b"hello"), "valueInfo": info}}}
        answer = client.post(f"/process-instance/{instance}/variables", json=body)
        assert answer.status_code == 400, (why, answer.text)
        assert answer.json()["type"] == "InvalidRequestException" and "Variable 'f'" in answer.json()["message"]
    # Written out: a client library would escape the control characters of a part's header.
    for filename, content_type in ((b"a\x01b.txt", b"text/plain"), (b"a.txt", b'text/plain; encoding="utf-8\x01"'),
                                   (b"a.txt", b"nonsense")):
        form = (b'--x\r\nContent-Disposition: form-data; name="data"; filename="' + filename + b'"\r\nContent-Type: '
                + content_type + b'\r\n\r\nhello\r\n--x\r\nContent-Disposition: form-data; name="valueType"\r\n\r\n'
                b"File\r\n--x--\r\n")
        answer = client.post(f"/task/{task}/variables/f/data", content=form,
                             headers={"content-type": "multipart/form-data; boundary=x"})
        assert answer.status_code == 400, (filename, content_type, answer.text)
    assert "f" not in client.get(f"/process-instance/{instance}/variables").json()


def test_a_stored_file_name_or_type_unfit_for_a_header_still_downloads(service, client, case):
    instance, _ = case({"licence": file_variable(filename="plain.pdf", mime_type="text/plain")})
    with service.services.db.write() as session:
        row = session.get(ProcessInstance, instance)
        assert '"plain.pdf"' in row.state and '"text/plain"' in row.state
        # As values taken before their names and types were checked may have been stored.
        row.state = row.state.replace('"plain.pdf"', '"a\\r\\nSet-Cookie: x=1\\u0000.pdf"').replace(
            '"text/plain"', '"nonsense\\r\\nX: 1"')
    data = client.get(f"/process-instance/{instance}/variables/licence/data")
    assert data.status_code == 200 and data.content == PDF
    assert data.headers["content-type"] == "application/octet-stream"
    assert "set-cookie" not in data.headers
    assert data.headers["content-disposition"].startswith('attachment; filename="a__Set-Cookie: x=1_.pdf"')
    assert "filename*=UTF-8''a%0D%0ASet-Cookie%3A%20x%3D1%00.pdf" in data.headers["content-disposition"]

"""Which processes a task list offers to start, as Camunda's process definition query answers a task
list's start dialog: startableInTasklist / notStartableInTasklist (camunda:isStartableInTasklist),
startableBy (the candidate starters naming the user or one of the user's groups) and
startablePermissionCheck (what the caller may start)."""
from __future__ import annotations

from sqlalchemy import text

from app.access import accounts
from tests.support.bpmn_text import process
from tests.support.http import as_user, deploy_bytes, listed
from tests.support.scratch import migrated_over

BODY = """<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end" />
  <bpmn:endEvent id="end" />"""


def _process(key: str, name: str, attributes: str = "") -> bytes:
    return process(key, BODY).replace(f'id="{key}" isExecutable="true"'.encode(),
                                      f'id="{key}" name="{name}" isExecutable="true" {attributes}'.encode())


OPEN = _process("open_filing", "企业自行申报")
REGIONAL = _process("regional_review", "区域审查", 'camunda:candidateStarterGroups="xj-env"')
HIDDEN = _process("hidden_callee", "被调用的子流程",
                  'camunda:isStartableInTasklist="false" camunda:candidateStarterUsers="li"')
# An empty value is not "true": Camunda's parser does not offer it either.
BLANK = _process("blank_flag", "空白标记", 'camunda:isStartableInTasklist=""')


def _keys(client, **criteria) -> list[str]:
    return sorted(row["key"] for row in listed(client, "/process-definition", **criteria))


def test_a_task_lists_start_dialog_offers_what_the_caller_may_start(service, client):
    accounts.save_account(service.services, "li", "li-password", ["xj-env"])
    accounts.save_account(service.services, "zhao", "zhao-password", ["zj-env"])
    for name, content in (("open.bpmn", OPEN), ("regional.bpmn", REGIONAL), ("hidden.bpmn", HIDDEN)):
        deploy_bytes(client, name, content).raise_for_status()
    assert _keys(client, startableInTasklist="true") == ["open_filing", "regional_review"]
    assert _keys(client, notStartableInTasklist="true") == ["hidden_callee"]
    assert _keys(client, startableInTasklist="false") == ["hidden_callee", "open_filing", "regional_review"]
    shown = {row["key"]: row["startableInTasklist"] for row in client.get("/process-definition").json()}
    assert shown == {"hidden_callee": False, "open_filing": True, "regional_review": True}
    blank = deploy_bytes(client, "blank.bpmn", BLANK).json()
    assert [row["startableInTasklist"] for row in blank["deployedProcessDefinitions"].values()] == [False]
    client.delete(f"/deployment/{blank['id']}").raise_for_status()
    both = client.get("/process-definition", params={"startableInTasklist": "true", "notStartableInTasklist": "true"})
    assert both.status_code == 400 and "notStartableInTasklist" in both.json()["message"]
    # startableBy: only the starters named, as Camunda's identity links (a process naming none is not).
    assert _keys(client, startableBy="li") == ["hidden_callee", "regional_review"]
    assert _keys(client, startableBy="zhao") == []
    # startablePermissionCheck: what the caller may start; Camunda's task list asks for it so.
    dialog = {"latest": "true", "active": "true", "startableInTasklist": "true", "startablePermissionCheck": "true",
              "sortBy": "name", "sortOrder": "asc", "firstResult": "0", "maxResults": "15"}
    with as_user(service, "li") as li, as_user(service, "zhao") as zhao:
        assert [row["key"] for row in listed(li, "/process-definition", **dialog)] == ["open_filing",
                                                                                        "regional_review"]
        assert [row["key"] for row in listed(zhao, "/process-definition", **dialog)] == ["open_filing"]
        assert _keys(li, startablePermissionCheck="true") == ["hidden_callee", "open_filing", "regional_review"]
        assert zhao.post("/process-definition/key/regional_review/start", json={}).status_code == 403
    assert _keys(client, startablePermissionCheck="true") == ["hidden_callee", "open_filing", "regional_review"]


def test_the_migration_reads_whether_versions_deployed_before_are_offered(tmp_path):
    files = [(key, f"{key}.bpmn", content) for key, content in (("hidden_callee", HIDDEN), ("open_filing", OPEN),
                                                                 ("blank_flag", BLANK))]
    with migrated_over(tmp_path, "0036", files) as engine:
        with engine.connect() as connection:
            assert dict(connection.execute(text("SELECT key, startable_in_tasklist FROM process_definition")).all()) == {
                "hidden_callee": False, "open_filing": True, "blank_flag": False}

"""Deleting process definitions (DELETE /process-definition/{id}, /key/{key}, /key/{key}/tenant-id/{tenant})
under the rules of deleting a deployment, and the definitions a process's call activities call
statically (GET /process-definition/{id}/static-called-process-definitions)."""
from __future__ import annotations

from tests.support.http import deploy
from tests.support.paths import FIXTURES

NOTICE = (FIXTURES / "rest" / "definition_deletion.bpmn").read_bytes()
CONSTRUCTS = FIXTURES / "constructs"


def upload(client, task_name: str = "审查公告", tenant: str | None = None) -> dict:
    content = NOTICE.replace("审查公告".encode(), task_name.encode())
    response = client.post("/deployment/create", data={"tenant-id": tenant} if tenant else {},
                           files=[("data", ("definition_deletion.bpmn", content, "application/xml"))])
    assert response.status_code == 200, response.text
    [definition] = response.json()["deployedProcessDefinitions"].values()
    return definition


def notice(client) -> dict:
    """The message start event starts a case: the task it opens."""
    started = client.post("/message", json={"messageName": "permit_notice_received", "resultEnabled": True})
    assert started.status_code == 200, started.text
    [task] = client.get("/task", params={"processInstanceId": started.json()[0]["processInstance"]["id"]}).json()
    return task


def test_deleting_the_newest_version_makes_the_previous_one_newest_again(client, root):
    first = upload(client, "审查一")
    second = upload(client, "审查二")
    assert client.delete(f"/process-definition/{second['id']}").status_code == 204
    assert client.get(f"/process-definition/{second['id']}").status_code == 404
    assert client.get("/process-definition/key/permit_notice").json()["id"] == first["id"]
    # Its deployment and file stay, as in Camunda; the previous version's start event waits again.
    assert client.get(f"/deployment/{second['deploymentId']}").status_code == 200
    assert notice(client)["name"] == "审查一"
    [event] = root.get("/api/history/admin-events", params={"kind": "definition.deleted"}).json()
    assert (event["subject"], event["userId"]) == (f"process-definition:{second['id']}", "test-admin")


def test_a_definition_cases_ran_on_is_kept(client):
    definition = upload(client)
    task = notice(client)
    running = client.delete(f"/process-definition/{definition['id']}")
    assert (running.status_code, running.json()["type"], running.json()["message"]) == (
        400, "ProcessEngineException",
        f"ENGINE-03076 Deletion of process definition without cascading failed. Process definition with id: "
        f"{definition['id']} can't be deleted, because there are 1 dependent process instances.")
    cascade = client.delete(f"/process-definition/{definition['id']}", params={"cascade": "true"})
    assert cascade.status_code == 400 and "cascade" in cascade.json()["message"]
    assert client.post(f"/task/{task['id']}/complete", json={}).status_code == 204
    ended = client.delete(f"/process-definition/{definition['id']}")
    assert ended.status_code == 400 and "their record (replay, export) needs it" in ended.json()["message"]
    assert client.get(f"/process-definition/{definition['id']}").status_code == 200


def test_deleting_by_key_removes_every_version_of_no_tenant_or_of_the_tenant(client):
    upload(client, "审查一")
    upload(client, "审查二")
    regional = upload(client, "区县审查", tenant="xj-urumqi")
    assert client.delete("/process-definition/key/permit_notice/tenant-id/xj-urumqi").status_code == 204
    assert client.get(f"/process-definition/{regional['id']}").status_code == 404
    assert len(client.get("/process-definition", params={"key": "permit_notice"}).json()) == 2
    assert client.delete("/process-definition/key/permit_notice").status_code == 204
    assert client.get("/process-definition", params={"key": "permit_notice"}).json() == []
    assert client.get("/process-definition/key/permit_notice").status_code == 404
    started = client.post("/message", json={"messageName": "permit_notice_received"})
    assert started.status_code == 400  # no start event waits any more
    unknown = client.delete("/process-definition/key/permit_notice")
    assert (unknown.status_code, unknown.json()["type"], unknown.json()["message"]) == (
        404, "InvalidRequestException", "No process definition found with key 'permit_notice': "
                                        "processDefinitions is empty")


def test_deleting_by_key_is_all_or_nothing(client):
    upload(client, "审查一")
    notice(client)
    upload(client, "审查二")
    refused = client.delete("/process-definition/key/permit_notice")
    assert refused.status_code == 400 and "ENGINE-03076" in refused.json()["message"]
    assert len(client.get("/process-definition", params={"key": "permit_notice"}).json()) == 2


def test_unknown_definitions_and_bad_parameters_are_refused(client):
    unknown = client.delete("/process-definition/no-such-definition")
    assert (unknown.status_code, unknown.json()["type"], unknown.json()["message"]) == (
        404, "InvalidRequestException", "No process definition found with id 'no-such-definition': "
                                        "processDefinition is null")
    definition = upload(client)
    assert client.delete(f"/process-definition/{definition['id']}", params={"cascade": "maybe"}).status_code == 400
    assert client.delete(f"/process-definition/{definition['id']}",
                         params={"skipCustomListeners": "true", "skipIoMappings": "true"}).status_code == 204


def test_only_designers_and_administrators_delete_definitions(client, service):
    from app.access import accounts

    definition = upload(client)
    accounts.save_account(service.services, "official", "official-password", ["xj-urumqi-env"])
    refused = client.delete(f"/process-definition/{definition['id']}", auth=("official", "official-password"))
    assert refused.status_code == 403
    accounts.save_account(service.services, "designer", "designer-password", ["designers"])
    allowed = client.delete(f"/process-definition/{definition['id']}", auth=("designer", "designer-password"))
    assert allowed.status_code == 204


def called(client, definition_id: str) -> dict[str, tuple[int, list[str]]]:
    response = client.get(f"/process-definition/{definition_id}/static-called-process-definitions")
    assert response.status_code == 200, response.text
    for row in response.json():
        assert row["callingProcessDefinitionId"] == definition_id and row["key"] == "permit_check"
    return {row["id"]: (row["version"], row["calledFromActivityIds"]) for row in response.json()}


def test_the_statically_called_definitions_are_resolved_by_each_binding(client):
    bindings = (CONSTRUCTS / "call_bindings.bpmn").read_text(encoding="utf-8")
    check = (CONSTRUCTS / "called_check.bpmn").read_text(encoding="utf-8")
    together = client.post("/deployment/create", files=[
        ("a", ("called_check.bpmn", check.encode(), "application/xml")),
        ("b", ("call_bindings.bpmn", bindings.encode(), "application/xml"))]).json()
    caller = next(d for d in together["deployedProcessDefinitions"].values() if d["key"] == "permit_bindings")
    first = next(d for d in together["deployedProcessDefinitions"].values() if d["key"] == "permit_check")
    newer = client.post("/deployment/create", files=[("a", ("called_check.bpmn", check.replace(
        'camunda:versionTag="1.0"', 'camunda:versionTag="2.0"').encode(), "application/xml"))]).json()
    [second] = newer["deployedProcessDefinitions"].values()
    assert called(client, caller["id"]) == {second["id"]: (2, ["by_latest"]),
                                            first["id"]: (1, ["by_deployment", "by_tag", "by_version"])}
    # A version tag read from a variable is not static: that call activity is left out.
    dynamic = client.post("/deployment/create", files=[("b", ("call_bindings.bpmn", bindings.replace(
        'camunda:calledElementVersionTag="1.0"', 'camunda:calledElementVersionTag="${wantedTag}"').encode(),
        "application/xml"))]).json()
    [dynamic_caller] = dynamic["deployedProcessDefinitions"].values()
    assert called(client, dynamic_caller["id"]) == {second["id"]: (2, ["by_latest"]),
                                                    first["id"]: (1, ["by_version"])}


def test_a_call_to_a_computed_or_undeployed_process_is_left_out(client):
    [permit] = deploy(client, CONSTRUCTS / "call_permit.bpmn")["deployedProcessDefinitions"].values()
    assert called(client, permit["id"]) == {}
    [bindings] = deploy(client, CONSTRUCTS / "call_bindings.bpmn")["deployedProcessDefinitions"].values()
    assert called(client, bindings["id"]) == {}
    unknown = client.get("/process-definition/no-such-definition/static-called-process-definitions")
    assert (unknown.status_code, unknown.json()["type"]) == (404, "InvalidRequestException")

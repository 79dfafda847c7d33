"""Each process version runs under the rules of the release that deployed it, kept with it and with its
exported record: a version deployed now reads a parameter's own text as Camunda does (trimmed; empty,
null), one deployed before goes on as it ran, and the cases of both replay as they ran."""
from __future__ import annotations

import httpx
from sqlalchemy import text

from app.audit.replay import replay_document
from tests.support.bpmn_text import process
from tests.support.http import deploy_bytes, start
from tests.support.service import ADMIN_AUTH, start_service

PARAMETERS = process("semantics_review", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review"><bpmn:extensionElements><camunda:inputOutput>
    <camunda:inputParameter name="note" />
    <camunda:inputParameter name="level">  省级 </camunda:inputParameter>
  </camunda:inputOutput></bpmn:extensionElements></bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />""")


def _worked(client, root) -> tuple[dict, dict]:
    """Start a case, read its review's own variables, complete it; its export."""
    case = start(client, "semantics_review").json()["id"]
    [task] = client.get("/task", params={"processInstanceId": case}).json()
    local = client.get(f"/task/{task['id']}/localVariables").json()
    client.post(f"/task/{task['id']}/complete", json={}).raise_for_status()
    return local, root.get(f"/api/process-instances/{case}/export").json()


def test_a_version_deployed_now_reads_an_empty_parameter_as_null(service, client, root):
    deploy_bytes(client, "semantics.bpmn", PARAMETERS).raise_for_status()
    local, document = _worked(client, root)
    assert local["note"]["value"] is None and local["note"]["type"] == "Null"
    assert local["level"]["value"] == "省级"
    assert [definition["semantics"] for definition in document["definitions"]] == [2]
    assert replay_document(document, service.services.settings.zone).reproduced


def test_a_version_deployed_before_runs_and_replays_as_it_ran(service, client):
    deploy_bytes(client, "semantics.bpmn", PARAMETERS).raise_for_status()
    # As the migration left a version deployed before it; a service started afterwards reads it so.
    with service.services.db.write() as session:
        session.execute(text("UPDATE process_definition SET semantics = 1 WHERE key = 'semantics_review'"))
    replica = start_service(service.services.db.url)
    try:
        with httpx.Client(base_url=f"{replica.base_url}/engine-rest", auth=ADMIN_AUTH, timeout=30) as other, \
                httpx.Client(base_url=replica.base_url, auth=ADMIN_AUTH, timeout=30) as other_root:
            local, document = _worked(other, other_root)
    finally:
        replica.stop()
    assert local["note"] == {"type": "String", "value": "", "valueInfo": {}}
    assert local["level"]["value"] == "  省级 "
    zone = service.services.settings.zone
    assert [definition["semantics"] for definition in document["definitions"]] == [1]
    assert replay_document(document, zone).reproduced
    # A record exported before versions kept their rules names none: it ran under the first.
    for definition in document["definitions"]:
        del definition["semantics"]
    assert replay_document(document, zone).reproduced
    document["definitions"][0]["semantics"] = 7
    replayed = replay_document(document, zone)
    assert not replayed.reproduced and "rules this release does not know" in replayed.divergence

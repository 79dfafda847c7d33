"""Each process version runs under the rules of the release that deployed it, kept with it and with its
exported record: a version deployed now reads a parameter's own text as Camunda does (trimmed; empty,
null) and counts a timer's months on the service's calendar, one deployed before goes on as it ran,
and the cases of both replay as they ran."""
from __future__ import annotations

import httpx
from sqlalchemy import text

from app.audit.replay import replay_document
from app.engine import SEMANTICS
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
PUBLICITY = process("semantics_publicity", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="publicity" />
  <bpmn:intermediateCatchEvent id="publicity" name="公示一个月"><bpmn:timerEventDefinition>
    <bpmn:timeDuration>P1M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f2" sourceRef="publicity" targetRef="end" /><bpmn:endEvent id="end" />""")


def _worked(client, root) -> tuple[dict, dict]:
    """Start a case, read its review's own variables, complete it; its export."""
    case = start(client, "semantics_review").json()["id"]
    [task] = client.get("/task", params={"processInstanceId": case}).json()
    local = client.get(f"/task/{task['id']}/localVariables").json()
    client.post(f"/task/{task['id']}/complete", json={}).raise_for_status()
    return local, root.get(f"/api/process-instances/{case}/export").json()


def _published(client, root) -> tuple[str, dict]:
    """Start a case of a month's publicity at 03:00 in Shanghai (the day before in UTC): when its
    publicity ends; its export once it has."""
    root.post("/api/clock", json={"set": "2027-03-01T03:00:00+08:00"}).raise_for_status()
    case = start(client, "semantics_publicity").json()["id"]
    [job] = client.get("/job", params={"processInstanceId": case}).json()
    root.post("/api/clock", json={"set": job["dueDate"]}).raise_for_status()
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    return job["dueDate"], root.get(f"/api/process-instances/{case}/export").json()


def _on_a_replica_as_deployed_before(service, key: str, rules: int, work):
    """`work(client, root)` on a service started after the version of `key` was set to `rules`, as the
    migration left a version deployed before it (a service started afterwards reads it so)."""
    with service.services.db.write() as session:
        session.execute(text("UPDATE process_definition SET semantics = :rules WHERE key = :key"),
                        {"rules": rules, "key": key})
    replica = start_service(service.services.db.url)
    try:
        with httpx.Client(base_url=f"{replica.base_url}/engine-rest", auth=ADMIN_AUTH, timeout=30) as other, \
                httpx.Client(base_url=replica.base_url, auth=ADMIN_AUTH, timeout=30) as other_root:
            return work(other, other_root)
    finally:
        replica.stop()


def test_a_version_deployed_now_reads_an_empty_parameter_as_null(service, client, root):
    deploy_bytes(client, "semantics.bpmn", PARAMETERS).raise_for_status()
    local, document = _worked(client, root)
    assert local["note"]["value"] is None and local["note"]["type"] == "Null"
    assert local["level"]["value"] == "省级"
    assert [definition["semantics"] for definition in document["definitions"]] == [SEMANTICS]
    assert replay_document(document, service.services.settings.zone).reproduced


def test_a_version_deployed_now_counts_a_month_on_the_services_calendar(service, client, root):
    deploy_bytes(client, "publicity.bpmn", PUBLICITY).raise_for_status()
    ends, document = _published(client, root)
    assert ends == "2027-04-01T03:00:00.000+0800"  # as Camunda, a month from 1 March on its zone's calendar
    assert replay_document(document, service.services.settings.zone).reproduced


def test_a_version_deployed_before_counts_its_months_and_replays_as_it_ran(service, client):
    deploy_bytes(client, "publicity.bpmn", PUBLICITY).raise_for_status()
    ends, document = _on_a_replica_as_deployed_before(service, "semantics_publicity", 2, _published)
    assert ends == "2027-03-29T03:00:00.000+0800"  # a month from 28 February, UTC's date
    assert [definition["semantics"] for definition in document["definitions"]] == [2]
    assert replay_document(document, service.services.settings.zone).reproduced


def test_a_version_deployed_before_runs_and_replays_as_it_ran(service, client):
    deploy_bytes(client, "semantics.bpmn", PARAMETERS).raise_for_status()
    local, document = _on_a_replica_as_deployed_before(service, "semantics_review", 1, _worked)
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

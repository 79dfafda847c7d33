"""Decisions (DMN) deployed and evaluated as Camunda does, business rule tasks that route by them
(CPA-14), one instance started per listed case (CPA-02), the agency register kept by processes
(CPA-09, CPA-12), and confidential variables readable only by the departments handling the case
(CPA-16), over real HTTP on the real database."""
from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select

from app.access import accounts
from app.audit.replay import replay_document
from app.errors import Unauthenticated
from app.persistence.models import HistoryEvent, ProcessInstance
from tests.support.bpmn_text import grading, process, properties
from tests.support.http import as_user, complete, deploy_bytes, start
from tests.support.processes import GRADED, SECRET


def groups_of_open_task(client, instance_id: str) -> list[str]:
    [task] = client.get("/task", params={"processInstanceId": instance_id}).json()
    links = client.get(f"/task/{task['id']}/identity-links").json()
    return sorted(link["groupId"] for link in links if link["groupId"])


def test_decisions_deploy_version_and_evaluate_as_camunda_does(client):
    first = deploy_bytes(client, "grading.dmn", grading("region"))
    assert first.status_code == 200, first.text
    [(decision_id, decision)] = first.json()["deployedDecisionDefinitions"].items()
    assert decision["key"] == "grading" and decision["version"] == 1 and first.json()["deployedProcessDefinitions"] is None
    unchanged = client.post("/deployment/create", data={"enable-duplicate-filtering": "true"},
                            files=[("data", ("grading.dmn", grading("region"), "application/xml"))])
    assert unchanged.json()["id"] == first.json()["id"]
    deploy_bytes(client, "grading.dmn", grading("county")).raise_for_status()
    assert [d["version"] for d in client.get("/decision-definition", params={"key": "grading"}).json()] == [1, 2]
    assert client.get("/decision-definition/key/grading").json()["version"] == 2
    assert "decisionTable" in client.get(f"/decision-definition/{decision_id}/xml").json()["dmnXml"]
    evaluated = client.post(f"/decision-definition/{decision_id}/evaluate",
                            json={"variables": {"size": {"value": "large", "type": "String"}}})
    assert evaluated.json() == [{"level": {"type": "String", "value": "region", "valueInfo": {}}}]
    latest = client.post("/decision-definition/key/grading/evaluate", json={"variables": {"size": {"value": "large"}}})
    assert latest.json()[0]["level"]["value"] == "county"
    missing = client.post("/decision-definition/key/grading/evaluate", json={"variables": {}})
    assert missing.status_code == 400 and "'size' is not set" in missing.json()["message"]
    assert client.get("/decision-definition/key/nothing").status_code == 404


@pytest.mark.parametrize("namespace", ["http://www.omg.org/spec/DMN/20151101/dmn11.xsd",
                                       "https://www.omg.org/spec/DMN/20191111/DMN13.xsd",
                                       "https://www.omg.org/spec/DMN/20211108/MODEL/"])
def test_decision_files_of_every_dmn_namespace_camunda_reads_deploy_and_evaluate(client, namespace):
    table = grading("region").replace(b"https://www.omg.org/spec/DMN/20191111/MODEL/", namespace.encode())
    assert deploy_bytes(client, "grading.dmn", table).status_code == 200
    evaluated = client.post("/decision-definition/key/grading/evaluate", json={"variables": {"size": {"value": "large"}}})
    assert evaluated.json()[0]["level"]["value"] == "region"


def test_a_business_rule_task_routes_by_the_latest_table_and_records_the_evaluation(client, service):
    deploy_bytes(client, "graded.bpmn", GRADED).raise_for_status()
    refused = start(client, "graded", size="large")
    assert refused.status_code == 400 and "decision 'grading' is not deployed" in refused.json()["message"]
    with service.services.db.read() as session:
        assert session.scalars(select(ProcessInstance)).all() == []  # nothing of the failed start is saved
    deploy_bytes(client, "grading.dmn", grading("region")).raise_for_status()
    first = start(client, "graded", size="large").json()
    assert groups_of_open_task(client, first["id"]) == ["region-env"]
    assert groups_of_open_task(client, start(client, "graded", size="small").json()["id"]) == ["prefecture-env"]
    # The province changes its grading: a new version of the table, the process untouched.
    deploy_bytes(client, "grading.dmn", grading("county")).raise_for_status()
    assert groups_of_open_task(client, start(client, "graded", size="large").json()["id"]) == ["county-env"]
    assert groups_of_open_task(client, first["id"]) == ["region-env"]
    with service.services.db.read() as session:
        [event] = session.scalars(select(HistoryEvent).where(HistoryEvent.process_instance_id == first["id"],
                                                             HistoryEvent.kind == "decision.evaluated")).all()
    assert event.payload["inputs"] == {"规模": "large"} and event.payload["matched_rules"] == ["large"]
    assert event.payload["result"] == "region" and event.payload["decision_definition_id"].startswith("grading:1:")


def test_a_business_rule_task_without_result_variable_gives_its_outputs_the_whole_result_as_camunda_does(client):
    deploy_bytes(client, "grading.dmn", grading("region")).raise_for_status()
    mapped = process("mapped", """
  <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g" />
  <bpmn:businessRuleTask id="g" camunda:decisionRef="grading"><bpmn:extensionElements><camunda:inputOutput>
    <camunda:outputParameter name="graded">${decisionResult}</camunda:outputParameter>
  </camunda:inputOutput></bpmn:extensionElements></bpmn:businessRuleTask>
  <bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="w" /><bpmn:userTask id="w" />
  <bpmn:sequenceFlow id="f3" sourceRef="w" targetRef="e" /><bpmn:endEvent id="e" />""")
    deploy_bytes(client, "mapped.bpmn", mapped).raise_for_status()
    case = start(client, "mapped", size="large").json()["id"]
    variables = client.get(f"/process-instance/{case}/variables").json()
    # Camunda's resultList: one map per matched rule; decisionResult itself was the task's own.
    assert variables["graded"]["type"] == "Json" and json.loads(variables["graded"]["value"]) == [{"level": "region"}]
    assert set(variables) == {"size", "graded"}
    kept_nowhere = mapped.replace(b"<camunda:outputParameter name=\"graded\">${decisionResult}</camunda:outputParameter>",
                                  b"").replace(b'"mapped"', b'"unmapped"')
    deploy_bytes(client, "unmapped.bpmn", kept_nowhere).raise_for_status()
    case = start(client, "unmapped", size="large").json()["id"]
    assert set(client.get(f"/process-instance/{case}/variables").json()) == {"size"}


def test_a_business_rule_task_needs_a_decision_or_an_external_implementation(client):
    bad = process("bad", '<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="g" />'
                         '<bpmn:businessRuleTask id="g" />')
    response = deploy_bytes(client, "bad.bpmn", bad)
    assert response.status_code == 400, response.text
    assert "camunda:decisionRef" in response.json()["message"] and "external" in response.json()["message"]
    named = bad.replace(b'<bpmn:businessRuleTask id="g" />',
                        b'<bpmn:businessRuleTask id="g" camunda:decisionRef="grading" camunda:resultVariable="a b" />')
    response = deploy_bytes(client, "bad.bpmn", named)
    assert response.status_code == 400 and "'a b' is no variable name" in response.json()["message"]


@pytest.mark.parametrize("tag", ["businessRuleTask", "sendTask"])
def test_business_rule_and_send_tasks_of_type_external_are_external_tasks_as_in_camunda(client, tag):
    body = (f'<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t" />'
            f'<bpmn:{tag} id="t" camunda:type="external" camunda:topic="notify" />'
            '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e" /><bpmn:endEvent id="e" />')
    deploy_bytes(client, "worked.bpmn", process("worked", body)).raise_for_status()
    case = start(client, "worked").json()["id"]
    [task] = client.post("/external-task/fetchAndLock", json={
        "workerId": "w", "maxTasks": 5, "topics": [{"topicName": "notify", "lockDuration": 60_000}]}).json()
    assert task["activityId"] == "t" and task["processInstanceId"] == case
    assert client.post(f"/external-task/{task['id']}/complete", json={"workerId": "w"}).status_code == 204
    assert client.get(f"/history/process-instance/{case}").json()["state"] == "COMPLETED"
    [worked] = client.get("/history/activity-instance", params={"processInstanceId": case, "activityId": "t"}).json()
    assert worked["activityType"] == tag
    if tag == "businessRuleTask":
        # An external one keeps no decision's result: its resultVariable may be any name, as in Camunda.
        kept = process("kept", body.replace('camunda:topic="notify"', 'camunda:topic="notify" '
                                                                      'camunda:resultVariable="decisionResult"'))
        answer = deploy_bytes(client, "kept.bpmn", kept)
        assert answer.status_code == 200, answer.text
    mail = process("mail", body.replace('camunda:type="external" camunda:topic="notify"', 'camunda:type="mail"'))
    refused = deploy_bytes(client, "mail.bpmn", mail)
    assert refused.status_code == 400 and "external task" in refused.json()["message"], refused.text


def graded_by(key: str, reference: str) -> bytes:
    """A process whose business rule task evaluates the decision `reference` names (its attributes)."""
    return process(key, f"""
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="grade" />
  <bpmn:businessRuleTask id="grade" {reference} camunda:resultVariable="level" camunda:mapDecisionResult="singleEntry" />
  <bpmn:sequenceFlow id="f2" sourceRef="grade" targetRef="supervise" />
  <bpmn:userTask id="supervise" camunda:candidateGroups="${{level}}-env" />
  <bpmn:sequenceFlow id="f3" sourceRef="supervise" targetRef="end" /><bpmn:endEvent id="end" />""")


def test_a_decision_reference_may_read_the_execution(client):
    for goes_to, tag in (("region", "2025"), ("county", "2026")):
        deploy_bytes(client, "grading.dmn", grading(goes_to, tag)).raise_for_status()
    deploy_bytes(client, "yearly.bpmn", graded_by("yearly", 'camunda:decisionRef="grading" '
                 'camunda:decisionRefBinding="versionTag" '
                 'camunda:decisionRefVersionTag="${execution.processBusinessKey}"')).raise_for_status()
    assert groups_of_open_task(client, start(client, "yearly", "2026", size="large").json()["id"]) == ["county-env"]


def test_a_business_rule_task_finds_its_decision_by_version_tag_version_or_deployment_named_by_expressions(client):
    for goes_to, tag in (("region", "2025"), ("county", "2026"), ("province", None)):
        deploy_bytes(client, "grading.dmn", grading(goes_to, tag)).raise_for_status()
    deploy_bytes(client, "tagged.bpmn", graded_by("tagged", 'camunda:decisionRef="${table}" '
                 'camunda:decisionRefBinding="versionTag" camunda:decisionRefVersionTag="${year}"')).raise_for_status()
    deploy_bytes(client, "pinned.bpmn", graded_by("pinned", 'camunda:decisionRef="grading" '
                 'camunda:decisionRefBinding="version" camunda:decisionRefVersion="${version}"')).raise_for_status()
    assert groups_of_open_task(client, start(client, "tagged", table="grading", year="2025", size="large").json()["id"]
                               ) == ["region-env"]
    assert groups_of_open_task(client, start(client, "tagged", table="grading", year="2026", size="large").json()["id"]
                               ) == ["county-env"]
    assert groups_of_open_task(client, start(client, "pinned", version=2, size="large").json()["id"]) == ["county-env"]
    assert groups_of_open_task(client, start(client, "pinned", version="1", size="large").json()["id"]) == ["region-env"]
    untagged = start(client, "tagged", table="grading", year="2024", size="large")
    assert untagged.status_code == 400
    assert "the decision 'grading' with version tag '2024' is not deployed" in untagged.json()["message"]
    no_key = start(client, "tagged", year="2025", size="large")
    assert no_key.status_code == 400 and "table" in no_key.json()["message"]
    not_a_version = start(client, "pinned", version="latest", size="large")
    assert not_a_version.status_code == 400
    assert "camunda:decisionRefVersion gives no version number ('latest')" in not_a_version.json()["message"]
    # A version tag two versions carry names no decision, as in Camunda.
    deploy_bytes(client, "grading.dmn", grading("city", "2026")).raise_for_status()
    twice = start(client, "tagged", table="grading", year="2026", size="large")
    assert twice.status_code == 400 and "several versions of the decision 'grading'" in twice.json()["message"]
    # Binding 'deployment': the version deployed with the process, whatever is deployed later.
    bundled = client.post("/deployment/create", files=[
        ("process", ("bundled.bpmn", graded_by("bundled", 'camunda:decisionRef="grading" '
                                                          'camunda:decisionRefBinding="deployment"'), "application/xml")),
        ("decision", ("grading.dmn", grading("city"), "application/xml"))])
    assert bundled.status_code == 200, bundled.text
    deploy_bytes(client, "grading.dmn", grading("county")).raise_for_status()
    assert groups_of_open_task(client, start(client, "bundled", size="large").json()["id"]) == ["city-env"]


def test_a_business_rule_task_binding_lacking_its_version_or_tag_is_refused_at_deploy(client):
    for attributes, reason in (('camunda:decisionRefBinding="versionTag"', "needs camunda:decisionRefVersionTag"),
                               ('camunda:decisionRefBinding="version" camunda:decisionRefVersion="two"',
                                "needs camunda:decisionRefVersion, a version number or an expression"),
                               ('camunda:decisionRefBinding="newest"', "'newest' is not supported")):
        response = deploy_bytes(client, "bad.bpmn", graded_by("bad", f'camunda:decisionRef="grading" {attributes}'))
        assert response.status_code == 400 and reason in response.json()["message"], response.text

LISTING = process("listing", f"""
  <bpmn:startEvent id="start" />
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="publish" />
  <bpmn:userTask id="publish" name="公布名单" camunda:candidateGroups="xj-env">
    {properties(startProcess="case", startProcessFor="listed", startBusinessKey="enterprise_id",
                startVariables="batch")}</bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="publish" targetRef="end" />
  <bpmn:endEvent id="end" />""")
CASE = process("case", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
  <bpmn:userTask id="work" name="审核" camunda:candidateGroups="enterprise-${enterprise_id}" />
  <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" /><bpmn:endEvent id="end" />""")


def test_a_published_list_starts_one_instance_per_enterprise_in_the_same_unit_of_work(client, service):
    deploy_bytes(client, "listing.bpmn", LISTING).raise_for_status()
    deploy_bytes(client, "case.bpmn", CASE).raise_for_status()
    listing = start(client, "listing", batch="2026-1").json()["id"]
    duplicate = [{"enterprise_id": "E1"}, {"enterprise_id": "E1"}]
    refused = complete(client, listing, listed=duplicate)
    assert refused.status_code == 400 and "'E1' is listed twice" in refused.json()["message"]
    assert client.get("/process-instance", params={"processDefinitionKey": "case"}).json() == []
    assert len(client.get("/task", params={"processInstanceId": listing}).json()) == 1  # still open
    listed = [{"enterprise_id": "E1", "enterprise_name": "甲厂"}, {"enterprise_id": "E2", "enterprise_name": "乙厂"}]
    assert complete(client, listing, listed=listed).status_code == 204
    cases = client.get("/process-instance", params={"processDefinitionKey": "case"}).json()
    assert sorted(case["businessKey"] for case in cases) == ["E1", "E2"]
    e2 = next(case for case in cases if case["businessKey"] == "E2")
    values = client.get(f"/process-instance/{e2['id']}/variables").json()
    assert {name: values[name]["value"] for name in ("enterprise_name", "batch", "started_by")} == {
        "enterprise_name": "乙厂", "batch": "2026-1", "started_by": listing}
    assert groups_of_open_task(client, e2["id"]) == ["enterprise-E2"]
    with service.services.db.read() as session:
        [event] = session.scalars(select(HistoryEvent).where(HistoryEvent.process_instance_id == listing,
                                                             HistoryEvent.kind == "instances.started")).all()
    assert sorted(s["business_key"] for s in event.payload["started"]) == ["E1", "E2"]


REGISTRATION = process("register_agency", f"""
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review" name="审查" camunda:candidateGroups="xj-env" />
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="registered" />
  <bpmn:endEvent id="registered">{properties(agencyStanding="registered")}</bpmn:endEvent>""")
COMMISSION = process("commission", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
  <bpmn:exclusiveGateway id="check" default="refused_flow" />
  <bpmn:sequenceFlow id="ok" sourceRef="check" targetRef="audit">
    <bpmn:conditionExpression>${agencyStanding(agency_id) == 'registered'}</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="refused_flow" sourceRef="check" targetRef="refused" />
  <bpmn:userTask id="audit" name="审核" camunda:candidateGroups="agency-${agency_id}" />
  <bpmn:endEvent id="refused" />""")


def test_processes_keep_the_agency_register_and_consult_it(client, root, service):
    deploy_bytes(client, "registration.bpmn", REGISTRATION).raise_for_status()
    deploy_bytes(client, "commission.bpmn", COMMISSION).raise_for_status()
    unregistered = start(client, "commission", agency_id="A1").json()
    assert unregistered["ended"] is True
    with service.services.db.read() as session:  # the register's answer is part of the step's history
        [consulted] = session.scalars(select(HistoryEvent).where(
            HistoryEvent.process_instance_id == unregistered["id"], HistoryEvent.kind == "register.consulted")).all()
    assert consulted.payload == {"function": "agencyStanding", "arguments": ["A1"], "result": "none"}
    registration = start(client, "register_agency", agency_id="A1", agency_name="某咨询公司").json()["id"]
    assert root.get("/api/agencies/A1").status_code == 404
    assert complete(client, registration).status_code == 204
    agency = root.get("/api/agencies/A1").json()
    assert agency["status"] == "registered" and agency["decidedByInstanceId"] == registration
    assert [a["agencyId"] for a in root.get("/api/agencies", params={"status": "registered"}).json()] == ["A1"]
    assert root.get("/api/agencies", params={"status": "bogus"}).status_code == 400
    assert start(client, "commission", agency_id="A1").json()["ended"] is False
    again = start(client, "register_agency", agency_id="A1", agency_name="某咨询公司").json()["id"]
    refused = complete(client, again)
    assert refused.status_code == 400 and "an agency becomes registered only from" in refused.json()["message"]


def test_confidential_variables_are_read_only_by_the_departments_handling_the_case(client, service):
    accounts.save_account(service.services, "handler", "handler-password", ["xj-urumqi-env"])
    # An auditor of the region named by the process, and one who reads every case but not its secrets.
    accounts.save_account(service.services, "auditor", "auditor-password", ["auditors", "xj-auditors"])
    accounts.save_account(service.services, "inspector", "inspector-password", ["auditors"])
    accounts.save_account(service.services, "outsider", "outsider-password", ["xj-kashgar-env"])
    deploy_bytes(client, "secret.bpmn", SECRET).raise_for_status()
    instance = start(client, "secret_case", enterprise_id="E1", audit_data="物料平衡：…").json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    reads = {
        "instance variables": lambda http: http.get(f"/process-instance/{instance}/variables").json(),
        "task variables": lambda http: http.get(f"/task/{task['id']}/variables").json(),
        # A form lists its fields; the value of a confidential one is left empty for others.
        "task form variables": lambda http: {name: field for name, field in http.get(
            f"/task/{task['id']}/form-variables").json().items() if field["value"] is not None},
        "variable instances": lambda http: {row["name"]: row for row in http.get(
            "/variable-instance", params={"processInstanceIdIn": instance}).json()},
        "historic variables": lambda http: {row["name"]: row for row in http.get(
            "/history/variable-instance", params={"processInstanceId": instance}).json()},
    }
    with as_user(service, None) as http:  # without credentials nothing at all is read
        assert all(http.get(path).status_code == 401 for path in (
            f"/process-instance/{instance}/variables", f"/task/{task['id']}/variables",
            f"/history/variable-instance?processInstanceId={instance}"))
    for user, sees in (("handler", True), ("auditor", True), ("inspector", False)):
        with as_user(service, user) as http:
            for what, read in reads.items():
                values = read(http)
                assert ("audit_data" in values) is sees, f"{user} reading {what}"
                if what != "task form variables":
                    assert "enterprise_id" in values, f"{user} reading {what}"
            single = http.get(f"/process-instance/{instance}/variables/audit_data")
            assert single.status_code == (200 if sees else 404)
            # Nor can a query on the variable tell its value to one who may not read it.
            probe = http.post("/process-instance/count", json={"variables": [
                {"name": "audit_data", "operator": "like", "value": "物料%"}]})
            assert probe.json() == {"count": 1 if sees else 0}, user
    with as_user(service, "outsider") as http:  # not in the case: it reads nothing of it
        assert http.get(f"/process-instance/{instance}/variables").status_code == 403
        assert http.get(f"/task/{task['id']}/variables").status_code == 403
        assert http.get("/history/variable-instance", params={"processInstanceId": instance}).json() == []
    with as_user(service, "handler") as http:
        http.auth = ("handler", "wrong-password")
        refused = http.get(f"/process-instance/{instance}/variables")
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
    assert refused.json()["type"] == "AuthenticationException"


def test_accounts_are_administered_by_command_and_keep_no_password(tmp_path, monkeypatch):
    from app.cli import main
    from app.main import build_services
    from app.persistence.models import Account
    from app.settings import Settings, get_settings

    url = f"sqlite:///{tmp_path / 'accounts.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ACCOUNT_PASSWORD", "li-ming-password")
    get_settings.cache_clear()
    try:
        main(["account", "li.ming", "--group", "xj-urumqi-env", "--group", "xj-auditors", "--name", "李明"])
    finally:
        get_settings.cache_clear()
    services = build_services(Settings(database_url=url))
    try:
        with services.db.read() as session:
            stored = session.get(Account, "li.ming").password_hash
        assert "li-ming-password" not in stored and stored.startswith("scrypt$")
        header = "Basic " + base64.b64encode(b"li.ming:li-ming-password").decode()
        principal = accounts.principal_of(services, header)
        assert principal.user_id == "li.ming" and principal.groups == {"xj-urumqi-env", "xj-auditors"}
        wrong = "Basic " + base64.b64encode(b"li.ming:guess").decode()
        with pytest.raises(Unauthenticated):
            accounts.principal_of(services, wrong)
    finally:
        services.db.dispose()


# A table whose rules leave outputs empty: 罚款 only where a fine is due, 整改 only where one is ordered.
SANCTIONS = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="sanctions" namespace="n">
  <decision id="sanction" name="处罚"><decisionTable id="t" hitPolicy="RULE ORDER">
    <input id="i"><inputExpression id="e" typeRef="string"><text>finding</text></inputExpression></input>
    <output id="o1" name="fine" typeRef="integer" /><output id="o2" name="order" typeRef="string" />
    <rule id="excess"><inputEntry id="a1"><text>"excess"</text></inputEntry>
      <outputEntry id="b1"><text>50000</text></outputEntry><outputEntry id="c1" /></rule>
    <rule id="late"><inputEntry id="a2"><text>"excess","late"</text></inputEntry>
      <outputEntry id="b2" /><outputEntry id="c2"><text>"30日内整改"</text></outputEntry></rule>
    <rule id="none"><inputEntry id="a3"><text>"none"</text></inputEntry><outputEntry id="b3" /><outputEntry id="c3" /></rule>
  </decisionTable></decision>
</definitions>""".encode()


def sanctioned(client, mapping: str, finding: str) -> dict:
    key = f"sanction_{mapping}"
    deploy_bytes(client, f"{key}.bpmn", process(key, f"""
      <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="decide" />
      <bpmn:businessRuleTask id="decide" camunda:decisionRef="sanction" camunda:resultVariable="sanction"
          camunda:mapDecisionResult="{mapping}" />
      <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="look" /><bpmn:userTask id="look" />""")
                 ).raise_for_status()
    return client.post(f"/process-definition/key/{key}/start",
                       json={"variables": {"finding": {"value": finding}}, "withVariablesInReturn": True})


def test_an_empty_output_entry_gives_its_rule_no_value_for_that_output_as_in_camunda(client):
    deploy_bytes(client, "sanctions.dmn", SANCTIONS).raise_for_status()
    evaluated = client.post("/decision-definition/key/sanction/evaluate",
                            json={"variables": {"finding": {"value": "excess"}}})
    assert evaluated.status_code == 200, evaluated.text
    assert evaluated.json() == [{"fine": {"type": "Integer", "value": 50000, "valueInfo": {}}},
                                {"order": {"type": "String", "value": "30日内整改", "valueInfo": {}}}]
    # singleEntry: the one output a rule gives, or null where it gives none.
    late = sanctioned(client, "singleEntry", "late")
    assert late.status_code == 200, late.text
    assert late.json()["variables"]["sanction"]["value"] == "30日内整改"
    assert sanctioned(client, "singleEntry", "none").json()["variables"]["sanction"]["value"] is None
    # collectEntries: the values of one output; two outputs given are refused, in plain words.
    refused = sanctioned(client, "collectEntries", "excess")
    assert refused.status_code == 400 and "gives the outputs fine, order" in refused.json()["message"]
    assert json.loads(sanctioned(client, "singleResult", "late").json()["variables"]["sanction"]["value"]) == {
        "order": "30日内整改"}


def test_a_case_recorded_when_empty_outputs_gave_null_still_replays_as_it_ran(client, root, service):
    deploy_bytes(client, "sanctions.dmn", SANCTIONS).raise_for_status()
    started = sanctioned(client, "resultList", "excess")
    assert started.status_code == 200, started.text
    case = started.json()["id"]
    assert json.loads(started.json()["variables"]["sanction"]["value"]) == [{"fine": 50000}, {"order": "30日内整改"}]
    assert root.get(f"/api/process-instances/{case}/replay").json()["reproduced"]
    document = root.get(f"/api/process-instances/{case}/export").json()
    [evaluated] = [event for event in document["events"] if event["kind"] == "decision.evaluated"]
    assert evaluated["payload"]["blank_outputs"] == "omitted"
    # The same case as the service recorded it before: no mark, and the empty outputs kept as null.
    del evaluated["payload"]["blank_outputs"]
    zone = service.services.settings.zone
    assert not replay_document(document, zone).reproduced  # the stored value is today's
    document["instance"]["variables"]["sanction"] = [{"fine": 50000, "order": None}, {"fine": None, "order": "30日内整改"}]
    assert replay_document(document, zone).reproduced

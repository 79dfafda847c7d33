"""Decision requirements definitions as Camunda keeps them (one version per deployed DMN file of
several decisions, none for a file of one), the decisions linked to them, and the decision definition
operations by key and tenant and on the history time to live, and a decision requirements graph
evaluated as Camunda evaluates it, over real HTTP on the real database."""
from __future__ import annotations

import json

from app.access import accounts
from tests.support.bpmn_text import DMN_NS, grading, process
from tests.support.http import as_user, deploy, deploy_bytes
from tests.support.paths import FIXTURES


def supervision(county_level: str = "county", name: str = "监管规则") -> bytes:
    """A DMN file of two decisions: the supervision level and the inspection frequency."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="{DMN_NS}" xmlns:camunda="http://camunda.org/schema/1.0/dmn" id="supervision_rules"
    name="{name}" namespace="http://eco.example/dmn">
  <decision id="supervision_level" name="监管级别"><decisionTable id="t1">
    <input id="in_size" label="规模"><inputExpression id="e1" typeRef="string"><text>size</text></inputExpression></input>
    <output id="out_level" label="级别" name="level" typeRef="string" />
    <rule id="r_large"><inputEntry id="a1"><text>"large"</text></inputEntry><outputEntry id="b1"><text>"province"</text></outputEntry></rule>
    <rule id="r_other"><inputEntry id="a2"><text>-</text></inputEntry><outputEntry id="b2"><text>"{county_level}"</text></outputEntry></rule>
  </decisionTable></decision>
  <decision id="inspection_frequency" name="检查频次"><decisionTable id="t2" hitPolicy="FIRST">
    <input id="in_risk" label="风险"><inputExpression id="e2" typeRef="integer"><text>risk</text></inputExpression></input>
    <output id="out_times" label="次数" name="times" typeRef="integer" />
    <rule id="r_high"><inputEntry id="a3"><text>&gt;= 3</text></inputEntry><outputEntry id="b3"><text>4</text></outputEntry></rule>
    <rule id="r_low"><inputEntry id="a4"><text>-</text></inputEntry><outputEntry id="b4"><text>1</text></outputEntry></rule>
  </decisionTable></decision>
</definitions>""".encode()


def deploy_for(client, name: str, content: bytes, tenant_id: str | None = None):
    data = {"tenant-id": tenant_id} if tenant_id else {}
    response = client.post("/deployment/create", data=data, files=[("data", (name, content, "application/xml"))])
    assert response.status_code == 200, response.text
    return response.json()


def test_a_file_of_several_decisions_is_a_versioned_requirements_definition(client):
    first = deploy_for(client, "supervision.dmn", supervision())
    deploy_for(client, "grading.dmn", grading("region"))
    [drd] = client.get("/decision-requirements-definition").json()
    assert drd == {"id": drd["id"], "key": "supervision_rules", "category": "http://eco.example/dmn", "name": "监管规则",
                   "version": 1, "resource": "supervision.dmn", "deploymentId": first["id"], "tenantId": None}
    assert first["deployedDecisionRequirementsDefinitions"] == {drd["id"]: drd}
    assert {row["decisionRequirementsDefinitionId"] for row in first["deployedDecisionDefinitions"].values()} \
        == {drd["id"]}
    linked = {row["key"]: (row["decisionRequirementsDefinitionId"], row["decisionRequirementsDefinitionKey"])
              for row in client.get("/decision-definition").json()}
    # Camunda keeps no requirements definition for a file of one decision.
    assert linked == {"supervision_level": (drd["id"], "supervision_rules"),
                      "inspection_frequency": (drd["id"], "supervision_rules"), "grading": (None, None)}

    assert [row["key"] for row in client.get("/decision-definition", params={
        "decisionRequirementsDefinitionKey": "supervision_rules"}).json()] == ["inspection_frequency",
                                                                               "supervision_level"]
    assert client.get("/decision-definition/count", params={"decisionRequirementsDefinitionId": drd["id"]}
                      ).json() == {"count": 2}
    second = deploy_for(client, "supervision.dmn", supervision("prefecture", name="监管规则（修订）"))
    assert [row["version"] for row in client.get("/decision-requirements-definition",
                                                 params={"sortBy": "version", "sortOrder": "desc"}).json()] == [2, 1]
    newest = client.get("/decision-requirements-definition/key/supervision_rules").json()
    assert newest["version"] == 2 and newest["deploymentId"] == second["id"] and newest["name"] == "监管规则（修订）"
    assert client.get("/decision-definition/key/supervision_level").json()["decisionRequirementsDefinitionId"] \
        == newest["id"]
    assert client.get("/decision-requirements-definition/count").json() == {"count": 2}
    for params, versions in [({"latestVersion": "true"}, [2]), ({"nameLike": "%修订%"}, [2]),
                             ({"deploymentId": first["id"]}, [1]), ({"resourceName": "supervision.dmn"}, [1, 2]),
                             ({"key": "grading"}, []), ({"keyLike": "supervision%", "version": "1"}, [1]),
                             ({"decisionRequirementsDefinitionIdIn": newest["id"]}, [2]),
                             ({"category": "http://eco.example/dmn"}, [1, 2])]:
        assert [row["version"] for row in client.get("/decision-requirements-definition", params=params).json()] \
            == versions, params
    xml = client.get(f"/decision-requirements-definition/{drd['id']}/xml").json()
    assert xml["id"] == drd["id"] and '"county"' in xml["dmnXml"] and "inspection_frequency" in xml["dmnXml"]
    assert '"prefecture"' in client.get("/decision-requirements-definition/key/supervision_rules/xml").json()["dmnXml"]
    assert client.get(f"/decision-requirements-definition/{drd['id']}").json() == drd
    assert client.get(f"/decision-requirements-definition/{drd['id']}/diagram").status_code == 204
    assert client.get("/decision-requirements-definition/key/supervision_rules/diagram").status_code == 204
    missing = client.get("/decision-requirements-definition/key/grading")
    assert missing.status_code == 404
    assert missing.json()["message"] == "No matching decision requirements definition with key: grading and no tenant-id"
    assert client.get("/decision-requirements-definition/nothing/xml").status_code == 404
    refused = client.get("/decision-requirements-definition", params={"sortBy": "size"})
    assert refused.status_code == 400


def test_requirements_and_decisions_of_a_tenant_are_found_by_key_and_tenant(client):
    deploy_for(client, "supervision.dmn", supervision())
    zj = deploy_for(client, "supervision.dmn", supervision("prefecture"), tenant_id="zj")
    drd = client.get("/decision-requirements-definition/key/supervision_rules/tenant-id/zj").json()
    assert drd["tenantId"] == "zj" and drd["version"] == 1 and drd["deploymentId"] == zj["id"]
    assert client.get("/decision-requirements-definition/key/supervision_rules").json()["tenantId"] is None
    assert '"prefecture"' in client.get(
        "/decision-requirements-definition/key/supervision_rules/tenant-id/zj/xml").json()["dmnXml"]
    assert client.get("/decision-requirements-definition/key/supervision_rules/tenant-id/zj/diagram"
                      ).status_code == 204
    unknown = client.get("/decision-requirements-definition/key/supervision_rules/tenant-id/sh")
    assert unknown.status_code == 404 and unknown.json()["message"] == (
        "No matching decision requirements definition with key: supervision_rules and tenant-id: sh")
    assert [row["tenantId"] for row in client.get("/decision-requirements-definition",
                                                  params={"tenantIdIn": "zj"}).json()] == ["zj"]
    assert [row["tenantId"] for row in client.get("/decision-requirements-definition",
                                                  params={"withoutTenantId": "true"}).json()] == [None]
    both = client.get("/decision-requirements-definition", params={
        "tenantIdIn": "zj", "includeDecisionRequirementsDefinitionsWithoutTenantId": "true"}).json()
    assert sorted(str(row["tenantId"]) for row in both) == ["None", "zj"]

    decision = client.get("/decision-definition/key/supervision_level/tenant-id/zj").json()
    assert decision["tenantId"] == "zj" and decision["decisionRequirementsDefinitionId"] == drd["id"]
    assert client.get("/decision-definition/key/supervision_level").json()["tenantId"] is None
    assert '"prefecture"' in client.get("/decision-definition/key/supervision_level/tenant-id/zj/xml").json()["dmnXml"]
    assert client.get("/decision-definition/key/supervision_level/tenant-id/zj/diagram").status_code == 204
    evaluated = client.post("/decision-definition/key/supervision_level/tenant-id/zj/evaluate",
                            json={"variables": {"size": {"value": "small"}}})
    assert evaluated.json() == [{"level": {"type": "String", "value": "prefecture", "valueInfo": {}}}]
    assert client.post("/decision-definition/key/supervision_level/evaluate",
                       json={"variables": {"size": {"value": "small"}}}).json()[0]["level"]["value"] == "county"
    not_there = client.get("/decision-definition/key/supervision_level/tenant-id/sh")
    assert not_there.status_code == 404 and not_there.json()["message"] == (
        "No matching decision definition with key: supervision_level and tenant-id: sh")
    assert client.post("/decision-definition/key/supervision_level/tenant-id/sh/evaluate",
                       json={"variables": {}}).status_code == 404


def test_a_file_of_several_decisions_needs_a_definitions_id(client):
    response = deploy_bytes(client, "anonymous.dmn", supervision().replace(b' id="supervision_rules"', b""))
    assert response.status_code == 400 and "definitions element" in response.json()["message"]
    assert client.get("/decision-definition/count").json() == {"count": 0}


def test_deleting_a_deployment_removes_its_requirements_definition(client):
    deployment = deploy_for(client, "supervision.dmn", supervision())
    assert client.delete(f"/deployment/{deployment['id']}").status_code == 204
    assert client.get("/decision-requirements-definition/count").json() == {"count": 0}


def test_administrators_set_how_long_a_decisions_history_is_kept(service, client, root):
    deploy_for(client, "supervision.dmn", supervision())
    zj = deploy_for(client, "supervision.dmn", supervision("prefecture"), tenant_id="zj")
    decision_id = client.get("/decision-definition/key/inspection_frequency").json()["id"]
    assert client.put(f"/decision-definition/{decision_id}/history-time-to-live",
                      json={"historyTimeToLive": 30}).status_code == 204
    assert client.get(f"/decision-definition/{decision_id}").json()["historyTimeToLive"] == 30
    assert client.put("/decision-definition/key/supervision_level/history-time-to-live",
                      json={"historyTimeToLive": 10}).status_code == 204
    assert client.put("/decision-definition/key/supervision_level/tenant-id/zj/history-time-to-live",
                      json={"historyTimeToLive": None}).status_code == 204
    ttl = {(row["key"], row["tenantId"]): row["historyTimeToLive"] for row in client.get("/decision-definition").json()}
    assert ttl == {("supervision_level", None): 10, ("inspection_frequency", None): 30,
                   ("supervision_level", "zj"): None, ("inspection_frequency", "zj"): None}
    for body in ({"historyTimeToLive": -1}, {"historyTimeToLive": "30"}, {"historyTimeToLive": True}):
        assert client.put(f"/decision-definition/{decision_id}/history-time-to-live", json=body).status_code == 400
    assert client.put("/decision-definition/nothing/history-time-to-live",
                      json={"historyTimeToLive": 1}).status_code == 404
    accounts.save_account(service.services, "designer", "designer-password", ["designers"])
    with as_user(service, "designer") as designer:
        refused = designer.put(f"/decision-definition/{decision_id}/history-time-to-live",
                               json={"historyTimeToLive": 1})
        assert refused.status_code == 403
    events = root.get("/api/history/admin-events",
                      params={"subject": f"decision-definition:{decision_id}"}).json()
    assert [(event["kind"], event["payload"]) for event in events] == [
        ("definition.history_time_to_live", {"previous": None, "value": 30})]
    assert zj["tenantId"] == "zj"


def test_the_migration_gives_the_files_deployed_before_their_requirements_definitions(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine, text

    from app.persistence.migrations import alembic_config

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    command.upgrade(alembic_config(url), "0028")
    engine = create_engine(url)
    with engine.begin() as connection:
        for number, (resource, content) in enumerate([("supervision.dmn", supervision()),
                                                      ("grading.dmn", grading("region")),
                                                      ("supervision.dmn", supervision("prefecture"))], start=1):
            connection.execute(text("INSERT INTO deployment (id, deployment_time) VALUES (:id, :at)"),
                               {"id": f"d{number}", "at": f"2026-01-0{number} 00:00:00"})
            connection.execute(text("INSERT INTO deployment_resource (id, deployment_id, name, content, checksum) "
                                    "VALUES (:id, :deployment, :name, :content, 'c')"),
                               {"id": f"r{number}", "deployment": f"d{number}", "name": resource, "content": content})
            keys = ["supervision_level", "inspection_frequency"] if resource == "supervision.dmn" else ["grading"]
            for key in keys:
                connection.execute(text(
                    "INSERT INTO decision_definition (id, key, version, deployment_id, resource_name, checksum) "
                    "VALUES (:id, :key, :version, :deployment, :resource, 'c')"),
                    {"id": f"{key}:{number}", "key": key, "version": number, "deployment": f"d{number}",
                     "resource": resource})
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as connection:
        drds = connection.execute(text("SELECT id, key, version, name, category, deployment_id "
                                       "FROM decision_requirements_definition ORDER BY version")).all()
        assert [row[1:] for row in drds] == [
            ("supervision_rules", 1, "监管规则", "http://eco.example/dmn", "d1"),
            ("supervision_rules", 2, "监管规则", "http://eco.example/dmn", "d3")]
        links = dict(connection.execute(text("SELECT id, decision_requirements_definition_id "
                                             "FROM decision_definition")).all())
        assert links == {"supervision_level:1": drds[0][0], "inspection_frequency:1": drds[0][0],
                         "grading:2": None, "supervision_level:3": drds[1][0], "inspection_frequency:3": drds[1][0]}
    engine.dispose()


def test_keys_whose_definition_ids_would_not_fit_are_refused_naming_the_file(client):
    refused = {
        "drd.dmn": supervision().replace(b'id="supervision_rules"', b'id="' + b"d" * 201 + b'"'),
        "namespace.dmn": supervision().replace(b'namespace="http://eco.example/dmn"',
                                               b'namespace="http://eco.example/' + b"n" * 250 + b'"'),
        "decision.dmn": grading("region").replace(b'id="grading"', b'id="' + b"g" * 201 + b'"'),
        "process.bpmn": process("p" * 201, '<bpmn:startEvent id="s" />'),
    }
    for name, content in refused.items():
        answer = deploy_bytes(client, name, content)
        assert answer.status_code == 400, (name, answer.text)
        assert answer.json()["type"] == "ParseException" and name in answer.json()["message"], answer.text
    assert client.get("/deployment/count").json() == {"count": 0}
    # The longest keys deploy on every database: their ids fit.
    deploy_for(client, "drd.dmn", supervision().replace(b'id="supervision_rules"', b'id="' + b"d" * 200 + b'"'))
    deploy_for(client, "decision.dmn", grading("region").replace(b'id="grading"', b'id="' + b"g" * 200 + b'"'))
    deploy_for(client, "process.bpmn", process("p" * 200, '<bpmn:startEvent id="s" />'))
    [drd] = client.get("/decision-requirements-definition").json()
    assert drd["key"] == "d" * 200 and len(drd["id"]) <= 255
    assert client.get(f"/process-definition/key/{'p' * 200}").json()["version"] == 1


AUDIT_DUTY = FIXTURES / "constructs" / "audit_duty.dmn"
AUDIT_DUTY_CHECK = FIXTURES / "constructs" / "audit_duty_check.bpmn"


def listed(client, exceeds: bool, toxic: bool) -> dict:
    started = client.post("/process-definition/key/audit_duty_check/start", json={"variables": {
        "exceeds_standard": {"value": exceeds, "type": "Boolean"}, "uses_toxic": {"value": toxic, "type": "Boolean"}},
        "withVariablesInReturn": True})
    assert started.status_code == 200, started.text
    return started.json()


def test_a_decision_requirements_graph_drawn_in_the_modeler_decides_the_audit_duty_as_camunda_does(client, root):
    """The decision of a business rule task requires the enterprise's category (a table) and the
    statutory period (a literal expression): both are evaluated first and give it their outputs."""
    deployed = deploy(client, AUDIT_DUTY, AUDIT_DUTY_CHECK)
    assert {row["key"] for row in deployed["deployedDecisionDefinitions"].values()} == {
        "audit_duty", "pollutant_category", "audit_period_months"}

    mandatory = listed(client, exceeds=False, toxic=True)
    assert json.loads(mandatory["variables"]["duty_decision"]["value"]) == {"duty": "强制性审核", "months": 12}
    [task] = client.get("/task", params={"processInstanceId": mandatory["id"]}).json()
    assert task["taskDefinitionKey"] == "order_audit"
    voluntary = listed(client, exceeds=False, toxic=False)
    assert json.loads(voluntary["variables"]["duty_decision"]["value"]) == {"duty": "自愿性审核", "months": None}
    assert client.get(f"/history/process-instance/{voluntary['id']}").json()["state"] == "COMPLETED"

    [evaluation] = client.get("/history/decision-instance", params={
        "processInstanceId": mandatory["id"], "includeInputs": "true", "includeOutputs": "true"}).json()
    assert evaluation["decisionDefinitionKey"] == "audit_duty" and evaluation["rootDecisionInstanceId"] is None
    assert [(i["clauseName"], i["value"]) for i in evaluation["inputs"]] == [("企业类别", "有毒有害")]
    assert [(o["variableName"], o["value"]) for o in evaluation["outputs"]] == [("duty", "强制性审核"), ("months", 12)]
    # The required decisions' evaluations are part of the case's record, and the case replays as it ran.
    document = root.get(f"/api/process-instances/{mandatory['id']}/export").json()
    [recorded] = [e for e in document["events"] if e["kind"] == "decision.evaluated"]
    assert [(r["decision_key"], r["outputs"]) for r in recorded["payload"]["required_decisions"]] == [
        ("pollutant_category", [{"category": "有毒有害"}]), ("audit_period_months", [{"months": 12}])]
    assert root.get(f"/api/process-instances/{mandatory['id']}/replay").json()["reproduced"]

    # Evaluated over REST, the required decision stands alone too, and the root needs its inputs.
    alone = client.post("/decision-definition/key/audit_period_months/evaluate", json={"variables": {}})
    assert alone.json() == [{"months": {"type": "Integer", "value": 12, "valueInfo": {}}}]
    missing = client.post("/decision-definition/key/audit_duty/evaluate", json={"variables": {}})
    assert missing.status_code == 400 and "'exceeds_standard' is not set" in missing.json()["message"]

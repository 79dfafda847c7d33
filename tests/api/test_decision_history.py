"""Camunda's historic decision instances: every evaluation the service recorded, a business rule
task's in its case's history and a stand-alone evaluation's in the administrative history, with their
inputs and outputs, filters, visibility by region, the cleanable report and the statistics of a
decision requirements definition, over real HTTP on the real database."""
from __future__ import annotations

import pytest

from app.access import accounts
from tests.api.test_decision_requirements import deploy_for, supervision
from tests.support.bpmn_text import DMN_NS, grading, process
from tests.support.http import as_user, complete, deploy_bytes, start
from tests.support.processes import GRADED

# A case of the region its start names, graded by the decision `grading` (no user task: it ends at once).
REGIONAL = process("regional_grading", """
  <bpmn:extensionElements><camunda:properties><camunda:property name="region" value="${province}" />
  </camunda:properties></bpmn:extensionElements>
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="grade" />
  <bpmn:businessRuleTask id="grade" camunda:decisionRef="grading" camunda:resultVariable="level"
      camunda:mapDecisionResult="singleEntry" />
  <bpmn:sequenceFlow id="f2" sourceRef="grade" targetRef="end" /><bpmn:endEvent id="end" />""")
# Kept one day after it ends; its task evaluates a decision of the file of several decisions.
INSPECTED = process("inspected", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="frequency" />
  <bpmn:businessRuleTask id="frequency" camunda:decisionRef="inspection_frequency" camunda:resultVariable="times"
      camunda:mapDecisionResult="singleEntry" />
  <bpmn:sequenceFlow id="f2" sourceRef="frequency" targetRef="end" /><bpmn:endEvent id="end" />""").replace(
    b'isExecutable="true"', b'isExecutable="true" camunda:historyTimeToLive="1"')
FEES = f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="{DMN_NS}" id="fee_rules" name="收费" namespace="http://eco.example/dmn">
  <decision id="fees" name="收费合计"><decisionTable id="t" hitPolicy="COLLECT" aggregation="SUM">
    <input id="in_area" label="面积"><inputExpression id="e" typeRef="integer"><text>area</text></inputExpression></input>
    <output id="out_fee" label="费用" name="fee" typeRef="integer" />
    <rule id="base"><inputEntry id="a1"><text>-</text></inputEntry><outputEntry id="b1"><text>100</text></outputEntry></rule>
    <rule id="large"><inputEntry id="a2"><text>&gt; 50</text></inputEntry><outputEntry id="b2"><text>40</text></outputEntry></rule>
    <rule id="small"><inputEntry id="a3"><text>&lt;= 50</text></inputEntry><outputEntry id="b3"><text>5</text></outputEntry></rule>
  </decisionTable></decision>
</definitions>""".encode()


def evaluations(http, **params) -> list[dict]:
    response = http.get("/history/decision-instance", params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def graded(client, root):
    """Two graded cases (large, then small an hour later) and, an hour after, a stand-alone evaluation."""
    deploy_bytes(client, "grading.dmn", grading("region")).raise_for_status()
    deploy_bytes(client, "graded.bpmn", GRADED).raise_for_status()
    large = start(client, "graded", size="large").json()["id"]
    root.post("/api/clock", json={"advance": "PT1H"}).raise_for_status()
    small = start(client, "graded", size="small").json()["id"]
    root.post("/api/clock", json={"advance": "PT1H"}).raise_for_status()
    client.post("/decision-definition/key/grading/evaluate",
                json={"variables": {"size": {"value": "large"}}}).raise_for_status()
    return large, small


def test_every_evaluation_is_a_historic_decision_instance_with_its_inputs_and_outputs(client, graded):
    large, small = graded
    rows = evaluations(client)
    assert [row["processInstanceId"] for row in rows] == [large, small, None]
    decision = client.get("/decision-definition/key/grading").json()
    [activity] = client.get("/history/activity-instance", params={"processInstanceId": large,
                                                                  "activityId": "grade"}).json()
    first = rows[0]
    assert first == {
        "id": first["id"], "decisionDefinitionId": decision["id"], "decisionDefinitionKey": "grading",
        "decisionDefinitionName": "分级监管", "evaluationTime": activity["startTime"], "removalTime": None,
        "processDefinitionId": activity["processDefinitionId"], "processDefinitionKey": "graded",
        "processInstanceId": large, "rootProcessInstanceId": large, "caseDefinitionId": None,
        "caseDefinitionKey": None, "caseInstanceId": None, "activityId": "grade",
        "activityInstanceId": activity["id"], "userId": None, "inputs": None, "outputs": None,
        "collectResultValue": None, "rootDecisionInstanceId": None, "decisionRequirementsDefinitionId": None,
        "decisionRequirementsDefinitionKey": None, "tenantId": None}
    standalone = rows[2]
    assert standalone["userId"] == "test-admin" and standalone["activityId"] is None
    assert standalone["decisionDefinitionId"] == decision["id"]

    detailed = client.get(f"/history/decision-instance/{first['id']}",
                          params={"includeInputs": "true", "includeOutputs": "true"}).json()
    assert [(i["clauseId"], i["clauseName"], i["type"], i["value"], i["decisionInstanceId"], i["createTime"])
            for i in detailed["inputs"]] == [("i1", "规模", "String", "large", first["id"], first["evaluationTime"])]
    assert [(o["clauseId"], o["ruleId"], o["ruleOrder"], o["variableName"], o["value"]) for o in detailed["outputs"]
            ] == [("o1", "large", 1, "level", "region")]
    small_row = evaluations(client, processInstanceId=small, includeOutputs="true")[0]
    assert small_row["inputs"] is None and small_row["outputs"][0]["ruleId"] == "other"
    assert small_row["outputs"][0]["value"] == "prefecture"
    standalone_outputs = evaluations(client, decisionInstanceId=standalone["id"], includeOutputs="true")[0]["outputs"]
    assert [o["value"] for o in standalone_outputs] == ["region"]
    unknown = client.get("/history/decision-instance/nothing")
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "Historic decision instance with id 'nothing' does not exist"


def test_the_filters_sorting_and_paging_of_camundas_query(client, graded):
    large, small = graded
    rows = evaluations(client)
    ids = [row["id"] for row in rows]
    times = [row["evaluationTime"] for row in rows]
    for params, expected in [
        ({"processInstanceId": small}, [ids[1]]), ({"processDefinitionKey": "graded"}, ids[:2]),
        ({"processDefinitionId": rows[0]["processDefinitionId"]}, ids[:2]),
        ({"decisionDefinitionKey": "grading"}, ids), ({"decisionDefinitionKeyIn": "grading,other"}, ids),
        ({"decisionDefinitionId": rows[0]["decisionDefinitionId"]}, ids), ({"decisionDefinitionName": "分级监管"}, ids),
        ({"decisionDefinitionNameLike": "%监管"}, ids), ({"decisionDefinitionNameLike": "环评%"}, []),
        ({"decisionInstanceIdIn": f"{ids[0]},{ids[2]}"}, [ids[0], ids[2]]),
        ({"decisionInstanceIdIn": f"{ids[0]},{ids[2]}", "decisionInstanceId": ids[2]}, [ids[2]]),
        ({"decisionDefinitionKey": "grading", "decisionDefinitionKeyIn": "other"}, []), ({"activityIdIn": "grade"}, ids[:2]),
        ({"activityInstanceIdIn": rows[1]["activityInstanceId"]}, [ids[1]]),
        ({"evaluatedAfter": times[1]}, ids[1:]), ({"evaluatedBefore": times[1]}, ids[:2]),
        ({"userId": "test-admin"}, [ids[2]]), ({"withoutTenantId": "true"}, ids), ({"tenantIdIn": "zj"}, []),
        ({"rootDecisionInstancesOnly": "true"}, ids), ({"rootDecisionInstanceId": ids[1]}, [ids[1]]),
        ({"rootDecisionInstanceId": ids[1], "decisionInstanceIdIn": ids[0]}, []),
        ({"decisionRequirementsDefinitionKey": "supervision_rules"}, []),
        ({"sortBy": "evaluationTime", "sortOrder": "desc"}, ids[::-1]),
        ({"sortBy": "evaluationTime", "sortOrder": "desc", "firstResult": "1", "maxResults": "1"}, [ids[1]]),
    ]:
        assert [row["id"] for row in evaluations(client, **params)] == expected, params
        count = client.get("/history/decision-instance/count", params={
            key: value for key, value in params.items() if key not in ("firstResult", "maxResults", "sortBy",
                                                                        "sortOrder")}).json()
        if "firstResult" not in params:
            assert count == {"count": len(expected)}, params
    assert client.get("/history/decision-instance", params={"sortBy": "decisionDefinitionKey"}).status_code == 400
    assert client.get("/history/decision-instance", params={"maxResults": "100000"}).status_code == 400
    assert client.get("/history/decision-instance", params={"evaluatedAfter": "yesterday"}).status_code == 400


def test_a_reader_finds_the_evaluations_of_the_cases_of_their_region_and_their_own(service, client):
    accounts.save_account(service.services, "urumqi-director", "urumqi-director-password", [], region="xj-urumqi")
    accounts.save_account(service.services, "zj-director", "zj-director-password", [], region="zj")
    accounts.save_account(service.services, "auditor", "auditor-password", ["auditors"])
    deploy_bytes(client, "grading.dmn", grading("region")).raise_for_status()
    deploy_bytes(client, "regional.bpmn", REGIONAL).raise_for_status()
    cases = {province: client.post("/process-definition/key/regional_grading/start", json={"variables": {
        "province": {"value": province}, "size": {"value": "large"}}}).json()["id"] for province in ("xj-urumqi", "zj")}
    with as_user(service, "urumqi-director") as urumqi, as_user(service, "zj-director") as zj, \
            as_user(service, "auditor") as auditor:
        assert urumqi.post("/decision-definition/key/grading/evaluate",
                           json={"variables": {"size": {"value": "small"}}}).status_code == 200
        mine = evaluations(urumqi)
        assert [(row["processInstanceId"], row["tenantId"], row["userId"]) for row in mine] == [
            (cases["xj-urumqi"], "xj-urumqi", None), (None, None, "urumqi-director")]
        assert [row["processInstanceId"] for row in evaluations(zj)] == [cases["zj"]]
        assert urumqi.get("/history/decision-instance/count").json() == {"count": 2}
        others = evaluations(client, tenantIdIn="zj")
        assert [row["processInstanceId"] for row in others] == [cases["zj"]]
        # Not found rather than forbidden: the reader's query leaves out what they may not read.
        assert urumqi.get(f"/history/decision-instance/{others[0]['id']}").status_code == 404
        assert len(evaluations(auditor)) == 3
        assert zj.get("/history/decision-definition/cleanable-decision-instance-report").json()[0][
            "finishedDecisionInstanceCount"] == 1
    assert len(evaluations(client, withoutTenantId="true")) == 1


def test_a_collect_table_records_each_rule_and_the_aggregate(client):
    deploy_bytes(client, "fees.dmn", FEES).raise_for_status()
    answer = client.post("/decision-definition/key/fees/evaluate", json={"variables": {"area": {"value": 80}}})
    assert answer.json() == [{"fee": {"type": "Integer", "value": 140, "valueInfo": {}}}]
    [row] = evaluations(client, includeInputs="true", includeOutputs="true")
    assert row["collectResultValue"] == 140.0
    assert [(i["clauseName"], i["value"]) for i in row["inputs"]] == [("面积", 80)]
    assert [(o["ruleId"], o["ruleOrder"], o["clauseName"], o["value"]) for o in row["outputs"]] == [
        ("base", 1, "费用", 100), ("large", 2, "费用", 40)]


def test_evaluations_per_decision_of_a_requirements_definition_and_the_cleanable_report(client, root):
    deploy_for(client, "supervision.dmn", supervision())
    deploy_bytes(client, "inspected.bpmn", INSPECTED).raise_for_status()
    drd = client.get("/decision-requirements-definition/key/supervision_rules").json()
    for risk in (1, 5):
        start(client, "inspected", risk=risk).raise_for_status()
    client.post("/decision-definition/key/supervision_level/evaluate",
                json={"variables": {"size": {"value": "small"}}}).raise_for_status()
    statistics = client.get(f"/history/decision-requirements-definition/{drd['id']}/statistics").json()
    assert statistics == [{"decisionDefinitionKey": "inspection_frequency", "evaluations": 2},
                          {"decisionDefinitionKey": "supervision_level", "evaluations": 1}]
    rows = evaluations(client, decisionRequirementsDefinitionId=drd["id"])
    assert [row["decisionRequirementsDefinitionKey"] for row in rows] == ["supervision_rules"] * 3
    one = client.get(f"/history/decision-requirements-definition/{drd['id']}/statistics",
                     params={"decisionInstanceId": rows[2]["id"]}).json()
    assert one == [{"decisionDefinitionKey": "supervision_level", "evaluations": 1}]
    assert client.get("/history/decision-requirements-definition/nothing/statistics").json() == []

    def report(**params) -> dict:
        rows = client.get("/history/decision-definition/cleanable-decision-instance-report", params=params).json()
        return {row["decisionDefinitionKey"]: (row["finishedDecisionInstanceCount"],
                                               row["cleanableDecisionInstanceCount"]) for row in rows}

    # The cases ended at once; their history may be deleted one day later. The stand-alone evaluation
    # stays in the administrative history.
    assert report() == {"inspection_frequency": (2, 0), "supervision_level": (1, 0)}
    root.post("/api/clock", json={"advance": "P1DT1S"}).raise_for_status()
    assert report() == {"inspection_frequency": (2, 2), "supervision_level": (1, 0)}
    assert report(decisionDefinitionKeyIn="supervision_level") == {"supervision_level": (1, 0)}
    deploy_for(client, "grading.dmn", grading("region"))
    assert report(compact="true").keys() == {"inspection_frequency", "supervision_level"}
    assert list(report(sortBy="finished", sortOrder="desc")) == ["inspection_frequency", "supervision_level",
                                                                  "grading"]
    assert client.get("/history/decision-definition/cleanable-decision-instance-report/count").json() == {"count": 3}
    row = client.get("/history/decision-definition/cleanable-decision-instance-report",
                     params={"decisionDefinitionKeyIn": "grading"}).json()[0]
    assert row["decisionDefinitionVersion"] == 1 and row["historyTimeToLive"] is None and row["tenantId"] is None


def test_the_metric_counts_every_evaluation(client, graded):
    assert client.get("/metrics/decision-instances/sum").json() == {"result": 3}


def test_a_case_completed_after_its_decision_keeps_one_decision_instance(client, graded):
    large, _ = graded
    complete(client, large).raise_for_status()
    assert len(evaluations(client, processInstanceId=large)) == 1


@pytest.mark.parametrize("path, says", [("/history/decision-instance/delete", "not deleted one by one"),
                                        ("/history/decision-instance/set-removal-time", "Removal times are not")])
def test_deleting_evaluations_or_setting_their_removal_time_is_refused_and_keeps_them(client, graded, path, says):
    before = client.get("/history/decision-instance/count").json()["count"]
    assert before > 0
    answer = client.post(path, json={"historicDecisionInstanceIds": [
        row["id"] for row in client.get("/history/decision-instance").json()], "deleteReason": "tidy up",
        "absoluteRemovalTime": "2027-01-01T00:00:00.000+0800"})
    assert (answer.status_code, answer.json()["type"]) == (400, "BadUserRequestException"), answer.text
    assert says in answer.json()["message"]
    assert client.get("/history/decision-instance/count").json()["count"] == before



def test_a_bytes_or_file_input_is_shown_as_its_type_not_as_its_record(client):
    deploy_bytes(client, "grading.dmn", grading("region")).raise_for_status()
    for size in ({"type": "Bytes", "value": "aGVsbG8="},
                 {"type": "File", "value": "aGVsbG8=", "valueInfo": {"filename": "规模.txt", "mimeType": "text/plain"}}):
        answer = client.post("/decision-definition/key/grading/evaluate", json={"variables": {"size": size}})
        assert answer.status_code == 200, answer.text
    rows = evaluations(client, includeInputs="true", sortBy="evaluationTime", sortOrder="asc")
    shown = sorted(({k: i[k] for k in ("type", "value", "valueInfo")} for row in rows for i in row["inputs"]),
                   key=lambda i: i["type"])
    assert shown == [{"type": "Bytes", "value": None, "valueInfo": {}},
                     {"type": "File", "value": None, "valueInfo": {"filename": "规模.txt", "mimeType": "text/plain"}}]
    assert "BinaryValue" not in client.get("/history/decision-instance", params={"includeInputs": "true"}).text

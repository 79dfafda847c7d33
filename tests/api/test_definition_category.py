"""A process definition shows its file's targetNamespace as its category and the process's documentation
as its description, and a decision definition its DMN file's namespace, as Camunda's do; the
definition queries filter and sort by category; versions deployed before read them from their files."""
from __future__ import annotations

from sqlalchemy import text

from tests.support.bpmn_text import DMN_NS
from tests.support.http import deploy_bytes, listed
from tests.support.scratch import migrated_over

PROVINCE = "http://sthjt.hubei.gov.cn/bpmn"


def _process(key: str, namespace: str, documentation: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d_{key}" targetNamespace="{namespace}">
  <bpmn:process id="{key}" isExecutable="true">{documentation}
    <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>""".encode()


DOCUMENTED = _process("park_review", PROVINCE, """
    <bpmn:documentation>  生态工业园区创建申请的审查。 </bpmn:documentation>
    <bpmn:documentation>依据《国家生态工业示范园区管理办法》。</bpmn:documentation>""")
PLAIN = _process("agency_filing", "http://bpmn.io/schema/bpmn")
DECISION = f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="{DMN_NS}" id="duty" name="审核义务" namespace="{PROVINCE}/dmn">
  <decision id="audit_duty" name="审核义务">
    <decisionTable id="table"><input id="i"><inputExpression id="e" typeRef="string"><text>kind</text>
    </inputExpression></input><output id="o" name="duty" typeRef="boolean" />
    <rule id="r"><inputEntry id="ie"><text>"重点"</text></inputEntry><outputEntry id="oe"><text>true</text>
    </outputEntry></rule></decisionTable>
  </decision>
</definitions>""".encode()


def test_a_definition_shows_and_is_found_by_its_category_and_description(client):
    deploy_bytes(client, "park.bpmn", DOCUMENTED).raise_for_status()
    deployed = deploy_bytes(client, "filing.bpmn", PLAIN).json()
    [plain] = deployed["deployedProcessDefinitions"].values()
    assert (plain["category"], plain["description"]) == ("http://bpmn.io/schema/bpmn", None)
    [park] = listed(client, "/process-definition", key="park_review")
    assert park["category"] == PROVINCE
    # As Camunda's parser joins documentation: each text trimmed, a blank line between them.
    assert park["description"] == "生态工业园区创建申请的审查。\n\n依据《国家生态工业示范园区管理办法》。"
    assert client.get(f"/process-definition/{park['id']}").json()["description"] == park["description"]
    assert [row["key"] for row in listed(client, "/process-definition", category=PROVINCE)] == ["park_review"]
    assert [row["key"] for row in listed(client, "/process-definition", categoryLike="%hubei%")] == [
        "park_review"]
    assert client.get("/process-definition/count", params={"categoryLike": "http://bpmn.io%"}).json() == {"count": 1}
    ordered = client.get("/process-definition", params={"sortBy": "category", "sortOrder": "desc"}).json()
    assert [row["key"] for row in ordered] == ["park_review", "agency_filing"]


def test_a_decision_definition_shows_its_files_namespace(client):
    [decision] = deploy_bytes(client, "duty.dmn", DECISION).json()["deployedDecisionDefinitions"].values()
    assert decision["category"] == f"{PROVINCE}/dmn"
    assert [row["key"] for row in listed(client, "/decision-definition", categoryLike=f"{PROVINCE}%")] == ["audit_duty"]
    assert listed(client, "/decision-definition", category="http://camunda.org/schema/1.0/dmn") == []


def test_a_namespace_longer_than_a_category_holds_is_refused_at_deploy(client):
    answer = deploy_bytes(client, "long.bpmn", _process("long_namespace", "http://x/" + "n" * 300))
    assert answer.status_code == 400 and answer.json()["type"] == "ParseException"
    assert "targetNamespace has 309 characters" in answer.json()["message"]


def test_the_migration_reads_the_category_and_description_of_versions_deployed_before(tmp_path):
    with migrated_over(tmp_path, "0038", [("park_review", "park.bpmn", DOCUMENTED),
                                          ("agency_filing", "filing.bpmn", PLAIN), ("audit_duty", "duty.dmn", DECISION)]
                       ) as engine:
        with engine.connect() as connection:
            assert {key: (category, description) for key, category, description in connection.execute(
                text("SELECT key, category, description FROM process_definition"))} == {
                "park_review": (PROVINCE, "生态工业园区创建申请的审查。\n\n依据《国家生态工业示范园区管理办法》。"),
                "agency_filing": ("http://bpmn.io/schema/bpmn", None)}
            assert connection.execute(text("SELECT category FROM decision_definition")).scalar_one() == f"{PROVINCE}/dmn"

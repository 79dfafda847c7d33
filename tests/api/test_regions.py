"""Regions (Camunda tenants): a case belongs to the region its process names (here `${province}`),
or its definition's tenant, or its starter's region; officials of a region see its cases and those
of the regions below it, and nothing of other regions."""
from __future__ import annotations

import httpx
import pytest

from app.access import accounts
from tests.support.bpmn_text import process
from tests.support.http import deploy_bytes

CASE = process("regional_case", """
  <bpmn:extensionElements><camunda:properties><camunda:property name="region" value="${province}" />
  </camunda:properties></bpmn:extensionElements>
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review" name="审查" camunda:candidateGroups="${province}-env" />
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />""")
UNREGIONED = process("plain_case", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review" name="审查" camunda:candidateGroups="cn-sepa" />
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />""")


@pytest.fixture
def regional(service, client):
    for user, region in (("xj-director", "xj"), ("urumqi-director", "xj-urumqi"), ("kashgar-director", "xj-kashgar"),
                         ("zj-director", "zj")):
        accounts.save_account(service.services, user, f"{user}-password", [], region=region)
    accounts.save_account(service.services, "urumqi-clerk", "urumqi-clerk-password", ["cn-sepa"], region="xj-urumqi")
    deploy_bytes(client, "regional.bpmn", CASE).raise_for_status()
    deploy_bytes(client, "plain.bpmn", UNREGIONED).raise_for_status()
    ids = {}
    for province in ("xj-urumqi", "xj-kashgar", "zj"):
        body = {"variables": {"province": {"value": province}}}
        ids[province] = client.post("/process-definition/key/regional_case/start", json=body).json()["id"]
    return ids


def visible(service, user: str) -> set[str]:
    with httpx.Client(base_url=f"{service.base_url}/engine-rest", auth=(user, f"{user}-password"), timeout=30) as http:
        return {row["id"] for row in http.get("/history/process-instance").json()}


def test_a_case_belongs_to_its_region_and_officials_see_their_region_and_below(service, client, regional):
    tenants = {row["id"]: row["tenantId"] for row in client.get("/history/process-instance").json()}
    assert tenants == {instance: province for province, instance in regional.items()}
    assert [task["tenantId"] for task in client.get("/task", params={"processInstanceId": regional["zj"]}).json()
            ] == ["zj"]
    assert visible(service, "xj-director") == {regional["xj-urumqi"], regional["xj-kashgar"]}
    assert visible(service, "urumqi-director") == {regional["xj-urumqi"]}
    assert visible(service, "kashgar-director") == {regional["xj-kashgar"]}
    assert visible(service, "zj-director") == {regional["zj"]}
    only_zj = client.get("/process-instance", params={"tenantIdIn": "zj"}).json()
    assert [row["id"] for row in only_zj] == [regional["zj"]]


def test_a_case_of_a_process_without_region_takes_its_starters_region(service, client, regional):
    with httpx.Client(base_url=f"{service.base_url}/engine-rest", auth=("urumqi-clerk", "urumqi-clerk-password"),
                      timeout=30) as clerk:
        started = clerk.post("/process-definition/key/plain_case/start", json={}).json()
    assert started["tenantId"] == "xj-urumqi"
    assert started["id"] in visible(service, "xj-director") and started["id"] not in visible(service, "zj-director")


def test_region_codes_are_checked(service):
    with pytest.raises(accounts.InvalidRequest, match="region code"):
        accounts.save_account(service.services, "x", "x-password-1", [], region="XJ Urumqi")


def test_a_region_the_start_variables_cannot_tell_refuses_the_start(client, regional):
    refused = client.post("/process-definition/key/regional_case/start",
                          json={"variables": {"province": {"value": "Not A Code"}}})
    assert refused.status_code == 400 and "region" in refused.json()["message"]


def test_an_empty_property_row_is_passed_by_and_a_property_given_twice_is_refused(client):
    # The Modeler leaves an empty row when a property is added and not filled in; Camunda deploys it.
    body = """
      <bpmn:extensionElements><camunda:properties><camunda:property />{twice}
        <camunda:property name="region" value="xj" />
      </camunda:properties></bpmn:extensionElements>
      <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
      <bpmn:userTask id="review" name="审查"><bpmn:extensionElements><camunda:properties>
        <camunda:property value="orphan" /></camunda:properties></bpmn:extensionElements></bpmn:userTask>
      <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />"""
    deploy_bytes(client, "empty_row.bpmn", process("empty_row", body.format(twice=""))).raise_for_status()
    started = client.post("/process-definition/key/empty_row/start", json={})
    assert started.status_code == 200 and started.json()["tenantId"] == "xj", started.text
    # Camunda would keep the last; here a region (or a confidential list) given twice is a mistake to show.
    refused = deploy_bytes(client, "twice.bpmn", process("twice", body.format(
        twice='<camunda:property name="region" value="zj" />')))
    assert refused.status_code == 400 and "camunda:property 'region' is given twice" in refused.json()["message"]

"""Messages and signals over engine-rest: routed by the service's own subscriptions, answered as
Camunda answers (204, 200 with results, 400 when nothing or more than one instance matches)."""
from __future__ import annotations

from tests.support.http import deploy
from tests.support.paths import FIXTURES

EVENTS = FIXTURES / "events"


def start(client, key: str, business_key: str | None = None, **variables) -> str:
    body = {"variables": {name: {"value": value} for name, value in variables.items()}}
    if business_key is not None:
        body["businessKey"] = business_key
    response = client.post(f"/process-definition/key/{key}/start", json=body)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def open_tasks(client, instance_id: str) -> list[str]:
    return sorted(t["taskDefinitionKey"] for t in client.get("/task", params={"processInstanceId": instance_id}).json())


def test_a_message_for_business_key_a_never_reaches_the_instance_of_b(client):
    deploy(client, EVENTS / "publicity_objection.bpmn")
    zone_a = start(client, "publicity_objection", "ISO-2026-A", publicityPeriod="P15D")
    zone_b = start(client, "publicity_objection", "ISO-2026-B", publicityPeriod="P15D")

    answer = client.post("/message", json={"messageName": "objection", "businessKey": "ISO-2026-A",
                                           "processVariables": {"objector": {"value": "张三", "type": "String"}}})
    assert answer.status_code == 204 and answer.content == b""
    assert open_tasks(client, zone_a) == ["verify_objection"]
    assert open_tasks(client, zone_b) == []
    assert client.get(f"/process-instance/{zone_a}/variables/objector").json()["value"] == "张三"
    assert client.get(f"/process-instance/{zone_b}/variables/objector").status_code == 404
    # B still waits for its own objection or the end of its publicity.
    [job] = client.get("/job", params={"processInstanceId": zone_b}).json()
    assert job["failedActivityId"] is None and job["dueDate"].startswith("2026-10-13")
    # A's wait is over: the same message for A now finds nobody.
    again = client.post("/message", json={"messageName": "objection", "businessKey": "ISO-2026-A"})
    assert again.status_code == 400
    assert again.json()["type"] == "RestException"
    assert "No process definition or execution matches" in again.json()["message"]
    assert open_tasks(client, zone_b) == []


def test_an_ambiguous_message_is_refused_and_changes_nothing(client):
    deploy(client, EVENTS / "publicity_objection.bpmn")
    first = start(client, "publicity_objection", "ISO-A", publicityPeriod="P15D")
    second = start(client, "publicity_objection", "ISO-B", publicityPeriod="P15D")
    answer = client.post("/message", json={"messageName": "objection"})
    assert answer.status_code == 400
    assert "2 executions match" in answer.json()["message"]
    assert open_tasks(client, first) == open_tasks(client, second) == []

    # all=true reaches every waiting instance, and the results say where it went.
    result = client.post("/message", json={"messageName": "objection", "all": True, "resultEnabled": True})
    assert result.status_code == 200
    body = result.json()
    assert sorted(item["execution"]["processInstanceId"] for item in body) == sorted([first, second])
    assert {item["resultType"] for item in body} == {"Execution"}
    assert all(item["processInstance"] is None and "variables" not in item for item in body)
    assert open_tasks(client, first) == open_tasks(client, second) == ["verify_objection"]


def test_correlation_keys_pick_the_instance_by_its_variables(client):
    deploy(client, EVENTS / "publicity_objection.bpmn")
    jiangsu = start(client, "publicity_objection", None, publicityPeriod="P15D", zoneCode="320500")
    zhejiang = start(client, "publicity_objection", None, publicityPeriod="P15D", zoneCode="330100")
    answer = client.post("/message", json={
        "messageName": "objection", "correlationKeys": {"zoneCode": {"value": "330100", "type": "String"}},
        "resultEnabled": True, "variablesInResultEnabled": True})
    assert answer.status_code == 200
    [result] = answer.json()
    assert result["execution"]["processInstanceId"] == zhejiang
    assert result["variables"]["zoneCode"]["value"] == "330100"
    assert open_tasks(client, zhejiang) == ["verify_objection"] and open_tasks(client, jiangsu) == []
    unknown = client.post("/message", json={"messageName": "objection",
                                            "correlationKeys": {"zoneCode": {"value": "110000"}}})
    assert unknown.status_code == 400


def test_the_message_by_process_instance_id(client):
    deploy(client, EVENTS / "publicity_objection.bpmn")
    first = start(client, "publicity_objection", None, publicityPeriod="P15D")
    second = start(client, "publicity_objection", None, publicityPeriod="P15D")
    client.post("/message", json={"messageName": "objection", "processInstanceId": second}).raise_for_status()
    assert open_tasks(client, second) == ["verify_objection"] and open_tasks(client, first) == []


def test_an_objection_within_publicity_wins_the_race_against_the_timer(client, root):
    deploy(client, EVENTS / "publicity_objection.bpmn")
    instance = start(client, "publicity_objection", "race-1", publicityPeriod="P15D")
    root.post("/api/clock", json={"advance": "P14D"}).raise_for_status()
    client.post("/message", json={"messageName": "objection", "businessKey": "race-1"}).raise_for_status()
    assert open_tasks(client, instance) == ["verify_objection"]
    assert client.get("/job", params={"processInstanceId": instance}).json() == []
    # The publicity's end passes without effect: the timer lost the race.
    assert root.post("/api/clock", json={"advance": "P2D"}).json()["instancesAdvanced"] == 0
    assert open_tasks(client, instance) == ["verify_objection"]
    ended = client.get("/history/activity-instance", params={"processInstanceId": instance,
                                                            "activityId": "publicity_over"}).json()
    assert ended == []


def test_the_timer_wins_the_race_when_no_objection_came_within_publicity(client, root):
    deploy(client, EVENTS / "publicity_objection.bpmn")
    instance = start(client, "publicity_objection", "race-2", publicityPeriod="P15D")
    root.post("/api/clock", json={"advance": "P15D"}).raise_for_status()
    assert open_tasks(client, instance) == ["name_zone"]
    late = client.post("/message", json={"messageName": "objection", "businessKey": "race-2"})
    assert late.status_code == 400
    assert open_tasks(client, instance) == ["name_zone"]


def test_boundary_messages_interrupting_and_not_and_a_receive_task(client):
    deploy(client, EVENTS / "park_creation.bpmn")
    park = start(client, "park_creation", "ECO-PARK-1")
    # A major change (ECO-06) opens an assessment beside the creation work.
    client.post("/message", json={"messageName": "major_change", "businessKey": "ECO-PARK-1"}).raise_for_status()
    assert open_tasks(client, park) == ["assess_change", "create"]
    # The boundary event keeps waiting: a second change report is received too.
    client.post("/message", json={"messageName": "major_change", "businessKey": "ECO-PARK-1"}).raise_for_status()
    assert open_tasks(client, park) == ["assess_change", "assess_change", "create"]

    [create] = client.get("/task", params={"processInstanceId": park, "taskDefinitionKey": "create"}).json()
    client.post(f"/task/{create['id']}/complete", json={}).raise_for_status()
    # Creation done, the instance waits in a receive task for the creation report.
    assert client.post("/message", json={"messageName": "major_change",
                                         "businessKey": "ECO-PARK-1"}).status_code == 400
    client.post("/message", json={"messageName": "creation_report", "businessKey": "ECO-PARK-1",
                                  "processVariables": {"reportNo": {"value": 7, "type": "Integer"}}}
                ).raise_for_status()
    assert open_tasks(client, park) == ["accept", "assess_change", "assess_change"]
    assert client.get(f"/process-instance/{park}/variables/reportNo").json() == {
        "type": "Integer", "value": 7, "valueInfo": {}}

    other = start(client, "park_creation", "ECO-PARK-2")
    # A serious pollution incident (ECO-07) stops the creation: the creation task is cancelled.
    client.post("/message", json={"messageName": "pollution_incident", "businessKey": "ECO-PARK-2"}
                ).raise_for_status()
    assert open_tasks(client, other) == []
    history = client.get(f"/history/process-instance/{other}").json()
    assert history["state"] == "COMPLETED"
    canceled = client.get("/history/activity-instance", params={"processInstanceId": other,
                                                               "canceled": "true"}).json()
    assert [a["activityId"] for a in canceled] == ["create"]


def test_a_message_start_event_starts_an_instance_with_the_business_key(client):
    deploy(client, EVENTS / "enterprise_listed.bpmn")
    # The process has no plain start: starting it by REST is refused with the reason.
    refused = client.post("/process-definition/key/mandatory_audit/start", json={})
    assert refused.status_code == 400 and "starts by message" in refused.json()["message"]

    answer = client.post("/message", json={"messageName": "enterprise_listed", "businessKey": "91320500MA1",
                                           "processVariables": {"enterprise": {"value": "ent-91320500MA1"}},
                                           "resultEnabled": True})
    assert answer.status_code == 200
    [result] = answer.json()
    assert result["resultType"] == "ProcessDefinition" and result["execution"] is None
    instance = result["processInstance"]
    assert instance["businessKey"] == "91320500MA1" and instance["ended"] is False
    [task] = client.get("/task", params={"candidateGroup": "ent-91320500MA1"}).json()
    assert task["processInstanceId"] == instance["id"]
    started = client.get(f"/history/process-instance/{instance['id']}").json()
    assert started["startActivityId"] == "listed"


def test_a_signal_reaches_every_waiting_instance(client):
    deploy(client, EVENTS / "enterprise_listed.bpmn")
    instances = []
    for code in ("E1", "E2"):
        body = client.post("/message", json={"messageName": "enterprise_listed", "businessKey": code,
                                             "processVariables": {"enterprise": {"value": code}},
                                             "resultEnabled": True}).json()
        instance_id = body[0]["processInstance"]["id"]
        [task] = client.get("/task", params={"processInstanceId": instance_id}).json()
        client.post(f"/task/{task['id']}/complete", json={}).raise_for_status()
        instances.append(instance_id)
    assert client.post("/signal", json={"name": "policy_changed",
                                        "variables": {"policy": {"value": "2027"}}}).status_code == 204
    for instance_id in instances:
        assert client.get(f"/history/process-instance/{instance_id}").json()["state"] == "COMPLETED"
    assert client.post("/signal", json={}).status_code == 400


def test_bad_message_requests_are_refused(client):
    assert client.post("/message", json={}).status_code == 400
    assert client.post("/message", json={"messageName": "x", "localCorrelationKeys": {"a": {"value": 1}}}
                       ).status_code == 400
    assert client.post("/message", json={"messageName": 5}).status_code == 400
    assert client.post("/message", json={"messageName": "nobody-waits", "all": True}).status_code == 204

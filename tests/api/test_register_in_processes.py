"""Processes keep the park register and draw experts through camunda:properties (ECO-18 to ECO-20),
in the unit of work of the step that decides it; and the deadline functions of yearly duties."""
from __future__ import annotations

from sqlalchemy import select

from app.persistence.models import ExpertDraw, HistoryEvent
from tests.support.bpmn_text import process, properties
from tests.support.http import deploy_bytes

# The park's evaluation by two drawn experts; a failed one revokes the naming for the cause the
# evaluation gives.
EVALUATION = process("park_evaluation", f"""
  <bpmn:startEvent id="start" />
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="evaluate" />
  <bpmn:userTask id="evaluate" name="评价">{properties(expertDraw="evaluation", expertCount="2")}</bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="evaluate" targetRef="recorded" />
  <bpmn:intermediateThrowEvent id="recorded">{properties(parkStanding="revoked", parkStandingCause="cause")}</bpmn:intermediateThrowEvent>
  <bpmn:sequenceFlow id="f3" sourceRef="recorded" targetRef="end" />
  <bpmn:endEvent id="end" />""")

PARK = {"park_id": {"value": "JS-01", "type": "String"}, "park_name": {"value": "某园区", "type": "String"},
        "province": {"value": "js", "type": "String"}}


def set_up_park(root, experts: int) -> None:
    root.post("/api/clock", json={"set": "2027-06-01T09:00:00+08:00"}).raise_for_status()
    root.put("/api/parks/JS-01/standing", json={"parkName": "某园区", "province": "js", "status": "named",
                                                "since": "2025-05-01"}).raise_for_status()
    for number in range(1, experts + 1):
        root.post("/api/experts", json={"id": f"E{number}", "name": f"专家{number}", "specialty": "园区",
                                        "organization": "研究院"}).raise_for_status()
    root.post("/api/experts/E1/conflicts", json={"parkId": "JS-01", "reason": "曾任园区顾问"}).raise_for_status()


def test_drawn_experts_are_the_candidates_and_a_decision_updates_the_register(client, root, service):
    set_up_park(root, 4)
    deploy_bytes(client, "evaluation.bpmn", EVALUATION).raise_for_status()
    started = client.post("/process-definition/key/park_evaluation/start", json={"variables": PARK})
    assert started.status_code == 200, started.text
    instance = started.json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    [draw] = root.get("/api/expert-draws", params={"taskId": task["id"]}).json()
    assert draw["processInstanceId"] == instance and draw["activityId"] == "evaluate"
    assert len(draw["drawn"]) == 2 and "E1" not in draw["drawn"]
    assert draw["excluded"] == [{"expertId": "E1", "reason": "曾任园区顾问"}]
    links = client.get(f"/task/{task['id']}/identity-links").json()
    assert sorted(link["userId"] for link in links) == sorted(draw["drawn"])
    offered = client.get("/task", params={"candidateUser": draw["drawn"][0]}).json()
    assert [t["id"] for t in offered] == [task["id"]]
    assert client.get("/task", params={"candidateUser": "E1"}).json() == []

    root.post("/api/clock", json={"set": "2027-06-10T09:00:00+08:00"}).raise_for_status()
    done = client.post(f"/task/{task['id']}/complete",
                       json={"variables": {"cause": {"value": "data_fraud", "type": "String"}}})
    assert done.status_code == 204, done.text
    park = root.get("/api/parks/JS-01").json()
    assert park["status"] == "revoked" and park["cause"] == "data_fraud" and park["since"] == "2027-06-10"
    assert park["banUntil"] == "2032-06-10" and park["decidedByInstanceId"] == instance
    with service.services.db.read() as session:
        kinds = {event.kind: event.payload for event in session.scalars(
            select(HistoryEvent).where(HistoryEvent.process_instance_id == instance))}
    assert kinds["experts.drawn"]["draw_id"] == draw["id"]
    assert kinds["park.standing"]["status"] == "revoked" and kinds["park.standing"]["ban_until"] == "2032-06-10"


def test_a_draw_that_cannot_be_made_refuses_the_step_and_changes_nothing(client, root, service):
    set_up_park(root, 2)  # one of the two is recused: one eligible expert for a draw of two
    deploy_bytes(client, "evaluation.bpmn", EVALUATION).raise_for_status()
    refused = client.post("/process-definition/key/park_evaluation/start", json={"variables": PARK})
    assert refused.status_code == 400 and "only 1 active experts are eligible" in refused.json()["message"]
    assert client.get("/history/process-instance", params={"processDefinitionKey": "park_evaluation"}).json() == []
    with service.services.db.read() as session:
        assert session.scalars(select(ExpertDraw)).all() == []


def decision(status: str) -> bytes:
    return process(f"park_{status}", f"""
      <bpmn:startEvent id="start" />
      <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide" />
      <bpmn:userTask id="decide" camunda:candidateGroups="g" />
      <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="end" />
      <bpmn:endEvent id="end">{properties(parkStanding=status)}</bpmn:endEvent>""")


def test_a_decision_that_the_register_refuses_rolls_the_step_back(client, root):
    """A park revoked on the register cannot start a creation during its ban, and a park becomes warned
    only when named: the step that would record either is refused as a whole, and the task stays open."""
    root.post("/api/clock", json={"set": "2027-06-01T09:00:00+08:00"}).raise_for_status()
    root.put("/api/parks/JS-01/standing", json={"parkName": "某园区", "province": "js", "status": "revoked",
                                                "since": "2026-01-05", "cause": "other"}).raise_for_status()
    for status, park, message in (("creating", "JS-01", "2029-01-05"), ("warned", "JS-09", "not on the register")):
        deploy_bytes(client, f"{status}.bpmn", decision(status)).raise_for_status()
        variables = {**PARK, "park_id": {"value": park, "type": "String"}}
        instance = client.post(f"/process-definition/key/park_{status}/start",
                               json={"variables": variables}).json()["id"]
        [task] = client.get("/task", params={"processInstanceId": instance}).json()
        refused = client.post(f"/task/{task['id']}/complete", json={})
        assert refused.status_code == 400 and message in refused.json()["message"], refused.text
        assert [t["id"] for t in client.get("/task", params={"processInstanceId": instance}).json()] == [task["id"]]
    assert root.get("/api/parks/JS-01").json()["status"] == "revoked"
    assert root.get("/api/parks/JS-09").status_code == 404


def test_properties_the_service_cannot_honour_are_refused_at_deployment(client):
    cases = {
        "unknown standing": (properties(parkStanding="dissolved"), "parkStanding must be one of"),
        "revocation without cause": (properties(parkStanding="revoked"), "parkStandingCause must name"),
        "draw off a user task": (properties(expertDraw="evaluation", expertCount="3"), "belongs on a user task"),
    }
    for case, (extension, message) in cases.items():
        content = process("bad", f"""<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f" sourceRef="start" targetRef="e" />
            <bpmn:endEvent id="e">{extension}</bpmn:endEvent>""")
        response = deploy_bytes(client, "bad.bpmn", content)
        assert response.status_code == 400 and message in response.json()["message"], (case, response.text)
    for purpose, count, message in (("audit", "3", "expertDraw must be one of"), ("evaluation", "0", "expertCount")):
        content = process("bad", f"""<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f" sourceRef="start" targetRef="t" />
            <bpmn:userTask id="t">{properties(expertDraw=purpose, expertCount=count)}</bpmn:userTask>""")
        response = deploy_bytes(client, "bad.bpmn", content)
        assert response.status_code == 400 and message in response.json()["message"], response.text


def test_application_bar_and_yearly_deadlines_in_expressions(client, root):
    """parkApplicationBar reads the register; endOfJuneNextYear and yearEnd take a year; hasPassed
    compares a period's end with the clock."""
    yearly = process("yearly_duties", """
      <bpmn:startEvent id="start"><bpmn:extensionElements><camunda:inputOutput>
        <camunda:outputParameter name="bar">${parkApplicationBar(park_id)}</camunda:outputParameter>
        <camunda:outputParameter name="six_months_over">${hasPassed(addMonths(change_date, 6))}</camunda:outputParameter>
      </camunda:inputOutput></bpmn:extensionElements></bpmn:startEvent>
      <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="report" />
      <bpmn:userTask id="report" camunda:candidateGroups="g" camunda:dueDate="${endOfJuneNextYear(year)}" />
      <bpmn:sequenceFlow id="f2" sourceRef="report" targetRef="disclose" />
      <bpmn:userTask id="disclose" camunda:candidateGroups="g" camunda:dueDate="${yearEnd(year)}" />
      <bpmn:sequenceFlow id="f3" sourceRef="disclose" targetRef="end" />
      <bpmn:endEvent id="end" />""")
    root.post("/api/clock", json={"set": "2027-03-01T09:00:00+08:00"}).raise_for_status()
    root.put("/api/parks/JS-01/standing", json={"parkName": "某园区", "province": "js", "status": "revoked",
                                                "since": "2026-01-05", "cause": "data_fraud"}).raise_for_status()
    deploy_bytes(client, "yearly.bpmn", yearly).raise_for_status()

    def start(park: str, changed: str) -> str:
        variables = {"park_id": {"value": park, "type": "String"}, "year": {"value": 2027, "type": "Long"},
                     "change_date": {"value": f"{changed}T00:00:00.000+0800", "type": "Date"}}
        response = client.post("/process-definition/key/yearly_duties/start", json={"variables": variables})
        assert response.status_code == 200, response.text
        return response.json()["id"]

    def variable(instance: str, name: str):
        return client.get(f"/process-instance/{instance}/variables/{name}").json()["value"]

    banned, free = start("JS-01", "2026-08-31"), start("JS-02", "2026-09-01")
    assert "2031-01-05" in variable(banned, "bar") and variable(free, "bar") == ""
    # Six months after 31 August 2026 end on 28 February 2027, a Sunday: the period runs through Monday 1 March.
    assert variable(banned, "six_months_over") is False
    [report] = client.get("/task", params={"processInstanceId": banned}).json()
    assert report["due"] == "2028-07-01T00:00:00.000+0800"  # 30 June 2028 is a Friday
    client.post(f"/task/{report['id']}/complete", json={}).raise_for_status()
    [disclose] = client.get("/task", params={"processInstanceId": banned}).json()
    assert disclose["due"] == "2028-01-01T00:00:00.000+0800"
    root.post("/api/clock", json={"set": "2027-03-02T00:00:00+08:00"}).raise_for_status()
    assert variable(start("JS-03", "2026-08-31"), "six_months_over") is True

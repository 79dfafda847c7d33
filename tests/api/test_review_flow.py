"""The foundation's acceptance path over HTTP: a Camunda Modeler diagram with candidate groups, a
form with required fields and ${...} gateway conditions, deployed, started, worked and finished."""
from __future__ import annotations

from tests.support.http import deploy
from tests.support.paths import FIXTURES

ECO_REVIEW = FIXTURES / "eco_review.bpmn"


def start(client, business_key="park-001", province="gd", **extra):
    variables = {"park_name": {"value": "东莞生态园", "type": "String"},
                 "province": {"value": province, "type": "String"},
                 "applicant": {"value": "alice", "type": "String"}}
    variables.update(extra)
    response = client.post("/process-definition/key/eco_review/start",
                           json={"businessKey": business_key, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


def only_task(client, **query):
    response = client.get("/task", params=query)
    assert response.status_code == 200, response.text
    tasks = response.json()
    assert len(tasks) == 1, tasks
    return tasks[0]


def test_deploy_start_list_by_group_refuse_incomplete_form_complete_and_end_on_chosen_branch(client):
    deployment = deploy(client, ECO_REVIEW, name="eco-review")
    [definition] = deployment["deployedProcessDefinitions"].values()
    assert definition["key"] == "eco_review" and definition["version"] == 1
    assert definition["id"].startswith("eco_review:1:")

    instance = start(client)
    assert instance["businessKey"] == "park-001" and instance["ended"] is False

    # The candidate group is the expression ${province}-eco-env evaluated for this applicant.
    task = only_task(client, candidateGroup="gd-eco-env")
    assert task["taskDefinitionKey"] == "provincial_review"
    assert task["name"] == "省级生态环境部门审查" and task["priority"] == 60
    assert client.get("/task", params={"candidateGroup": "zj-eco-env"}).json() == []

    # A completion without the required opinion is refused, naming the field, and changes nothing.
    refused = client.post(f"/task/{task['id']}/complete",
                          json={"variables": {"decision": {"value": "approve"}}})
    assert refused.status_code == 400
    body = refused.json()
    assert body["type"] == "InvalidRequestException"
    assert [f["field"] for f in body["details"]["fields"]] == ["opinion"]
    assert only_task(client, processInstanceId=instance["id"])["id"] == task["id"]

    # A value outside the enum is refused too.
    refused = client.post(f"/task/{task['id']}/complete",
                          json={"variables": {"decision": {"value": "maybe"}, "opinion": {"value": "x"}}})
    assert refused.status_code == 400 and "decision" in refused.json()["message"]

    done = client.post(f"/task/{task['id']}/complete",
                       json={"variables": {"decision": {"value": "approve"}, "opinion": {"value": "材料齐全"}}})
    assert done.status_code == 204, done.text

    # ${decision == "approve"} leads to the ministry's approval, not to the rejection end.
    approval = only_task(client, processInstanceId=instance["id"])
    assert approval["taskDefinitionKey"] == "ministry_approval"
    assert client.post(f"/task/{approval['id']}/submit-form",
                       json={"variables": {"approved": {"value": True, "type": "Boolean"}}}).status_code == 204

    historic = client.get(f"/history/process-instance/{instance['id']}").json()
    assert historic["state"] == "COMPLETED" and historic["endTime"] is not None
    ends = client.get("/history/activity-instance",
                      params={"processInstanceId": instance["id"], "activityType": "noneEndEvent"}).json()
    assert [a["activityId"] for a in ends] == ["approved_end"]
    assert client.get(f"/process-instance/{instance['id']}").status_code == 404


def test_rejection_branch_and_supplement_loop(client):
    deploy(client, ECO_REVIEW)
    instance = start(client, business_key="park-002")
    review = only_task(client, processInstanceId=instance["id"])
    client.post(f"/task/{review['id']}/complete", json={"variables": {
        "decision": {"value": "supplement"}, "opinion": {"value": "缺少监测报告"}}}).raise_for_status()
    supplement = only_task(client, processInstanceId=instance["id"])
    assert supplement["taskDefinitionKey"] == "applicant_supplement" and supplement["assignee"] == "alice"
    client.post(f"/task/{supplement['id']}/complete",
                json={"variables": {"supplement_note": {"value": "已补充"}}}).raise_for_status()
    second_review = only_task(client, processInstanceId=instance["id"])
    assert second_review["taskDefinitionKey"] == "provincial_review" and second_review["id"] != review["id"]
    client.post(f"/task/{second_review['id']}/complete", json={"variables": {
        "decision": {"value": "reject"}, "opinion": {"value": "不符合条件"}}}).raise_for_status()
    ends = client.get("/history/activity-instance",
                      params={"processInstanceId": instance["id"], "activityType": "noneEndEvent"}).json()
    assert [a["activityId"] for a in ends] == ["rejected_end"]
    variables = client.get("/history/process-instance", params={"processInstanceId": instance["id"]}).json()
    assert variables[0]["state"] == "COMPLETED"

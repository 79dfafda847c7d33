"""Camunda's /authorization on the service: its roles shown as grants, checks answered by the rules
the commands apply, and saved filters shared with groups, users or everyone, as Tasklist shares them."""
from __future__ import annotations

import pytest

from app.access import accounts
from tests.support.bpmn_text import process
from tests.support.http import as_user, deploy_bytes

REVIEW = process("shared_case", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review" name="审查" camunda:candidateGroups="xj-env" />
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />""")
ACCOUNTS = {"li": ["xj-env"], "wang": ["xj-env"], "zhao": ["xj-drc"], "designer": ["designers"]}


@pytest.fixture
def people(service):
    for user, groups in ACCOUNTS.items():
        accounts.save_account(service.services, user, f"{user}-password", groups)


def test_the_roles_are_shown_as_grants_and_only_administrators_see_them_all(service, client, people):
    designers = client.get("/authorization", params={"groupIdIn": "designers", "resourceType": 9}).json()
    assert [(auth["id"], auth["type"], auth["permissions"], auth["resourceId"]) for auth in designers] == [
        ("role:designers:9", 1, ["CREATE", "READ", "DELETE"], "*")]
    everything = client.get("/authorization/count").json()["count"]
    with as_user(service, "li") as li:
        seen = li.get("/authorization").json()
        assert seen and {auth["userId"] for auth in seen} == {"*"}  # the grants to everyone, none of another role
        assert li.get("/authorization/count").json()["count"] < everything
        assert li.get("/authorization/role:admins:9").status_code == 403
    assert client.get("/authorization/role:admins:9").json()["permissions"] == ["ALL"]
    assert client.get("/authorization/nothing").status_code == 404
    fixed = client.put("/authorization/role:designers:9", json={"type": 1, "permissions": ["READ"],
                                                                 "groupId": "designers", "resourceType": 9,
                                                                 "resourceId": "*"})
    assert fixed.status_code == 400
    assert client.delete("/authorization/role:designers:9").status_code == 400


def test_a_check_answers_by_the_rules_the_commands_apply(service, client, people):
    deploy_bytes(client, "shared_case.bpmn", REVIEW).raise_for_status()
    instance = client.post("/process-definition/key/shared_case/start", json={}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()

    def check(http, **params) -> bool:
        answer = http.get("/authorization/check", params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()["authorized"]

    with as_user(service, "designer") as designer, as_user(service, "li") as li, as_user(service, "zhao") as zhao:
        assert check(designer, permissionName="CREATE", resourceType=9) is True
        assert check(li, permissionName="CREATE", resourceType=9) is False
        assert check(li, permissionName="UPDATE", resourceType=7, resourceId=task["id"]) is True
        assert check(zhao, permissionName="UPDATE", resourceType=7, resourceId=task["id"]) is False
        assert check(li, permissionName="READ", resourceType=8, resourceId=instance) is True
        assert check(zhao, permissionName="READ", resourceType=8, resourceId=instance) is False
        assert li.get("/authorization/check", params={"permissionName": "READ", "resourceType": 9,
                                                      "userId": "designer"}).status_code == 403
        assert li.get("/authorization/check", params={"permissionName": "READ"}).status_code == 400
    assert check(client, permissionName="DELETE", resourceType=9, userId="designer") is True
    assert check(client, permissionName="DELETE", resourceType=9, userId="zhao") is False


def test_a_filter_is_shared_with_a_group_then_with_everyone(service, client, people):
    with as_user(service, "li") as li, as_user(service, "wang") as wang, as_user(service, "zhao") as zhao:
        mine = li.post("/filter/create", json={"resourceType": "Task", "name": "本组待办",
                                               "query": {"candidateGroupsExpression": "${currentUserGroups()}"}}
                       ).json()["id"]
        assert wang.get("/filter").json() == []
        shared = li.post("/authorization/create", json={"type": 1, "permissions": ["READ"], "groupId": "xj-env",
                                                        "resourceType": 5, "resourceId": mine})
        assert shared.status_code == 200, shared.text
        grant = shared.json()["id"]
        assert [row["id"] for row in wang.get("/filter").json()] == [mine]
        assert wang.get(f"/filter/{mine}/count").status_code == 200
        assert zhao.get(f"/filter/{mine}").status_code == 403
        assert wang.put(f"/filter/{mine}", json={"name": "改名", "query": {}}).status_code == 403
        assert wang.post("/authorization/create", json={"type": 1, "permissions": ["READ"], "userId": "zhao",
                                                        "resourceType": 5, "resourceId": mine}).status_code == 403
        assert li.put(f"/authorization/{grant}", json={"type": 1, "permissions": ["READ", "UPDATE"],
                                                        "groupId": "xj-env", "resourceType": 5}).status_code == 204
        assert wang.put(f"/filter/{mine}", json={"name": "本组待办（改）", "query": {}}).status_code == 204
        everyone = li.post("/authorization/create", json={"type": 0, "permissions": ["READ"], "userId": "*",
                                                          "resourceType": 5, "resourceId": mine}).json()["id"]
        assert zhao.get(f"/filter/{mine}").json()["name"] == "本组待办（改）"
        assert li.delete(f"/authorization/{everyone}").status_code == 204
        assert zhao.get(f"/filter/{mine}").status_code == 403
        li.delete(f"/filter/{mine}").raise_for_status()
        assert client.get(f"/authorization/{grant}").status_code == 404


def test_only_filter_authorizations_are_kept_and_they_are_checked(service, client, people):
    mine = client.post("/filter/create", json={"resourceType": "Task", "name": "x", "query": {}}).json()["id"]
    for body in ({"type": 1, "permissions": ["READ"], "groupId": "xj-env", "resourceType": 6, "resourceId": "*"},
                 {"type": 2, "permissions": ["READ"], "groupId": "xj-env", "resourceType": 5, "resourceId": mine},
                 {"type": 1, "permissions": ["READ"], "groupId": "xj-env", "userId": "li", "resourceType": 5,
                  "resourceId": mine},
                 {"type": 0, "permissions": ["READ"], "userId": "li", "resourceType": 5, "resourceId": mine},
                 {"type": 1, "permissions": ["START"], "groupId": "xj-env", "resourceType": 5, "resourceId": mine},
                 {"type": 1, "permissions": ["READ"], "groupId": "xj-env", "resourceType": 5, "resourceId": "nope"}):
        assert client.post("/authorization/create", json=body).status_code == 400, body

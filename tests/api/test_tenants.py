"""Regions as Camunda's tenants over /tenant: administrators name regions and put accounts and groups
in them, the members then see the region's cases (and no other province's) at once, a region that
cases or members belong to is not deleted, and every change is in the administrative history."""
from __future__ import annotations

import httpx
import pytest

from app.access import accounts
from tests.api.test_regions import CASE, UNREGIONED
from tests.support.http import deploy_bytes
from tests.support.service import ADMIN_AUTH


def _as(service, user: str) -> httpx.Client:
    return httpx.Client(base_url=f"{service.base_url}/engine-rest", auth=(user, f"{user}-password"), timeout=30)


def _user(client, user: str) -> None:
    client.post("/user/create", json={"profile": {"id": user}, "credentials": {"password": f"{user}-password"}}
                ).raise_for_status()


def _seen(http: httpx.Client) -> set[str]:
    return {row["id"] for row in http.get("/history/process-instance").json()}


def _events(root, kind: str, subject: str) -> list[dict]:
    return root.get("/api/history/admin-events", params={"kind": kind, "subject": subject}).json()


@pytest.fixture
def regional_cases(client) -> dict[str, str]:
    """A case in each of xj-urumqi, xj-kashgar and zj."""
    deploy_bytes(client, "regional.bpmn", CASE).raise_for_status()
    deploy_bytes(client, "plain.bpmn", UNREGIONED).raise_for_status()
    return {province: client.post("/process-definition/key/regional_case/start",
                                  json={"variables": {"province": {"value": province}}}).json()["id"]
            for province in ("xj-urumqi", "xj-kashgar", "zj")}


def test_an_administrator_creates_names_and_lists_tenants(client, root):
    for tenant_id, name in (("xj", "新疆维吾尔自治区"), ("xj-urumqi", "乌鲁木齐市"), ("zj", "浙江省")):
        assert client.post("/tenant/create", json={"id": tenant_id, "name": name}).status_code == 204
    assert client.get("/tenant").json() == [{"id": "xj", "name": "新疆维吾尔自治区"},
                                            {"id": "xj-urumqi", "name": "乌鲁木齐市"}, {"id": "zj", "name": "浙江省"}]
    assert client.get("/tenant/count").json() == {"count": 3}
    assert client.get("/tenant", params={"name": "浙江省"}).json() == [{"id": "zj", "name": "浙江省"}]
    assert [row["id"] for row in client.get("/tenant", params={"nameLike": "%乌鲁木齐%"}).json()] == ["xj-urumqi"]
    assert [row["id"] for row in client.get("/tenant", params={"sortBy": "id", "sortOrder": "desc",
                                                               "firstResult": 1, "maxResults": 1}).json()] == [
        "xj-urumqi"]
    assert client.get("/tenant", params={"id": "xj"}).json() == [{"id": "xj", "name": "新疆维吾尔自治区"}]
    assert client.get("/tenant/xj-urumqi").json() == {"id": "xj-urumqi", "name": "乌鲁木齐市"}

    assert client.put("/tenant/xj-urumqi", json={"name": "乌鲁木齐"}).status_code == 204
    assert client.get("/tenant/xj-urumqi").json() == {"id": "xj-urumqi", "name": "乌鲁木齐"}
    again = client.post("/tenant/create", json={"id": "zj", "name": "又一个"})
    assert again.status_code == 400 and again.json() == {"type": "InvalidRequestException",
                                                         "message": "Tenant with id zj already exists",
                                                         "code": 400}
    [created] = _events(root, "tenant.created", "tenant:zj")
    assert created["userId"] == ADMIN_AUTH[0] and created["payload"]["name"] == "浙江省"
    [updated] = _events(root, "tenant.updated", "tenant:xj-urumqi")
    assert updated["payload"]["name"] == "乌鲁木齐"


def test_tenants_sort_by_name_with_unnamed_regions_first(service, client):
    client.post("/tenant/create", json={"id": "b", "name": "B"}).raise_for_status()
    client.post("/tenant/create", json={"id": "a", "name": "C"}).raise_for_status()
    accounts.save_account(service.services, "unnamed-official", "unnamed-official-password", [], region="c")
    ascending = client.get("/tenant", params={"sortBy": "name", "sortOrder": "asc"}).json()
    assert ascending == [{"id": "c", "name": None}, {"id": "b", "name": "B"}, {"id": "a", "name": "C"}]
    descending = client.get("/tenant", params={"sortBy": "name", "sortOrder": "desc"}).json()
    assert [row["id"] for row in descending] == ["a", "b", "c"]


def test_regions_in_use_are_tenants_without_a_name_until_named(service, client, regional_cases):
    accounts.save_account(service.services, "gd-official", "gd-official-password", [], region="gd")
    listed = client.get("/tenant").json()
    assert listed == [{"id": "gd", "name": None}, {"id": "xj-kashgar", "name": None},
                      {"id": "xj-urumqi", "name": None}, {"id": "zj", "name": None}]
    assert client.get("/tenant/xj-kashgar").json() == {"id": "xj-kashgar", "name": None}
    assert client.put("/tenant/xj-kashgar", json={"name": "喀什地区"}).status_code == 204
    assert client.post("/tenant/create", json={"id": "gd", "name": "广东省"}).status_code == 204
    assert client.get("/tenant", params={"nameLike": "%省"}).json() == [{"id": "gd", "name": "广东省"}]
    assert client.get("/tenant/xj-kashgar").json() == {"id": "xj-kashgar", "name": "喀什地区"}
    assert client.get("/tenant/count", params={"name": "喀什地区"}).json() == {"count": 1}


def test_bad_input_and_unknown_ids_answer_as_camunda_does(client):
    client.post("/tenant/create", json={"id": "xj", "name": "新疆"}).raise_for_status()
    _user(client, "li.ming")
    client.post("/group/create", json={"id": "xj-env", "name": "环境厅"}).raise_for_status()
    for body in ({}, {"name": "无"}, {"id": ""}, {"id": "XJ Urumqi"}, {"id": 5}, {"id": "x" * 65},
                 {"id": "ok", "name": "n" * 256}, {"id": "ok", "name": 7}):
        refused = client.post("/tenant/create", json=body)
        assert refused.status_code == 400, body
        assert refused.json()["type"] == "InvalidRequestException" and "Traceback" not in refused.text
    assert client.get("/tenant/ok").status_code == 404
    assert client.put("/tenant/xj", json={"id": "zj", "name": "改"}).status_code == 400
    assert client.get("/tenant/xj").json()["name"] == "新疆"
    for params in ({"sortBy": "region"}, {"sortBy": "id", "sortOrder": "up"}, {"includingGroupsOfUser": "maybe"},
                   {"maxResults": "many"}, {"firstResult": "-"}):
        answer = client.get("/tenant", params=params)
        assert answer.status_code == 400 and answer.json()["type"] == "InvalidRequestException", params

    unknown = client.get("/tenant/nowhere")
    assert unknown.status_code == 404 and unknown.json() == {
        "type": "InvalidRequestException", "message": "Tenant with id nowhere does not exist", "code": 404}
    assert client.put("/tenant/nowhere", json={"name": "无"}).status_code == 404
    assert client.get("/tenant/nowhere").status_code == 404
    assert client.put("/tenant/nowhere/user-members/li.ming").status_code == 404
    assert client.put("/tenant/nowhere/group-members/xj-env").status_code == 404
    nobody = client.put("/tenant/xj/user-members/nobody")
    assert nobody.status_code == 404 and nobody.json()["message"] == "User with id nobody does not exist"
    no_group = client.put("/tenant/xj/group-members/nogroup")
    assert no_group.status_code == 404 and no_group.json()["message"] == "Group with id nogroup does not exist"
    # Deleting what is not there is no error, as in Camunda.
    assert client.delete("/tenant/nowhere").status_code == 204
    assert client.delete("/tenant/xj/user-members/nobody").status_code == 204
    assert client.delete("/tenant/xj/group-members/nogroup").status_code == 204
    assert client.get("/tenant/count").json() == {"count": 1}


def test_only_administrators_change_tenants_while_everyone_reads_them(service, client):
    client.post("/tenant/create", json={"id": "xj", "name": "新疆"}).raise_for_status()
    _user(client, "li.ming")
    with _as(service, "li.ming") as li:
        refused = [li.post("/tenant/create", json={"id": "zj"}), li.put("/tenant/xj", json={"name": "改"}),
                   li.delete("/tenant/xj"), li.put("/tenant/xj/user-members/li.ming"),
                   li.delete("/tenant/xj/user-members/li.ming"), li.put("/tenant/xj/group-members/admins"),
                   li.delete("/tenant/xj/group-members/admins")]
        assert [answer.status_code for answer in refused] == [403] * 7
        assert {answer.json()["type"] for answer in refused} == {"AuthorizationException"}
        assert li.get("/tenant").json() == [{"id": "xj", "name": "新疆"}]
        assert li.get("/tenant/xj").json() == {"id": "xj", "name": "新疆"}
        assert li.get("/tenant/count").json() == {"count": 1}
        assert li.get("/user/li.ming/profile").status_code == 200


def test_a_user_made_member_of_a_tenant_sees_its_cases_at_once_and_no_other_provinces(service, client, root,
                                                                                       regional_cases):
    client.post("/tenant/create", json={"id": "xj", "name": "新疆"}).raise_for_status()
    client.post("/tenant/create", json={"id": "gd", "name": "广东"}).raise_for_status()
    for user in ("li.ming", "zhao.gd"):
        _user(client, user)
    with _as(service, "li.ming") as li, _as(service, "zhao.gd") as zhao, _as(service, "zj-director") as zj:
        assert _seen(li) == set()
        assert client.put("/tenant/xj/user-members/li.ming").status_code == 204
        # The same client, whose sign-in the service remembers: the membership counts at once.
        assert _seen(li) == {regional_cases["xj-urumqi"], regional_cases["xj-kashgar"]}
        # An administrator's check of what li.ming may read answers as li.ming's own reading does.
        for case, readable in ((regional_cases["xj-urumqi"], True), (regional_cases["zj"], False)):
            checked = client.get("/authorization/check", params={"userId": "li.ming", "permissionName": "READ",
                                                                 "resourceType": 8, "resourceId": case}).json()
            assert checked["authorized"] is readable
        assert client.put("/tenant/gd/user-members/zhao.gd").status_code == 204
        assert _seen(zhao) == set()
        _user(client, "zj-director")
        client.put("/tenant/zj/user-members/zj-director").raise_for_status()
        assert _seen(zj) == {regional_cases["zj"]}

        elsewhere = client.put("/tenant/zj/user-members/li.ming")
        assert elsewhere.status_code == 400 and elsewhere.json()["type"] == "InvalidRequestException"
        assert "tenant xj" in elsewhere.json()["message"]
        assert client.put("/tenant/xj/user-members/li.ming").status_code == 204
        assert len(_events(root, "tenant-membership.created", "account:li.ming")) == 1
        assert client.get("/tenant", params={"userMember": "li.ming"}).json() == [{"id": "xj", "name": "新疆"}]
        assert [user["id"] for user in client.get("/user", params={"memberOfTenant": "xj"}).json()] == ["li.ming"]

        # A case li.ming starts of a process that names no region takes li.ming's region.
        started = li.post("/process-definition/key/plain_case/start", json={}).json()
        assert started["tenantId"] == "xj"

        assert client.delete("/tenant/zj/user-members/li.ming").status_code == 204
        assert _seen(li) >= {regional_cases["xj-urumqi"]}
        assert client.delete("/tenant/xj/user-members/li.ming").status_code == 204
        assert _seen(li) == {started["id"]}  # the case it started, and no region's
        assert client.get("/tenant", params={"userMember": "li.ming"}).json() == []
        [left] = _events(root, "tenant-membership.deleted", "account:li.ming")
        assert left["userId"] == ADMIN_AUTH[0] and left["payload"]["tenant"] == "xj"
        assert client.put("/tenant/zj/user-members/li.ming").status_code == 204
        assert _seen(li) == {started["id"], regional_cases["zj"]}


def test_a_groups_tenant_membership_lets_its_members_see_the_regions_cases(service, client, root, regional_cases):
    for tenant_id in ("xj-urumqi", "zj"):
        client.put(f"/tenant/{tenant_id}", json={"name": tenant_id}).raise_for_status()
    client.post("/group/create", json={"id": "urumqi-inspectors", "name": "督察组"}).raise_for_status()
    for user in ("wang.fang", "chen.jing"):
        _user(client, user)
        client.put(f"/group/urumqi-inspectors/members/{user}").raise_for_status()
    with _as(service, "wang.fang") as wang, _as(service, "chen.jing") as chen:
        assert _seen(wang) == set()
        assert client.put("/tenant/xj-urumqi/group-members/urumqi-inspectors").status_code == 204
        assert _seen(wang) == {regional_cases["xj-urumqi"]} == _seen(chen)
        assert client.put("/tenant/xj-urumqi/group-members/urumqi-inspectors").status_code == 204
        assert len(_events(root, "tenant-membership.created", "group:urumqi-inspectors")) == 1

        assert client.get("/tenant", params={"groupMember": "urumqi-inspectors"}).json() == [
            {"id": "xj-urumqi", "name": "xj-urumqi"}]
        assert client.get("/tenant", params={"userMember": "wang.fang"}).json() == []
        assert [row["id"] for row in client.get("/tenant", params={"userMember": "wang.fang",
                                                                   "includingGroupsOfUser": "true"}).json()] == [
            "xj-urumqi"]
        assert [group["id"] for group in client.get("/group", params={"memberOfTenant": "xj-urumqi"}).json()] == [
            "urumqi-inspectors"]

        # The group's one region is the region of a case a member starts, when the process names none.
        started = wang.post("/process-definition/key/plain_case/start", json={}).json()
        assert started["tenantId"] == "xj-urumqi"
        # With an own region as well, the member sees both, and the own region is the starting one.
        client.put("/tenant/zj/user-members/chen.jing").raise_for_status()
        assert _seen(chen) == {regional_cases["xj-urumqi"], regional_cases["zj"], started["id"]}
        assert chen.post("/process-definition/key/plain_case/start", json={}).json()["tenantId"] == "zj"
        # With two regions of groups and none of its own, a case it starts takes neither.
        client.post("/group/create", json={"id": "zj-inspectors"}).raise_for_status()
        client.put("/group/zj-inspectors/members/wang.fang").raise_for_status()
        client.put("/tenant/zj/group-members/zj-inspectors").raise_for_status()
        assert wang.post("/process-definition/key/plain_case/start", json={}).json()["tenantId"] is None

        assert client.delete("/tenant/xj-urumqi/group-members/urumqi-inspectors").status_code == 204
        assert regional_cases["xj-urumqi"] not in _seen(wang) | _seen(chen)
        [left] = _events(root, "tenant-membership.deleted", "group:urumqi-inspectors")
        assert left["payload"]["tenant"] == "xj-urumqi"
        # Deleting a group takes its regions with it.
        assert client.delete("/group/zj-inspectors").status_code == 204
        assert client.get("/tenant", params={"groupMember": "zj-inspectors"}).json() == []
        assert regional_cases["zj"] not in _seen(wang)


def test_an_api_key_carries_the_regions_of_its_accounts_groups(service, client, regional_cases):
    client.post("/group/create", json={"id": "kashgar-systems"}).raise_for_status()
    _user(client, "kashgar-system")
    client.put("/group/kashgar-systems/members/kashgar-system").raise_for_status()
    client.put("/tenant/xj-kashgar/group-members/kashgar-systems").raise_for_status()
    key = accounts.create_api_key(service.services, "kashgar-system")
    with httpx.Client(base_url=f"{service.base_url}/engine-rest", headers={"X-API-Key": key}, timeout=30) as system:
        assert _seen(system) == {regional_cases["xj-kashgar"]}


def test_a_tenant_that_cases_or_members_belong_to_is_not_deleted(service, client, root, regional_cases):
    client.put("/tenant/zj", json={"name": "浙江"}).raise_for_status()
    with_cases = client.delete("/tenant/zj")
    assert with_cases.status_code == 400 and with_cases.json()["type"] == "InvalidRequestException"
    assert "cases" in with_cases.json()["message"]
    assert client.get("/tenant/zj").json() == {"id": "zj", "name": "浙江"}

    client.post("/tenant/create", json={"id": "gd", "name": "广东"}).raise_for_status()
    _user(client, "zhao.gd")
    client.put("/tenant/gd/user-members/zhao.gd").raise_for_status()
    client.post("/group/create", json={"id": "gd-env"}).raise_for_status()
    client.put("/tenant/gd/group-members/gd-env").raise_for_status()
    with_members = client.delete("/tenant/gd")
    assert with_members.status_code == 400
    assert "accounts" in with_members.json()["message"] and "groups" in with_members.json()["message"]
    client.delete("/tenant/gd/user-members/zhao.gd").raise_for_status()
    client.delete("/tenant/gd/group-members/gd-env").raise_for_status()
    assert client.delete("/tenant/gd").status_code == 204
    assert client.get("/tenant/gd").status_code == 404
    assert [row["id"] for row in client.get("/tenant").json()] == ["xj-kashgar", "xj-urumqi", "zj"]
    [deleted] = _events(root, "tenant.deleted", "tenant:gd")
    assert deleted["userId"] == ADMIN_AUTH[0]
    assert _events(root, "tenant.deleted", "tenant:zj") == []

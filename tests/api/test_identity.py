"""Users, groups and memberships over Camunda's identity resources (/user, /group, /identity):
administrators manage them, every change counts at once for the account it touches, nobody ever
reads a password, and the service keeps an administrator."""
from __future__ import annotations

import httpx
import pytest

from app.access import signin
from app.errors import TooManyAttempts
from tests.support.service import ADMIN_AUTH

PASSWORD = "li-ming-password"


def _client(service, user: str, password: str) -> httpx.Client:
    return httpx.Client(base_url=f"{service.base_url}/engine-rest", auth=(user, password), timeout=30)


def _create(client, user_id: str, password: str | None = PASSWORD, **profile) -> httpx.Response:
    body: dict = {"profile": {"id": user_id, **profile}}
    if password is not None:
        body["credentials"] = {"password": password}
    return client.post("/user/create", json=body)


def test_an_administrator_creates_a_user_who_then_signs_in_and_is_found(service, client, root):
    created = _create(client, "li.ming", firstName="明", lastName="李", email="li.ming@zj.gov.cn")
    assert created.status_code == 204
    with _client(service, "li.ming", PASSWORD) as li:
        assert li.get("/task").status_code == 200
        assert li.get("/user/li.ming/profile").json() == {"id": "li.ming", "firstName": "明", "lastName": "李",
                                                          "email": "li.ming@zj.gov.cn"}
    _create(client, "wang.fang", firstName="芳", lastName="王")
    found = client.get("/user", params={"lastNameLike": "%李%"}).json()
    assert [user["id"] for user in found] == ["li.ming"]
    ordered = client.get("/user", params={"idIn": "wang.fang,li.ming", "sortBy": "userId", "sortOrder": "desc"}).json()
    assert [user["id"] for user in ordered] == ["wang.fang", "li.ming"]
    assert client.get("/user/count", params={"emailLike": "%@zj.gov.cn"}).json() == {"count": 1}
    again = _create(client, "li.ming")
    assert again.status_code == 400 and "already exists" in again.json()["message"]
    everything = client.get("/user").text + root.get("/api/history/admin-events").text
    assert PASSWORD not in everything
    [event] = root.get("/api/history/admin-events", params={"kind": "user.created", "subject": "account:li.ming"}).json()
    assert event["userId"] == ADMIN_AUTH[0] and event["payload"]["password"] is True


def test_bad_users_are_refused_in_plain_words(client):
    assert _create(client, "short", password="1234567").status_code == 400
    assert _create(client, "a:b").status_code == 400
    assert _create(client, "mail", email="not-an-address").status_code == 400
    missing = client.post("/user/create", json={"credentials": {"password": PASSWORD}})
    assert missing.status_code == 400
    assert missing.json()["message"] == "request object must provide profile information with valid id."
    unknown = client.get("/user/nobody/profile")
    assert unknown.status_code == 404 and unknown.json() == {
        "type": "InvalidRequestException", "message": "User with id nobody does not exist", "code": 404}


def test_a_user_without_credentials_exists_but_cannot_sign_in(service, client):
    assert _create(client, "no.password", password=None, firstName="无").status_code == 204
    assert client.get("/user/no.password/profile").json()["firstName"] == "无"
    with _client(service, "no.password", "") as nobody:
        assert nobody.get("/task").status_code == 401


def test_only_administrators_change_users_and_groups_while_everyone_reads_them(service, client):
    _create(client, "li.ming", firstName="明")
    with _client(service, "li.ming", PASSWORD) as li:
        refused = [li.post("/user/create", json={"profile": {"id": "x"}, "credentials": {"password": PASSWORD}}),
                   li.put("/user/li.ming/profile", json={"firstName": "改"}),
                   li.delete(f"/user/{ADMIN_AUTH[0]}"),
                   li.post("/group/create", json={"id": "g1", "name": "G"}),
                   li.put("/group/admins/members/li.ming")]
        assert [answer.status_code for answer in refused] == [403] * 5
        assert {answer.json()["type"] for answer in refused} == {"AuthorizationException"}
        assert li.get("/user/li.ming/profile").json()["firstName"] == "明"
        assert li.get("/group/admins").json() == {"id": "admins", "name": "admins", "type": None}


def test_a_membership_counts_at_once_and_so_does_its_removal(service, client):
    """A remembered sign-in must not keep a group that was taken away (or miss one just given)."""
    _create(client, "designer.zhao")
    with _client(service, "designer.zhao", PASSWORD) as zhao:
        files = [("data", ("empty.bpmn", b"<definitions/>", "application/xml"))]
        assert zhao.post("/deployment/create", files=files).status_code == 403
        assert client.post("/group/create", json={"id": "designers", "name": "流程设计", "type": "WORKFLOW"}
                           ).status_code == 204
        assert client.put("/group/designers/members/designer.zhao").status_code == 204
        assert zhao.post("/deployment/create", files=files).status_code == 400  # past the guard: a bad file
        assert client.delete("/group/designers/members/designer.zhao").status_code == 204
        assert zhao.post("/deployment/create", files=files).status_code == 403


def test_groups_are_listed_filtered_and_deleted_with_their_memberships(service, client):
    _create(client, "li.ming")
    _create(client, "wang.fang")
    for group_id, name in (("zj-env", "浙江省生态环境厅"), ("zj-commerce", "浙江省商务厅")):
        client.post("/group/create", json={"id": group_id, "name": name, "type": "AUTHORITY"})
        client.put(f"/group/{group_id}/members/li.ming")
    client.put("/group/zj-env/members/wang.fang")
    assert [g["id"] for g in client.get("/group", params={"member": "li.ming", "sortBy": "id",
                                                                     "sortOrder": "desc"}).json()] == [
        "zj-env", "zj-commerce"]
    assert [g["id"] for g in client.post("/group", params={"maxResults": 1},
                                         json={"nameLike": "浙江省%", "sortBy": "id"}).json()] == ["zj-commerce"]
    assert client.post("/group/count", json={"type": "AUTHORITY"}).json() == {"count": 2}
    assert client.put("/group/zj-env", json={"name": "浙江省生态环境厅（更名）", "type": "AUTHORITY"}).status_code == 204
    assert client.get("/group/zj-env").json()["name"] == "浙江省生态环境厅（更名）"
    info = client.get("/identity/groups", params={"userId": "li.ming"}).json()
    assert sorted(g["id"] for g in info["groups"]) == ["zj-commerce", "zj-env"]
    assert [u["id"] for u in info["groupUsers"]] == ["wang.fang"]
    assert client.delete("/group/zj-env").status_code == 204
    assert client.get("/group/zj-env").status_code == 404
    assert client.get("/user", params={"memberOfGroup": "zj-env"}).json() == []
    assert client.put("/group/zj-env/members/li.ming").status_code == 404
    assert client.put("/group/zj-commerce/members/nobody").status_code == 404
    assert client.get("/identity/groups").status_code == 400


def test_a_user_changes_their_own_password_by_giving_the_current_one(service, client):
    _create(client, "li.ming")
    new = "a-new-password-2026"
    with _client(service, "li.ming", PASSWORD) as li:
        wrong = li.put("/user/li.ming/credentials", json={"password": new, "authenticatedUserPassword": "guess-123"})
        assert wrong.status_code == 400
        assert wrong.json()["message"] == "The given authenticated user password is not valid."
        assert li.put(f"/user/{ADMIN_AUTH[0]}/credentials",
                      json={"password": new, "authenticatedUserPassword": PASSWORD}).status_code == 403
        assert li.put("/user/li.ming/credentials",
                      json={"password": new, "authenticatedUserPassword": PASSWORD}).status_code == 204
        assert li.get("/task").status_code == 401
    with _client(service, "li.ming", new) as li:
        assert li.get("/task").status_code == 200
    verified = client.post("/identity/verify", json={"username": "li.ming", "password": new}).json()
    assert verified == {"authenticatedUser": "li.ming", "authenticated": True, "tenants": None, "groups": None}
    assert client.post("/identity/verify", json={"username": "li.ming", "password": PASSWORD}
                       ).json()["authenticated"] is False
    assert client.post("/identity/verify", json={"username": "li.ming"}).status_code == 400


def test_deleting_a_user_ends_their_sign_in_and_keeps_an_administrator(service, client):
    _create(client, "li.ming")
    with _client(service, "li.ming", PASSWORD) as li:
        assert li.get("/task").status_code == 200
        assert client.delete("/user/li.ming").status_code == 204
        assert li.get("/task").status_code == 401
    assert client.delete("/user/nobody").status_code == 204
    last = client.delete(f"/user/{ADMIN_AUTH[0]}")
    assert last.status_code == 400 and "last administrator" in last.json()["message"]
    assert client.delete(f"/group/admins/members/{ADMIN_AUTH[0]}").status_code == 400
    assert client.delete("/group/admins").status_code == 400
    _create(client, "second.admin")
    client.put("/group/admins/members/second.admin")
    assert client.delete(f"/group/admins/members/{ADMIN_AUTH[0]}").status_code == 204


def test_an_administrator_unlocks_a_locked_account(service, client):
    _create(client, "li.ming")
    with pytest.raises(TooManyAttempts):
        for attempt in range(service.services.settings.signin_lockout_failures):
            signin.failed(service.services, "li.ming", f"10.0.{attempt}.1")
    with _client(service, "li.ming", PASSWORD) as li:
        assert li.get("/task").status_code == 429
        assert client.post("/user/li.ming/unlock").status_code == 204
        assert li.get("/task").status_code == 200
    assert client.post("/user/nobody/unlock").status_code == 404


def test_the_password_policy_is_told_and_checked(client):
    assert client.get("/identity/password-policy").json() == {
        "rules": [{"placeholder": "PASSWORD_POLICY_LENGTH", "parameter": {"minLength": "8"}}]}
    checked = client.post("/identity/password-policy", json={"password": "short"}).json()
    assert checked["valid"] is False and checked["rules"][0]["valid"] is False
    assert client.post("/identity/password-policy", json={"password": "long-enough"}).json()["valid"] is True

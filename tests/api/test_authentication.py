"""Safe by default: every route but /health needs an account's credentials; the first administrator
comes from BOOTSTRAP_ADMIN or is generated and shown once; demonstration accounts exist only when
asked for, and never in production."""
from __future__ import annotations

import logging

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from app.persistence.models import Account, Membership
from app.services import accounts
from app.settings import Settings
from tests.conftest import ADMIN_AUTH, start_service

PATHS = ["/engine-rest/process-definition", "/engine-rest/task", "/engine-rest/history/process-instance",
         "/engine-rest/variable-instance", "/engine-rest/deployment", "/api/clock", "/api/calendar/2026",
         "/api/parks", "/api/agencies", "/api/deadlines"]


@pytest.mark.parametrize("path", PATHS)
def test_no_request_without_credentials_reaches_data(service, path):
    with httpx.Client(base_url=service.base_url, timeout=30) as anonymous:
        refused = anonymous.get(path)
        wrong = anonymous.get(path, auth=(ADMIN_AUTH[0], "not-the-password"))
        unknown_scheme = anonymous.get(path, headers={"Authorization": "Digest abc"})
        signed_in = anonymous.get(path, auth=ADMIN_AUTH)
    for answer in (refused, wrong, unknown_scheme):
        assert answer.status_code == 401 and answer.headers["www-authenticate"] == 'Basic realm="eco-orchestrator"'
        assert answer.json()["type"] == "AuthenticationException"
    assert signed_in.status_code != 401


def test_health_answers_without_credentials(service):
    assert httpx.get(f"{service.base_url}/health").json()["status"] == "UP"


def test_a_command_without_credentials_changes_nothing(service, client):
    with httpx.Client(base_url=f"{service.base_url}/engine-rest", timeout=30) as anonymous:
        assert anonymous.post("/process-definition/key/any/start", json={}).status_code == 401
        assert anonymous.post("/deployment/create", files=[("data", ("x.bpmn", b"<x/>", "application/xml"))]
                              ).status_code == 401
    assert client.get("/deployment/count").json() == {"count": 0}


def administrators(services) -> list[str]:
    with services.db.read() as session:
        return list(session.scalars(select(Membership.account_id).where(Membership.group_id == "admins")))


def test_the_first_administrator_is_generated_and_shown_once(tmp_path, caplog):
    url = f"sqlite:///{tmp_path / 'first.sqlite3'}"
    with caplog.at_level(logging.WARNING, logger="app.services.accounts"):
        first = start_service(url, bootstrap_admin="")
    try:
        [message] = [record.getMessage() for record in caplog.records if "No administrator existed" in record.message]
        password = message.split("the password ")[1].split(" ")[0]
        assert administrators(first.services) == ["admin"]
        with httpx.Client(base_url=first.base_url, timeout=30) as http:
            assert http.get("/api/clock", auth=("admin", password)).status_code == 200
            assert http.get("/api/clock", auth=("admin", "admin")).status_code == 401
    finally:
        first.stop()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="app.services.accounts"):
        again = start_service(url, bootstrap_admin="")
    again.stop()
    assert not [record for record in caplog.records if "No administrator existed" in record.message]


def test_bootstrap_admin_and_demonstration_accounts(tmp_path):
    running = start_service(f"sqlite:///{tmp_path / 'demo.sqlite3'}", bootstrap_admin="chief:chief-password-1",
                            demo_accounts=True)
    try:
        assert administrators(running.services) == ["chief"]
        with running.services.db.read() as session:
            demo = session.get(Account, "demo-xj-env")
        assert demo is not None and "演示" in demo.display_name
        with httpx.Client(base_url=running.base_url, timeout=30) as http:
            assert http.get("/api/agencies", auth=("demo-xj-env", "demo-xj-env")).status_code == 200
    finally:
        running.stop()


def test_production_refuses_demonstration_accounts():
    with pytest.raises(ValidationError, match="DEMO_ACCOUNTS=true cannot be used with ENVIRONMENT=production"):
        Settings(environment="production", demo_accounts=True)


def test_passwords_are_checked_and_never_stored(service):
    with pytest.raises(accounts.InvalidRequest, match="at least 8 characters"):
        accounts.save_account(service.services, "short", "1234567", ["xj-env"])
    accounts.save_account(service.services, "wang", "wang-password-1", ["xj-env"])
    with service.services.db.read() as session:
        assert "wang-password-1" not in session.get(Account, "wang").password_hash

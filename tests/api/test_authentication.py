"""Safe by default: every route but /health needs an account's credentials; the first administrator
comes from BOOTSTRAP_ADMIN or is generated and shown once; demonstration accounts exist only when
asked for, and never in production."""
from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from app.access import accounts
from app.persistence.models import Account, Membership
from app.settings import Settings
from tests.support.service import ADMIN_AUTH, start_service

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


def test_the_first_administrator_is_generated_and_shown_once(tmp_path, capfd, caplog):
    """Shown on the start's output (stderr), never as a log line: log lines are shipped and kept."""
    url = f"sqlite:///{tmp_path / 'first.sqlite3'}"
    first = start_service(url, bootstrap_admin="")
    try:
        [message] = [line for line in capfd.readouterr().err.splitlines() if "No administrator existed" in line]
        password = message.split("the password ")[1].split(" ")[0]
        assert not [record for record in caplog.records if password in record.getMessage()]
        assert administrators(first.services) == ["admin"]
        with httpx.Client(base_url=first.base_url, timeout=30) as http:
            assert http.get("/api/clock", auth=("admin", password)).status_code == 200
            assert http.get("/api/clock", auth=("admin", "admin")).status_code == 401
    finally:
        first.stop()
    again = start_service(url, bootstrap_admin="")
    again.stop()
    assert "No administrator existed" not in capfd.readouterr().err


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
    with pytest.raises(accounts.InvalidRequest, match="8 to 1024 characters"):
        accounts.save_account(service.services, "short", "1234567", ["xj-env"])
    accounts.save_account(service.services, "wang", "wang-password-1", ["xj-env"])
    with service.services.db.read() as session:
        assert "wang-password-1" not in session.get(Account, "wang").password_hash


# --- Bearer tokens of the single sign-on, and API keys for systems ---------------------------------

@pytest.fixture(scope="module")
def signing_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(private_key) -> str:
    from cryptography.hazmat.primitives import serialization

    return private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def token(private_key, **claims) -> str:
    import time

    import jwt

    body = {"iss": "https://sso.gov.example", "aud": "eco-orchestrator", "sub": "li.ming",
            "groups": ["xj-urumqi-env", "auditors"], "region": "xj-urumqi", "exp": int(time.time()) + 600, **claims}
    return jwt.encode(body, private_key, algorithm="RS256", headers={"kid": "sso-1"})


@pytest.fixture
def sso_service(tmp_path, signing_key):
    import json

    import jwt

    jwks = {"keys": [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key())), "kid": "sso-1",
                      "use": "sig", "alg": "RS256"}]}
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jwks), encoding="utf-8")
    running = start_service(f"sqlite:///{tmp_path / 'sso.sqlite3'}", jwt_issuer="https://sso.gov.example",
                            jwt_audience="eco-orchestrator", jwt_keys=str(keys))
    yield running
    running.stop()


def test_a_token_of_the_single_sign_on_signs_in_with_its_user_and_groups(sso_service, signing_key):
    from cryptography.hazmat.primitives.asymmetric import rsa

    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with httpx.Client(base_url=sso_service.base_url, timeout=30) as http:
        def status(bearer: str) -> int:
            return http.get("/engine-rest/process-instance/count", headers={"Authorization": f"Bearer {bearer}"}
                            ).status_code
        assert status(token(signing_key)) == 200  # an auditor (a group of the token) reads
        assert status(token(forger)) == 401
        assert status(token(signing_key, exp=1)) == 401
        assert status(token(signing_key, iss="https://elsewhere.example")) == 401
        assert status(token(signing_key, aud="another-service")) == 401
        assert status("not-a-token") == 401
        # The groups come from the token: without `systems` a message is refused, with it accepted.
        message = {"messageName": "nobody-waits"}
        plain = http.post("/engine-rest/message", json=message, headers={"Authorization": f"Bearer {token(signing_key)}"})
        assert plain.status_code == 403 and plain.json()["userId"] == "li.ming"
        system = token(signing_key, groups=["systems"])
        assert http.post("/engine-rest/message", json=message, headers={"Authorization": f"Bearer {system}"}
                         ).status_code == 400  # allowed, and nobody waits for it


def test_bearer_tokens_are_refused_where_no_single_sign_on_is_configured(service, signing_key):
    answer = httpx.get(f"{service.base_url}/api/agencies", headers={"Authorization": f"Bearer {token(signing_key)}"})
    assert answer.status_code == 401 and "no single sign-on is configured" in answer.json()["message"]


def test_a_system_signs_in_with_an_api_key_until_it_is_revoked(service):
    accounts.save_account(service.services, "permit-system", "permit-system-password", ["systems"])
    key = accounts.create_api_key(service.services, "permit-system")
    key_id, secret = key.split(".")
    with service.services.db.read() as session:
        from app.persistence.models import ApiKey

        assert secret not in session.get(ApiKey, key_id).secret_hash
    with httpx.Client(base_url=f"{service.base_url}/engine-rest", timeout=30) as http:
        assert http.post("/external-task/fetchAndLock", json={"workerId": "w", "maxTasks": 1, "topics": []},
                         headers={"X-API-Key": key}).status_code == 200
        assert http.get("/task", headers={"Authorization": f"ApiKey {key}"}).status_code == 200
        assert http.get("/task", headers={"X-API-Key": f"{key_id}.wrong"}).status_code == 401
        accounts.revoke_api_key(service.services, key_id)
        assert http.get("/task", headers={"X-API-Key": key}).status_code == 401

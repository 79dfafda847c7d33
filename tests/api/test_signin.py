"""Sign-in under attack: repeated failures are throttled per account and per client address with
counts every replica shares, an account under sustained attack is locked and the lockout recorded;
an unknown user costs the same time as a wrong password; password verifications at once are
bounded per process; a revoked key or a changed password stops working at once everywhere."""
from __future__ import annotations

import base64
import hashlib
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event, func, select

from app.access import accounts
from app.audit import ledger
from app.errors import TooManyAttempts, Unauthenticated
from tests.support.service import ADMIN_AUTH, start_service

ROOT = Path(__file__).resolve().parents[2]


def sign_in(running, user: str, password: str, address: str) -> httpx.Response:
    """A request from `address` (the service trusts X-Forwarded-For from its local proxy, as deployed)."""
    return httpx.get(f"{running.base_url}/api/agencies", auth=(user, password), headers={"X-Forwarded-For": address},
                     timeout=30)


def test_failures_of_one_account_throttle_it_on_every_replica_even_with_the_right_password(service):
    settings = service.services.settings
    accounts.save_account(service.services, "wang", "wang-password-1", ["xj-env"])
    for attempt in range(settings.signin_throttle_failures):
        assert sign_in(service, "wang", f"guess-{attempt}", f"10.0.1.{attempt}").status_code == 401
    from app.persistence.models import SigninFailure

    with service.services.db.read() as session:  # the counts live in the database, not in a process
        assert session.scalar(select(SigninFailure.failures).where(SigninFailure.kind == "account",
                                                                     SigninFailure.key == "wang")) == 5
    replica = start_service(service.services.db.url)
    try:
        refused = sign_in(replica, "wang", "wang-password-1", "10.0.2.1")
    finally:
        replica.stop()
    assert refused.status_code == 429 and refused.headers["retry-after"] == str(settings.signin_window_seconds)
    assert refused.json() == {"type": "AuthenticationException", "code": 429,
                              "message": "Too many failed sign-ins; try again in 300 seconds"}
    service.clock.advance(timedelta(seconds=settings.signin_window_seconds))
    assert sign_in(service, "wang", "wang-password-1", "10.0.2.1").status_code == 200


def test_failures_from_one_address_throttle_it_for_every_account(service):
    for attempt in range(service.services.settings.signin_throttle_failures):
        assert sign_in(service, f"nobody-{attempt}", "guess", "10.0.3.1").status_code == 401
    from_there = sign_in(service, *ADMIN_AUTH, "10.0.3.1")
    assert from_there.status_code == 429 and int(from_there.headers["retry-after"]) == 300
    assert sign_in(service, *ADMIN_AUTH, "10.0.3.2").status_code == 200


def test_an_account_attacked_from_many_addresses_is_locked_and_the_lockout_recorded(service):
    settings = service.services.settings
    accounts.save_account(service.services, "wang", "wang-password-1", ["xj-env"])
    answers = [sign_in(service, "wang", f"guess-{attempt}", f"10.0.4.{attempt}")
               for attempt in range(settings.signin_lockout_failures)]
    assert [answer.status_code for answer in answers] == [401] * 5 + [429] * 15
    assert {answer.headers["retry-after"] for answer in answers[5:-1]} == {"300"}
    assert answers[-1].headers["retry-after"] == str(settings.signin_lockout_seconds)
    [locked] = ledger.admin_events(service.services, kind="account.locked")
    assert locked.subject == "account:wang" and locked.payload["address"] == "10.0.4.19"
    assert not any("guess" in str(value) for value in locked.payload.values())
    service.clock.advance(timedelta(seconds=settings.signin_window_seconds + 1))
    still = sign_in(service, "wang", "wang-password-1", "10.0.5.1")  # a new window, but still locked
    assert still.status_code == 429 and int(still.headers["retry-after"]) == 599
    service.clock.advance(timedelta(seconds=599))
    assert sign_in(service, "wang", "wang-password-1", "10.0.5.1").status_code == 200


def test_a_good_sign_in_writes_nothing_and_a_failed_one_only_its_counts(service):
    accounts.save_account(service.services, "wang", "wang-password-1", ["xj-env"])
    written: list[str] = []

    def on_statement(_conn, _cursor, statement, *_):
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            written.append(statement)

    event.listen(service.services.db.engine, "before_cursor_execute", on_statement)
    try:
        assert sign_in(service, "wang", "wang-password-1", "10.0.6.1").status_code == 200
        assert written == []
        assert sign_in(service, "wang", "wang-password-2", "10.0.6.1").status_code == 401
    finally:
        event.remove(service.services.db.engine, "before_cursor_execute", on_statement)
    assert written and all("signin_failure" in statement for statement in written)
    from app.persistence.models import SigninFailure

    with service.services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(SigninFailure)) == 2  # the account and the address


def test_an_unknown_user_takes_as_long_as_a_wrong_password(service):
    accounts.save_account(service.services, "wang", "wang-password-1", ["xj-env"])

    def seconds(user: str) -> float:
        header = "Basic " + base64.b64encode(f"{user}:not-the-password".encode()).decode()
        started = time.perf_counter()
        with pytest.raises(Unauthenticated):
            accounts.principal_of(service.services, header)
        took = time.perf_counter() - started
        service.clock.advance(timedelta(seconds=service.services.settings.signin_window_seconds))  # never throttled
        return took

    seconds("nobody")  # the first verification of an unknown user also prepares what it compares with
    wrong, unknown = [], []
    for attempt in range(7):
        wrong.append(seconds("wang"))
        unknown.append(seconds(f"nobody-{attempt}"))
    assert statistics.median(unknown) >= 0.5 * statistics.median(wrong), (wrong, unknown)


def test_password_verifications_at_once_are_bounded_per_process(tmp_path, monkeypatch):
    running = start_service(f"sqlite:///{tmp_path / 'bounded.sqlite3'}", signin_concurrent_verifications=2,
                            signin_throttle_failures=100, signin_lockout_failures=100)
    scrypt, lock = hashlib.scrypt, threading.Lock()
    at_once, peak = 0, 0

    def measured(*arguments, **options):
        nonlocal at_once, peak
        with lock:
            at_once += 1
            peak = max(peak, at_once)
        try:
            time.sleep(0.05)  # long enough for every request to have arrived meanwhile
            return scrypt(*arguments, **options)
        finally:
            with lock:
                at_once -= 1

    monkeypatch.setattr(hashlib, "scrypt", measured)
    try:
        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(lambda n: sign_in(running, ADMIN_AUTH[0], f"guess-{n}", "10.0.8.1"), range(12)))
    finally:
        monkeypatch.undo()
        running.stop()
    assert [answer.status_code for answer in answers] == [401] * 12
    assert peak == 2


def cli(service, *arguments: str, **environment: str) -> None:
    """The command line on the service's database: another process, as another replica would be."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": service.services.db.url, **environment}
    subprocess.run([sys.executable, "-c", "import sys; from app.cli import main; main(sys.argv[1:])", *arguments],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)


def test_a_revoked_key_and_a_changed_password_stop_working_at_once_on_every_replica(service):
    accounts.save_account(service.services, "permit-system", "permit-system-password", ["systems"])
    key = accounts.create_api_key(service.services, "permit-system")
    with httpx.Client(base_url=service.base_url, timeout=30) as http:
        assert http.get("/engine-rest/task", headers={"X-API-Key": key}).status_code == 200
        assert http.get("/engine-rest/task", auth=("permit-system", "permit-system-password")).status_code == 200
        cli(service, "api-key", "--revoke", key.split(".")[0])
        assert http.get("/engine-rest/task", headers={"X-API-Key": key}).status_code == 401
        cli(service, "account", "permit-system", "--group", "systems", ACCOUNT_PASSWORD="permit-system-new")
        assert http.get("/engine-rest/task", auth=("permit-system", "permit-system-password")).status_code == 401
        assert http.get("/engine-rest/task", auth=("permit-system", "permit-system-new")).status_code == 200


def statements_of(service, call) -> list[str]:
    """The SQL statements `call` sends to the service's database (SQLite's BEGIN aside)."""
    sent: list[str] = []

    def on_statement(_conn, _cursor, statement, *_):
        if not statement.startswith("BEGIN"):
            sent.append(statement)

    event.listen(service.services.db.engine, "before_cursor_execute", on_statement)
    try:
        call()
    finally:
        event.remove(service.services.db.engine, "before_cursor_execute", on_statement)
    return sent


def test_a_remembered_sign_in_reads_its_account_and_the_counts_in_one_statement(service):
    accounts.save_account(service.services, "wang", "wang-password-1", ["xj-env", "xj-drc"], region="xj")
    header = "Basic " + base64.b64encode(b"wang:wang-password-1").decode()
    first = accounts.principal_of(service.services, header, address="10.0.9.1")
    assert first.groups == {"xj-env", "xj-drc"} and first.region == "xj"
    again: list = []
    [statement] = statements_of(service, lambda: again.append(
        accounts.principal_of(service.services, header, address="10.0.9.1")))
    assert "account" in statement and "signin_failure" in statement
    assert again == [first]
    # The counts the one statement reads hold at once: failures from that address throttle it ...
    for attempt in range(service.services.settings.signin_throttle_failures):
        assert sign_in(service, f"nobody-{attempt}", "guess", "10.0.9.1").status_code == 401
    with pytest.raises(TooManyAttempts):
        accounts.principal_of(service.services, header, address="10.0.9.1")
    # ... and a changed password ends the remembered sign-in.
    assert accounts.principal_of(service.services, header, address="10.0.9.2") == first
    accounts.save_account(service.services, "wang", "wang-password-2", ["xj-env"])
    with pytest.raises(Unauthenticated):
        accounts.principal_of(service.services, header, address="10.0.9.2")


def test_an_api_key_is_looked_up_with_its_account_and_groups_in_one_statement(service):
    accounts.save_account(service.services, "permit-system", "permit-system-password", ["systems", "xj-env"],
                          region="xj")
    accounts.save_account(service.services, "no-groups", "no-groups-password", [])
    key, bare = (accounts.create_api_key(service.services, account) for account in ("permit-system", "no-groups"))
    found: list = []
    [statement] = statements_of(service, lambda: found.append(accounts.principal_of(service.services, None, key)))
    assert "api_key" in statement
    assert found == [accounts.Principal("permit-system", frozenset({"systems", "xj-env"}), "xj")]
    assert accounts.principal_of(service.services, None, bare) == accounts.Principal("no-groups", frozenset(), None)
    for wrong in (key[:-1] + ("A" if key[-1] != "A" else "B"), "unknown.secret", ".secret", "no-dot"):
        with pytest.raises(Unauthenticated):
            accounts.principal_of(service.services, None, wrong)


def test_password_hashes_are_written_at_the_cost_set_and_verify_at_the_cost_they_name(service):
    from pydantic import ValidationError

    from app.persistence.models import Account
    from app.settings import Settings

    # The default is scrypt's N = 2**14; the test service writes the least cost allowed (N = 2**10).
    assert Settings(database_url="sqlite://").password_hash_cost == 14
    assert accounts.hash_password("wang-password-1", 14).startswith("scrypt$16384$8$1$")
    accounts.save_account(service.services, "wang", "wang-password-1", ["xj-env"])
    with service.services.db.read() as session:
        assert session.get(Account, "wang").password_hash.startswith("scrypt$1024$8$1$")
    assert sign_in(service, "wang", "wang-password-1", "10.0.9.1").status_code == 200
    # A hash of another cost (written before the setting changed) still verifies, up to 2**17.
    for cost, status in ((14, 200), (17, 200)):
        with service.services.db.write() as session:
            session.get(Account, "wang").password_hash = accounts.hash_password(f"wang-password-{cost}", cost)
        assert sign_in(service, "wang", f"wang-password-{cost}", "10.0.9.1").status_code == status
    with service.services.db.write() as session:
        session.get(Account, "wang").password_hash = "scrypt$524288$8$1$00$00"  # past the greatest cost
    assert sign_in(service, "wang", "wang-password-17", "10.0.9.1").status_code == 401
    for refused in (9, 18):
        with pytest.raises(ValidationError):
            Settings(database_url="sqlite://", password_hash_cost=refused)

"""Accounts that sign in with HTTP Basic (the Camunda convention), their groups, and who a caller is.

A password is kept only as a salted scrypt hash. A verified sign-in is remembered for a short while
(by a hash of the header, never the password) so that a client sending credentials with every
request does not pay for scrypt each time.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import delete, select

from app.errors import InvalidRequest, Unauthenticated
from app.persistence.models import Account, Membership
from app.services.context import Services

log = logging.getLogger(__name__)

_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}
# Members may do everything, including administering deployments.
ADMINISTRATORS = "admins"
# The authorities of the procedures (docs/procedures/README.md), one demonstration account each.
DEMO_GROUPS = ("cn-sepa", "cn-sepa-sti", "cn-sepa-leader", "cn-most", "cn-mohurd", "zj-env", "zj-commerce", "zj-miit",
               "cn-eco-park-working-group", "cn-eco-park-mechanism", "xj-env", "xj-drc", "xj-economic",
               "xj-local-env", "xj-prefecture-env", "xj-urumqi-env", "xj-cpa-experts", "xj-auditors")
_REMEMBER_SECONDS = 60.0
_REMEMBER_AT_MOST = 10_000


@dataclass(frozen=True)
class Principal:
    """Who calls: an account and its groups, or nobody (no credentials sent)."""

    user_id: str | None
    groups: frozenset[str] = frozenset()

    @property
    def anonymous(self) -> bool:
        return self.user_id is None


ANONYMOUS = Principal(None)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def _password_matches(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        computed = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    except ValueError:
        return False
    return hmac.compare_digest(computed.hex(), digest)


def save_account(services: Services, account_id: str, password: str, groups: list[str],
                 display_name: str | None = None) -> Account:
    """Create the account, or replace its password, name and groups."""
    if not account_id or len(account_id) > 64 or ":" in account_id:
        raise InvalidRequest("An account id is 1 to 64 characters without ':'")
    if len(password) < 8:
        raise InvalidRequest("A password has at least 8 characters")
    if (display_name and len(display_name) > 255) or any(len(group) > 255 for group in groups):
        raise InvalidRequest("A display name and a group id have at most 255 characters")
    with services.db.write() as session:
        account = session.get(Account, account_id)
        if account is None:
            account = Account(id=account_id, created=services.clock.now())
            session.add(account)
        account.password_hash, account.display_name = hash_password(password), display_name
        session.flush()
        session.execute(delete(Membership).where(Membership.account_id == account_id))
        session.add_all(Membership(account_id=account_id, group_id=group) for group in dict.fromkeys(groups) if group)
    with _verified_lock:
        _verified.clear()  # a changed password or group takes effect at once
    return account


def ensure_administrator(services: Services) -> None:
    """At start: while no account is an administrator, create one from BOOTSTRAP_ADMIN, or named
    `admin` with a generated password that is logged this once (there is no default password)."""
    with services.db.read() as session:
        if session.scalar(select(Membership.account_id).where(Membership.group_id == ADMINISTRATORS).limit(1)):
            return
    user, _, password = services.settings.bootstrap_admin.partition(":")
    generated = not (user and password)
    if generated:
        user, password = user or "admin", secrets.token_urlsafe(18)
    save_account(services, user, password, [ADMINISTRATORS], "administrator")
    if generated:
        log.warning("No administrator existed: created account %r with the password %s (shown only this once; "
                    "change it with `eco-orchestrator account %s --group %s`)", user, password, user,
                    ADMINISTRATORS)


def seed_demo_accounts(services: Services) -> None:
    """Demonstration accounts `demo-<group>` with the password `demo-<group>`: for trying the
    procedures on a development machine, never in production (the settings refuse it)."""
    with services.db.read() as session:
        if session.get(Account, f"demo-{DEMO_GROUPS[0]}") is not None:
            return
    for group in DEMO_GROUPS:
        save_account(services, f"demo-{group}", f"demo-{group}", [group], f"演示账号（仅供演示）{group}")
    log.warning("Demonstration accounts demo-<group> (password demo-<group>) are seeded: DEMO_ACCOUNTS=true")


_verified: dict[str, tuple[float, Principal]] = {}
_verified_lock = threading.Lock()


def principal_of(services: Services, authorization: str | None) -> Principal:
    """The caller named by an Authorization header; without one, ANONYMOUS. Wrong credentials are
    refused (401), never treated as anonymous."""
    if not authorization:
        return ANONYMOUS
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise Unauthenticated("Only HTTP Basic credentials are accepted")
    remembered_as = hashlib.sha256(authorization.encode("utf-8")).hexdigest()
    with _verified_lock:
        remembered = _verified.get(remembered_as)
    if remembered is not None and remembered[0] > time.monotonic():
        return remembered[1]
    try:
        user_id, _, password = base64.b64decode(credentials.strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        raise Unauthenticated("The Basic credentials cannot be read") from None
    with services.db.read() as session:
        account = session.get(Account, user_id)
        groups = frozenset(session.scalars(select(Membership.group_id).where(Membership.account_id == user_id)))
    if account is None or not _password_matches(password, account.password_hash):
        raise Unauthenticated("Unknown user or wrong password")
    principal = Principal(user_id, groups)
    with _verified_lock:
        if len(_verified) >= _REMEMBER_AT_MOST:
            _verified.clear()
        _verified[remembered_as] = (time.monotonic() + _REMEMBER_SECONDS, principal)
    return principal

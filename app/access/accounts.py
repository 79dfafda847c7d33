"""Accounts that sign in with HTTP Basic (the Camunda convention), their groups, and who a caller is.

A password is kept only as a salted scrypt hash. A verified sign-in is remembered for a short while
(by a hash of the header, never the password) so that a client sending credentials with every
request does not pay for scrypt each time; each use reads the account's stored hash, which every
save changes, and its generation, which every change of its groups, regions or profile renews, so a
changed password, group or region counts at once on every replica. Failed sign-ins are
throttled (app.access.signin): the stored hash and the failure counts are read in one statement.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import jwt
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Select, String, bindparam, delete, select

from app.access import signin
from app.access.regions import valid_code
from app.audit import ledger
from app.errors import InvalidRequest, Unauthenticated
from app.persistence.models import Account, ApiKey, IdentityGroup, Membership, SigninFailure, TenantGroup
from app.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.context import Services

log = logging.getLogger(__name__)

# scrypt's block size and parallelism; its cost (N) is PASSWORD_HASH_COST's power of two. A hash
# names all three, so one written at another cost still verifies, up to the greatest cost allowed.
_BLOCK, _PARALLEL = 8, 1
_GREATEST_COST = 17


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # Twice the memory scrypt needs (128 bytes * r * N): hashlib's default allows only 32 MiB.
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * r * n)
# Members may do everything, including administering deployments.
ADMINISTRATORS = "admins"
# The authorities of the procedures (docs/procedures/README.md), one demonstration account each.
DEMO_GROUPS = ("cn-sepa", "cn-sepa-sti", "cn-sepa-leader", "cn-most", "cn-mohurd", "zj-env", "zj-commerce", "zj-miit",
               "cn-eco-park-working-group", "cn-eco-park-mechanism", "xj-env", "xj-drc", "xj-economic",
               "xj-local-env", "xj-local-drc", "xj-local-economic", "xj-prefecture-env", "xj-urumqi-env",
               "xj-urumqi-drc", "xj-urumqi-economic", "xj-cpa-experts", "xj-cpa-delivery", "xj-auditors")
# The password policy: long enough to resist guessing, short enough that hashing it stays cheap.
MIN_PASSWORD, MAX_PASSWORD = 8, 1024
_REMEMBER_SECONDS = 60.0
_REMEMBER_AT_MOST = 10_000


@dataclass(frozen=True)
class Principal:
    """Who calls: an account and its groups, or nobody (no credentials sent)."""

    user_id: str | None
    groups: frozenset[str] = frozenset()
    # The account's own region (or the one a single sign-on token names), if any.
    region: str | None = None
    # The regions the caller's groups are assigned to (Camunda's tenant-group memberships).
    group_regions: frozenset[str] = frozenset()

    @property
    def anonymous(self) -> bool:
        return self.user_id is None

    @property
    def regions(self) -> frozenset[str]:
        """Every region whose cases (and those of the regions below it) the caller sees."""
        return self.group_regions | {self.region} if self.region else self.group_regions

    @property
    def starting_region(self) -> str | None:
        """The region a case the caller starts takes when its process names none: the account's own,
        else its groups' region when they have exactly one, else none."""
        if self.region or len(self.group_regions) != 1:
            return self.region
        return next(iter(self.group_regions))

    def named_by(self, kind: str, identity: str) -> bool:
        """Whether a candidate or participant entry (`user` or `group`, identity) names this caller."""
        return identity == self.user_id if kind == "user" else kind == "group" and identity in self.groups


ANONYMOUS = Principal(None)


def meets_policy(password: str) -> bool:
    return MIN_PASSWORD <= len(password) <= MAX_PASSWORD


def hash_password(password: str, cost: int) -> str:
    """A salted scrypt hash of N = 2 ** cost (PASSWORD_HASH_COST)."""
    salt, n = secrets.token_bytes(16), 2 ** cost
    digest = _scrypt(password, salt, n, _BLOCK, _PARALLEL)
    return f"scrypt${n}${_BLOCK}${_PARALLEL}${salt.hex()}${digest.hex()}"


def _password_matches(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        if not 0 < int(n) <= 2 ** _GREATEST_COST or int(r) != _BLOCK or int(p) != _PARALLEL:
            return False
        computed = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(computed.hex(), digest)


@functools.cache
def _stand_in_hash(cost: int) -> str:
    """What the password of an unknown user is checked against, at the cost of the hashes written
    now, so that the answer takes as long as for a wrong password and does not tell which accounts
    exist."""
    return hash_password(secrets.token_urlsafe(16), cost)


def save_account(services: Services, account_id: str, password: str, groups: list[str],
                 display_name: str | None = None, region: str | None = None) -> Account:
    """Create the account, or replace its password, name, groups and region."""
    region = valid_code(region)
    if not account_id or len(account_id) > 64 or ":" in account_id:
        raise InvalidRequest("An account id is 1 to 64 characters without ':'")
    if not meets_policy(password):
        raise InvalidRequest(f"A password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if (display_name and len(display_name) > 255) or any(len(group) > 255 for group in groups):
        raise InvalidRequest("A display name and a group id have at most 255 characters")
    password_hash = hash_password(password, services.settings.password_hash_cost)  # outside the transaction
    with services.db.write() as session:
        account = session.get(Account, account_id)
        if account is None:
            account = Account(id=account_id, created=services.clock.now())
            session.add(account)
        account.password_hash, account.display_name, account.region = password_hash, display_name, region
        renew(account)
        session.flush()
        session.execute(delete(Membership).where(Membership.account_id == account_id))
        named = [group for group in dict.fromkeys(groups) if group]
        ensure_groups(session, named)
        session.add_all(Membership(account_id=account_id, group_id=group) for group in named)
        # The change, never the password.
        ledger.record_admin(session, "account.saved", f"account:{account_id}", services.clock.now(), None,
                            groups=[group for group in dict.fromkeys(groups) if group], region=region,
                            display_name=display_name)
    return account


def renew(account: Account) -> None:
    """A new generation: the account's remembered sign-ins are verified again."""
    account.generation = secrets.token_hex(16)


def ensure_groups(session: Session, group_ids: list[str]) -> None:
    """Groups an account is put in exist as groups, named by their id until someone names them."""
    known = set(session.scalars(select(IdentityGroup.id).where(IdentityGroup.id.in_(group_ids))))
    session.add_all(IdentityGroup(id=group, name=group) for group in group_ids if group not in known)
    session.flush()


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
        _hand_over(services.settings, user, password)


def _hand_over(settings: Settings, user: str, password: str) -> None:
    """Give the operator a generated administrator password, once, outside every log line: to the
    file ADMIN_PASSWORD_FILE names (created for its owner only), else to the terminal, else to the
    plain text start output; a JSON log never receives it (its lines are shipped and kept)."""
    change = f"change it with `eco-orchestrator account {user} --group {ADMINISTRATORS}`"
    if settings.admin_password_file:
        path = Path(settings.admin_password_file)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(f"{user}:{password}\n")
        log.warning("No administrator existed: created account %r; its generated password is in %s (%s)",
                    user, path, change)
    elif sys.stderr.isatty() or settings.log_format == "plain":
        print(f"No administrator existed: created account {user!r} with the password {password} "
              f"(shown only this once; {change})", file=sys.stderr, flush=True)
    else:
        log.warning("No administrator existed: created account %r with a generated password that is not shown "
                    "in a JSON log; set ADMIN_PASSWORD_FILE or BOOTSTRAP_ADMIN, or %s", user, change)


def seed_demo_accounts(services: Services) -> None:
    """Demonstration accounts `demo-<group>` with the password `demo-<group>`: for trying the
    procedures on a development machine, never in production (the settings refuse it)."""
    with services.db.read() as session:
        if session.get(Account, f"demo-{DEMO_GROUPS[0]}") is not None:
            return
    for group in DEMO_GROUPS:
        save_account(services, f"demo-{group}", f"demo-{group}", [group], f"演示账号（仅供演示）{group}")
    log.warning("Demonstration accounts demo-<group> (password demo-<group>) are seeded: DEMO_ACCOUNTS=true")


class _Verified(NamedTuple):
    until: float
    principal: Principal
    # The account's stored hash (every save gives it a new salt) and generation when verified.
    generation: tuple[str, str]


_verified: dict[str, _Verified] = {}
_verified_lock = threading.Lock()


def principal_of(services: Services, authorization: str | None, api_key: str | None = None,
                 address: str | None = None) -> Principal:
    """The caller named by the request's credentials: HTTP Basic (an account), a Bearer token of the
    single sign-on, or an API key (`X-API-Key`, or `Authorization: ApiKey`); without any, ANONYMOUS.
    Wrong credentials are refused (401), never treated as anonymous; failed sign-ins of an account
    or from the client `address` are throttled (429)."""
    if api_key:
        return _by_api_key(services, api_key)
    if not authorization:
        return ANONYMOUS
    scheme, _, credentials = authorization.partition(" ")
    scheme, credentials = scheme.lower(), credentials.strip()
    if scheme == "basic":
        return _by_password(services, authorization, credentials, address)
    if scheme == "bearer":
        return _by_token(services.settings, credentials)
    if scheme == "apikey":
        return _by_api_key(services, credentials)
    raise Unauthenticated("Sign in with HTTP Basic, a Bearer token of the single sign-on, or an API key")


def _groups_read() -> Select:
    """The account's groups, one row per region each group is assigned to (or one with a null region);
    built once (see _sign_in_read)."""
    membership, assigned = Membership.__table__.c, TenantGroup.__table__.c
    return (select(membership.group_id, assigned.tenant_id)
            .outerjoin(TenantGroup.__table__, assigned.group_id == membership.group_id)
            .where(membership.account_id == bindparam("account_id", type_=String)))


_GROUPS_READ = _groups_read()


def _groups_of(session: Session, account_id: str) -> tuple[frozenset[str], frozenset[str]]:
    """The account's groups and the regions they are assigned to, in one statement."""
    rows = session.connection().execute(_GROUPS_READ, {"account_id": account_id}).all()
    return (frozenset(row.group_id for row in rows),
            frozenset(row.tenant_id for row in rows if row.tenant_id is not None))


def stored_principal(session: Session, account_id: str) -> Principal:
    """The account as a caller, without signing it in: its groups, its region and its groups' regions."""
    groups, group_regions = _groups_of(session, account_id)
    region = session.scalar(select(Account.region).where(Account.id == account_id))
    return Principal(account_id, groups, region, group_regions)


class _Stored(NamedTuple):
    password_hash: str
    region: str | None
    generation: str


def _sign_in_read(with_address: bool) -> Select:
    """The account's stored hash and region (or a row of nulls) outer-joined with the sign-in failure
    rows of its name and of the client address (at most two): both as they are now, in one statement.
    Built once, of the tables' columns: building and compiling an ORM statement on every request cost
    more than the query itself."""
    account = Account.__table__.c
    probe = select(bindparam("user_id", type_=String).label("id")).subquery()
    return (select(account.password_hash, account.region, account.generation, *signin.FAILURE_COLUMNS)
            .select_from(probe)
            .outerjoin(Account.__table__, account.id == probe.c.id)
            .outerjoin(SigninFailure.__table__, signin.failures_of(with_address)))


_SIGN_IN_READS = {with_address: _sign_in_read(with_address) for with_address in (False, True)}


def _account_and_failures(session: Session, user_id: str, address: str | None
                          ) -> tuple[_Stored | None, list[signin.FailureRow]]:
    rows = session.connection().execute(_SIGN_IN_READS[address is not None],
                                        {"user_id": user_id, **signin.failure_keys(user_id, address)}).all()
    first = rows[0]
    account = _Stored(first.password_hash, first.region, first.generation) if first.password_hash is not None else None
    return account, [row for row in rows if row.kind is not None]


def _by_password(services: Services, authorization: str, credentials: str, address: str | None) -> Principal:
    try:
        user_id, _, password = base64.b64decode(credentials, validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        raise Unauthenticated("The Basic credentials cannot be read") from None
    remembered_as = hashlib.sha256(authorization.encode("utf-8")).hexdigest()
    with _verified_lock:
        remembered = _verified.get(remembered_as)
    if remembered is not None and remembered.until > time.monotonic():
        with services.db.read() as session:
            account, failures = _account_and_failures(session, user_id, address)
        # Throttled even when remembered: otherwise a guess equal to a remembered sign-in would pass.
        signin.judge(services, failures, user_id, address)
        if account is not None and (account.password_hash, account.generation) == remembered.generation:
            return remembered.principal
    with services.verification_slots:
        with services.db.read() as session:
            # Inside the slot: tries that waited for it may have been throttled meanwhile.
            account, failures = _account_and_failures(session, user_id, address)
            groups, group_regions = _groups_of(session, user_id)
        signin.judge(services, failures, user_id, address)
        matches = _password_matches(password, account.password_hash if account else _stand_in_hash(
            services.settings.password_hash_cost))
        if account is None or not matches:
            signin.failed(services, user_id, address)
            raise Unauthenticated("Unknown user or wrong password")
    principal = Principal(user_id, groups, account.region, group_regions)
    with _verified_lock:
        if len(_verified) >= _REMEMBER_AT_MOST:
            _verified.clear()
        _verified[remembered_as] = _Verified(time.monotonic() + _REMEMBER_SECONDS, principal,
                                             (account.password_hash, account.generation))
    return principal


def sign_in_with_password(services: Services, user_id: str, password: str, address: str | None
                          ) -> tuple[Principal, str]:
    """A sign-in of a form (the web workspace): the same check, remembering and throttling as HTTP
    Basic; the account's generation is returned beside it, for session_principal to hold it to."""
    credentials = base64.b64encode(f"{user_id}:{password}".encode()).decode("ascii")
    principal = _by_password(services, f"Basic {credentials}", credentials, address)
    with services.db.read() as session:
        generation = session.scalar(select(Account.generation).where(Account.id == user_id))
    return principal, generation or ""


def session_principal(services: Services, user_id: str, generation: str) -> Principal | None:
    """Who a signed session names, as the account is now; None when the account is gone or changed
    since the sign-in (a new password, groups or region end every session of it)."""
    with services.db.read() as session:
        stored = session.scalar(select(Account.generation).where(Account.id == user_id))
        if stored is None or not hmac.compare_digest(stored, generation):
            return None
        return stored_principal(session, user_id)


# --- API keys --------------------------------------------------------------------------------------

def create_api_key(services: Services, account_id: str) -> str:
    """A new key for the account, returned this once: `<id>.<secret>`; only a hash of the secret is kept."""
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    with services.db.write() as session:
        if session.get(Account, account_id) is None:
            raise InvalidRequest(f"No account '{account_id}'")
        session.add(ApiKey(id=key_id, account_id=account_id, secret_hash=hashlib.sha256(secret.encode()).hexdigest(),
                           created=services.clock.now()))
        ledger.record_admin(session, "apikey.created", f"account:{account_id}", services.clock.now(), None,
                            key_id=key_id)
    return f"{key_id}.{secret}"


def revoke_api_key(services: Services, key_id: str) -> None:
    with services.db.write() as session:
        key = session.get(ApiKey, key_id)
        if key is None:
            raise InvalidRequest(f"No API key '{key_id}'")
        key.revoked = key.revoked or services.clock.now()
        ledger.record_admin(session, "apikey.revoked", f"account:{key.account_id}", services.clock.now(), None,
                            key_id=key_id)


def _api_key_read() -> Select:
    """The key with its account's region, one row per group of the account and region of the group;
    built once (see _sign_in_read)."""
    key, account, membership = ApiKey.__table__.c, Account.__table__.c, Membership.__table__.c
    assigned = TenantGroup.__table__.c
    return (select(key.account_id, key.secret_hash, key.revoked, account.region, membership.group_id,
                   assigned.tenant_id)
            .join(Account.__table__, account.id == key.account_id)
            .outerjoin(Membership.__table__, membership.account_id == key.account_id)
            .outerjoin(TenantGroup.__table__, assigned.group_id == membership.group_id)
            .where(key.id == bindparam("key_id", type_=String)))


_API_KEY_READ = _api_key_read()


def _by_api_key(services: Services, presented: str) -> Principal:
    """Looked up on every request, in one statement, so that a revoked key stops at once on every
    replica: the secret is a random 256-bit token, so a SHA-256 of it is safe to compare and nothing
    slow is remembered."""
    key_id, _, secret = presented.partition(".")
    if key_id:
        with services.db.read() as session:
            rows = session.connection().execute(_API_KEY_READ, {"key_id": key_id}).all()
        if (rows and rows[0].revoked is None
                and hmac.compare_digest(rows[0].secret_hash, hashlib.sha256(secret.encode()).hexdigest())):
            groups = frozenset(row.group_id for row in rows if row.group_id is not None)
            return Principal(rows[0].account_id, groups, rows[0].region,
                             frozenset(row.tenant_id for row in rows if row.tenant_id is not None))
    raise Unauthenticated("Unknown or revoked API key")


# --- Bearer tokens of the single sign-on -------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def _token_keys(configured: str) -> tuple[tuple[str | None, Any], ...]:
    """(key id, public key) pairs from a PEM key, or from a file holding a PEM key or a JWKS."""
    text = configured
    if not configured.lstrip().startswith("-----BEGIN"):
        text = Path(configured).read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        return tuple((key.key_id, key.key) for key in jwt.PyJWKSet.from_json(text).keys)
    return ((None, serialization.load_pem_public_key(text.encode("utf-8"))),)


def _by_token(settings: Settings, token: str) -> Principal:
    if not (settings.jwt_issuer and settings.jwt_keys):
        raise Unauthenticated("Bearer tokens are not accepted: no single sign-on is configured (JWT_ISSUER, JWT_KEYS)")
    try:
        header = jwt.get_unverified_header(token)
        keys = [key for kid, key in _token_keys(settings.jwt_keys) if kid is None or kid == header.get("kid")]
        if not keys:
            raise jwt.InvalidTokenError(f"no key with id {header.get('kid')!r}")
        claims = jwt.decode(token, keys[0], algorithms=[a.strip() for a in settings.jwt_algorithms.split(",")],
                            issuer=settings.jwt_issuer, audience=settings.jwt_audience or None, leeway=30,
                            options={"require": ["exp", "iss", settings.jwt_user_claim],
                                     "verify_aud": bool(settings.jwt_audience)})
    except (jwt.InvalidTokenError, ValueError, OSError) as error:
        # The token library words its refusals for people; a key that cannot be read is Python's.
        reason = str(error) if isinstance(error, jwt.InvalidTokenError) else "the service cannot read its key"
        raise Unauthenticated(f"The Bearer token is not valid: {reason}") from None
    user = claims.get(settings.jwt_user_claim)
    groups = claims.get(settings.jwt_groups_claim) or []
    if isinstance(groups, str):
        groups = groups.replace(",", " ").split()
    if not isinstance(user, str) or not user or not isinstance(groups, list):
        raise Unauthenticated("The Bearer token names no user, or its groups are not a list")
    try:
        region = valid_code(claims.get(settings.jwt_region_claim) or None, settings.jwt_region_claim)
    except InvalidRequest as error:
        raise Unauthenticated(f"The Bearer token's {error.message}") from None
    return Principal(user, frozenset(str(group) for group in groups), region)

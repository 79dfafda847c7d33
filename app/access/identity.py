"""Users, groups and memberships as Camunda's identity service offers them over REST (`/user`,
`/group`, `/identity`), on the service's own accounts.

Every signed-in caller reads profiles and groups (task lists show who holds a task); only
administrators create, change and delete them, and an account changes its own password by giving
its current one. Every change is an event of the administrative chain (app.audit.ledger), never
with a password. The service keeps at least one administrator: the last one cannot be deleted or
leave the `admins` group.
"""
from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, exists, func, select
from sqlalchemy.orm import Session

from app.access import accounts, permissions, signin
from app.access.accounts import ADMINISTRATORS, Principal
from app.audit import ledger
from app.context import Services
from app.errors import InvalidRequest, Unauthenticated, UnknownIdentity
from app.persistence.models import Account, ApiKey, IdentityGroup, Membership, SigninFailure, TenantGroup
from app.persistence.queries import sorted_by

USER_SORTS = {"userId": Account.id, "firstName": Account.first_name, "lastName": Account.last_name,
              "email": Account.email}
GROUP_SORTS = {"id": IdentityGroup.id, "name": IdentityGroup.name, "type": IdentityGroup.type}
_TEXT_LIMIT = 255
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def text_of(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > _TEXT_LIMIT:
        raise InvalidRequest(f"'{name}' must be a text of at most {_TEXT_LIMIT} characters")
    return value


def _email(body: Mapping[str, Any]) -> str | None:
    email = text_of(body, "email")
    if email and not _EMAIL.match(email):
        raise InvalidRequest(f"'{email}' is not an e-mail address")
    return email


def require_admin(actor: Principal, permission: str, resource_type: str, resource_id: str | None) -> None:
    if not permissions.is_administrator(actor):
        raise permissions.denied(actor, permission, resource_type, resource_id)


def account_of(session: Session, user_id: str) -> Account:
    account = session.get(Account, user_id)
    if account is None:
        raise UnknownIdentity(f"User with id {user_id} does not exist")
    return account


def group_of(session: Session, group_id: str) -> IdentityGroup:
    group = session.get(IdentityGroup, group_id)
    if group is None:
        raise UnknownIdentity(f"Group with id {group_id} does not exist")
    return group


def _administrators_but(session: Session, user_id: str) -> int:
    return session.scalar(select(func.count()).select_from(Membership).where(
        Membership.group_id == ADMINISTRATORS, Membership.account_id != user_id)) or 0


def _keep_an_administrator(session: Session, user_id: str) -> None:
    is_admin = session.get(Membership, (user_id, ADMINISTRATORS)) is not None
    if is_admin and _administrators_but(session, user_id) == 0:
        raise InvalidRequest(f"User {user_id} is the last administrator: name another administrator first")


# --- users ---------------------------------------------------------------------------------------

def _finished(query: Select, p: Mapping[str, Any], sorts: Mapping[str, Any], sorting: list[tuple[str, str]],
              tie: Any, member_of_tenant: Callable[[str], ColumnElement[bool]]) -> Select:
    """Only the members of the tenant `memberOfTenant` names (the condition `member_of_tenant` makes
    of it), sorted as asked, then by id."""
    if p.get("memberOfTenant") is not None:
        query = query.where(member_of_tenant(str(p["memberOfTenant"])))
    return query.order_by(*(sorted_by(sorts[key], direction == "desc") for key, direction in sorting),
                          tie)


def like(column: Any, pattern: str) -> Any:
    return column.like(pattern[:_TEXT_LIMIT])


def user_query(p: Mapping[str, Any], sorting: list[tuple[str, str]]) -> Select:
    """Camunda's user query: id, idIn, firstName(Like), lastName(Like), email(Like), memberOfGroup,
    memberOfTenant (the accounts of that region: an account's tenant is its region)."""
    query = select(Account)
    equal = {"id": Account.id, "firstName": Account.first_name, "lastName": Account.last_name, "email": Account.email}
    for name, column in equal.items():
        if p.get(name) is not None:
            query = query.where(column == str(p[name]))
        if p.get(f"{name}Like") is not None:
            query = query.where(like(column, str(p[f"{name}Like"])))
    if p.get("idIn"):
        query = query.where(Account.id.in_(p["idIn"]))
    if p.get("memberOfGroup") is not None:
        query = query.where(exists().where(Membership.account_id == Account.id,
                                           Membership.group_id == str(p["memberOfGroup"])))
    return _finished(query, p, USER_SORTS, sorting, Account.id, lambda tenant: Account.region == tenant)


def profile(services: Services, user_id: str) -> Account:
    with services.db.read() as session:
        return account_of(session, user_id)


def create_user(services: Services, body: Mapping[str, Any], *, actor: Principal) -> None:
    require_admin(actor, "CREATE", "User", None)
    given = body.get("profile")
    if not isinstance(given, dict) or not isinstance(given.get("id"), str) or not given["id"]:
        raise InvalidRequest("request object must provide profile information with valid id.")
    user_id = given["id"]
    if len(user_id) > 64 or ":" in user_id:
        raise InvalidRequest("A user id is 1 to 64 characters without ':'")
    credentials = body.get("credentials")
    password = credentials.get("password") if isinstance(credentials, dict) else None
    # Without credentials the user exists but cannot sign in (no hash matches).
    password_hash = "" if password is None else accounts.hash_password(_password(password),
                                                                        services.settings.password_hash_cost)
    with services.db.write() as session:
        if session.get(Account, user_id) is not None:
            raise InvalidRequest(f"User with id {user_id} already exists")
        account = Account(id=user_id, created=services.clock.now(), first_name=text_of(given, "firstName"),
                          last_name=text_of(given, "lastName"), email=_email(given), password_hash=password_hash)
        accounts.renew(account)
        session.add(account)
        ledger.record_admin(session, "user.created", f"account:{user_id}", services.clock.now(), actor.user_id,
                            firstName=account.first_name, lastName=account.last_name, email=account.email,
                            password=password is not None)


def _password(password: Any) -> str:
    if not isinstance(password, str) or not accounts.meets_policy(password):
        raise InvalidRequest(f"A password is a text of {accounts.MIN_PASSWORD} to {accounts.MAX_PASSWORD} characters")
    return password


def update_profile(services: Services, user_id: str, body: Mapping[str, Any], *, actor: Principal) -> None:
    require_admin(actor, "UPDATE", "User", user_id)
    if body.get("id") not in (None, user_id):
        raise InvalidRequest("A user's id cannot be changed")
    with services.db.write() as session:
        account = account_of(session, user_id)
        account.first_name, account.last_name, account.email = (text_of(body, "firstName"), text_of(body, "lastName"),
                                                                 _email(body))
        accounts.renew(account)
        ledger.record_admin(session, "user.profile", f"account:{user_id}", services.clock.now(), actor.user_id,
                            firstName=account.first_name, lastName=account.last_name, email=account.email)


def update_credentials(services: Services, user_id: str, body: Mapping[str, Any], *, actor: Principal,
                       address: str | None) -> None:
    """An administrator sets anyone's password, an account its own; both give their own current
    password (`authenticatedUserPassword`), checked as a sign-in is (and throttled alike)."""
    if actor.user_id != user_id:
        require_admin(actor, "UPDATE", "User", user_id)
    given = body.get("authenticatedUserPassword")
    if not isinstance(given, str) or not verify(services, actor.user_id or "", given, address):
        raise InvalidRequest("The given authenticated user password is not valid.")
    password = _password(body.get("password"))
    with services.db.write() as session:
        account = account_of(session, user_id)
        account.password_hash = accounts.hash_password(password, services.settings.password_hash_cost)
        accounts.renew(account)
        ledger.record_admin(session, "user.credentials", f"account:{user_id}", services.clock.now(), actor.user_id)


def delete_user(services: Services, user_id: str, *, actor: Principal) -> None:
    """The account, its memberships and API keys; the cases it took part in keep its id. An unknown
    id is no error (as in Camunda)."""
    require_admin(actor, "DELETE", "User", user_id)
    with services.db.write() as session:
        account = session.get(Account, user_id)
        if account is None:
            return
        _keep_an_administrator(session, user_id)
        session.execute(delete(Membership).where(Membership.account_id == user_id))
        session.execute(delete(ApiKey).where(ApiKey.account_id == user_id))
        session.delete(account)
        ledger.record_admin(session, "user.deleted", f"account:{user_id}", services.clock.now(), actor.user_id)


def unlock_user(services: Services, user_id: str, *, actor: Principal) -> None:
    """Lift the lockout of an account that failed to sign in too often."""
    require_admin(actor, "UNLOCK", "User", user_id)
    with services.db.write() as session:
        account_of(session, user_id)
        session.execute(delete(SigninFailure).where(SigninFailure.kind == signin.ACCOUNT,
                                                    SigninFailure.key == user_id))
        ledger.record_admin(session, "user.unlocked", f"account:{user_id}", services.clock.now(), actor.user_id)


def verify(services: Services, user_id: str, password: str, address: str | None) -> bool:
    """Whether the password is the account's: a sign-in, throttled and counted as one."""
    basic = base64.b64encode(f"{user_id}:{password}".encode()).decode()
    try:
        accounts.principal_of(services, f"Basic {basic}", address=address)
    except Unauthenticated:
        return False
    return True


def groups_of(services: Services, user_id: str) -> tuple[list[IdentityGroup], list[Account]]:
    """The user's groups by name, and the other members of those groups (Camunda's /identity/groups)."""
    with services.db.read() as session:
        groups = list(session.scalars(select(IdentityGroup).join(Membership, Membership.group_id == IdentityGroup.id)
                                      .where(Membership.account_id == user_id)
                                      .order_by(IdentityGroup.name, IdentityGroup.id)))
        members = list(session.scalars(
            select(Account).where(Account.id != user_id, exists().where(
                Membership.account_id == Account.id, Membership.group_id.in_([group.id for group in groups])))
            .order_by(Account.id)))
    return groups, members


# --- groups --------------------------------------------------------------------------------------

def group_query(p: Mapping[str, Any], sorting: list[tuple[str, str]]) -> Select:
    """Camunda's group query: id, idIn, name, nameLike, type, member (a user id), memberOfTenant (the
    groups assigned to that region)."""
    query = select(IdentityGroup)
    for name, column in (("id", IdentityGroup.id), ("name", IdentityGroup.name), ("type", IdentityGroup.type)):
        if p.get(name) is not None:
            query = query.where(column == str(p[name]))
    if p.get("nameLike") is not None:
        query = query.where(like(IdentityGroup.name, str(p["nameLike"])))
    if p.get("idIn"):
        query = query.where(IdentityGroup.id.in_(p["idIn"]))
    member = p.get("member") or p.get("userMember")
    if member is not None:
        query = query.where(exists().where(Membership.group_id == IdentityGroup.id,
                                           Membership.account_id == str(member)))
    return _finished(query, p, GROUP_SORTS, sorting, IdentityGroup.id, lambda tenant: exists().where(
        TenantGroup.group_id == IdentityGroup.id, TenantGroup.tenant_id == tenant))


def group(services: Services, group_id: str) -> IdentityGroup:
    with services.db.read() as session:
        return group_of(session, group_id)


def create_group(services: Services, body: Mapping[str, Any], *, actor: Principal) -> None:
    require_admin(actor, "CREATE", "Group", None)
    group_id = body.get("id")
    if not isinstance(group_id, str) or not group_id or len(group_id) > _TEXT_LIMIT:
        raise InvalidRequest(f"A group needs an id of 1 to {_TEXT_LIMIT} characters")
    with services.db.write() as session:
        if session.get(IdentityGroup, group_id) is not None:
            raise InvalidRequest(f"Group with id {group_id} already exists")
        session.add(IdentityGroup(id=group_id, name=text_of(body, "name"), type=text_of(body, "type")))
        ledger.record_admin(session, "group.created", f"group:{group_id}", services.clock.now(), actor.user_id,
                            name=body.get("name"), type=body.get("type"))


def update_group(services: Services, group_id: str, body: Mapping[str, Any], *, actor: Principal) -> None:
    require_admin(actor, "UPDATE", "Group", group_id)
    if body.get("id") not in (None, group_id):
        raise InvalidRequest("A group's id cannot be changed")
    with services.db.write() as session:
        found = group_of(session, group_id)
        found.name, found.type = text_of(body, "name"), text_of(body, "type")
        ledger.record_admin(session, "group.updated", f"group:{group_id}", services.clock.now(), actor.user_id,
                            name=found.name, type=found.type)


def delete_group(services: Services, group_id: str, *, actor: Principal) -> None:
    """The group, its memberships and the regions assigned to it; the tasks and processes that name
    it keep naming it."""
    require_admin(actor, "DELETE", "Group", group_id)
    if group_id == ADMINISTRATORS:
        raise InvalidRequest(f"The group {ADMINISTRATORS} holds the service's administrators and cannot be deleted")
    with services.db.write() as session:
        found = session.get(IdentityGroup, group_id)
        if found is None:
            return
        renew_members(session, group_id)
        session.execute(delete(Membership).where(Membership.group_id == group_id))
        session.execute(delete(TenantGroup).where(TenantGroup.group_id == group_id))
        session.delete(found)
        ledger.record_admin(session, "group.deleted", f"group:{group_id}", services.clock.now(), actor.user_id)


def renew_members(session: Session, group_id: str) -> None:
    for account in session.scalars(select(Account).join(Membership, Membership.account_id == Account.id)
                                   .where(Membership.group_id == group_id)):
        accounts.renew(account)


def add_member(services: Services, group_id: str, user_id: str, *, actor: Principal) -> None:
    require_admin(actor, "CREATE", "Group Membership", group_id)
    with services.db.write() as session:
        group_of(session, group_id)
        account = account_of(session, user_id)
        if session.get(Membership, (user_id, group_id)) is None:
            session.add(Membership(account_id=user_id, group_id=group_id))
            accounts.renew(account)
            ledger.record_admin(session, "membership.created", f"account:{user_id}", services.clock.now(),
                                actor.user_id, group=group_id)


def remove_member(services: Services, group_id: str, user_id: str, *, actor: Principal) -> None:
    require_admin(actor, "DELETE", "Group Membership", group_id)
    with services.db.write() as session:
        membership = session.get(Membership, (user_id, group_id))
        if membership is None:
            return
        if group_id == ADMINISTRATORS:
            _keep_an_administrator(session, user_id)
        session.delete(membership)
        accounts.renew(account_of(session, user_id))
        ledger.record_admin(session, "membership.deleted", f"account:{user_id}", services.clock.now(),
                            actor.user_id, group=group_id)


# --- password policy -----------------------------------------------------------------------------

def password_policy() -> list[dict[str, Any]]:
    """The service's one rule, in the shape of Camunda's password policy."""
    return [{"placeholder": "PASSWORD_POLICY_LENGTH", "parameter": {"minLength": str(accounts.MIN_PASSWORD)}}]


def check_password(body: Mapping[str, Any]) -> dict[str, Any]:
    password = body.get("password")
    valid = isinstance(password, str) and accounts.meets_policy(password)
    return {"rules": [{**rule, "valid": valid} for rule in password_policy()], "valid": valid}

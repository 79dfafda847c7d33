"""Regions as Camunda's tenants over REST (`/tenant`), administered as users and groups are
(app.access.identity): every signed-in caller reads them, only administrators change them, and every
change is an event of the administrative chain.

A tenant is a region (app.access.regions): its id is a region code, and a stored row gives it a
name. The regions that cases, deployments, accounts or groups already use are tenants as well,
listed with the name null until someone names them (PUT).

An account's tenant membership is its one region: an official works for one department, so an
account already in another region is refused until it leaves that one. A group's tenant memberships
are the regions assigned to it: its members see the cases of those regions (app.access.permissions)
besides those of their own. Every change renews the generation of the accounts it touches, so that
it counts at once on every replica.

A tenant that cases, deployments, accounts or groups belong to is not deleted: the record of a
region with cases stays whole (Camunda would delete the memberships with it).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, exists, or_, select, union
from sqlalchemy.orm import Session

from app.access import accounts, identity
from app.access.accounts import Principal
from app.access.regions import valid_code
from app.audit import ledger
from app.context import Services
from app.errors import InvalidRequest, UnknownIdentity
from app.persistence.models import Account, Deployment, Membership, ProcessInstance, Tenant, TenantGroup

SORTS = ("id", "name")


def _in_use() -> Any:
    """Every region that has a name or is used, once each (`id`)."""
    used = [select(column.label("id")).where(column.is_not(None))
            for column in (Account.region, ProcessInstance.tenant_id, Deployment.tenant_id)]
    return union(select(Tenant.id.label("id")), select(TenantGroup.tenant_id.label("id")), *used).subquery("known")


def tenant_query(p: Mapping[str, Any], sorting: list[tuple[str, str]]) -> Select:
    """Camunda's tenant query: id, name, nameLike, userMember, groupMember, includingGroupsOfUser
    (with userMember: also the regions of the user's groups). Rows: (id, name)."""
    known = _in_use()
    query = select(known.c.id, Tenant.name).select_from(known).outerjoin(Tenant, Tenant.id == known.c.id)
    if p.get("id") is not None:
        query = query.where(known.c.id == str(p["id"]))
    if p.get("name") is not None:
        query = query.where(Tenant.name == str(p["name"]))
    if p.get("nameLike") is not None:
        query = query.where(identity.like(Tenant.name, str(p["nameLike"])))
    user = p.get("userMember")
    if user is not None:
        member: list[ColumnElement[bool]] = [exists().where(Account.id == str(user), Account.region == known.c.id)]
        if p.get("includingGroupsOfUser"):
            member.append(exists().where(TenantGroup.tenant_id == known.c.id,
                                         Membership.group_id == TenantGroup.group_id,
                                         Membership.account_id == str(user)))
        query = query.where(or_(*member))
    if p.get("groupMember") is not None:
        query = query.where(exists().where(TenantGroup.tenant_id == known.c.id,
                                           TenantGroup.group_id == str(p["groupMember"])))
    columns = {"id": known.c.id, "name": Tenant.name}
    order = [columns[key].desc().nulls_last() if direction == "desc" else columns[key].asc().nulls_first()
             for key, direction in sorting]
    return query.order_by(*order, known.c.id)


def _name_of(session: Session, tenant_id: str) -> tuple[bool, str | None]:
    """Whether the tenant exists (named or used), and its name."""
    row = session.get(Tenant, tenant_id)
    if row is not None:
        return True, row.name
    return bool(_belonging(session, tenant_id)), None


def _belonging(session: Session, tenant_id: str) -> list[str]:
    """What belongs to the region, of its cases, deployments, accounts and groups: one probe each (the
    cases' by their index on the region; the other tables are small)."""
    columns = {"cases": ProcessInstance.tenant_id, "deployments": Deployment.tenant_id, "accounts": Account.region,
               "groups": TenantGroup.tenant_id}
    return [what for what, column in columns.items() if session.scalar(select(exists().where(column == tenant_id)))]


def _existing(session: Session, tenant_id: str) -> None:
    if not _name_of(session, tenant_id)[0]:
        raise UnknownIdentity(f"Tenant with id {tenant_id} does not exist")


def tenant(services: Services, tenant_id: str) -> Tenant:
    """The region, named or in use (a region in use without a name answers a row not stored)."""
    with services.db.read() as session:
        found, name = _name_of(session, tenant_id)
    if not found:
        raise UnknownIdentity(f"Tenant with id {tenant_id} does not exist")
    return Tenant(id=tenant_id, name=name)


def _name(body: Mapping[str, Any]) -> str | None:
    return identity.text_of(body, "name")


def create_tenant(services: Services, body: Mapping[str, Any], *, actor: Principal) -> None:
    """A new region, or a name for a region already in use; a region already named is refused."""
    identity.require_admin(actor, "CREATE", "Tenant", None)
    tenant_id = valid_code(body.get("id"), "id")
    if tenant_id is None:
        raise InvalidRequest("A tenant needs an id: a region code such as xj or xj-urumqi")
    name = _name(body)
    with services.db.write() as session:
        if session.get(Tenant, tenant_id) is not None:
            raise InvalidRequest(f"Tenant with id {tenant_id} already exists")
        session.add(Tenant(id=tenant_id, name=name))
        ledger.record_admin(session, "tenant.created", f"tenant:{tenant_id}", services.clock.now(), actor.user_id,
                            name=name)


def update_tenant(services: Services, tenant_id: str, body: Mapping[str, Any], *, actor: Principal) -> None:
    identity.require_admin(actor, "UPDATE", "Tenant", tenant_id)
    if body.get("id") not in (None, tenant_id):
        raise InvalidRequest("A tenant's id cannot be changed")
    name = _name(body)
    with services.db.write() as session:
        row = session.get(Tenant, tenant_id)
        if row is None:
            _existing(session, tenant_id)
            session.add(Tenant(id=tenant_id, name=name))
        else:
            row.name = name
        ledger.record_admin(session, "tenant.updated", f"tenant:{tenant_id}", services.clock.now(), actor.user_id,
                            name=name)


def delete_tenant(services: Services, tenant_id: str, *, actor: Principal) -> None:
    """The region's name. Refused while cases, deployments, accounts or groups belong to the region;
    an unknown id is no error (as in Camunda)."""
    identity.require_admin(actor, "DELETE", "Tenant", tenant_id)
    with services.db.write() as session:
        belonging = _belonging(session, tenant_id)
        if belonging:
            raise InvalidRequest(f"Tenant {tenant_id} cannot be deleted: {', '.join(belonging)} belong to it "
                                 "(remove the accounts and groups first; a region with cases or deployments stays)")
        row = session.get(Tenant, tenant_id)
        if row is None:
            return
        session.delete(row)
        ledger.record_admin(session, "tenant.deleted", f"tenant:{tenant_id}", services.clock.now(), actor.user_id)


# --- members -------------------------------------------------------------------------------------

def _record(services: Services, session: Session, kind: str, subject: str, tenant_id: str, actor: Principal) -> None:
    ledger.record_admin(session, kind, subject, services.clock.now(), actor.user_id, tenant=tenant_id)


def add_user(services: Services, tenant_id: str, user_id: str, *, actor: Principal) -> None:
    """The account's region becomes the tenant; an account of another region is refused."""
    identity.require_admin(actor, "CREATE", "Tenant Membership", tenant_id)
    with services.db.write() as session:
        _existing(session, tenant_id)
        account = identity.account_of(session, user_id)
        if account.region == tenant_id:
            return
        if account.region is not None:
            raise InvalidRequest(f"User {user_id} is a member of tenant {account.region}: an account belongs to one "
                                 "region, remove it from that tenant first")
        account.region = tenant_id
        accounts.renew(account)
        _record(services, session, "tenant-membership.created", f"account:{user_id}", tenant_id, actor)


def remove_user(services: Services, tenant_id: str, user_id: str, *, actor: Principal) -> None:
    """The account leaves the region (no region of its own); nothing when it is not in it."""
    identity.require_admin(actor, "DELETE", "Tenant Membership", tenant_id)
    with services.db.write() as session:
        account = session.get(Account, user_id)
        if account is None or account.region != tenant_id:
            return
        account.region = None
        accounts.renew(account)
        _record(services, session, "tenant-membership.deleted", f"account:{user_id}", tenant_id, actor)


def add_group(services: Services, tenant_id: str, group_id: str, *, actor: Principal) -> None:
    identity.require_admin(actor, "CREATE", "Tenant Membership", tenant_id)
    with services.db.write() as session:
        _existing(session, tenant_id)
        identity.group_of(session, group_id)
        if session.get(TenantGroup, (tenant_id, group_id)) is not None:
            return
        session.add(TenantGroup(tenant_id=tenant_id, group_id=group_id))
        identity.renew_members(session, group_id)
        _record(services, session, "tenant-membership.created", f"group:{group_id}", tenant_id, actor)


def remove_group(services: Services, tenant_id: str, group_id: str, *, actor: Principal) -> None:
    identity.require_admin(actor, "DELETE", "Tenant Membership", tenant_id)
    with services.db.write() as session:
        deleted = session.execute(delete(TenantGroup).where(TenantGroup.tenant_id == tenant_id,
                                                            TenantGroup.group_id == group_id))
        if not deleted.rowcount:  # type: ignore[attr-defined]
            return
        identity.renew_members(session, group_id)
        _record(services, session, "tenant-membership.deleted", f"group:{group_id}", tenant_id, actor)

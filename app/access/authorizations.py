"""The service's permissions as Camunda's authorizations (/authorization).

Permissions here follow from groups (app.access.permissions): administrators may do everything,
designers deploy, the e-government systems correlate and work external tasks, auditors read every
case, and a task or case is for those who take part in it. `/authorization` shows that table as
Camunda's grants (read-only, ids `role:<group>:<resource type>` and `global:<resource type>`) and
answers `/authorization/check` by the same rules the commands use. The one kind of authorization
kept as data is a saved filter's: its owner (or an administrator) grants other users, groups or
everyone (`userId: "*"`) the right to read and run it, as Camunda Tasklist shares filters.
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from app.access import accounts, permissions
from app.access.accounts import ADMINISTRATORS, Principal
from app.audit import ledger
from app.context import Services
from app.errors import Forbidden, InvalidRequest, NotFound
from app.persistence.models import AuthorizationGrant, SavedFilter, UserTask

GLOBAL, GRANT = 0, 1
FILTER, PROCESS_DEFINITION, TASK, PROCESS_INSTANCE, DEPLOYMENT = 5, 6, 7, 8, 9
RESOURCE_TYPES = {0: "Application", 1: "User", 2: "Group", 3: "Group Membership", 4: "Authorization",
                  FILTER: "Filter", PROCESS_DEFINITION: "Process Definition", TASK: "Task",
                  PROCESS_INSTANCE: "Process Instance", DEPLOYMENT: "Deployment", 10: "Decision Definition",
                  11: "Tenant", 12: "Tenant Membership", 13: "Batch", 14: "Decision Requirements Definition",
                  17: "User Operation Log Category", 19: "Historic Task", 20: "Historic Process Instance",
                  21: "System"}
_FILTER_PERMISSIONS = ("READ", "UPDATE", "DELETE", "ALL")


@dataclass(frozen=True)
class Authorization:
    id: str
    type: int
    permissions: tuple[str, ...]
    user_id: str | None
    group_id: str | None
    resource_type: int
    resource_id: str


def _role(group: str, resource_type: int, *granted: str) -> Authorization:
    return Authorization(f"role:{group}:{resource_type}", GRANT, granted, None, group, resource_type, "*")


def _everyone(resource_type: int, *granted: str) -> Authorization:
    return Authorization(f"global:{resource_type}", GLOBAL, granted, "*", None, resource_type, "*")


# The service's roles as Camunda's grants on every resource of a type (README, Security).
ROLES: tuple[Authorization, ...] = (
    *(_role(ADMINISTRATORS, resource_type, "ALL") for resource_type in RESOURCE_TYPES),
    _role(permissions.DESIGNERS, DEPLOYMENT, "CREATE", "READ", "DELETE"),
    _role(permissions.DESIGNERS, PROCESS_DEFINITION, "READ"),
    _role(permissions.SYSTEMS, PROCESS_INSTANCE, "UPDATE"),
    _role(permissions.SYSTEMS, PROCESS_DEFINITION, "UPDATE_INSTANCE"),
    _role(permissions.AUDITORS, 20, "READ"),
    _role(permissions.AUDITORS, PROCESS_DEFINITION, "READ_HISTORY"),
    _everyone(1, "READ"), _everyone(2, "READ"), _everyone(FILTER, "CREATE"),
    _everyone(PROCESS_DEFINITION, "READ"), _everyone(DEPLOYMENT, "READ"),
)


def _of(row: AuthorizationGrant) -> Authorization:
    return Authorization(row.id, row.type, tuple(row.permissions), row.user_id, row.group_id, row.resource_type,
                         row.resource_id)


def _names(auth: Authorization, principal: Principal) -> bool:
    return (auth.type == GLOBAL or auth.user_id == principal.user_id
            or (auth.group_id is not None and auth.group_id in principal.groups))


def filter_shared_with(principal: Principal) -> ColumnElement[bool]:
    """Whether a grant lets the principal read the filter of the row (any grant of a filter reads it)."""
    return exists().where(AuthorizationGrant.resource_type == FILTER,
                          AuthorizationGrant.resource_id == SavedFilter.id,
                          or_(AuthorizationGrant.type == GLOBAL, AuthorizationGrant.user_id == principal.user_id,
                              AuthorizationGrant.group_id.in_(sorted(principal.groups))))


def _filter_granted(session: Session, principal: Principal, filter_id: str, permission: str) -> bool:
    rows = session.scalars(select(AuthorizationGrant).where(AuthorizationGrant.resource_type == FILTER,
                                                            AuthorizationGrant.resource_id == filter_id))
    return any(_names(_of(row), principal) and (permission == "READ" or permission in row.permissions
                                                 or "ALL" in row.permissions) for row in rows)


def may_on_filter(session: Session, principal: Principal, saved: SavedFilter, permission: str) -> bool:
    """Reading a filter: its owner, everyone for one without an owner, and those it is shared with;
    changing or deleting it: its owner and those granted that permission. Administrators always."""
    if permissions.is_administrator(principal) or saved.owner == principal.user_id:
        return True
    if permission == "READ" and saved.owner is None:
        return True
    return _filter_granted(session, principal, saved.id, permission)


# --- reading and checking --------------------------------------------------------------------------

def authorizations(services: Services, p: Mapping[str, Any], sorting: list[tuple[str, str]],
                   reader: Principal) -> list[Authorization]:
    """The role grants and the kept filter grants, filtered as Camunda's query (id, type, userIdIn,
    groupIdIn, resourceType, resourceId) and sorted (resourceType, resourceId); a reader who is not
    an administrator sees those that name them and those of their own filters."""
    with services.db.read() as session:
        owned = set(session.scalars(select(SavedFilter.id).where(SavedFilter.owner == reader.user_id)))
        kept = [_of(row) for row in session.scalars(select(AuthorizationGrant))]
    users, groups = p.get("userIdIn") or [], p.get("groupIdIn") or []
    found = [auth for auth in (*ROLES, *kept)
             if (permissions.is_administrator(reader) or _names(auth, reader) or auth.resource_id in owned)
             and p.get("id") in (None, auth.id) and str(p.get("type", auth.type)) == str(auth.type)
             and str(p.get("resourceType", auth.resource_type)) == str(auth.resource_type)
             and p.get("resourceId") in (None, auth.resource_id)
             and (not users or auth.user_id in users) and (not groups or auth.group_id in groups)]
    for key, direction in reversed(sorting):
        found.sort(key=lambda auth: (auth.resource_type if key == "resourceType" else auth.resource_id),
                   reverse=direction == "desc")
    return found


def check(services: Services, principal: Principal, permission: str, resource_type: int,
          resource_id: str | None) -> bool:
    """Whether the principal has the permission, by the rules the commands apply."""
    if permissions.is_administrator(principal):
        return True
    with services.db.read() as session:
        if resource_id not in (None, "*"):
            if resource_type == FILTER:
                saved = session.get(SavedFilter, resource_id)
                return saved is not None and may_on_filter(session, principal, saved, permission)
            if resource_type == PROCESS_INSTANCE and permission == "READ":
                return permissions.may_read_instance(session, principal, resource_id)
            if resource_type == TASK and permission in ("READ", "UPDATE", "TASK_WORK"):
                task = session.get(UserTask, resource_id)
                if task is None:
                    return False
                try:
                    permissions.require_task_work(session, principal, task)
                except Forbidden:
                    return permission == "READ" and (
                        permissions.may_read_standalone(session, principal, task.id) if task.process_instance_id is None
                        else permissions.may_read_instance(session, principal, task.process_instance_id))
                return True
    return any(_names(auth, principal) and auth.resource_type == resource_type
               and (permission in auth.permissions or "ALL" in auth.permissions) for auth in ROLES)


def principal_of_user(services: Services, user_id: str) -> Principal:
    """The user as the service would see them signed in: groups and regions."""
    with services.db.read() as session:
        return accounts.stored_principal(session, user_id)


# --- filter grants ---------------------------------------------------------------------------------

def _grant_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    kind, user_id, group_id = body.get("type"), body.get("userId"), body.get("groupId")
    if body.get("resourceType") != FILTER:
        raise InvalidRequest("Only authorizations of saved filters (resourceType 5) are kept: every other "
                             "permission of the service follows from groups (GET /authorization shows them)")
    if kind == GLOBAL and (user_id != "*" or group_id is not None):
        raise InvalidRequest("Global authorization must have userId '*' and no groupId")
    if kind == GRANT and (user_id is None) == (group_id is None):
        raise InvalidRequest("An authorization names either a userId or a groupId")
    if kind not in (GLOBAL, GRANT):
        raise InvalidRequest("Authorizations of type 0 (global) and 1 (grant) are kept; revokes are not")
    granted = body.get("permissions")
    if (not isinstance(granted, list) or not granted
            or any(permission not in _FILTER_PERMISSIONS for permission in granted)):
        raise InvalidRequest(f"The permissions of a filter are among {', '.join(_FILTER_PERMISSIONS)}")
    for name, value in (("userId", user_id), ("groupId", group_id)):
        if value is not None and (not isinstance(value, str) or not value or len(value) > 255):
            raise InvalidRequest(f"'{name}' is a text of 1 to 255 characters")
    return {"type": kind, "user_id": user_id, "group_id": group_id, "resource_type": FILTER,
            "permissions": list(dict.fromkeys(granted))}


def _shared_filter(session: Session, actor: Principal, filter_id: Any) -> SavedFilter:
    saved = session.get(SavedFilter, filter_id) if isinstance(filter_id, str) else None
    if saved is None:
        raise InvalidRequest(f"Filter with id {filter_id} does not exist")
    if saved.owner != actor.user_id and not permissions.is_administrator(actor):
        raise permissions.denied(actor, "CREATE", "Authorization", None)
    return saved


def create_grant(services: Services, body: Mapping[str, Any], *, actor: Principal) -> Authorization:
    fields = _grant_fields(body)
    with services.db.write() as session:
        saved = _shared_filter(session, actor, body.get("resourceId"))
        row = AuthorizationGrant(id=str(uuid.uuid4()), resource_id=saved.id, **fields)
        session.add(row)
        ledger.record_admin(session, "authorization.created", f"filter:{saved.id}", services.clock.now(),
                            actor.user_id, authorization=row.id, userId=row.user_id, groupId=row.group_id,
                            permissions=row.permissions)
        return _of(row)


def _kept(session: Session, authorization_id: str) -> AuthorizationGrant:
    row = session.get(AuthorizationGrant, authorization_id)
    if row is None:
        if any(auth.id == authorization_id for auth in ROLES):
            raise InvalidRequest(f"Authorization {authorization_id} follows from the service's roles and "
                                 "cannot be changed here: change the account's groups instead")
        raise NotFound(f"Authorization with Id '{authorization_id}' does not exist.")
    return row


def get(services: Services, authorization_id: str, reader: Principal) -> Authorization:
    visible = authorizations(services, {"id": authorization_id}, [], reader)
    if visible:
        return visible[0]
    if any(auth.id == authorization_id for auth in ROLES):
        raise permissions.denied(reader, "READ", "Authorization", authorization_id)
    with services.db.read() as session:
        _kept(session, authorization_id)
    raise permissions.denied(reader, "READ", "Authorization", authorization_id)


def update_grant(services: Services, authorization_id: str, body: Mapping[str, Any], *, actor: Principal) -> None:
    fields = _grant_fields(body)
    with services.db.write() as session:
        row = _kept(session, authorization_id)
        _shared_filter(session, actor, row.resource_id)
        if body.get("resourceId") not in (None, row.resource_id):
            _shared_filter(session, actor, body.get("resourceId"))
            row.resource_id = body["resourceId"]
        for name, value in fields.items():
            setattr(row, name, value)
        ledger.record_admin(session, "authorization.updated", f"filter:{row.resource_id}", services.clock.now(),
                            actor.user_id, authorization=row.id, userId=row.user_id, groupId=row.group_id,
                            permissions=row.permissions)


def delete_grant(services: Services, authorization_id: str, *, actor: Principal) -> None:
    with services.db.write() as session:
        row = _kept(session, authorization_id)
        _shared_filter(session, actor, row.resource_id)
        session.delete(row)
        ledger.record_admin(session, "authorization.deleted", f"filter:{row.resource_id}", services.clock.now(),
                            actor.user_id, authorization=row.id)

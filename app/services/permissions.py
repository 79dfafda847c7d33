"""Who may do what (the commands; queries are filtered where they are built).

Roles are groups: `admins` may do everything; `designers` deploy; `systems` are the e-government
systems that correlate messages and signals and work external tasks. A user task is worked by its
assignee, its candidate users and the members of its candidate groups. A process is started by the
groups and users its `camunda:candidateStarterGroups` / `candidateStarterUsers` name, or by any
signed-in account when it names none. A refusal is Camunda's AuthorizationException (403), naming
the missing permission.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine import ProcessModel
from app.errors import Forbidden
from app.persistence.models import TaskCandidate, UserTask
from app.services.accounts import ADMINISTRATORS, Principal

DESIGNERS, SYSTEMS = "designers", "systems"


def denied(principal: Principal, permission: str, resource_type: str, resource_id: str | None) -> Forbidden:
    resource = resource_id or "*"
    return Forbidden(
        f"The user with id '{principal.user_id}' does not have '{permission}' permission on resource "
        f"'{resource}' of type '{resource_type}'.",
        details={"userId": principal.user_id, "missingAuthorizations": [
            {"permissionName": permission, "resourceName": resource_type, "resourceId": resource}]})


def is_administrator(principal: Principal) -> bool:
    return ADMINISTRATORS in principal.groups


def require_group(principal: Principal, groups: tuple[str, ...], permission: str, resource_type: str,
                  resource_id: str | None = None) -> None:
    """The caller must be a member of one of the groups (administrators always are)."""
    if not is_administrator(principal) and not principal.groups & set(groups):
        raise denied(principal, permission, resource_type, resource_id)


def require_task_work(session: Session, principal: Principal, task: UserTask, permission: str = "UPDATE") -> None:
    """Claiming, completing and handing on a task is for its assignee and candidates."""
    if is_administrator(principal) or (task.assignee is not None and task.assignee == principal.user_id):
        return
    for kind, identity in session.execute(select(TaskCandidate.kind, TaskCandidate.identity)
                                          .where(TaskCandidate.task_id == task.id)):
        if (kind == "user" and identity == principal.user_id) or (kind == "group" and identity in principal.groups):
            return
    raise denied(principal, permission, "Task", task.id)


def require_start(principal: Principal, model: ProcessModel, definition_id: str) -> None:
    starters_named = model.starter_groups or model.starter_users
    if (not starters_named or is_administrator(principal) or principal.user_id in model.starter_users
            or principal.groups & set(model.starter_groups)):
        return
    raise denied(principal, "CREATE_INSTANCE", "ProcessDefinition", definition_id)

"""Who may do and read what.

Roles are groups: `admins` may do everything; `designers` deploy; `systems` are the e-government
systems that correlate messages and signals and work external tasks; `auditors` read every case.
A user task is worked by its assignee, its candidate users and the members of its candidate groups.
A process is started by the groups and users its `camunda:candidateStarterGroups` /
`candidateStarterUsers` name, or by any signed-in account when it names none. A case is read by
those who take part in it (see `readable`). A refused command is Camunda's
AuthorizationException (403), naming the missing permission; queries leave out what the caller may
not read.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, Exists, Select, SQLColumnExpression, and_, exists, literal, or_, select
from sqlalchemy.orm import Session, aliased

from app.access.accounts import ADMINISTRATORS, Principal
from app.engine import ProcessModel
from app.errors import Forbidden
from app.persistence.models import (
    CaseCopy,
    ExpertDraw,
    InstanceParticipant,
    ProcessInstance,
    StandaloneTask,
    TaskCandidate,
    UserTask,
)

DESIGNERS, SYSTEMS, AUDITORS = "designers", "systems", "auditors"


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
    """Claiming, completing and handing on a task is for its assignee and candidates; a standalone
    task (an official's own to-do) also for its owner and its creator."""
    if is_administrator(principal) or (task.assignee is not None and task.assignee == principal.user_id):
        return
    if task.process_instance_id is None and principal.user_id is not None and (
            task.owner == principal.user_id or session.scalar(select(StandaloneTask.created_by).where(
                StandaloneTask.id == task.id)) == principal.user_id):
        return
    for kind, identity in session.execute(select(TaskCandidate.kind, TaskCandidate.identity)
                                          .where(TaskCandidate.task_id == task.id)):
        if principal.named_by(kind, identity):
            return
    raise denied(principal, permission, "Task", task.id)


def may_start(principal: Principal, model: ProcessModel) -> bool:
    """Whether the principal may start the process: its candidate starters name them or one of their
    groups, or it names none; administrators start any."""
    starters_named = model.starter_groups or model.starter_users
    return bool(not starters_named or is_administrator(principal) or principal.user_id in model.starter_users
                or principal.groups & set(model.starter_groups))


def require_start(principal: Principal, model: ProcessModel, definition_id: str) -> None:
    if not may_start(principal, model):
        raise denied(principal, "CREATE_INSTANCE", "ProcessDefinition", definition_id)


# --- reading -------------------------------------------------------------------------------------
# A case is read by those who take part in it (the groups and users its tasks were offered to, who
# started it, who was assigned one of its tasks, whom a step of it was copied to), by the officials
# of its region and of the regions above it (app.extensions.regions), by auditors and by
# administrators. Queries leave out what the caller may not read; a single resource the caller may
# not read answers 403.

def sees_every_case(principal: Principal) -> bool:
    return is_administrator(principal) or AUDITORS in principal.groups


def readable(principal: Principal, instance_id: SQLColumnExpression[str | None]) -> ColumnElement[bool] | None:
    """The condition that the caller may read the instance `instance_id` names; None: every instance.

    Each way of taking part is a correlated EXISTS, which the database checks row by row with an
    index probe or, when many rows are checked, against a set it builds once: a paged list stops at
    the end of its page instead of first collecting every case the caller may read. Where the rows
    are the instances themselves, their starter and region are read in place."""
    if sees_every_case(principal):
        return None
    participant, task = aliased(InstanceParticipant), aliased(UserTask)

    def named(kind: str, identity: ColumnElement[bool]) -> Exists:
        # One EXISTS per kind of participant: each reads one range of the participants' index.
        return exists().where(participant.process_instance_id == instance_id, participant.kind == kind, identity)

    taking_part = [named("user", participant.identity == principal.user_id)]
    if principal.groups:
        taking_part.append(named("group", participant.identity.in_(sorted(principal.groups))))
    taking_part.append(exists().where(task.process_instance_id == instance_id, task.assignee == principal.user_id))
    # Those a step of the case was copied to (抄送) read it.
    copy = aliased(CaseCopy)
    copied_to = [and_(copy.kind == "user", copy.identity == principal.user_id)]
    if principal.groups:
        copied_to.append(and_(copy.kind == "group", copy.identity.in_(sorted(principal.groups))))
    taking_part.append(exists().where(copy.process_instance_id == instance_id, or_(*copied_to)))
    if instance_id is ProcessInstance.id:
        return or_(*_own(principal, ProcessInstance.start_user_id, ProcessInstance.tenant_id), *taking_part)
    instance = aliased(ProcessInstance)
    return or_(*taking_part, exists().where(instance.id == instance_id,
                                            or_(*_own(principal, instance.start_user_id, instance.tenant_id))))


def _own(principal: Principal, starter: SQLColumnExpression[str | None],
         region: SQLColumnExpression[str | None]) -> list[ColumnElement[bool]]:
    """The conditions on an instance's own row: started by the caller, or of one of the caller's
    regions (the account's own and its groups')."""
    own = [starter == principal.user_id]
    regions = sorted(principal.regions)
    if regions:
        # The cases of the caller's regions and of the regions below them (codes nest by prefix).
        own.append(region.in_(regions))
        own += [region.startswith(f"{code}-") for code in regions]
    return own


def _standalone_readable(principal: Principal) -> ColumnElement[bool]:
    """The condition that the caller may read the open standalone task of the UserTask row: its
    assignee, owner, candidates and creator, and the officials of its region and the regions above."""
    candidate, standalone = aliased(TaskCandidate), aliased(StandaloneTask)
    named = [and_(candidate.kind == "user", candidate.identity == principal.user_id)]
    if principal.groups:
        named.append(and_(candidate.kind == "group", candidate.identity.in_(sorted(principal.groups))))
    return and_(UserTask.process_instance_id.is_(None), or_(
        UserTask.assignee == principal.user_id, UserTask.owner == principal.user_id,
        exists().where(candidate.task_id == UserTask.id, or_(*named)),
        exists().where(standalone.id == UserTask.id,
                       or_(*_own(principal, standalone.created_by, standalone.tenant_id)))))


def only_visible_tasks(query: Select, viewer: Principal | None) -> Select:
    """A query of UserTask rows without those the viewer may not read: tasks of cases the viewer may
    not read, and standalone tasks the viewer has no part in."""
    condition = readable(viewer, UserTask.process_instance_id) if viewer is not None else None
    return query if viewer is None or condition is None else query.where(or_(condition,
                                                                              _standalone_readable(viewer)))


def may_read_standalone(session: Session, principal: Principal, task_id: str) -> bool:
    return sees_every_case(principal) or bool(session.scalar(
        select(literal(True)).where(UserTask.id == task_id, _standalone_readable(principal))))


def standalone_history_readable(principal: Principal) -> ColumnElement[bool] | None:
    """The standalone tasks, open or ended, whose history the caller reads (None: all of them): those
    the caller created, was the assignee or owner of, or of the caller's regions."""
    if sees_every_case(principal):
        return None
    return or_(StandaloneTask.assignee == principal.user_id, StandaloneTask.owner == principal.user_id,
               *_own(principal, StandaloneTask.created_by, StandaloneTask.tenant_id))


def may_read_standalone_history(session: Session, principal: Principal, task_id: str) -> bool:
    condition = standalone_history_readable(principal)
    found = select(literal(True)).where(StandaloneTask.id == task_id)
    return bool(session.scalar(found if condition is None else found.where(condition)))


def unless_in(viewer: Principal | None, group: str) -> Principal | None:
    """The viewer, or None (no filter) when a member of a group that sees every row of a kind."""
    return None if viewer is None or group in viewer.groups else viewer


def only_visible(query: Select, instance_column: SQLColumnExpression[str | None], viewer: Principal | None) -> Select:
    """The query without the rows of instances the viewer may not read (no viewer: unfiltered,
    for the service's own use)."""
    condition = readable(viewer, instance_column) if viewer is not None else None
    return query if condition is None else query.where(condition)


def may_read_instance(session: Session, principal: Principal, instance_id: str) -> bool:
    condition = readable(principal, literal(instance_id))
    return condition is None or bool(session.scalar(select(literal(True)).where(condition)))


def require_instance_read(session: Session, principal: Principal, instance_id: str,
                          resource_type: str = "ProcessInstance", resource_id: str | None = None) -> None:
    if not may_read_instance(session, principal, instance_id):
        raise denied(principal, "READ", resource_type, resource_id or instance_id)


def may_read_draw(session: Session, principal: Principal, draw: ExpertDraw) -> bool:
    """An expert draw is read by the experts it drew and by those who may read its case (ECO-20:
    a drawn expert sees the park they review and no other)."""
    if sees_every_case(principal) or principal.user_id in (draw.drawn or []):
        return True
    return draw.process_instance_id is not None and may_read_instance(session, principal, draw.process_instance_id)

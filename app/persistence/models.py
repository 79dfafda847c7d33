"""Tables of the service. The schema is created and changed only by Alembic migrations."""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    if TYPE_CHECKING:
        # Every model here is mapped to a table (the library allows any FromClause).
        __table__: ClassVar[Table]


class Instant(TypeDecorator):
    """An instant stored in UTC and always read back timezone-aware (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for an instant column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Deployment(Base):
    __tablename__ = "deployment"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(String(255))
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    deployment_time: Mapped[datetime] = mapped_column(Instant())


class DeploymentResource(Base):
    __tablename__ = "deployment_resource"
    __table_args__ = (UniqueConstraint("deployment_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployment.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    checksum: Mapped[str] = mapped_column(String(64))


class ProcessDefinition(Base):
    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "tenant_id", "version"),)

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(255))
    version_tag: Mapped[str | None] = mapped_column(String(255))
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployment.id"), index=True)
    resource_name: Mapped[str] = mapped_column(String(255))
    checksum: Mapped[str] = mapped_column(String(64))
    history_time_to_live: Mapped[int | None] = mapped_column(Integer)
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    # camunda:isStartableInTasklist of the process (Camunda's STARTABLE_).
    startable_in_tasklist: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The rules the version runs under, those of the release that deployed it (app.engine.SEMANTICS).
    semantics: Mapped[int] = mapped_column(Integer, server_default="1")
    # As Camunda's: the file's targetNamespace, and the process's documentation.
    category: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)


class ProcessInstance(Base):
    """A run of a definition version; the row stays after the run ends, for history and audit."""

    __tablename__ = "process_instance"
    # The history list pages instances by start.
    __table_args__ = (Index("ix_process_instance_start_time", "start_time", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    definition_id: Mapped[str] = mapped_column(ForeignKey("process_definition.id"), index=True)
    definition_key: Mapped[str] = mapped_column(String(255), index=True)
    business_key: Mapped[str | None] = mapped_column(String(255), index=True)
    # The case's region; indexed for the list of tenants and the check that a region with cases stays.
    tenant_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # ACTIVE, COMPLETED or EXTERNALLY_TERMINATED, as Camunda's history names them.
    status: Mapped[str] = mapped_column(String(32), index=True)
    # The saved workflow: read only where a run is restored (lists and look-ups never need it).
    state: Mapped[str] = mapped_column(Text, deferred=True)
    start_time: Mapped[datetime] = mapped_column(Instant())
    end_time: Mapped[datetime | None] = mapped_column(Instant())
    start_user_id: Mapped[str | None] = mapped_column(String(255), index=True)
    start_activity_id: Mapped[str | None] = mapped_column(String(255))
    delete_reason: Mapped[str | None] = mapped_column(Text)
    # Numbers the instance's history events and activity instances in the order they happened.
    last_sequence: Mapped[int] = mapped_column(Integer, default=0)
    # The hash of the instance's last history event: the head of its chain (app.audit.ledger).
    history_hash: Mapped[str | None] = mapped_column(String(64))
    # Suspended (挂起): its tokens stay where they are until it is activated (app.cases.suspension).
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    # An operator raised an incident on it once (app.cases.incidents): only then do its steps look
    # for raised incidents to end.
    raised_incidents: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    # Started by a call activity: the calling instance and the call activity's activity instance
    # there (Camunda's super process instance), and the first instance of the chain of callers.
    super_process_instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    super_activity_instance_id: Mapped[str | None] = mapped_column(String(36))
    root_process_instance_id: Mapped[str | None] = mapped_column(String(36))

    __mapper_args__ = {"version_id_col": revision}


class UserTask(Base):
    """An open user task, projected from the workflow so that task queries never load workflows."""

    __tablename__ = "user_task"
    # The task list pages open tasks by creation.
    __table_args__ = (Index("ix_user_task_process_due", "process_definition_key", "due"),
                      Index("ix_user_task_created", "created", "id"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # None: a standalone task (POST /task/create), of no process; its own record is StandaloneTask.
    process_instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    process_definition_id: Mapped[str | None] = mapped_column(String(255))
    process_definition_key: Mapped[str | None] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(255), index=True)
    task_definition_key: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    assignee: Mapped[str | None] = mapped_column(String(255), index=True)
    owner: Mapped[str | None] = mapped_column(String(255))
    # Camunda's delegationState: PENDING while a delegate works the task for its owner, RESOLVED after.
    delegation_state: Mapped[str | None] = mapped_column(String(16))
    created: Mapped[datetime] = mapped_column(Instant())
    last_updated: Mapped[datetime | None] = mapped_column(Instant())
    due: Mapped[datetime | None] = mapped_column(Instant())
    follow_up: Mapped[datetime | None] = mapped_column(Instant())
    priority: Mapped[int] = mapped_column(Integer, default=50)
    form_key: Mapped[str | None] = mapped_column(String(255))
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    # The instance's suspension state, copied in its unit of work so that task lists need no join.
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)


class StandaloneTask(Base):
    """A task of no process (Camunda's TaskService.newTask): who created it and in which region, its
    own variables, and its history, which outlives it. While it is open a UserTask row of the same id
    (process_instance_id None) holds it for task queries, candidates and commands."""

    __tablename__ = "standalone_task"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    assignee: Mapped[str | None] = mapped_column(String(255), index=True)
    owner: Mapped[str | None] = mapped_column(String(255))
    priority: Mapped[int] = mapped_column(Integer, default=50)
    due: Mapped[datetime | None] = mapped_column(Instant())
    follow_up: Mapped[datetime | None] = mapped_column(Instant())
    # The creator's region, as a case takes its starter's: the region's officials read the task.
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(255), index=True)
    start_time: Mapped[datetime] = mapped_column(Instant())
    end_time: Mapped[datetime | None] = mapped_column(Instant())
    # Camunda's: "completed", or "deleted" (or the reason a deletion gave).
    delete_reason: Mapped[str | None] = mapped_column(String(255))
    # The task's own variables, as recorded (app.audit.ledger.jsonable).
    variables: Mapped[dict] = mapped_column(JSON, default=dict)


class TaskCandidate(Base):
    """Who may claim a task: a candidate user or a member of a candidate group."""

    __tablename__ = "task_candidate"
    # The tasks offered to a group or user, read from the index alone.
    __table_args__ = (Index("ix_task_candidate_identity", "kind", "identity", "task_id"),)

    task_id: Mapped[str] = mapped_column(ForeignKey("user_task.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "group" or "user"
    identity: Mapped[str] = mapped_column(String(255), primary_key=True)


class ActivityInstance(Base):
    """One execution of a flow node, as Camunda's historic activity instances show it."""

    __tablename__ = "activity_instance"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    process_definition_id: Mapped[str] = mapped_column(String(255))
    process_definition_key: Mapped[str] = mapped_column(String(255))
    activity_id: Mapped[str] = mapped_column(String(255))
    activity_name: Mapped[str | None] = mapped_column(String(255))
    activity_type: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str | None] = mapped_column(String(36))
    assignee: Mapped[str | None] = mapped_column(String(255))
    start_time: Mapped[datetime] = mapped_column(Instant())
    end_time: Mapped[datetime | None] = mapped_column(Instant())
    canceled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Order of starts within the instance: several activities can start in the same instant.
    sequence: Mapped[int] = mapped_column(Integer)
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    # Of a call activity: the instance it started.
    called_process_instance_id: Mapped[str | None] = mapped_column(String(36))
    # Of a user task, as it was when it ended (while it is open, its UserTask row holds them): what
    # the historic task query shows an auditor. None for tasks that ended before they were kept.
    owner: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int | None] = mapped_column(Integer)
    due: Mapped[datetime | None] = mapped_column(Instant())
    follow_up: Mapped[datetime | None] = mapped_column(Instant())


class HistoryEvent(Base):
    """Append-only record of what happened to an instance and who did it. Never updated; deleted only
    with the whole case once its retention has passed, the deletion recorded in the administrative
    chain (app.audit.removal)."""

    __tablename__ = "history_event"
    __table_args__ = (UniqueConstraint("process_instance_id", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    process_instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(Instant())
    user_id: Mapped[str | None] = mapped_column(String(255))
    activity_id: Mapped[str | None] = mapped_column(String(255))
    task_id: Mapped[str | None] = mapped_column(String(36))
    payload: Mapped[dict] = mapped_column(JSON)
    # The hash chain of the instance's events (app.audit.ledger).
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class HistoryAnchor(Base):
    """The chain over all instances: each row anchors an instance's head event hash (or, without an
    instance, the administrative chain's head) after the one before. Written by the unit of work that
    moved the head, numbered without gaps and signed with a key the database does not hold (rows
    from before revision 0012 are numbered but unsigned)."""

    __tablename__ = "history_anchor"
    __table_args__ = (UniqueConstraint("previous_hash"), UniqueConstraint("number"),
                      Index("ix_history_anchor_instance_event", "process_instance_id", "event_hash"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[int] = mapped_column(Integer)
    # No foreign key: the anchors of a case whose history was deleted (app.audit.removal) stay.
    process_instance_id: Mapped[str | None] = mapped_column(String(36))
    event_hash: Mapped[str] = mapped_column(String(64))
    anchored_at: Mapped[datetime] = mapped_column(Instant())
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Ed25519 over number, previous hash, hash, instant and what is anchored (base64).
    signature: Mapped[str | None] = mapped_column(String(128))


class AdminEvent(Base):
    """An administrative change (a deployment, a calendar year, the park register, the expert pool, an
    account), in one hash chain of its own, written in the transaction of the change."""

    __tablename__ = "admin_event"
    __table_args__ = (UniqueConstraint("previous_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255), index=True)
    occurred_at: Mapped[datetime] = mapped_column(Instant())
    user_id: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[dict] = mapped_column(JSON)
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Timer(Base):
    """A timer an instance waits on (`due_at` recomputed after every step of the instance), or a timer
    start event of a definition (no instance; it starts one when due)."""

    __tablename__ = "timer"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    process_definition_id: Mapped[str | None] = mapped_column(String(255), index=True)
    process_definition_key: Mapped[str] = mapped_column(String(255))
    activity_id: Mapped[str] = mapped_column(String(255))
    due_at: Mapped[datetime | None] = mapped_column(Instant(), index=True)
    # A start timer's cycle: repetitions left (-1: unbounded) and the period as an ISO duration.
    repeat: Mapped[dict | None] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(Instant())
    # The instance's suspension state, or the timer's own (`held`): a suspended timer waits, due or not.
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    # Suspended on its own by an operator (PUT /job/{id}/suspended), kept in the instance's state.
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(BigInteger, default=0)


class JobLog(Base):
    """Camunda's historic job log: a row per event of a timer (created, fired, deleted), written in
    the unit of work of the change; it stays when the timer and its case have gone."""

    __tablename__ = "job_log"

    # In the order written (rows of one instant keep the order of their events).
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    timestamp: Mapped[datetime] = mapped_column(Instant(), index=True)
    # creation, failure, success or deletion
    state: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[str] = mapped_column(String(36), index=True)
    due_at: Mapped[datetime | None] = mapped_column(Instant())
    priority: Mapped[int] = mapped_column(BigInteger, default=0)
    activity_id: Mapped[str] = mapped_column(String(255))
    job_type: Mapped[str | None] = mapped_column(String(64))
    configuration: Mapped[str | None] = mapped_column(Text)
    process_instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    process_definition_id: Mapped[str] = mapped_column(String(255), index=True)
    process_definition_key: Mapped[str] = mapped_column(String(255))
    tenant_id: Mapped[str | None] = mapped_column(String(64))


class JobDefinitionSetting(Base):
    """What an operator set on a job definition (a timer event of a deployed version): suspended,
    and the priority that overrides its jobs' own."""

    __tablename__ = "job_definition_setting"

    id: Mapped[str] = mapped_column(String(512), primary_key=True)
    process_definition_id: Mapped[str] = mapped_column(String(255), index=True)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    job_priority: Mapped[int | None] = mapped_column(BigInteger)


class EventSubscription(Base):
    """A message or signal somebody waits for: a token of an instance, or the start event of the
    latest version of a definition (no instance). Messages are routed by these rows."""

    __tablename__ = "event_subscription"
    __table_args__ = (Index("ix_event_subscription_kind_name", "kind", "event_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "message" or "signal"
    event_name: Mapped[str] = mapped_column(String(255))
    process_instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    process_definition_id: Mapped[str] = mapped_column(String(255), index=True)
    activity_id: Mapped[str] = mapped_column(String(255))
    # The waiting token's task, to which the event is handed (none for a start event).
    task_id: Mapped[str | None] = mapped_column(String(36))
    business_key: Mapped[str | None] = mapped_column(String(255))
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(Instant())


class ExternalTask(Base):
    """A service task waiting for an outside worker; the lock and retries live only here."""

    __tablename__ = "external_task"
    __table_args__ = (Index("ix_external_task_topic_lock", "topic_name", "lock_expiration"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    process_definition_id: Mapped[str] = mapped_column(String(255))
    process_definition_key: Mapped[str] = mapped_column(String(255))
    process_definition_version_tag: Mapped[str | None] = mapped_column(String(255))
    activity_id: Mapped[str] = mapped_column(String(255))
    topic_name: Mapped[str] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(255))
    worker_id: Mapped[str | None] = mapped_column(String(255))
    lock_expiration: Mapped[datetime | None] = mapped_column(Instant())
    retries: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(Text)
    error_details: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(Instant())
    # The instance's suspension state: fetchAndLock passes a suspended instance's tasks by.
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)


class Incident(Base):
    """Something an operator must resolve: an external task that ran out of retries. Open while
    `end_time` is empty; the row stays for history."""

    __tablename__ = "incident"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    process_definition_id: Mapped[str] = mapped_column(String(255))
    activity_id: Mapped[str] = mapped_column(String(255))
    incident_type: Mapped[str] = mapped_column(String(64))
    # For a failed external task: its id.
    configuration: Mapped[str | None] = mapped_column(String(255), index=True)
    message: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(Instant())
    end_time: Mapped[datetime | None] = mapped_column(Instant())
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    # Ended by new retries (resolved), else by its task leaving with the token (deleted).
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    # An operator's note on it (Camunda's annotation).
    annotation: Mapped[str | None] = mapped_column(Text)
    # Of an incident an operator raised (a custom type): the execution it was raised on, whose end
    # ends it; a failed external task's is its task (the configuration).
    execution_id: Mapped[str | None] = mapped_column(String(36))


class HistoryCleanupJob(Base):
    """Camunda's history cleanup job (at most one row): when the timer worker next deletes the
    histories whose retention has passed (app.audit.cleanup)."""

    __tablename__ = "history_cleanup_job"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created: Mapped[datetime] = mapped_column(Instant())
    # Empty while suspended: nothing to do until it is scheduled again.
    due_at: Mapped[datetime | None] = mapped_column(Instant())
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    # The first failure of its last run (a case the run could not delete), for the operators.
    exception_message: Mapped[str | None] = mapped_column(Text)


class SchemaLogEntry(Base):
    """Each schema upgrade the migrate step applied (Camunda's schema log): the revision reached and
    when. Alembic keeps only the current revision, so the upgrades before this table are not known."""

    __tablename__ = "schema_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    timestamp: Mapped[datetime] = mapped_column(Instant())
    version: Mapped[str] = mapped_column(String(64))


class CalendarYear(Base):
    """A year of the official working calendar; `confirmed` once its State Council notice is entered."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    confirmed: Mapped[bool] = mapped_column(Boolean)
    notice: Mapped[str] = mapped_column(String(255))
    entered_by: Mapped[str | None] = mapped_column(String(255))
    entered_at: Mapped[datetime] = mapped_column(Instant())
    # Counts the imports of this year: the calendar's version, recorded with each deadline, moves with it.
    revision: Mapped[int] = mapped_column(Integer)


class CalendarEntry(Base):
    """A dated exception to the Monday-Friday rule: an off day, or a weekend day that is worked."""

    __tablename__ = "calendar_entry"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("calendar_year.year"), index=True)
    working: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(64))
    notice: Mapped[str] = mapped_column(String(255))


class ParkStanding(Base):
    """An eco-industrial park's standing on the register (ECO-18, ECO-19): in creation, named, revoked
    (with its cause and the last day of its re-application ban), stopped or incomplete."""

    __tablename__ = "park_standing"

    park_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    park_name: Mapped[str] = mapped_column(String(255))
    province: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    since: Mapped[date] = mapped_column(Date)
    # The last day on which no new creation application is accepted (revoked parks only).
    ban_until: Mapped[date | None] = mapped_column(Date)
    cause: Mapped[str | None] = mapped_column(String(255))
    decided_by_instance_id: Mapped[str | None] = mapped_column(String(36))
    updated: Mapped[datetime] = mapped_column(Instant())


class Expert(Base):
    """A member of the expert pool (ECO-20); the id is the user id expert tasks will name."""

    __tablename__ = "expert"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    specialty: Mapped[str] = mapped_column(String(255))
    organization: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean)
    created: Mapped[datetime] = mapped_column(Instant())


class ExpertConflict(Base):
    """A declared conflict of interest: the expert is recused (回避) from every draw for the park."""

    __tablename__ = "expert_conflict"

    expert_id: Mapped[str] = mapped_column(ForeignKey("expert.id"), primary_key=True)
    park_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    declared: Mapped[datetime] = mapped_column(Instant())


class ExpertDraw(Base):
    """A random draw of experts, recorded with everything an auditor needs to recompute it: the seed, the
    eligible ids in the order ranked, the recused ones and the algorithm's name. Never updated."""

    __tablename__ = "expert_draw"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    park_id: Mapped[str] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    requested: Mapped[int] = mapped_column(Integer)
    seed: Mapped[str] = mapped_column(String(64))
    eligible: Mapped[list] = mapped_column(JSON)
    excluded: Mapped[list] = mapped_column(JSON)
    drawn: Mapped[list] = mapped_column(JSON)
    algorithm: Mapped[str] = mapped_column(String(32))
    drawn_at: Mapped[datetime] = mapped_column(Instant())
    process_instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    drawn_by: Mapped[str | None] = mapped_column(String(255))
    # The user task whose candidates the draw made, when a process drew for one (`expertDraw`).
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)
    activity_id: Mapped[str | None] = mapped_column(String(255))


class DecisionDefinition(Base):
    """A version of a DMN decision table, deployed like a process definition and found by key."""

    __tablename__ = "decision_definition"
    __table_args__ = (UniqueConstraint("key", "tenant_id", "version"),)

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(255))
    version_tag: Mapped[str | None] = mapped_column(String(255))
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployment.id"), index=True)
    resource_name: Mapped[str] = mapped_column(String(255))
    # Of the decision's own table, so that re-deploying a file with other decisions changed leaves
    # this one's version alone.
    checksum: Mapped[str] = mapped_column(String(64))
    history_time_to_live: Mapped[int | None] = mapped_column(Integer)
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    # The DMN file's namespace, as Camunda's.
    category: Mapped[str | None] = mapped_column(String(255))
    # The decision requirements definition of its DMN file's version, when the file holds several
    # decisions (as Camunda links them).
    decision_requirements_definition_id: Mapped[str | None] = mapped_column(String(255), index=True)
    decision_requirements_definition_key: Mapped[str | None] = mapped_column(String(255))


class DecisionRequirementsDefinition(Base):
    """A version of a DMN file of several decisions (its `definitions` element), as Camunda keeps it:
    created with the versions of its decisions that a deployment makes."""

    __tablename__ = "decision_requirements_definition"
    __table_args__ = (UniqueConstraint("key", "tenant_id", "version"),)

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(255))
    category: Mapped[str | None] = mapped_column(String(255))
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployment.id"), index=True)
    resource_name: Mapped[str] = mapped_column(String(255))
    tenant_id: Mapped[str | None] = mapped_column(String(64))


class AuditAgency(Base):
    """A clean production audit agency on the register (CPA-09, CPA-12): registered after the joint
    review, ordered to correct after fraud, or revoked."""

    __tablename__ = "audit_agency"

    agency_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agency_name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), index=True)
    since: Mapped[date] = mapped_column(Date)
    cause: Mapped[str | None] = mapped_column(String(2000))
    decided_by_instance_id: Mapped[str | None] = mapped_column(String(36))
    updated: Mapped[datetime] = mapped_column(Instant())


class InstanceParticipant(Base):
    """A group or user an instance's tasks were offered to: the departments that handle the case."""

    __tablename__ = "instance_participant"
    # The cases a group or user takes part in, read from the index alone.
    __table_args__ = (Index("ix_instance_participant_identity", "kind", "identity", "process_instance_id"),)

    process_instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "group" or "user"
    identity: Mapped[str] = mapped_column(String(255), primary_key=True)


class Account(Base):
    """A person or system that signs in with HTTP Basic; the password is kept only as a scrypt hash."""

    __tablename__ = "account"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    # The region whose cases (and those of the regions below it) the account sees; None: none by region.
    region: Mapped[str | None] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(Instant())
    # Camunda's user profile.
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    # Changed with every change of the account's groups or profile: a remembered sign-in of an older
    # generation is verified again (app.access.accounts).
    generation: Mapped[str] = mapped_column(String(32), default="")


class ApiKey(Base):
    """A key a system signs in with for an account; only a SHA-256 of its random secret is kept."""

    __tablename__ = "api_key"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("account.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(Instant())
    revoked: Mapped[datetime | None] = mapped_column(Instant())


class SigninFailure(Base):
    """Refused sign-ins in the current window of an account name or a client address, in the database
    so that every replica counts them; a try that passes costs no write here."""

    __tablename__ = "signin_failure"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # `account` or `address`
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(Instant(), index=True)
    failures: Mapped[int] = mapped_column(Integer)
    # Set on an account's row when it is locked.
    locked_until: Mapped[datetime | None] = mapped_column(Instant())


class SavedFilter(Base):
    """A saved task query of a task list (Camunda's filter): its owner's, or everyone's when it has
    none; `query` holds Camunda's task query, expressions such as `${currentUser()}` unresolved."""

    __tablename__ = "saved_filter"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    query: Mapped[dict] = mapped_column(JSON)
    properties: Mapped[dict | None] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(Instant())


class AuthorizationGrant(Base):
    """A grant kept as Camunda keeps authorizations; only those of filters (who else reads a saved
    filter) are kept: every other permission follows from groups (app.access.permissions)."""

    __tablename__ = "authorization_grant"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[int] = mapped_column(Integer)  # Camunda's 0 global (every user), 1 grant
    user_id: Mapped[str | None] = mapped_column(String(64))
    group_id: Mapped[str | None] = mapped_column(String(255))
    resource_type: Mapped[int] = mapped_column(Integer)
    resource_id: Mapped[str] = mapped_column(String(255), index=True)
    permissions: Mapped[list] = mapped_column(JSON)


class IdentityGroup(Base):
    """A group of accounts as Camunda's identity service keeps it: an authority or a role."""

    __tablename__ = "identity_group"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    type: Mapped[str | None] = mapped_column(String(255))


class Membership(Base):
    """An account's membership of a group (an authority, e.g. `epb_xj`)."""

    __tablename__ = "membership"

    account_id: Mapped[str] = mapped_column(ForeignKey("account.id"), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class Tenant(Base):
    """A region (Camunda tenant) given a name; regions that cases or accounts use need no row."""

    __tablename__ = "tenant"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))


class TenantGroup(Base):
    """A group assigned to a region: its members see the region's cases (Camunda's tenant-group
    membership)."""

    __tablename__ = "tenant_group"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class Attachment(Base):
    """A material (材料) attached to a task: a file, kept by its SHA-256 in the content store, or a link."""

    __tablename__ = "attachment"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(2048))
    size: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    user_id: Mapped[str | None] = mapped_column(String(255))
    created: Mapped[datetime] = mapped_column(Instant())
    # The sequence of the history event that records it: the order attachments were made in.
    sequence: Mapped[int] = mapped_column(Integer)


class AttachmentContent(Base):
    """The content of attached files when the database keeps it, once per distinct content."""

    __tablename__ = "attachment_content"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class VariableContent(Base):
    """That a case's state or history refers to a binary variable's content (kept in the content store
    by its SHA-256, beside the attached files'): content is discarded only when nothing refers to it."""

    __tablename__ = "variable_content"

    process_instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class CaseCopy(Base):
    """A step of a case copied (抄送) to a group or user, who reads the case from then on."""

    __tablename__ = "case_copy"
    # The copies to a group or user ("copied to me"), and whether a case is copied to them.
    __table_args__ = (Index("ix_case_copy_recipient", "kind", "identity", "process_instance_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    activity_id: Mapped[str | None] = mapped_column(String(255))
    task_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(8))  # "group" or "user"
    identity: Mapped[str] = mapped_column(String(255))
    # Who copied it; None: the procedure (camunda:property ccGroups / ccUsers on the element).
    copied_by: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(Instant())
    # The sequence of the history event that records it.
    sequence: Mapped[int] = mapped_column(Integer)


class TaskReminder(Base):
    """A reminder (催办) sent to the handlers of an open task; systems read them to send a message, or
    take those of their topic under a lease and report each delivered."""

    __tablename__ = "task_reminder"
    __table_args__ = (Index("ix_task_reminder_created", "created", "id"),
                      Index("ix_task_reminder_topic", "topic", "created", "id"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36), index=True)
    activity_id: Mapped[str | None] = mapped_column(String(255))
    message: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[str | None] = mapped_column(String(255))
    created: Mapped[datetime] = mapped_column(Instant())
    # The topic its procedure publishes it to (camunda:property reminderTopic), if any.
    topic: Mapped[str | None] = mapped_column(String(255))
    # The worker holding it or, once delivered, the one that delivered it.
    worker_id: Mapped[str | None] = mapped_column(String(255))
    lock_expiration: Mapped[datetime | None] = mapped_column(Instant())
    delivered: Mapped[datetime | None] = mapped_column(Instant())


class Batch(Base):
    """A bulk operation (Camunda's batch): its targets are its parts, run by the timer worker one
    target to a unit of work. A batch whose `end_time` is set is history (/history/batch)."""

    __tablename__ = "batch"
    __table_args__ = (Index("ix_batch_running", "end_time", "start_time", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    total_jobs: Mapped[int] = mapped_column(Integer)
    batch_jobs_per_seed: Mapped[int] = mapped_column(Integer)
    invocations_per_batch_job: Mapped[int] = mapped_column(Integer)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    create_user_id: Mapped[str | None] = mapped_column(String(255))
    # The creator's groups and regions when it was created: its parts run with the rights it had then.
    creator: Mapped[dict] = mapped_column(JSON)
    # What each part does to its target (the operation's parameters, as the request gave them).
    configuration: Mapped[dict] = mapped_column(JSON)
    start_time: Mapped[datetime] = mapped_column(Instant())
    execution_start_time: Mapped[datetime | None] = mapped_column(Instant())
    end_time: Mapped[datetime | None] = mapped_column(Instant())
    removal_time: Mapped[datetime | None] = mapped_column(Instant())


class BatchPart(Base):
    """One target of a batch (a case, an external task): pending, done or failed with its message.
    A part is marked done in the unit of work that changed its target, so that it runs once."""

    __tablename__ = "batch_part"
    __table_args__ = (Index("ix_batch_part_state", "batch_id", "state", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    target: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))
    failure: Mapped[str | None] = mapped_column(Text)
    executed_at: Mapped[datetime | None] = mapped_column(Instant())

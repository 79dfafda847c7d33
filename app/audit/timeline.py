"""An instance's timeline, in the order a person reads it: who did what and when, and whether each
task was done within its deadline. Built from the instance's history; it shows no submitted data,
so that nothing confidential is shown to a reader of the case."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from app.access import permissions
from app.access.accounts import Principal
from app.cases.instances import get_instance
from app.cases.projections import MIGRATED
from app.deadlines.statutory import STOPS
from app.engine.forms import parse_datetime
from app.persistence.models import HistoryEvent

if TYPE_CHECKING:
    from app.context import Services


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    who: str | None
    what: str
    activity_id: str | None
    activity_name: str | None
    due: datetime | None = None
    # For a completed task with a deadline: "met" or "missed".
    deadline: str | None = None


# How each kind of event reads; the activity's name is put in for {name}.
_SAYS = {
    "process.started": "启动案件", "process.completed": "案件办结", "process.deleted": "案件被终止",
    "task.created": "待办：{name}", "task.claimed": "认领：{name}", "task.unclaimed": "退回待办：{name}",
    "task.assigned": "指派：{name}", "task.completed": "办理完成：{name}",
    "task.commented": "签署意见（{name}）：{message}", "task.commentUpdated": "修改意见（{name}）：{message}",
    "task.commentDeleted": "删除意见（{name}）", "task.delegated": "委派：{name}",
    "task.resolved": "委派办结，交回：{name}", "task.updated": "修改待办：{name}",
    "task.ownerSet": "设置负责人：{name}", "task.candidateUserAdded": "加签（人员）：{name}",
    "task.candidateGroupAdded": "加签（部门）：{name}", "task.candidateUserRemoved": "减签（人员）：{name}",
    "task.candidateGroupRemoved": "减签（部门）：{name}", "task.attachmentAdded": "上传材料（{name}）：{fileName}",
    "task.attachmentDeleted": "撤回材料（{name}）：{fileName}", "case.copied": "抄送：{name}",
    "task.reminded": "催办：{name}", "task.reminderDelivered": "催办已送达：{name}", "task.escalation": "上报：{name}",
    "clock.paused": "暂停计时：{reason}", "clock.resumed": "恢复计时",
    "clock.extended": "延期{workingDays}个工作日：{reason}", "timer.fired": "期限届满：{name}",
    "message.received": "收到消息：{name}", "signal.received": "收到信号：{name}", "signal.thrown": "发出信号：{name}",
    "trigger.received": "收到：{name}",
    "externalTask.completed": "系统完成：{name}", "externalTask.failed": "系统办理失败：{name}",
    "externalTask.bpmnError": "系统报告业务错误：{name}", "incident.created": "故障待处理：{name}",
    "decision.evaluated": "决策：{name}", "park.standing": "园区名录登记：{name}",
    "agency.standing": "咨询机构备案登记：{name}", "experts.drawn": "随机抽取专家：{name}",
    "instances.started": "启动下级案件：{name}", "variables.modified": "管理员修改案件数据",
    "task.localVariablesModified": "修改待办数据：{name}",
    "process.modified": "管理员调整案件流转", "process.modified.return": "驳回至：{name}",
    "process.modified.withdraw": "撤回：{name}",
    "instance.migrated": "案件转入流程新版本办理",
    "process.suspended": "案件挂起", "process.activated": "案件恢复办理（解除挂起）",
    "job.dueDateSet": "调整计时期限（{name}）：{previous} → {due}",
    "job.dueDateRecalculated": "重新计算计时期限（{name}）：{previous} → {due}",
    "job.executed": "立即触发计时：{name}", "job.suspended": "暂停计时：{name}", "job.activated": "恢复计时：{name}",
    "job.priorityChanged": "调整计时优先级（{name}）：{priority}", "job.deleted": "删除计时：{name}",
}


class _Fields(dict[str, Any]):
    """An event's payload as the fields of its text: a field it lacks reads as nothing."""

    def __missing__(self, key: str) -> str:
        return ""


# With the passage (an auditor's replay): every element the case went through, a user task by its own entries.
_PASSED = "经过：{name}"


def _passed(kind: str, activity_id: str, reached: set[str]) -> str | None:
    """An element reached, once: when it starts, or when it ends where one step started and ended it
    (the history then holds only its completion); `reached` holds those started and not yet ended."""
    if kind == "activity.started":
        reached.add(activity_id)
        return _PASSED
    if kind == "activity.completed":
        if activity_id in reached:
            reached.discard(activity_id)
            return None
        return _PASSED
    return None


def timeline(services: Services, instance_id: str, reader: Principal, *, passage: bool = False) -> list[Entry]:
    """The entries in reading order; with `passage` (a replay's steps), also each event, gateway or system
    step reached, in the order the case went through them."""
    with services.db.read() as session:
        instance = get_instance(session, instance_id)
        permissions.require_instance_read(session, reader, instance.id)
        events = session.scalars(select(HistoryEvent).where(HistoryEvent.process_instance_id == instance.id)
                                 .order_by(HistoryEvent.sequence)).all()
        # Each event is named by the version the case ran on then (a migrated case ran on several).
        versions = [event.payload.get("target_definition_id" if event.kind == MIGRATED else "definition_id")
                    for event in events if event.kind in ("process.started", MIGRATED)]
        models = {definition_id: services.models.get(session, definition_id)
                  for definition_id in {*filter(None, versions), instance.definition_id}}
    model = models.get(versions[0], models[instance.definition_id]) if versions else models[instance.definition_id]
    due_of_task: dict[str, datetime | None] = {}
    reached: set[str] = set()
    # With the passage, a task's arrival reads where its activity starts: the history records the
    # task first, then the elements its step went through before it.
    held: dict[str, list[Entry]] = {}
    entries = []
    for event in events:
        if passage and event.kind == "activity.started" and held.get(event.activity_id or ""):
            entries.append(held[event.activity_id or ""].pop(0))
            continue
        if event.kind == MIGRATED:
            model = models[event.payload["target_definition_id"]]
        info = model.elements.get(event.activity_id or "")
        # A return (驳回) and a withdrawal (撤回) are modifications that say which they are.
        operation = event.payload.get("operation") if event.kind == "process.modified" else None
        text = _SAYS.get(f"{event.kind}.{operation}" if operation else event.kind)
        if text is None and info is not None and STOPS in info.properties and event.kind.startswith("activity."):
            # A special procedure stops the statutory clock while a token is inside it.
            text = ("计时暂停（" + info.properties[STOPS] + "）：{name}" if event.kind == "activity.started"
                    else "恢复计时：{name}")
        if text is None and passage and info is not None and info.activity_type != "userTask":
            text = _passed(event.kind, info.id, reached)
        if text is None:
            continue  # activity steps and computed deadlines are read from the entries they belong to
        name = (info.name if info else None) or event.activity_id or ""
        if event.kind in ("message.received", "signal.received", "signal.thrown"):
            name = event.payload.get("name") or name
        due = deadline = None
        if event.kind == "task.created":
            due_text = event.payload.get("due")
            due = parse_datetime(due_text, services.settings.zone) if due_text else None
            due_of_task[event.task_id or ""] = due
        elif event.kind == "task.completed":
            due = due_of_task.get(event.task_id or "")
            deadline = None if due is None else ("met" if event.occurred_at < due else "missed")
        elif event.kind == "timer.fired":
            due = parse_datetime(event.payload["due"], services.settings.zone)
        fields = {key: value for key, value in event.payload.items() if value is not None}
        what = text.format_map(_Fields({**fields, "name": name}))
        entry = Entry(event.occurred_at, event.kind, event.user_id, what, event.activity_id,
                      info.name if info else None, due, deadline)
        if passage and event.kind == "task.created" and event.activity_id:
            held.setdefault(event.activity_id, []).append(entry)
        else:
            entries.append(entry)
    return entries + [entry for waiting in held.values() for entry in waiting]


def as_dict(entry: Entry, shown: Callable[[datetime], str | None]) -> dict[str, Any]:
    return {"time": shown(entry.at), "kind": entry.kind, "who": entry.who, "what": entry.what,
            "activityId": entry.activity_id, "activityName": entry.activity_name,
            "due": shown(entry.due) if entry.due else None, "deadline": entry.deadline}

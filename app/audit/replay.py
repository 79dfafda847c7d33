"""Replay: rebuild a case from its process version and its recorded history on a simulated clock set
to each event's time, and compare every step with the record.

The replay works from a case's export file alone (app.audit.export), so it runs offline too.
The inputs of the case (its start, completed tasks, messages and signals, external tasks, variable
changes, its deletion) are given to a fresh run in the recorded order, with timers firing as the
clock moves to each event's time; decisions are answered by the versions the record names, register
reads by the answers the record holds, deadlines by the calendar years in the file. The activities
the replay goes through must be exactly the recorded ones, in order; the answer is "reproduced", or
the first event where the replay diverges and how.
"""
from __future__ import annotations

from collections import ChainMap, defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from app.audit.export import verify_document
from app.audit.ledger import normalized
from app.calendar import CalendarDay, WorkCalendar
from app.calendar.functions import deadline_functions
from app.cases.instances import jsonable
from app.cases.modification import flatten
from app.cases.projections import ACTIVATED, MIGRATED, SUSPENDED
from app.clock import SimulatedClock
from app.engine import (
    BLANK_OUTPUTS,
    SEMANTICS,
    ActivityChange,
    DecisionTable,
    InstanceIdentity,
    Instruction,
    MigrationInstruction,
    ProcessRun,
    RunContext,
    StepResult,
    ThrownError,
    parse_decision_resources,
    parse_deployment,
    revived,
)
from app.errors import HistoryNotIntact, ServiceError

if TYPE_CHECKING:
    from app.engine.elements import DecisionLookup

INPUTS = ("task.completed", "timer.fired", "message.received", "signal.received", "trigger.received",
          "externalTask.completed", "externalTask.bpmnError", "task.bpmnError", "task.escalation",
          "variables.modified", "call_activity.returned", "call_activity.canceled", "process.modified",
          "process.deleted", "task.localVariablesModified", MIGRATED,
          SUSPENDED, ACTIVATED, *("job." + command for command in (
              "dueDateSet", "dueDateRecalculated", "executed", "suspended", "activated", "priorityChanged", "deleted")))
ACTIVITY_KINDS = ("activity.started", "activity.completed", "activity.canceled")


@dataclass(frozen=True)
class ReplayResult:
    reproduced: bool
    events: int
    activities: int
    divergence: str | None = None
    sequence: int | None = None


class _Diverged(Exception):
    def __init__(self, sequence: int | None, reason: str) -> None:
        super().__init__(reason)
        self.sequence, self.reason = sequence, reason


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _instruction(recorded: Mapping[str, Any], activity_instance: str | None) -> Instruction:
    return Instruction(recorded["type"], recorded.get("activityId"), recorded.get("transitionId"), activity_instance,
                       recorded.get("variables") or {})


def _semantics(definition: Mapping[str, Any]) -> int:
    """The rules a process version of the record ran under; a record made before they were kept names
    none, and its versions ran under the first."""
    semantics = definition.get("semantics", 1)
    if not isinstance(semantics, int) or isinstance(semantics, bool) or not 1 <= semantics <= SEMANTICS:
        raise _Diverged(None, f"process version {definition.get('id')!r} names rules this release does not "
                              f"know ({semantics!r}); it knows 1 to {SEMANTICS}")
    return semantics


def _kind(change: ActivityChange) -> str:
    return "activity.canceled" if change.canceled else ("activity.completed" if change.ended else "activity.started")


class _Replay:
    def __init__(self, document: Mapping[str, Any], zone: ZoneInfo) -> None:
        self.document = document
        self.events = document["events"]
        if not self.events:
            raise _Diverged(None, "the record holds no events")
        resources = {d["resource"]: d["content"].encode("utf-8") for d in document["definitions"]}
        # Each process version the case ran on, by its id (a migrated case ran on more than one).
        self.models = {d["id"]: next(m for m in parse_deployment({d["resource"]: d["content"].encode("utf-8")},
                                                                 deploying=False, semantics=_semantics(d))
                                     if m.key == d["key"])
                       for d in document["definitions"] if not d["resource"].endswith(".dmn")}
        started_on = self.events[0]["payload"].get("definition_id") if self.events else None
        self.model = self.models.get(started_on or "") or next(
            m for m in self.models.values() if m.key == document["instance"]["key"])
        tables = {t.key: t for t in parse_decision_resources(resources)}
        evaluated = {event["payload"]["decision_definition_id"] for event in self.events
                     if event["kind"] == "decision.evaluated"}
        self.decision_ids = {d["id"]: tables.get(d["key"]) for d in document["definitions"] if d["id"] in evaluated}
        self.clock = SimulatedClock(_instant(self.events[0]["occurredAt"]))
        days = [CalendarDay(date.fromisoformat(day), working, name, year["notice"])
                for year in document.get("calendar", []) for day, working, name in year["days"]]
        calendar = WorkCalendar(days, [y["year"] for y in document.get("calendar", []) if y["confirmed"]], "export")
        self.answers: dict[str, deque] = defaultdict(deque)
        self.decided: dict[str, deque] = defaultdict(deque)
        for event in self.events:
            if event["kind"] == "register.consulted":
                self.answers[event["payload"]["function"]].append(event)
            elif event["kind"] == "decision.evaluated":
                self.decided[event["activityId"]].append(
                    (event["payload"]["decision_definition_id"], BLANK_OUTPUTS in event["payload"]))
        registers = {name: self._register(name) for name in self.answers}
        functions = ChainMap(registers, deadline_functions(calendar, self.clock, zone, lambda deadline: None))
        recorded = document["instance"]
        self.context = RunContext(clock=self.clock, zone=zone, functions=functions, decisions=self._decision,
                                  instance=InstanceIdentity(recorded["id"], started_on or recorded["definitionId"],
                                                            recorded["businessKey"], recorded["tenantId"]))
        self.replayed: list[tuple[str, str]] = []
        self.task_ids: dict[str, str] = {}
        self.call_ids: dict[str, str] = {}
        self.suspended = False

    def _register(self, name: str) -> Callable[..., Any]:
        def answer(*arguments: Any) -> Any:
            queue = self.answers[name]
            if not queue or queue[0]["payload"]["arguments"] != list(arguments):
                raise _Diverged(queue[0]["sequence"] if queue else None,
                                f"the replay asked {name}{tuple(arguments)}, which the record does not answer there")
            return queue.popleft()["payload"]["result"]
        return answer

    def _decision(self, lookup: DecisionLookup) -> tuple[str, DecisionTable]:
        """The version the record names for the next evaluation of this decision."""
        for queue in self.decided.values():
            table = self.decision_ids.get(queue[0][0]) if queue else None
            if table is not None and table.key == lookup.key:
                decision_id, omitted = queue.popleft()
                # An evaluation recorded before empty output entries were left out gave them null.
                return decision_id, table if omitted or not table.has_blank_outputs else replace(
                    table, blank_outputs_as_null=True)
        raise _Diverged(None, f"the replay evaluated the decision '{lookup.key}', which the record does not")

    def run(self) -> ReplayResult:
        started = self.events[0]
        if started["kind"] != "process.started":
            raise _Diverged(started["sequence"], "the record does not begin with the case's start")
        payload = revived(started["payload"])
        # A case started at activities (start instructions, a restart) starts there again.
        run, result = ProcessRun.start(self.model, payload.get("variables") or {}, self.context,
                                       payload.get("start_event"),
                                       [_instruction(i, None) for i in payload.get("instructions") or ()])
        self._note(run, result)
        for event in self.events[1:]:
            if event["kind"] not in INPUTS:
                continue
            self.clock.set(_instant(event["occurredAt"]))
            if event["kind"] == MIGRATED:  # the case goes on as an instance of the target version
                run, result = self._migrate(run, event)
                self._note(run, result)
                continue
            self._note(run, self._apply(run, event))
        recorded = [(e["kind"], e["activityId"]) for e in self.events if e["kind"] in ACTIVITY_KINDS]
        for index, (want, got) in enumerate(zip(recorded, self.replayed, strict=False)):
            if want != got:
                sequence = [e for e in self.events if e["kind"] in ACTIVITY_KINDS][index]["sequence"]
                raise _Diverged(sequence, f"the record has {want[0]} of '{want[1]}' where the replay has "
                                          f"{got[0]} of '{got[1]}'")
        if len(recorded) != len(self.replayed):
            raise _Diverged(None, f"the record has {len(recorded)} activity steps, the replay "
                                  f"{len(self.replayed)}")
        stored = self.document["instance"].get("variables")
        if stored is not None:
            rebuilt = normalized(jsonable(run.variables()))
            differing = sorted(name for name in set(stored) | set(rebuilt) if stored.get(name) != rebuilt.get(name))
            if differing:
                raise _Diverged(None, f"the case's stored variables differ from the replay's: {', '.join(differing)}")
        return ReplayResult(True, len(self.events), len(recorded))

    def _note(self, run: ProcessRun, result: StepResult) -> None:
        self.replayed += [(_kind(change), change.activity_id) for change in result.changes]
        for task in result.user_tasks:
            if task.id not in self.task_ids.values():
                recorded = next((e["taskId"] for e in self.events if e["kind"] == "task.created"
                                 and e["activityId"] == task.task_definition_key and e["taskId"] not in self.task_ids),
                                None)
                if recorded is not None:
                    self.task_ids[recorded] = task.id
        for call in result.calls:
            recorded = next((e["taskId"] for e in self.events if e["kind"] == "call_activity.started"
                             and e["activityId"] == call.activity_id and e["taskId"] not in self.call_ids), None)
            if recorded is not None:
                self.call_ids[recorded] = call.task_id

    def _apply(self, run: ProcessRun, event: Mapping[str, Any]) -> StepResult:
        kind, payload, sequence = event["kind"], revived(event["payload"]), event["sequence"]
        if kind == "timer.fired":
            return run.fire_due_timers()
        if kind == "task.completed":
            if event["taskId"] not in self.task_ids:
                raise _Diverged(sequence, f"the replay has no open task '{event['activityId']}' to complete")
            return run.complete_user_task(self.task_ids[event["taskId"]], payload.get("variables") or {})
        if kind == "task.bpmnError":
            if event["taskId"] not in self.task_ids:
                raise _Diverged(sequence, f"the replay has no open task '{event['activityId']}' to throw from")
            return run.throw_user_task_error(self.task_ids[event["taskId"]], payload["error_code"],
                                             payload.get("error_message"), payload.get("variables") or {})
        if kind == "task.escalation":
            if event["taskId"] not in self.task_ids:
                raise _Diverged(sequence, f"the replay has no open task '{event['activityId']}' to escalate from")
            return run.throw_user_task_escalation(self.task_ids[event["taskId"]], payload["escalation_code"],
                                                  payload.get("variables") or {})
        if kind in ("message.received", "signal.received", "trigger.received"):
            event_kind = kind.split(".")[0]
            wait = next((w for w in run.event_waits() if w.kind == event_kind and w.event_name == payload["name"]
                         and w.activity_id == event["activityId"]), None)
            if wait is None:
                raise _Diverged(sequence, f"nothing in the replay waits for the {event_kind} '{payload['name']}'")
            return run.deliver_event(wait.task_id, event_kind, payload["name"], payload.get("variables") or {})
        if kind in ("externalTask.completed", "externalTask.bpmnError"):
            task = next((t for t in run.open_external_tasks() if t.activity_id == event["activityId"]), None)
            if task is None:
                raise _Diverged(sequence, f"the replay has no open external task '{event['activityId']}'")
            if kind == "externalTask.completed":
                return run.complete_external_task(task.id, payload.get("variables") or {})
            return run.throw_bpmn_error(task.id, payload["error_code"], payload.get("error_message"),
                                        payload.get("variables") or {})
        if kind in ("call_activity.returned", "call_activity.canceled"):
            # What the called instance handed back is in this record (its own record replays it).
            if event["taskId"] not in self.call_ids:
                raise _Diverged(sequence, "the replay has no call activity waiting for the instance that "
                                          f"{kind.split('.')[1]}")
            task_id = self.call_ids[event["taskId"]]
            if kind == "call_activity.canceled":
                return run.cancel_call_activity(task_id)
            error = ThrownError(payload["error"]["code"]) if payload.get("error") is not None else None
            return run.complete_call_activity(task_id, payload.get("variables") or {}, error)
        if kind.startswith("job."):
            return self._job_command(run, event)
        if kind == "process.modified":
            instructions = [_instruction(i, self._activity_instance(run, i, sequence)) for i in payload["instructions"]]
            return run.modify(self.document["instance"]["id"], instructions)[0]
        if kind in (SUSPENDED, ACTIVATED):
            self.suspended = kind == SUSPENDED
            # As the service did: on activation, conditional events see the variables set meanwhile.
            return run.snapshot() if self.suspended else run.variables_changed()
        if kind == "task.localVariablesModified":
            if event["taskId"] not in self.task_ids:
                raise _Diverged(sequence, f"the replay has no open task '{event['activityId']}' to set variables on")
            run.set_task_local_variables(self.task_ids[event["taskId"]], payload.get("modifications") or {},
                                         tuple(payload.get("deletions") or ()))
            return run.snapshot()
        if kind == "variables.modified":
            run.set_variables(payload.get("modifications") or {}, tuple(payload.get("deletions") or ()))
            # As the service did: a suspended case's tokens stayed where they were.
            return run.snapshot() if self.suspended else run.variables_changed()
        return run.cancel()  # process.deleted


    def _job_command(self, run: ProcessRun, event: Mapping[str, Any]) -> StepResult:
        """An operator's command on a timer (app.cases.jobs), on the replay's timer of that activity."""
        kind, payload = event["kind"], event["payload"]
        timer = next((t for t in run.pending_timers() if t.activity_id == event["activityId"]), None)
        if timer is None:
            raise _Diverged(event["sequence"], f"the replay has no timer waiting at '{event['activityId']}'")
        if kind in ("job.dueDateSet", "job.dueDateRecalculated"):
            run.set_timer_due(timer.task_id, _instant(payload["due"]), cascade=payload.get("cascade", True))
        elif kind == "job.executed":
            run.set_timer_due(timer.task_id, self.clock.now(), cascade=False)
        elif kind in ("job.suspended", "job.activated"):
            run.hold_timer(timer.task_id, kind == "job.suspended")
        elif kind == "job.priorityChanged":
            run.set_timer_priority(timer.task_id, payload["priority"])
        else:
            run.delete_timer(timer.task_id)
        return run.snapshot()

    def _migrate(self, run: ProcessRun, event: Mapping[str, Any]) -> tuple[ProcessRun, StepResult]:
        payload = revived(event["payload"])
        target = self.models.get(payload["target_definition_id"])
        if target is None:
            raise _Diverged(event["sequence"], f"the record migrates the case to '{payload['target_definition_id']}', "
                                               "whose process file the export does not hold")
        instructions = [MigrationInstruction(i["sourceActivityIds"][0], i["targetActivityIds"][0],
                                             bool(i.get("updateEventTrigger"))) for i in payload["instructions"]]
        return run.migrate(target, payload["target_definition_id"], instructions, payload.get("variables") or {})

    def _activity_instance(self, run: ProcessRun, instruction: Mapping[str, Any], sequence: int) -> str | None:
        """The replay's activity instance that the recorded one is: the same task, or the one instance
        of the recorded activity (the replay's ids are its own)."""
        recorded = instruction.get("activityInstanceId")
        if recorded is None or recorded == self.document["instance"]["id"] or "instanceOfActivity" not in instruction:
            return recorded
        if recorded in self.task_ids:
            return self.task_ids[recorded]
        found = [node.id for node in flatten(run.activity_instances())
                 if node.activity_id == instruction["instanceOfActivity"]]
        if len(found) != 1:
            raise _Diverged(sequence, f"the replay has {len(found)} instances of '{instruction['instanceOfActivity']}' "
                                      "where the record cancels one")
        return found[0]


def replay_intact(document: dict[str, Any], zone: ZoneInfo) -> ReplayResult:
    """Replay a case from the database, whose record must be intact: one with events changed or
    removed is refused (HistoryNotIntact), since what it would reproduce is not the case. (A file
    replayed offline is replayed as it reads: verify-export says whether it is intact.)"""
    problems = verify_document(document)
    if problems:
        raise HistoryNotIntact(f"The case's recorded history is not intact, so it cannot be replayed: {problems[0]}"
                               + (f" (and {len(problems) - 1} more problem(s); see verify)" if len(problems) > 1
                                  else ""))
    return replay_document(document, zone)


def replay_document(document: Mapping[str, Any], zone: ZoneInfo) -> ReplayResult:
    """Replay an exported case; never raises for a divergence, which is the answer."""
    try:
        return _Replay(document, zone).run()
    except _Diverged as diverged:
        return ReplayResult(False, len(document.get("events", [])), 0, diverged.reason, diverged.sequence)
    except ServiceError as error:
        return ReplayResult(False, len(document.get("events", [])), 0, f"the replay cannot go on: {error.message}")

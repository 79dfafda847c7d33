"""Scenario files: an administrative case as a person tells it, step by step, in YAML
(the format is described in docs/scenarios.md).

Loading checks all that can be checked without the service (keys, types, aliases, the files to
deploy), so that a mistake is told with the file, the step and the problem before anything runs.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from app.clock import add_iso_duration
from app.settings import PROJECT_ROOT

# The zone of the procedures: a date or time written without an offset is read in it.
ZONE = ZoneInfo("Asia/Shanghai")
BPMN_DIR = PROJECT_ROOT / "bpmn"
RULE_ID = re.compile(r"[A-Z]+-\d\d")

TOP_KEYS = frozenset({"scenario", "covers", "clock", "deploy", "accounts", "steps"})
# Each action, and the keys a step may give beside it.
ACTIONS: dict[str, frozenset[str]] = {
    "note": frozenset(),
    "start": frozenset({"as", "businessKey", "variables", "refused"}),
    "complete": frozenset({"in", "by", "variables", "refused"}),
    "work": frozenset({"in", "variables", "bpmnError", "refused"}),
    "message": frozenset({"in", "businessKey", "variables", "refused"}),
    "signal": frozenset({"variables", "refused"}),
    "advance": frozenset(),
    "until": frozenset(),
    "find": frozenset(),
    "expect": frozenset(),
    "experts": frozenset(),
    "register": frozenset(),
    # Case work beside Camunda's calls: 驳回, the statutory clock (计时暂停), 抄送.
    "return": frozenset({"in", "by", "to", "opinion", "refused"}),
    "clock": frozenset({"in", "reason", "days", "approvedBy", "refused"}),
    "copy": frozenset({"in", "by", "groups", "users", "refused"}),
}
# The actions that ask something of the service; the others are read from their value alone.
ACTING = ("start", "complete", "work", "message", "signal")
CASE_WORK = ("return", "clock", "copy")
CLOCK_OPERATIONS = ("pause", "resume", "extend")
FIND_KEYS = frozenset({"as", "process", "businessKey"})
EXPECT_KEYS = frozenset({"in", "tasks", "due", "timers", "externalTasks", "ended", "variables", "deadlines",
                         "instances", "register", "drawn", "agencies", "confidential", "clock",
                         "copies"})  # _Reader._expect's, and `in`
EXPERT_KEYS = frozenset({"id", "name", "specialty", "organization", "conflicts"})
STANDING_KEYS = frozenset({"park", "name", "province", "status", "since", "cause"})
# The fields of a register entry (/api/parks/{id}) an expectation may name.
REGISTER_KEYS = frozenset({"status", "since", "cause", "banUntil", "province"})
DRAWN_KEYS = frozenset({"count", "recused"})
# The fields of an agency's entry (/api/agencies/{id}) an expectation may name.
AGENCY_KEYS = frozenset({"status", "since", "cause"})
CONFIDENTIAL_KEYS = frozenset({"variables", "readers", "others"})
# The fields of the statutory clock (/api/process-instances/{id}/clock) an expectation may name, and
# of each of its stops; `running`: neither stopped nor ended.
CLOCK_KEYS = frozenset({"used", "paused", "remaining", "extended", "running", "level", "lastDay", "stops"})
STOP_KEYS = frozenset({"kind", "reason", "activity", "by", "days"})
ACCOUNT_KEYS = frozenset({"password", "groups"})
# In `confidential`, the caller who sends no credentials.
ANONYMOUS = "anonymous"
# `by: drawn`: the task is offered to the experts drawn for it, and one of them completes it.
BY_DRAWN = "drawn"
# The fields of a /api/deadlines row an expectation may name (`activity` is its activityId).
DEADLINE_KEYS = frozenset({"activity", "kind", "name", "due", "lastDay", "workingDaysLeft", "level", "provisional"})
# What a variable's value may be (the runner gives each its Camunda type); also null.
VALUE_TYPES = (bool, int, float, str, date, list, dict)


class ScenarioError(ValueError):
    """A scenario file that cannot be run as written."""

    def __init__(self, path: Path, problem: str, step: int | None = None) -> None:
        where = f"{path}: step {step}" if step else str(path)
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Expectation:
    """What an `expect` step checks; None where the file does not ask."""
    tasks: list[str] | None = None
    due: dict[str, date | None] | None = None
    timers: dict[str, date | None] | None = None
    external_tasks: list[str] | None = None
    ended: bool | str | None = None
    variables: dict[str, Any] | None = None
    deadlines: list[dict[str, Any]] | None = None
    instances: dict[str, int] | None = None
    register: dict[str, dict[str, Any]] | None = None
    drawn: dict[str, dict[str, Any]] | None = None
    agencies: dict[str, dict[str, Any] | None] | None = None
    confidential: dict[str, list[str]] | None = None
    clock: dict[str, Any] | None = None
    copies: dict[str, list[str]] | None = None


@dataclass(frozen=True)
class Step:
    number: int
    action: str
    # The action's value: a note's text, a process key, task key, topic, message or signal name, a
    # duration, an instant or an Expectation.
    subject: Any
    text: str  # how the timeline and failures name the step
    # `as` of start and find; `in` of the others, filled with the latest alias where the file leaves it out.
    alias: str | None = None
    business_key: str | None = None
    by: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    refused: bool = False
    bpmn_error: str | None = None
    # return, clock and copy: what the request body carries beside the subject (to, opinion, reason, ...).
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    path: Path
    title: str
    covers: list[str]
    clock: datetime
    deploy: list[Path]
    steps: list[Step]
    # user → {"password": …, "groups": […]}: the accounts the case's officials sign in with.
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_scenario(path: Path | str, bpmn_dir: Path = BPMN_DIR) -> Scenario:
    """Reads and checks one file; `deploy` names are looked up in `bpmn_dir`."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ScenarioError(path, f"cannot be read: {error}") from None
    return _Reader(path, bpmn_dir).scenario(raw)


class _InlineDumper(yaml.SafeDumper):
    """Writes an instant as a quoted text: on one line, PyYAML would otherwise tag it !!timestamp."""


_InlineDumper.add_representer(datetime, lambda dumper, value: dumper.represent_str(value.isoformat()))


def inline(value: Any) -> str:
    """A mapping or list as one line of YAML, as the file writes it."""
    return yaml.dump(value, Dumper=_InlineDumper, default_flow_style=True, allow_unicode=True, sort_keys=False,
                     width=10**9).strip()


def as_instant(value: date) -> datetime:
    """A datetime, or a date as its midnight; read in ZONE without an offset."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    return value if value.tzinfo else value.replace(tzinfo=ZONE)


class _Reader:
    def __init__(self, path: Path, bpmn_dir: Path) -> None:
        self.path = path
        self.bpmn_dir = bpmn_dir
        self.step_number: int | None = None
        self.aliases: list[str] = []  # in the order steps register them

    @property
    def number(self) -> int:
        """The number of the step being read (set by `step`)."""
        if self.step_number is None:
            raise RuntimeError("no step is being read")
        return self.step_number

    def fail(self, problem: str) -> ScenarioError:
        return ScenarioError(self.path, problem, self.step_number)

    def scenario(self, raw: Any) -> Scenario:
        raw = self.mapping(raw, "the file", TOP_KEYS)
        for key in ("scenario", "covers", "clock", "steps"):
            if key not in raw:
                raise self.fail(f"'{key}' is missing")
        covers = self.texts(raw["covers"], "covers")
        wrong = [rule for rule in covers if not RULE_ID.fullmatch(rule)]
        if not covers or wrong:
            raise self.fail(f"'covers' must list rule IDs such as ISO-01 (found {inline(wrong or covers)})")
        clock = self.when(raw["clock"], "clock")
        if not isinstance(clock, datetime) or clock.tzinfo is None:
            raise self.fail("'clock' must be an instant with its offset, such as 2026-03-02T09:00:00+08:00")
        steps = raw["steps"]
        if not isinstance(steps, list) or not steps:
            raise self.fail("'steps' must be a non-empty list")
        accounts = self.accounts(raw.get("accounts", {}))
        self.account_names = set(accounts)
        return Scenario(self.path, self.text(raw["scenario"], "scenario"), covers, clock,
                        self.deploy(raw.get("deploy")), [self.step(number, item) for number, item in
                                                         enumerate(steps, 1)], accounts)

    def accounts(self, raw: Any) -> dict[str, dict[str, Any]]:
        accounts = {}
        for user, entry in self.mapping(raw, "accounts").items():
            entry = self.mapping(entry, f"accounts.{user}", ACCOUNT_KEYS)
            if user == ANONYMOUS or "password" not in entry:
                raise self.fail(f"account '{user}' needs a password (and '{ANONYMOUS}' is not an account name)")
            accounts[user] = {"password": self.text(entry["password"], f"accounts.{user}.password"),
                              "groups": self.texts(entry.get("groups", []), f"accounts.{user}.groups")}
        return accounts

    def deploy(self, raw: Any) -> list[Path]:
        if raw is None:
            return [*sorted(self.bpmn_dir.glob("*.dmn")), *sorted(self.bpmn_dir.glob("*.bpmn"))]
        files = []
        for name in self.texts(raw, "deploy"):
            # ./ and ../ are read beside the scenario file, other relative names in the bpmn directory.
            base = self.path.parent if name.startswith(("./", "../")) else self.bpmn_dir
            file = (base / name).resolve()
            if not file.is_file():
                raise self.fail(f"'deploy' names {name}, which is not a file ({file})")
            files.append(file)
        return files

    def step(self, number: int, raw: Any) -> Step:
        self.step_number = number
        if not isinstance(raw, dict):
            raise self.fail("a step must be a mapping such as {complete: task_id}")
        actions = [key for key in raw if key in ACTIONS]
        if len(actions) != 1:
            raise self.fail(f"a step needs exactly one of {', '.join(ACTIONS)} (found {', '.join(actions) or 'none'})")
        action = actions[0]
        self.mapping(raw, f"a {action} step", ACTIONS[action] | {action})
        if action in ACTING:
            step = self.act(raw, action)
        elif action in CASE_WORK:
            step = self.case_work(raw, action)
        else:
            step = getattr(self, f"_{action}")(raw[action])
        self.step_number = None
        return step

    def act(self, raw: dict, action: str) -> Step:
        """start, complete, work, message and signal: what they act on, and the keys beside it."""
        subject = self.text(raw[action], action)
        business_key = self.optional_text(raw, "businessKey")
        by = self.optional_text(raw, "by")
        bpmn_error = self.optional_text(raw, "bpmnError")
        variables = self.variables(raw)
        refused = self.refused(raw)
        alias = self.acted_on(raw, action, subject, business_key, refused)
        words = [action, subject, business_key, by and f"by {by}", variables and inline(variables),
                 bpmn_error and f"bpmnError {bpmn_error}", refused and "(must be refused)"]
        return Step(self.number, action, subject, " ".join(word for word in words if word), alias,
                    business_key, by, variables, refused, bpmn_error)

    def acted_on(self, raw: dict, action: str, subject: str, business_key: str | None, refused: bool) -> str | None:
        if action == "start":
            alias = self.text(raw.get("as", subject), "as")
            if not refused:  # a refused start makes no instance to name
                self.aliases.append(alias)
            return alias
        # A signal reaches every instance waiting for it; a message without `in` goes to its business
        # key, else to the latest alias's if there is one yet.
        if action == "signal" or action == "message" and "in" not in raw and (business_key or not self.aliases):
            return None
        return self.alias_in(raw)

    def case_work(self, raw: dict, action: str) -> Step:
        """return, clock and copy: the task (or clock operation) and the body's fields beside it."""
        subject = self.text(raw[action], action)
        options: dict[str, Any] = {}
        if action == "return":
            if "to" not in raw or "opinion" not in raw:
                raise self.fail("'return' needs 'to' (the step returned to) and 'opinion'")
            options = {"to": self.text(raw["to"], "to"), "opinion": self.text(raw["opinion"], "opinion")}
        elif action == "clock":
            if subject not in CLOCK_OPERATIONS:
                raise self.fail(f"'clock' is one of {', '.join(CLOCK_OPERATIONS)} (found {subject!r})")
            needed = {"pause": ("reason",), "resume": (), "extend": ("reason", "days")}[subject]
            allowed = {"pause": {"reason"}, "resume": {"reason"}, "extend": {"reason", "days", "approvedBy"}}[subject]
            wrong = [key for key in ("reason", "days", "approvedBy") if key in raw and key not in allowed]
            missing = [key for key in needed if key not in raw]
            if wrong or missing:
                raise self.fail(f"'clock: {subject}' takes {', '.join(sorted(allowed)) or 'no keys'} and needs "
                                f"{', '.join(needed) or 'none of them'}")
            days = raw.get("days")
            if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
                raise self.fail(f"'days' must be a count of working days (found {days!r})")
            options = {key: days if key == "days" else self.text(raw[key], key) for key in allowed if key in raw}
        else:
            options = {key: self.texts(raw[key], key) for key in ("groups", "users") if key in raw}
            if not options:
                raise self.fail("'copy' needs 'groups' or 'users'")
        by = self.optional_text(raw, "by")
        refused = self.refused(raw)
        words = [action, subject, by and f"by {by}", inline(options) if options else None,
                 refused and "(must be refused)"]
        return Step(self.number, action, subject, " ".join(word for word in words if word), self.alias_in(raw),
                    by=by, refused=refused, options=options)

    # The other actions, from their value.

    def _note(self, value: Any) -> Step:
        text = self.text(value, "note")
        return Step(self.number, "note", text, text)

    def _advance(self, duration: Any) -> Step:
        duration = self.text(duration, "advance")
        try:
            add_iso_duration(datetime(2000, 1, 1, tzinfo=ZONE), duration)  # only to check the text
        except ValueError as error:
            raise self.fail(str(error)) from None
        return Step(self.number, "advance", duration, f"advance {duration}")

    def _until(self, value: Any) -> Step:
        instant = as_instant(self.when(value, "until"))
        return Step(self.number, "until", instant, f"until {instant.isoformat()}")

    def _find(self, value: Any) -> Step:
        value = self.mapping(value, "find", FIND_KEYS)
        if "as" not in value or "process" not in value:
            raise self.fail("'find' needs 'as' and 'process'")
        alias = self.text(value["as"], "find.as")
        process = self.text(value["process"], "find.process")
        business_key = self.optional_text(value, "businessKey")
        self.aliases.append(alias)
        return Step(self.number, "find", process, f"find {inline(value)}", alias, business_key)

    def _expect(self, value: Any) -> Step:
        value = self.mapping(value, "expect", EXPECT_KEYS)
        asked = {key: item for key, item in value.items() if key != "in"}
        if not asked:
            raise self.fail("'expect' checks nothing")
        # Each key: the Expectation field it fills, and how its value is read.
        readers: dict[str, tuple[str, Callable[[Any, str], Any]]] = {
            "tasks": ("tasks", self.texts), "due": ("due", self.dated), "timers": ("timers", self.dated),
            "externalTasks": ("external_tasks", self.texts), "ended": ("ended", self.ended),
            "variables": ("variables", self.mapping), "deadlines": ("deadlines", self.deadlines),
            "instances": ("instances", self.counts), "register": ("register", self.register),
            "drawn": ("drawn", self.drawn), "agencies": ("agencies", self.agencies),
            "confidential": ("confidential", self.confidential), "clock": ("clock", self.clock),
            "copies": ("copies", self.copies)}
        expectation = Expectation(**{readers[key][0]: readers[key][1](item, f"expect.{key}")
                                     for key, item in asked.items()})
        return Step(self.number, "expect", expectation, f"expect {inline(asked)}", self.alias_in(value))

    def _experts(self, value: Any) -> Step:
        if not isinstance(value, list) or not value:
            raise self.fail("'experts' must be a non-empty list of experts")
        experts: list[dict[str, Any]] = []
        for item in value:
            item = self.mapping(item, "an expert", EXPERT_KEYS)
            missing = [key for key in ("id", "name", "specialty", "organization") if key not in item]
            if missing:
                raise self.fail(f"an expert needs {', '.join(missing)}")
            conflicts = self.mapping(item.get("conflicts", {}), "conflicts")
            experts.append({**{key: self.text(item[key], f"experts.{key}") for key in EXPERT_KEYS - {"conflicts"}},
                            "conflicts": {park: self.text(reason, "a conflict's reason")
                                          for park, reason in conflicts.items()}})
        names = ", ".join(expert["id"] for expert in experts)
        return Step(self.number, "experts", experts, f"experts {names}")

    def _register(self, value: Any) -> Step:
        value = self.mapping(value, "register", STANDING_KEYS)
        missing = [key for key in ("park", "name", "province", "status", "since") if key not in value]
        if missing:
            raise self.fail(f"'register' needs {', '.join(missing)}")
        since = self.when(value["since"], "register.since")
        entry = {key: self.text(value[key], f"register.{key}") for key in value if key != "since"}
        return Step(self.number, "register", {**entry, "since": since}, f"register {inline(value)}")

    # Values.

    def register(self, raw: Any, what: str) -> dict[str, dict[str, Any]]:
        raw = self.mapping(raw, what)
        return {park: self.mapping(entry, f"{what}.{park}", REGISTER_KEYS) for park, entry in raw.items()}

    def agencies(self, raw: Any, what: str) -> dict[str, dict[str, Any] | None]:
        raw = self.mapping(raw, what)
        # null: the agency is not on the register.
        return {agency: None if entry is None else self.mapping(entry, f"{what}.{agency}", AGENCY_KEYS)
                for agency, entry in raw.items()}

    def confidential(self, raw: Any, what: str) -> dict[str, list[str]]:
        raw = self.mapping(raw, what, CONFIDENTIAL_KEYS)
        read = {key: self.texts(raw.get(key, []), f"{what}.{key}") for key in CONFIDENTIAL_KEYS}
        unknown = [user for user in read["readers"] + read["others"]
                   if user != ANONYMOUS and user not in self.account_names]
        if not read["variables"] or unknown:
            raise self.fail(f"'{what}' needs variables, and readers and others among the file's accounts or "
                            f"'{ANONYMOUS}'" + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
        return read

    def clock(self, raw: Any, what: str) -> dict[str, Any]:
        raw = self.mapping(raw, what, CLOCK_KEYS)
        if "stops" in raw:
            if not isinstance(raw["stops"], list):
                raise self.fail(f"'{what}.stops' must be a list (of the clock's stops, in order)")
            for stop in raw["stops"]:
                self.mapping(stop, "a stop", STOP_KEYS)
        return raw

    def copies(self, raw: Any, what: str) -> dict[str, list[str]]:
        """account → the activities whose copies it finds for the instance."""
        raw = self.mapping(raw, what)
        unknown = [user for user in raw if user not in self.account_names]
        if unknown:
            raise self.fail(f"'{what}' names accounts of the file (unknown: {', '.join(unknown)})")
        return {user: self.texts(activities, f"{what}.{user}") for user, activities in raw.items()}

    def drawn(self, raw: Any, what: str) -> dict[str, dict[str, Any]]:
        raw = self.mapping(raw, what)
        for task, entry in raw.items():
            entry = self.mapping(entry, f"{what}.{task}", DRAWN_KEYS)
            if "count" in entry and (isinstance(entry["count"], bool) or not isinstance(entry["count"], int)):
                raise self.fail(f"'{what}.{task}.count' must be a count")
            self.texts(entry.get("recused", []), f"{what}.{task}.recused")
        return raw

    def mapping(self, raw: Any, what: str, allowed: frozenset[str] | None = None) -> dict:
        if not isinstance(raw, dict) or not all(isinstance(key, str) for key in raw):
            raise self.fail(f"{what} must be a mapping with names as keys")
        unknown = [key for key in raw if allowed is not None and key not in allowed]
        if unknown:
            raise self.fail(f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} in {what} "
                            f"(allowed: {', '.join(sorted(allowed or ()))})")
        return raw

    def text(self, raw: Any, what: str) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise self.fail(f"'{what}' must be a non-empty text (found {raw!r})")
        return raw

    def optional_text(self, raw: dict, key: str) -> str | None:
        return self.text(raw[key], key) if key in raw else None

    def texts(self, raw: Any, what: str) -> list[str]:
        if not isinstance(raw, list):
            raise self.fail(f"'{what}' must be a list")
        return [self.text(item, what) for item in raw]

    def when(self, raw: Any, what: str) -> date:
        if isinstance(raw, str):
            try:
                return datetime.fromisoformat(raw) if "T" in raw else date.fromisoformat(raw)
            except ValueError:
                pass
        if isinstance(raw, date):
            return raw
        raise self.fail(f"'{what}' must be a date or an instant such as 2026-03-02T09:00:00+08:00 (found {raw!r})")

    def dated(self, raw: Any, what: str) -> dict[str, date | None]:
        """Activity ids with a date, an instant, or null for none."""
        raw = self.mapping(raw, what)
        return {key: None if value is None else self.when(value, f"{what}.{key}") for key, value in raw.items()}

    def variables(self, raw: dict) -> dict[str, Any]:
        variables = self.mapping(raw.get("variables", {}), "variables")
        for name, value in variables.items():
            if value is not None and not isinstance(value, VALUE_TYPES):
                raise self.fail(f"variable '{name}' has a value of type {type(value).__name__}, "
                                "which has no Camunda type")
        return variables

    def refused(self, raw: dict) -> bool:
        value = raw.get("refused", False)
        if not isinstance(value, bool):
            raise self.fail(f"'refused' must be true or false (found {value!r})")
        return value

    def ended(self, raw: Any, what: str) -> bool | str:
        return raw if isinstance(raw, bool) else self.text(raw, what)

    def deadlines(self, raw: Any, what: str) -> list[dict[str, Any]]:
        if not isinstance(raw, list) or not raw:
            raise self.fail(f"'{what}' must be a non-empty list")
        return [self.mapping(item, "a deadline", DEADLINE_KEYS) for item in raw]

    def counts(self, raw: Any, what: str) -> dict[str, int]:
        raw = self.mapping(raw, what)
        for key, value in raw.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise self.fail(f"'{what}.{key}' must be a count (found {value!r})")
        return raw

    def alias_in(self, raw: dict) -> str:
        """The instance a step acts on: its `in`, else the alias registered last."""
        if "in" in raw:
            alias = self.text(raw["in"], "in")
            if alias not in self.aliases:
                raise self.fail(f"'in: {alias}' names no alias registered by an earlier start or find "
                                f"(known: {', '.join(self.aliases) or 'none'})")
            return alias
        if not self.aliases:
            raise self.fail("no instance to act on yet: start one, or find one, first")
        return self.aliases[-1]

#!/usr/bin/env python3
"""Corpus walk: deploy a directory of BPMN files one by one and drive each to its end, over HTTP.

A script, not a test: it measures how the service takes diagrams it has never seen (for example
Camunda 7's own test resources, gathered outside the repository), the way an acceptance corpus
judges it: each file runs to its end, or is refused at deploy with a plain reason; none is left
stuck, and no answer shows Python internals.

The service runs in this process (tests/support/service.py: uvicorn on 127.0.0.1, a fresh SQLite
database in a temporary directory, the simulated clock, the timer worker off, the test
administrator) and is emptied between files. For each file:

1. POST /engine-rest/deployment/create (multipart, as Camunda clients send it); a 400 is REFUSED.
   The files of the corpus that define what the file names and does not define itself (the process
   of a call activity's calledElement, the decision of a business rule task's decisionRef, both
   written without ${...}) are deployed with it in one deployment, as Camunda's own tests deploy
   them together (@Deployment(resources = {...})): first a file the manifest says is deployed with it
   by such a test, else one of the same directory, else the only file of the corpus defining it; one
   without code before one with code. Companions bring their own companions, up to 10 files.
2. Each process definition of the file itself is started the way its start events allow: POST
   /process-definition/{id}/start with no variables (a none start event, or none at all), else a
   message (POST /message), a signal (POST /signal), its condition (POST /condition) or its timer
   (the clock moved to its due date).
3. Then, round after round until no instance is left or nothing moves: every open user task is
   completed with no variables (again with its form fields' defaults when that is refused, and with
   --guess with a guess for each variable an expression misses: true, 'true', 1), every
   external task fetched, locked and completed per topic; messages and signals are sent to the
   intermediate catch events, receive tasks and event-based gateways the instances wait at; the clock
   is moved to the next timer an instance waits on; last, messages and signals are sent to the
   boundary events of the activities the instances wait at.

Each file ends in one class: ENDED; REFUSED (400 at deploy, with its message); NOTHING (deployed,
no executable process); STUCK (instances left, nothing to do); ERROR (an answer 5xx, or a step that
should have worked answered 4xx: start, completing a task, ...); PYTHON (an answer shows Python
internals: an exception or type name, a repr). The reason of each class names the elements
involved. Files are read from --corpus (recursively; .dmn files only as companions); a manifest.json
there, a list of {"file", "with_code", "deployed_with", ...}, tells which ones carry code (script
tasks, Java delegates, listeners, ...), which must all be refused, and which files a test of the
source deploys with each. Without a manifest every file counts as having no code.

    .venv/bin/python bench/corpus_walk.py --corpus /work/corpus/files --out /work/corpus
    .venv/bin/python bench/corpus_walk.py --corpus DIR --only timer --rounds 50 --guess -v
    .venv/bin/python bench/corpus_walk.py --corpus DIR --out DIR --sample 400
    .venv/bin/python bench/corpus_walk.py --corpus DIR --out DIR --given given.json

--given names a JSON file of the variables a diagram's own tests give, by file (its path under
--corpus): {"file": {"start": {...}, "tasks": {"activityId" or "*": {...}}, "messages": {"name" or
"*": {...}}}}. A value is written as JSON (true, 5, 2.5, "text") or typed as the REST API takes it
({"value": ..., "type": "Date"}). They are given at the start, at each completion of that (or any)
user or external task and with each message sent, instead of no variables at all.

Writes report.json (every file, with the answers of its failing step) and report.md (totals per
class for files with and without code, reasons by count, then every file not ENDED) to --out.
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.service import ADMIN_AUTH, RunningService, reset, start_service  # noqa: E402

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
OPERATON = "{http://operaton.org/schema/1.0/bpmn}"  # Operaton's diagrams: read first, as Operaton does
MAX_COMPANIONS = 10
# What an answer must never show (the service's rule: no Python exception, type name or repr).
PYTHON_INTERNALS = re.compile(r"Traceback|\b[A-Z]\w*(Error|Exception)\(|KeyError|TypeError|AttributeError|ValueError|"
                              r"IndexError|NotImplemented|NoneType|<class |object at 0x|\bb'<|'(str|int|dict|list|"
                              r"NoneType|float|bool|datetime)' object|Invalid isoformat string|invalid literal for|"
                              r"could not convert string|unsupported operand type|not supported between instances|"
                              r"SpiffWorkflow|sqlalchemy|pydantic")
# Wording of the BPMN library's own messages: not Python internals, but no plain reason either.
LIBRARY_WORDING = re.compile(r"Did you mean one of the following|SubWorkflow|for tasks of type\.|has no implementation|"
                             r"A multiinstance task must")
# A step refused for a variable the diagram's tests would have given; --guess tries these in turn.
MISSING_VARIABLE = re.compile(r"Cannot resolve identifier '(\w+)'")
GUESSES = ({"value": True, "type": "Boolean"}, {"value": "true", "type": "String"}, {"value": 1, "type": "Integer"})
RESOURCES = (".bpmn", ".bpmn20.xml", ".dmn", ".dmn11.xml")
ORDER = ("PYTHON", "ERROR", "STUCK", "NOTHING", "REFUSED", "ENDED")
WORKER = "corpus-walker"
TASK_TYPES = {"userTask", "manualTask", "task", "serviceTask", "sendTask", "receiveTask", "scriptTask",
              "businessRuleTask", "callActivity", "subProcess", "transaction"}


class Internals(Exception):
    """An answer showed Python internals."""


class StepFailed(Exception):
    """A step that should have worked was answered with an error."""


def _local(reference: str | None) -> str | None:
    """An id reference without its namespace prefix (messageRef="tns:invoice"), as Camunda resolves it."""
    return reference.rpartition(":")[2] if reference else None


@dataclass
class Element:
    kind: str                       # the BPMN element's local name
    events: list[str]               # its event definitions: message, signal, timer, ...
    message: str | None = None      # the name of its message (a catch event or a receive task)
    signal: str | None = None
    attached_to: str | None = None  # a boundary event's activity
    targets: list[str] = field(default_factory=list)
    variable: str | None = None     # the camunda:variableName a conditional event is narrowed to


@dataclass
class Model:
    """What the walker reads of a file: its elements by id, and each process's top-level start events."""
    elements: dict[str, Element]
    starts: dict[str, list[str]]    # process id -> its start events' ids
    # ("process", id) and ("decision", id): what the file defines, and what it names without defining
    defines: set[tuple[str, str]] = field(default_factory=set)
    needs: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def read(cls, data: bytes) -> Model:
        root = ElementTree.fromstring(data)
        names = {kind: {e.get("id"): e.get("name") for e in root.iter(f"{BPMN}{kind}")}
                 for kind in ("message", "signal")}
        elements: dict[str, Element] = {}
        flows: list[tuple[str, str]] = []
        for node in root.iter():
            if not isinstance(node.tag, str) or not node.tag.startswith(BPMN):
                continue
            kind = node.tag[len(BPMN):]
            if kind == "sequenceFlow":  # with or without an id: the service names a flow that has none
                flows.append((node.get("sourceRef", ""), node.get("targetRef", "")))
                continue
            if not node.get("id"):
                continue
            events = [child.tag[len(BPMN):-len("EventDefinition")] for child in node
                      if isinstance(child.tag, str) and child.tag.endswith("EventDefinition")]
            element = Element(kind, events, attached_to=node.get("attachedToRef"))
            for child in node:
                if child.tag == f"{BPMN}messageEventDefinition":
                    element.message = names["message"].get(_local(child.get("messageRef")))
                if child.tag == f"{BPMN}signalEventDefinition":
                    element.signal = names["signal"].get(_local(child.get("signalRef")))
                if child.tag == f"{BPMN}conditionalEventDefinition":
                    element.variable = child.get(f"{OPERATON}variableName") or child.get(f"{CAMUNDA}variableName")
            if kind == "receiveTask":
                element.message = names["message"].get(_local(node.get("messageRef")))
            elements[node.get("id", "")] = element
        for source, target in flows:
            if source in elements:
                elements[source].targets.append(target)
        starts = {process.get("id", ""): [child.get("id", "") for child in process if child.tag == f"{BPMN}startEvent"]
                  for process in root.iter(f"{BPMN}process")}
        defines = {("process", key) for key in starts}
        defines |= {("decision", decision.get("id", "")) for decision in root.iterfind(".//{*}decision")}
        named = [("process", node.get("calledElement")) for node in root.iter(f"{BPMN}callActivity")]
        named += [("decision", node.get(f"{OPERATON}decisionRef") or node.get(f"{CAMUNDA}decisionRef"))
                  for node in root.iter(f"{BPMN}businessRuleTask")]
        needs = {(kind, key) for kind, key in named if key and "{" not in key} - defines
        return cls(elements, starts, defines, needs)

    def constructs(self) -> list[str]:
        """The kinds of element the file holds, with their event definitions (startEvent:message, ...)."""
        found = set()
        for element in self.elements.values():
            found.add(element.kind)
            found.update(f"{element.kind}:{event}" for event in element.events)
        return sorted(found)


class Companions:
    """Which files of the corpus define which processes and decisions, to deploy with a file the ones it names."""

    def __init__(self, directory: Path, deployed_with: dict[str, list[str]], code: dict[str, bool]) -> None:
        self.directory = directory
        self.deployed_with = deployed_with
        self.code = code
        self.models: dict[str, Model] = {}
        self.defined_by: dict[tuple[str, str], list[str]] = {}
        for path in sorted(p for p in directory.rglob("*") if p.is_file() and p.name.endswith(RESOURCES)):
            name = str(path.relative_to(directory))
            try:
                self.models[name] = Model.read(path.read_bytes())
            except ElementTree.ParseError:
                continue
            for defined in self.models[name].defines:
                self.defined_by.setdefault(defined, []).append(name)

    def of(self, name: str) -> list[str]:
        """The files to deploy with `name`: for each thing it names and does not define, one file defining it."""
        chosen: list[str] = []
        todo = [name]
        while todo and len(chosen) < MAX_COMPANIONS:
            model = self.models.get(todo.pop(0))
            for need in sorted(model.needs if model else ()):
                if any(need in self.models[held].defines for held in [name, *chosen]):
                    continue
                pick = self._pick(need, name)
                if pick is not None and len(chosen) < MAX_COMPANIONS:
                    chosen.append(pick)
                    todo.append(pick)
        return chosen

    def _pick(self, need: tuple[str, str], name: str) -> str | None:
        candidates = [c for c in self.defined_by.get(need, []) if c != name]
        directory = str(Path(name).parent)
        for tier in ([c for c in candidates if c in self.deployed_with.get(name, ())],
                     [c for c in candidates if str(Path(c).parent) == directory],
                     candidates if len(candidates) == 1 else []):
            if tier:
                # one of the same directory, then one named after what it defines (simpleSubProcess.bpmn20.xml)
                return sorted(tier, key=lambda c: (self.code.get(c, False), str(Path(c).parent) != directory,
                                                   not Path(c).name.startswith(need[1]), c))[0]
        return None


@dataclass
class Outcome:
    file: str
    with_code: bool
    result: str = "ENDED"
    reason: str = ""
    message: str = ""
    status: int | None = None
    plain: bool = True              # a refusal's message in the service's own words
    refused_delivery: str = ""      # the last message the service would not deliver
    step: str = ""
    blamed: str = ""                # the kind of the element the answer names (userTask, boundaryEvent:timer, ...)
    constructs: list[str] = field(default_factory=list)
    companions: list[str] = field(default_factory=list)  # the corpus files deployed with it
    waiting: list[str] = field(default_factory=list)
    actions: dict[str, int] = field(default_factory=dict)
    server_error: str = ""
    seconds: float = 0.0


class ServerErrors(logging.Handler):
    """What the service logged as unexpected errors while a file was walked (for the report only)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            tb = record.exc_info[2]
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            where = f" at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}" if tb is not None else ""
            self.seen.append(f"{type(error).__name__}: {error}"[:300] + where)
        else:
            self.seen.append(record.getMessage()[:300])


class Walker:
    """Deploys, starts and drives one file at a time on the running service, emptied before each."""

    def __init__(self, client: httpx.Client, running: RunningService, rounds: int, guess: bool,
                 given: dict[str, Any] | None = None) -> None:
        self.client = client
        self.running = running
        self.rounds = rounds
        self.guess = guess
        self.given = given or {}
        self.giving: dict[str, Any] = {}  # what the file being walked is given (an entry of --given)

    def variables(self, part: str, name: str) -> dict[str, Any]:
        """The variables the file's tests give at this start, task or message, typed for REST."""
        chosen = self.giving.get(part) or {}
        if part != "start":
            chosen = chosen.get(name, chosen.get("*", {}))
        return {key: _typed(value) for key, value in chosen.items()}

    # ------------------------------------------------------------ HTTP
    def call(self, method: str, url: str, step: str, *, ok: tuple[int, ...] = (200, 204), **kwargs: Any
             ) -> httpx.Response:
        response = self.client.request(method, url, **kwargs)
        if PYTHON_INTERNALS.search(response.text):
            raise Internals(f"{step}: {response.status_code} {response.text[:500]}")
        if response.status_code >= 500 or response.status_code not in ok:
            raise StepFailed(f"{step}: {response.status_code} {_message(response)}")
        return response

    def get(self, url: str, **params: Any) -> Any:
        return self.call("GET", url, f"GET {url}", params={"maxResults": 1000, **params}).json()

    # ------------------------------------------------------------ one file
    def walk(self, path: Path, name: str, with_code: bool, companions: list[tuple[Path, str]]) -> Outcome:
        """Walk the file `name` at `path`, deployed with the files `companions` (each its path and name)."""
        outcome = Outcome(name, with_code, companions=[companion for _, companion in companions])
        self.giving = self.given.get(name) or {}
        began = time.monotonic()
        data = path.read_bytes()
        try:
            model = Model.read(data)
            outcome.constructs = model.constructs()
        except ElementTree.ParseError:
            model = Model({}, {})
        reset(self.running)
        try:
            self._walk(data, path.name, [companion for companion, _ in companions], model, outcome)
        except Internals as error:
            outcome.result, outcome.message = "PYTHON", str(error)
            outcome.reason = "Python internals in the answer to " + outcome.message.split(":", 1)[0]
        except StepFailed as error:
            outcome.result, outcome.message = "ERROR", str(error)
            outcome.blamed = _kind(model, _blamed_id(None, outcome.message), "")
            outcome.reason = _reason(re.sub(r"^[^:]*: ", "", outcome.message))
        outcome.seconds = round(time.monotonic() - began, 3)
        return outcome

    def _walk(self, data: bytes, filename: str, companions: list[Path], model: Model, outcome: Outcome) -> None:
        outcome.step = "deploy"
        files = [("data", (filename, data, "application/octet-stream"))]
        for number, companion in enumerate(companions, 1):
            # one resource name per file: a companion named as the file (or another one) keeps its directory
            names = {f[1][0] for f in files}
            resource = companion.name if companion.name not in names else f"{number}-{companion.name}"
            files.append((f"companion{number}", (resource, companion.read_bytes(), "application/octet-stream")))
        response = self.call("POST", "/engine-rest/deployment/create", "deploy", ok=(200, 400),
                             data={"deployment-name": filename, "deployment-source": "corpus-walk"}, files=files)
        if response.status_code == 400:
            outcome.result, outcome.status, outcome.message = "REFUSED", 400, _message(response)
            outcome.reason = _reason(outcome.message.removeprefix(f"{filename}: "))
            outcome.plain = not LIBRARY_WORDING.search(outcome.message)
            outcome.blamed = _kind(model, _blamed_id(response, outcome.message), "")
            return
        definitions = {key: definition for key, definition in
                       (response.json().get("deployedProcessDefinitions") or {}).items()
                       if definition.get("resource") == filename}
        if not definitions:
            outcome.result, outcome.reason = "NOTHING", "deployed, no executable process"
            return
        for definition_id, definition in definitions.items():
            outcome.step = f"start {definition['key']}"
            self.start(definition_id, definition["key"], model, outcome)
        outcome.step = "walk"
        if not self.get("/engine-rest/history/process-instance"):
            outcome.result, outcome.reason = "STUCK", "no instance could be started"
            return
        for _ in range(self.rounds):
            if not self.get("/engine-rest/process-instance"):
                return
            if not (self.work(outcome) or self.catch_events(model, outcome) or self.timers(outcome)
                    or self.boundary_events(model, outcome)):
                break
        else:
            if not self.get("/engine-rest/process-instance"):
                return
        waiting = self.get("/engine-rest/history/activity-instance", unfinished="true")
        outcome.result = "STUCK"
        outcome.waiting = sorted({f"{a['activityType']}:{a['activityId']}" for a in waiting})
        kinds = sorted({_kind(model, a["activityId"], a["activityType"]) for a in waiting})
        outcome.reason = "waits at " + (", ".join(kinds) or "nothing (no unfinished activity)")

    # ------------------------------------------------------------ steps
    def start(self, definition_id: str, key: str, model: Model, outcome: Outcome) -> None:
        starts = [model.elements[s] for s in model.starts.get(key, []) if s in model.elements]
        if not starts or any(not s.events for s in starts):
            self.submit(f"/engine-rest/process-definition/{definition_id}/start", "start", outcome,
                        defaults=f"/engine-rest/process-definition/{definition_id}/form-variables",
                        given=self.variables("start", key))
            _count(outcome, "start")
            return
        first = starts[0]
        if first.message:
            self.submit("/engine-rest/message", "start by message", outcome, {"messageName": first.message},
                        key="processVariables", given=self.variables("start", key))
            _count(outcome, "start by message")
        elif first.signal:
            self.call("POST", "/engine-rest/signal", "start by signal", json={"name": first.signal})
            _count(outcome, "start by signal")
        elif "timer" in first.events:
            jobs = self.get("/engine-rest/job", timers="true", processDefinitionId=definition_id)
            if not jobs:
                raise StepFailed(f"start: the timer start event of {key} has no job")
            self.call("POST", "/api/clock", "start by timer", json={"set": min(j["dueDate"] for j in jobs)})
            _count(outcome, "start by timer")
        elif "conditional" in first.events:
            # A start narrowed to a variable is evaluated only when the call gives it (as Camunda's tests do).
            given = {first.variable: {"value": True}} if first.variable else {}
            given.update(self.variables("start", key))
            self.submit("/engine-rest/condition", "start by condition", outcome,
                        {"processDefinitionId": definition_id}, given=given)
            _count(outcome, "start by condition")
        else:
            _count(outcome, f"not started ({'/'.join(first.events)} start event)")

    def submit(self, url: str, step: str, outcome: Outcome, body: dict[str, Any] | None = None, *,
               key: str = "variables", defaults: str | None = None, gone: tuple[int, ...] = (),
               given: dict[str, Any] | None = None) -> httpx.Response:
        """POST with the variables the file's tests give (--given), else none; when that is refused, again
        with the form fields' defaults, then (with --guess) with a guess for each variable an expression
        cannot resolve."""
        body = body or {}
        variables: dict[str, Any] = dict(given or {})
        form = self.form_defaults(defaults) if defaults else {}
        response = self.call("POST", url, step, ok=(200, 204, 400, *gone),
                             json={**body, key: variables} if variables else body)
        for _ in range(12):
            if response.status_code != 400:
                return response
            missing = MISSING_VARIABLE.search(_message(response))
            guess = _next_guess(variables.get(missing[1])) if missing and self.guess else None
            if form:
                variables = {**form, **variables}
                form = {}
            elif missing and guess is not None:
                variables[missing[1]] = guess
                _count(outcome, "variable guessed")
            else:
                break
            response = self.call("POST", url, step, ok=(200, 204, 400, *gone), json={**body, key: variables})
        raise StepFailed(f"{step}: 400 {_message(response)}")

    def form_defaults(self, url: str) -> dict[str, Any]:
        response = self.client.get(url)
        if response.status_code != 200 or PYTHON_INTERNALS.search(response.text):
            return {}
        return {name: {"value": v.get("value"), "type": v.get("type")} for name, v in response.json().items()
                if v.get("value") is not None}

    def work(self, outcome: Outcome) -> bool:
        """Complete every open user task and every external task; whether there was any."""
        moved = False
        for task in self.get("/engine-rest/task"):
            self.submit(f"/engine-rest/task/{task['id']}/complete", f"complete {task['taskDefinitionKey']}", outcome,
                        defaults=f"/engine-rest/task/{task['id']}/form-variables", gone=(404, 409),
                        given=self.variables("tasks", task["taskDefinitionKey"]))
            _count(outcome, "user task")
            moved = True
        topics = sorted({t["topicName"] for t in self.get("/engine-rest/external-task", notLocked="true")})
        if topics:
            locked = self.call("POST", "/engine-rest/external-task/fetchAndLock", "fetchAndLock", json={
                "workerId": WORKER, "maxTasks": 1000,
                "topics": [{"topicName": topic, "lockDuration": 600_000} for topic in topics]}).json()
            for task in locked:
                self.submit(f"/engine-rest/external-task/{task['id']}/complete",
                            f"complete external task {task['activityId']}", outcome, {"workerId": WORKER},
                            given=self.variables("tasks", task["activityId"]))
                _count(outcome, "external task")
                moved = True
        return moved

    def catch_events(self, model: Model, outcome: Outcome) -> bool:
        """Send what the catch events, receive tasks and event-based gateways the instances wait at wait for."""
        for activity in self.get("/engine-rest/history/activity-instance", unfinished="true"):
            element = model.elements.get(activity["activityId"])
            if element is None:
                continue
            candidates = [(activity["activityId"], element)]
            if element.kind == "eventBasedGateway":
                candidates = [(t, model.elements[t]) for t in element.targets if t in model.elements]
            for element_id, candidate in candidates:
                if candidate.kind not in ("intermediateCatchEvent", "receiveTask"):
                    continue
                if self.deliver(candidate, activity["processInstanceId"], outcome, element_id=element_id):
                    return True
        return False

    def boundary_events(self, model: Model, outcome: Outcome) -> bool:
        waiting = {a["activityId"]: a["processInstanceId"]
                   for a in self.get("/engine-rest/history/activity-instance", unfinished="true")}
        for element in model.elements.values():
            if element.kind == "boundaryEvent" and element.attached_to in waiting:
                if self.deliver(element, waiting[element.attached_to], outcome, boundary=True):
                    return True
        return False

    def deliver(self, element: Element, instance_id: str, outcome: Outcome, boundary: bool = False,
                element_id: str | None = None) -> bool:
        prefix = "boundary " if boundary else ""
        if element.message:
            # Several executions of one instance waiting for the message (a multi-instance receive task)
            # take it only with all=true, as in Camunda.
            for everyone in (False, True):
                given = self.variables("messages", element.message)
                response = self.call("POST", "/engine-rest/message", f"{prefix}message {element.message}",
                                     ok=(204, 400), json={"messageName": element.message,
                                                          "processInstanceId": instance_id, "all": everyone,
                                                          **({"processVariables": given} if given else {})})
                if response.status_code == 204:
                    _count(outcome, f"{prefix}message")
                    return True
                outcome.refused_delivery = f"message {element.message}: {_message(response)}"
        if element.signal:
            self.call("POST", "/engine-rest/signal", f"{prefix}signal {element.signal}", json={"name": element.signal})
            _count(outcome, f"{prefix}signal")
            return True
        if element.kind == "receiveTask" and not element.message and element_id:
            # A receive task without a message waits for its execution to be triggered, as in Camunda.
            waiting = self.get("/engine-rest/execution", processInstanceId=instance_id, activityId=element_id)
            for execution in waiting:
                self.call("POST", f"/engine-rest/execution/{execution['id']}/signal", f"trigger {element_id}",
                          json={})
                _count(outcome, "trigger")
            return bool(waiting)
        return False

    def timers(self, outcome: Outcome) -> bool:
        """Move the clock to the next timer an instance waits on."""
        jobs = [j for j in self.get("/engine-rest/job", timers="true") if j["processInstanceId"]]
        if not jobs:
            return False
        self.call("POST", "/api/clock", "move the clock", json={"set": min(j["dueDate"] for j in jobs)})
        _count(outcome, "timer")
        return True


def _typed(value: Any) -> dict[str, Any]:
    """A variable as the REST API takes it: typed already, or typed from its JSON value as Java's would be."""
    if isinstance(value, dict) and "value" in value:
        return value
    if isinstance(value, bool):
        return {"value": value, "type": "Boolean"}
    if isinstance(value, int):
        return {"value": value, "type": "Integer" if -2**31 <= value < 2**31 else "Long"}
    if isinstance(value, float):
        return {"value": value, "type": "Double"}
    if isinstance(value, (dict, list)):
        return {"value": json.dumps(value), "type": "Json"}
    return {"value": value, "type": "String" if value is not None else "Null"}


def _next_guess(tried: dict[str, Any] | None) -> dict[str, Any] | None:
    following = GUESSES if tried is None else GUESSES[GUESSES.index(tried) + 1:] if tried in GUESSES else ()
    return following[0] if following else None


def _count(outcome: Outcome, action: str) -> None:
    outcome.actions[action] = outcome.actions.get(action, 0) + 1


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    return str(body.get("message", body))[:500] if isinstance(body, dict) else str(body)[:500]


def _reason(message: str) -> str:
    """A refusal's message with its names taken out, so that refusals of one kind group together."""
    text = re.sub(r"[$#]\{[^}]*\}", "${…}", message)
    text = re.sub(r"'[^']*'|\"[^\"]*\"|‘[^’]*’", "'…'", text)
    text = re.sub(r"\b(line|column|position) \d+", r"\1 N", text)
    text = re.sub(r"Did you mean one of the following: .*", "Did you mean …", text)
    return re.sub(r"\s+", " ", text)[:200]


def _blamed_id(response: httpx.Response | None, message: str) -> str:
    """The id of the element a refusal names: in Camunda's parse details, else in its message."""
    try:
        details = response.json().get("details") or {} if response is not None else {}
        return next(error["mainElementId"] for resource in details.values() for error in resource.get("errors", [])
                    if error.get("mainElementId"))
    except (ValueError, AttributeError, StopIteration, TypeError):
        pass
    named = re.search(r"(?:element|activity|task|event) '([^']+)'|\(element '([^']+)'\)", message)
    return (named[1] or named[2]) if named else ""


def _kind(model: Model, activity_id: str, activity_type: str) -> str:
    element = model.elements.get(activity_id)
    if element is None:
        return activity_type or activity_id
    return element.kind + "".join(f":{event}" for event in element.events)


# ---------------------------------------------------------------- report

def corpus(directory: Path, only: str | None) -> tuple[list[tuple[Path, str, bool]], Companions]:
    manifest = directory / "manifest.json"
    entries = json.loads(manifest.read_text()) if manifest.exists() else []
    code = {entry["file"]: bool(entry["with_code"]) for entry in entries}
    deployed_with = {entry["file"]: list(entry.get("deployed_with") or ()) for entry in entries}
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.name.endswith((".bpmn", ".bpmn20.xml")))
    chosen = [(p, str(p.relative_to(directory))) for p in files if not only or only in str(p.relative_to(directory))]
    return [(path, name, code.get(name, False)) for path, name in chosen], Companions(directory, deployed_with, code)


def markdown(outcomes: list[Outcome], seconds: float) -> str:
    lines = ["# Corpus walk", "", f"{len(outcomes)} files in {seconds:.0f} s.", ""]
    for with_code, title in ((False, "No code"), (True, "With code")):
        group = [o for o in outcomes if o.with_code == with_code]
        if not group:
            continue
        counts = Counter(o.result for o in group)
        lines += [f"## {title}: {len(group)} files", "", "| class | files | share |", "|---|---|---|"]
        lines += [f"| {kind} | {counts[kind]} | {100 * counts[kind] / len(group):.1f} % |"
                  for kind in ORDER if counts[kind]]
        lines += ["", "Reasons by count:", ""]
        reasons = Counter((o.result, o.blamed or "-", o.reason or o.message[:160])
                          for o in group if o.result != "ENDED")
        lines += [f"- {count} × {kind} [{blamed}]: {reason}" for (kind, blamed, reason), count in reasons.most_common()]
        unplain = [o for o in group if o.result == "REFUSED" and not o.plain]
        if unplain:
            lines += [f"Refused in the BPMN library's words, not the service's: {len(unplain)} files.", ""]
        lines.append("")
    lines += ["## With code, not refused", ""]
    lines += [f"- {o.file}: {o.result} {o.message[:200]}" for o in outcomes if o.with_code and o.result != "REFUSED"]
    lines += ["", "## No code, not ended", ""]
    for o in sorted((o for o in outcomes if not o.with_code and o.result != "ENDED"),
                    key=lambda o: (ORDER.index(o.result), o.file)):
        plain = "" if o.plain else " (library wording)"
        lines.append(f"- **{o.result}**{plain} `{o.file}` [{o.blamed or '-'}]: {o.message[:400] or o.reason}")
        if o.companions:
            lines.append(f"  - deployed with: {', '.join(o.companions)[:300]}")
        if o.waiting:
            lines.append(f"  - waiting: {', '.join(o.waiting)[:300]}; done: {o.actions}")
        if o.refused_delivery:
            lines.append(f"  - not delivered: {o.refused_delivery[:300]}")
        if o.server_error:
            lines.append(f"  - server log: {o.server_error[:300]}")
        lines.append(f"  - elements: {', '.join(c for c in o.constructs if c not in ('definitions',))[:400]}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="directory of .bpmn files (and manifest.json)")
    parser.add_argument("--out", type=Path, required=True, help="where report.json and report.md go")
    parser.add_argument("--rounds", type=int, default=30, help="rounds of work per file before giving up")
    parser.add_argument("--guess", action="store_true",
                        help="when a step is refused for a variable it lacks, try again with a guess (true, 'true', 1)")
    parser.add_argument("--given", type=Path, help="JSON file of the variables each file's tests give (see above)")
    parser.add_argument("--only", help="walk only the files whose path contains this text")
    parser.add_argument("--sample", type=int, help="walk only this many of the files without code, taken evenly "
                                                   "from the sorted list (every file with code still)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each file's outcome")
    args = parser.parse_args(argv)

    files, companions = corpus(args.corpus, args.only)
    plain = [f for f in files if not f[2]]
    if args.sample and args.sample < len(plain):
        kept = {plain[i * len(plain) // args.sample][1] for i in range(args.sample)}
        files = [f for f in files if f[2] or f[1] in kept]
    errors = ServerErrors()
    logging.getLogger().addHandler(errors)
    outcomes: list[Outcome] = []
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="corpus-walk-") as workdir:
        running = start_service(f"sqlite:///{Path(workdir) / 'service.sqlite3'}")
        try:
            with httpx.Client(base_url=running.base_url, auth=ADMIN_AUTH, timeout=60) as client:
                given = json.loads(args.given.read_text(encoding="utf-8")) if args.given else None
                walker = Walker(client, running, args.rounds, args.guess, given)
                for number, (path, name, with_code) in enumerate(files, 1):
                    errors.seen.clear()
                    outcome = walker.walk(path, name, with_code, [(args.corpus / c, c) for c in companions.of(name)])
                    outcome.server_error = " | ".join(errors.seen)
                    outcomes.append(outcome)
                    if args.verbose:
                        print(f"{number}/{len(files)} {outcome.result} {name} {outcome.reason} {outcome.message[:200]}",
                              file=sys.stderr)
        finally:
            running.stop()
    seconds = time.monotonic() - began
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps([asdict(o) for o in outcomes], indent=1, ensure_ascii=False))
    (args.out / "report.md").write_text(markdown(outcomes, seconds), encoding="utf-8")
    for with_code in (False, True):
        counts = Counter(o.result for o in outcomes if o.with_code == with_code)
        print(("with code: " if with_code else "no code: ") + ", ".join(f"{k} {counts[k]}" for k in ORDER if counts[k]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Runs a scenario against the service purely as its HTTP client (`/engine-rest` and `/api`), on the
service's simulated clock, and writes the timeline a person can follow: what was done on which day,
and what the service did in answer.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx

from app.clock import format_instant
from app.scenarios.model import BY_DRAWN, ZONE, Expectation, Scenario, Step, as_instant

ENGINE = "/engine-rest"
WORKER_ID = "scenario"
LOCK_MS = 60_000
WEEKDAYS = "一二三四五六日"


class ScenarioFailed(Exception):
    """A step whose outcome is not the one the scenario tells."""

    def __init__(self, problem: str, step: Step | None = None) -> None:
        self.problem = problem
        self.step = step
        where = f"step {step.number} ({step.text})" if step else "setting up"
        super().__init__(f"{where}: {problem}")


@dataclass
class ScenarioResult:
    scenario: Scenario
    timeline: list[str]
    failure: ScenarioFailed | None
    # The gateway paths each process key walked, as (gateway id, id of the element the path led to),
    # over every instance of the scenario's business keys.
    paths: dict[str, set[tuple[str, str]]]

    @property
    def passed(self) -> bool:
        return self.failure is None

    def report(self) -> str:
        head = f"{self.scenario.title}  [{', '.join(self.scenario.covers)}]  {self.scenario.path}"
        tail = "passed" if self.passed else f"FAILED at {self.failure}"
        return "\n".join([head, *self.timeline, tail])


def run_scenario(http: httpx.Client, scenario: Scenario) -> ScenarioResult:
    """`http` has the service's root as its base URL."""
    run = _Run(http, scenario)
    failure = None
    try:
        run.set_up()
        for step in scenario.steps:
            run.step(step)
    except ScenarioFailed as error:
        failure = error
    return ScenarioResult(scenario, run.timeline, failure, run.paths())


@dataclass
class _Instance:
    id: str
    business_key: str | None


class _Run:
    def __init__(self, http: httpx.Client, scenario: Scenario) -> None:
        self.http = http
        self.scenario = scenario
        self.instances: dict[str, _Instance] = {}
        self.open_items: dict[str, dict[str, str]] = defaultdict(dict)  # alias → open task id → label
        self.ended: set[str] = set()
        self.timeline: list[str] = []
        self.alias_width = max((len(step.alias) for step in scenario.steps if step.alias), default=0)
        self.actions: dict[str, Callable[[Step], str | None]] = {
            "note": lambda step: None, "start": self.start, "complete": self.complete, "work": self.work,
            "message": self.message, "signal": self.signal, "advance": self.advance, "until": self.until,
            "find": self.find, "expect": self.expect, "experts": self.experts, "register": self.register,
            "return": self.return_task, "clock": self.clock, "copy": self.copy}

    # The HTTP calls.

    def get(self, path: str, **params: Any) -> Any:
        return checked(self.http.get(path, params=params)).json()

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return checked(self.http.post(path, json=body))

    def attempt(self, step: Step, response: httpx.Response) -> str | None:
        """The service's refusal where the step expects one; any other answer than the one expected fails."""
        if not step.refused:
            checked(response)
            return None
        if 400 <= response.status_code < 500:
            return answer(response)
        raise ScenarioFailed(f"the service should have refused, but answered {response.status_code}")

    # The run.

    def set_up(self) -> None:
        self.post("/api/clock", {"set": self.scenario.clock.isoformat()})
        files = self.scenario.deploy
        if files:
            checked(self.http.post(
                f"{ENGINE}/deployment/create",
                data={"deployment-name": f"scenario {self.scenario.path.stem}", "deploy-changed-only": "true"},
                files=[("data", (file.name, file.read_bytes(), "application/octet-stream")) for file in files]))
        deployed = ", ".join(f.name for f in files) or "nothing"
        self.timeline.append(f"{self.now()}  {'':{self.alias_width}}  deployed {deployed}")

    def step(self, step: Step) -> None:
        try:
            refusal = self.actions[step.action](step)
            outcomes = self.outcomes()
            when = self.now()
        except ScenarioFailed as error:
            raise ScenarioFailed(error.problem, step) from None
        alias = step.alias if step.alias in self.instances else ""
        self.timeline.append(f"{when}  {alias:{self.alias_width}}  {step.text}")
        indent = " " * (len(when) + 2)
        if refusal:
            self.timeline.append(f"{indent}refused: {refusal}")
        self.timeline.extend(indent + line for line in outcomes)

    def now(self) -> str:
        local = datetime.fromisoformat(self.get("/api/clock")["now"]).astimezone(ZONE)
        return f"{local:%Y-%m-%d} 周{WEEKDAYS[local.weekday()]} {local:%H:%M}"

    def outcomes(self) -> list[str]:
        """What changed in the named instances since the last step: tasks opened, instances ended."""
        lines = []
        for alias, instance in self.instances.items():
            if alias in self.ended:
                continue
            if self.state(instance) != "ACTIVE":
                self.ended.add(alias)
                ends = self.end_events(instance)
                lines.append(f"{alias}: ended" + (f" at {', '.join(ends)}" if ends else ""))
                continue
            items = self.open_tasks(instance)
            new = [label for task_id, label in items.items() if task_id not in self.open_items[alias]]
            self.open_items[alias] = items
            if new:
                lines.append(f"{alias}: new {', '.join(new)}")
        return lines

    def paths(self) -> dict[str, set[tuple[str, str]]]:
        business_keys = {instance.business_key for instance in self.instances.values()}
        business_keys |= {step.business_key for step in self.scenario.steps}
        ids = {instance.id for instance in self.instances.values()}
        for business_key in business_keys - {None}:
            rows = self.get(f"{ENGINE}/history/process-instance", processInstanceBusinessKey=business_key)
            ids |= {row["id"] for row in rows}
        paths: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for instance_id in sorted(ids):
            rows = self.get(f"{ENGINE}/history/activity-instance", processInstanceId=instance_id,
                            sortBy="startTime", sortOrder="asc")
            for row in rows:
                paths[row["processDefinitionKey"]]  # every process walked is listed, gateways or not
            for gateway, target in gateway_paths(rows):
                paths[gateway["processDefinitionKey"]].add((gateway["activityId"], target["activityId"]))
        return dict(paths)

    # What an instance shows.

    def state(self, instance: _Instance) -> str:
        return self.get(f"{ENGINE}/history/process-instance/{instance.id}")["state"]

    def end_events(self, instance: _Instance) -> list[str]:
        rows = self.get(f"{ENGINE}/history/activity-instance", processInstanceId=instance.id)
        return [row["activityId"] for row in rows
                if row["activityType"].endswith("EndEvent") and row["endTime"] and not row["canceled"]]

    def user_tasks(self, instance: _Instance) -> list[dict[str, Any]]:
        return self.get(f"{ENGINE}/task", processInstanceId=instance.id, sortBy="created", sortOrder="asc")

    def external_tasks(self, instance: _Instance) -> list[dict[str, Any]]:
        return self.get(f"{ENGINE}/external-task", processInstanceId=instance.id)

    def open_tasks(self, instance: _Instance) -> dict[str, str]:
        labels = {task["id"]: task["taskDefinitionKey"] for task in self.user_tasks(instance)}
        return labels | {task["id"]: f"work {task['topicName']}" for task in self.external_tasks(instance)}

    # The actions; each answers the service's refusal where the step expects one.

    def start(self, step: Step) -> str | None:
        body = {"businessKey": step.business_key, "variables": typed_variables(step.variables)}
        response = self.http.post(f"{ENGINE}/process-definition/key/{step.subject}/start", json=body)
        refusal = self.attempt(step, response)
        if refusal is None:
            self.instances[_alias(step)] = _Instance(response.json()["id"], step.business_key)
        return refusal

    def open_task(self, step: Step) -> dict[str, Any]:
        """The open user task the step names (the oldest, or the oldest `by` may work on), checked for `by`."""
        instance = self.instances[_alias(step)]
        tasks = [task for task in self.user_tasks(instance) if task["taskDefinitionKey"] == step.subject]
        if not tasks:
            raise ScenarioFailed(f"{step.alias} has no open task {step.subject} "
                                 f"(open: {', '.join(self.open_tasks(instance).values()) or 'none'})")
        task = tasks[0]
        if step.by == BY_DRAWN:
            self.check_drawn(task)
        elif step.by:
            # A multi-instance task (会签) has one open task per department: `by` picks its own.
            task = next((task for task in tasks if step.by in self.candidates(task)), task)
            self.check_by(task, step.by)
        return task

    def complete(self, step: Step) -> str | None:
        task = self.open_task(step)
        body = {"variables": typed_variables(step.variables)}
        return self.attempt(step, self.http.post(f"{ENGINE}/task/{task['id']}/complete", json=body))

    def return_task(self, step: Step) -> str | None:
        """驳回: POST /api/tasks/{id}/return to the step `to` names, with the opinion."""
        task = self.open_task(step)
        body = {"targetActivityId": step.options["to"], "opinion": step.options["opinion"]}
        return self.attempt(step, self.http.post(f"/api/tasks/{task['id']}/return", json=body))

    def copy(self, step: Step) -> str | None:
        """抄送 by operation: POST /api/tasks/{id}/copies."""
        task = self.open_task(step)
        return self.attempt(step, self.http.post(f"/api/tasks/{task['id']}/copies", json=step.options))

    def clock(self, step: Step) -> str | None:
        """The statutory clock: pause, resume or extend (POST /api/process-instances/{id}/clock/...)."""
        instance = self.instances[_alias(step)]
        names = {"days": "workingDays"}
        body = {names.get(key, key): value for key, value in step.options.items()}
        operation = "extensions" if step.subject == "extend" else step.subject
        return self.attempt(step, self.http.post(f"/api/process-instances/{instance.id}/clock/{operation}",
                                                 json=body))

    def candidates(self, task: dict[str, Any]) -> set[str]:
        """The task's candidate groups, candidate users and assignee."""
        links = self.get(f"{ENGINE}/task/{task['id']}/identity-links")
        return {link["groupId"] or link["userId"] for link in links}

    def check_by(self, task: dict[str, Any], who: str) -> None:
        """`by` names a candidate group of the task, or its candidate user or assignee."""
        people = self.candidates(task)
        if who not in people:
            raise ScenarioFailed(f"{task['taskDefinitionKey']} is not for {who} "
                                 f"(its candidates and assignee: {', '.join(sorted(people)) or 'none'})")

    def draw_of(self, task: dict[str, Any]) -> dict[str, Any]:
        draws = self.get("/api/expert-draws", taskId=task["id"])
        if len(draws) != 1:
            raise ScenarioFailed(f"{task['taskDefinitionKey']} has {len(draws)} expert draws, not one")
        return draws[0]

    def check_drawn(self, task: dict[str, Any]) -> None:
        """`by: drawn`: the task is offered to exactly the experts drawn for it (ECO-20), and the draw
        recomputes from its recorded seed."""
        draw = self.draw_of(task)
        links = self.get(f"{ENGINE}/task/{task['id']}/identity-links")
        users = sorted(link["userId"] for link in links if link["userId"])
        if users != sorted(draw["drawn"]):
            raise ScenarioFailed(f"{task['taskDefinitionKey']} is offered to {', '.join(users) or 'nobody'}, "
                                 f"not to the experts drawn for it ({', '.join(draw['drawn'])})")
        if not self.get(f"/api/expert-draws/{draw['id']}/verification")["reproduced"]:
            raise ScenarioFailed(f"the draw {draw['id']} does not recompute from its seed")

    def experts(self, step: Step) -> None:
        for expert in step.subject:
            self.post("/api/experts", {key: expert[key] for key in ("id", "name", "specialty", "organization")})
            for park, reason in expert["conflicts"].items():
                self.post(f"/api/experts/{expert['id']}/conflicts", {"parkId": park, "reason": reason})

    def register(self, step: Step) -> None:
        entry = step.subject
        body = {"parkName": entry["name"], "province": entry["province"], "status": entry["status"],
                "since": entry["since"].isoformat(), "cause": entry.get("cause")}
        checked(self.http.put(f"/api/parks/{entry['park']}/standing", json=body))

    def work(self, step: Step) -> str | None:
        instance = self.instances[_alias(step)]
        topic = {"topicName": step.subject, "lockDuration": LOCK_MS, "processInstanceId": instance.id}
        locked = self.post(f"{ENGINE}/external-task/fetchAndLock",
                           {"workerId": WORKER_ID, "maxTasks": 1, "topics": [topic]}).json()
        if not locked:
            raise ScenarioFailed(f"{step.alias} has no open external task of topic {step.subject}")
        task_id = locked[0]["id"]
        body: dict[str, Any] = {"workerId": WORKER_ID, "variables": typed_variables(step.variables)}
        if step.bpmn_error:
            body["errorCode"] = step.bpmn_error
        path = f"{ENGINE}/external-task/{task_id}/{'bpmnError' if step.bpmn_error else 'complete'}"
        refusal = self.attempt(step, self.http.post(path, json=body))
        if refusal is not None:  # give the task back, so that a later step can do it
            checked(self.http.post(f"{ENGINE}/external-task/{task_id}/unlock"))
        return refusal

    def message(self, step: Step) -> str | None:
        business_key = step.business_key or (self.instances[_alias(step)].business_key if step.alias else None)
        body = {"messageName": step.subject, "processVariables": typed_variables(step.variables)}
        if business_key:
            body["businessKey"] = business_key
        return self.attempt(step, self.http.post(f"{ENGINE}/message", json=body))

    def signal(self, step: Step) -> str | None:
        body = {"name": step.subject, "variables": typed_variables(step.variables)}
        return self.attempt(step, self.http.post(f"{ENGINE}/signal", json=body))

    def advance(self, step: Step) -> None:
        self.post("/api/clock", {"advance": step.subject})

    def until(self, step: Step) -> None:
        now = datetime.fromisoformat(self.get("/api/clock")["now"])
        if step.subject < now:
            raise ScenarioFailed(f"the clock runs forward only: it is {now.isoformat()} already")
        self.post("/api/clock", {"set": step.subject.isoformat()})

    def find(self, step: Step) -> None:
        params = {"processDefinitionKey": step.subject, "sortBy": "startTime", "sortOrder": "desc"}
        if step.business_key:
            params["processInstanceBusinessKey"] = step.business_key
        found = self.get(f"{ENGINE}/history/process-instance", **params)
        which = f"{step.subject}" + (f" with business key {step.business_key}" if step.business_key else "")
        if not found:
            raise ScenarioFailed(f"no instance of {which}")
        if len(found) > 1 and found[0]["startTime"] == found[1]["startTime"]:
            raise ScenarioFailed(f"{len(found)} instances of {which} started at {found[0]['startTime']}: "
                                 "give a business key that tells them apart")
        self.instances[_alias(step)] = _Instance(found[0]["id"], found[0]["businessKey"])

    def expect(self, step: Step) -> None:
        instance = self.instances[_alias(step)]
        expected: Expectation = step.subject
        checks: list[tuple[Any, Callable[[_Instance, Any], list[str]]]] = [
            (expected.tasks, self.check_tasks), (expected.due, self.check_due),
            (expected.timers, self.check_timers), (expected.external_tasks, self.check_external_tasks),
            (expected.ended, self.check_ended), (expected.variables, self.check_variables),
            (expected.deadlines, self.check_deadlines), (expected.instances, self.check_instances),
            (expected.register, self.check_register), (expected.drawn, self.check_draws),
            (expected.agencies, self.check_agencies), (expected.confidential, self.check_confidential),
            (expected.clock, self.check_clock), (expected.copies, self.check_copies)]
        problems = [problem for wanted, check in checks if wanted is not None for problem in check(instance, wanted)]
        if problems:
            raise ScenarioFailed("; ".join(problems))

    # The checks of `expect`; each lists its differences.

    def check_tasks(self, instance: _Instance, wanted: list[str]) -> list[str]:
        return compare_sets("open tasks", wanted, [task["taskDefinitionKey"] for task in self.user_tasks(instance)])

    def check_external_tasks(self, instance: _Instance, wanted: list[str]) -> list[str]:
        topics = [task["topicName"] for task in self.external_tasks(instance)]
        return compare_sets("open external tasks", wanted, topics)

    def check_due(self, instance: _Instance, wanted: dict[str, date | None]) -> list[str]:
        due = {task["taskDefinitionKey"]: task["due"] for task in self.user_tasks(instance)}
        return [f"due of {key}: " + (f"expected {show(value)}, found {show(due[key])}" if key in due
                                      else "no such open task")
                for key, value in wanted.items() if key not in due or not matches(value, due[key])]

    def check_timers(self, instance: _Instance, wanted: dict[str, date | None]) -> list[str]:
        problems = []
        for activity, value in wanted.items():
            jobs = self.get(f"{ENGINE}/job", processInstanceId=instance.id, activityId=activity)
            dues = [job["dueDate"] for job in jobs]
            if not (any(matches(value, due) for due in dues) if value is not None else not dues):
                problems.append(f"timer {activity}: expected {show(value) if value else 'none'}, "
                                f"found {', '.join(dues) or 'none'}")
        return problems

    def check_ended(self, instance: _Instance, wanted: bool | str) -> list[str]:
        running = self.state(instance) == "ACTIVE"
        ends = [] if running else self.end_events(instance)
        if (wanted != running) if isinstance(wanted, bool) else (not running and wanted in ends):
            return []
        found = "still running" if running else f"ended at {', '.join(ends) or 'no end event'}"
        told_of: dict[bool | str, str] = {False: "still running", True: "ended"}
        told = told_of.get(wanted, f"ended at {wanted}")
        return [f"expected {told}, found {found}"]

    def check_variables(self, instance: _Instance, wanted: dict[str, Any]) -> list[str]:
        rows = self.get(f"{ENGINE}/history/variable-instance", processInstanceId=instance.id)
        values = {row["name"]: json.loads(row["value"]) if row["type"] == "Json" else row["value"] for row in rows}
        return [f"variable {name}: expected {show(value)}, found " + (show(values[name]) if name in values else "none")
                for name, value in wanted.items() if name not in values or not matches(value, values[name])]

    def check_deadlines(self, instance: _Instance, wanted: list[dict[str, Any]]) -> list[str]:
        rows = self.get("/api/deadlines", processInstanceId=instance.id)
        problems = []
        for deadline in wanted:
            fields = {"activityId" if key == "activity" else key: value for key, value in deadline.items()}
            if not any(all(matches(value, row.get(key)) for key, value in fields.items()) for row in rows):
                found = [{key: row.get(key) for key in fields} for row in rows]
                problems.append(f"deadline {show(deadline)} not among {show(found)}")
        return problems

    def check_instances(self, instance: _Instance, wanted: dict[str, int]) -> list[str]:
        if instance.business_key is None:
            return ["instances: the instance has no business key to count by"]
        problems = []
        for key, count in wanted.items():
            found = self.get(f"{ENGINE}/history/process-instance/count", processDefinitionKey=key,
                             processInstanceBusinessKey=instance.business_key)["count"]
            if found != count:
                problems.append(f"instances of {key} with business key {instance.business_key}: "
                                f"expected {count}, found {found}")
        return problems

    def check_register(self, instance: _Instance, wanted: dict[str, dict[str, Any]]) -> list[str]:
        return self.check_entries("park", "/api/parks", wanted)

    def check_agencies(self, instance: _Instance, wanted: dict[str, dict[str, Any]]) -> list[str]:
        return self.check_entries("agency", "/api/agencies", wanted)

    def check_entries(self, kind: str, path: str, wanted: Mapping[str, dict[str, Any] | None]) -> list[str]:
        problems = []
        for key, fields in wanted.items():
            response = self.http.get(f"{path}/{key}")
            if fields is None or response.status_code == 404:
                if (fields is None) != (response.status_code == 404):
                    where = "on the register" if fields is None else "not on the register"
                    problems.append(f"{kind} {key}: {where}")
                continue
            entry = checked(response).json()
            problems += [f"{kind} {key} {field}: expected {show(value)}, found {show(entry.get(field))}"
                         for field, value in fields.items() if not matches(value, entry.get(field))]
        return problems

    def check_confidential(self, instance: _Instance, wanted: dict[str, list[str]]) -> list[str]:
        """CPA-16: the readers see each named variable, the others (signed in, or not) none of them."""
        problems = []
        for who, sees in [*((user, True) for user in wanted["readers"]), *((user, False) for user in wanted["others"])]:
            account = self.scenario.accounts.get(who)
            auth = (who, account["password"]) if account else None
            response = self.http.get(f"{ENGINE}/history/variable-instance", auth=auth,
                                     params={"processInstanceId": instance.id})
            # Without credentials the service answers 401: nothing is read.
            rows = [] if auth is None and response.status_code == 401 else checked(response).json()
            names = {row["name"] for row in rows}
            wrong = [name for name in wanted["variables"] if (name in names) is not sees]
            if wrong:
                problems.append(f"{who} {'cannot' if sees else 'can'} read {', '.join(wrong)}")
        return problems

    def check_clock(self, instance: _Instance, wanted: dict[str, Any]) -> list[str]:
        """The statutory clock's days and stops (GET /api/process-instances/{id}/clock)."""
        clock = self.get(f"/api/process-instances/{instance.id}/clock")
        found = {"used": clock["usedDays"], "paused": clock["pausedDays"], "remaining": clock["remainingDays"],
                 "extended": clock["extendedDays"], "running": not clock["paused"] and not clock["ended"],
                 "level": clock["level"], "lastDay": clock["lastDay"]}
        problems = [f"clock {key}: expected {show(value)}, found {show(found[key])}"
                    for key, value in wanted.items() if key != "stops" and not matches(value, found[key])]
        if "stops" in wanted:
            stops = [{"kind": stop["kind"], "reason": stop["reason"], "activity": stop["activityId"], "by": stop["by"],
                      "days": stop["days"]} for stop in clock["stops"]]
            if len(stops) != len(wanted["stops"]) or not all(
                    all(matches(value, stop[key]) for key, value in fields.items())
                    for fields, stop in zip(wanted["stops"], stops, strict=False)):
                shown = [{key: stop[key] for key in stop if stop[key] is not None} for stop in stops]
                problems.append(f"clock stops: expected {show(wanted['stops'])}, found {show(shown)}")
        return problems + [f"clock: {problem}" for problem in clock["problems"]]

    def check_copies(self, instance: _Instance, wanted: dict[str, list[str]]) -> list[str]:
        """Each account finds the instance's copies of these steps in GET /api/copies (signed in as
        it); a recipient reads the case and may not complete its open tasks (read-only)."""
        problems = []
        open_tasks = self.user_tasks(instance)
        for who, activities in wanted.items():
            auth = (who, self.scenario.accounts[who]["password"])
            rows = checked(self.http.get("/api/copies", auth=auth, params={"processInstanceId": instance.id})).json()
            problems += compare_sets(f"copies to {who}", activities, [row["activityId"] for row in rows])
            if not activities:
                continue
            if self.http.get(f"{ENGINE}/history/process-instance/{instance.id}", auth=auth).status_code != 200:
                problems.append(f"{who} has a copy but cannot read the case")
            for task in open_tasks:
                answered = self.http.post(f"{ENGINE}/task/{task['id']}/complete", auth=auth, json={})
                if answered.status_code != 403:
                    problems.append(f"{who} holds a copy only, yet completing {task['taskDefinitionKey']} "
                                    f"answered {answered.status_code}, not 403")
        return problems

    def check_draws(self, instance: _Instance, wanted: dict[str, dict[str, Any]]) -> list[str]:
        """The open task's draw: its size, and the experts recused from it for a declared conflict."""
        problems = []
        tasks = {task["taskDefinitionKey"]: task for task in self.user_tasks(instance)}
        for key, fields in wanted.items():
            if key not in tasks:
                problems.append(f"drawn {key}: no such open task")
                continue
            draw = self.draw_of(tasks[key])
            if "count" in fields and len(draw["drawn"]) != fields["count"]:
                problems.append(f"drawn {key}: expected {fields['count']} experts, found {len(draw['drawn'])}")
            recused = sorted(item["expertId"] for item in draw["excluded"])
            if "recused" in fields and recused != sorted(fields["recused"]):
                problems.append(f"drawn {key}: expected {show(sorted(fields['recused']))} recused, "
                                f"found {show(recused)}")
            if set(recused) & set(draw["drawn"]):
                problems.append(f"drawn {key}: recused experts were drawn")
        return problems


def gateway_paths(rows: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """The (gateway, next element) pairs an instance's activity history shows, in start order: after an
    exclusive gateway the element started next; after an event-based gateway the event that won."""
    for index, row in enumerate(rows):
        if row["activityType"] == "exclusiveGateway" and index + 1 < len(rows):
            yield row, rows[index + 1]
        elif row["activityType"] == "eventBasedGateway":
            yield from ((row, event) for event in rows[index + 1:]
                        if event["startTime"] == row["endTime"] and event["endTime"] and not event["canceled"])


def _alias(step: Step) -> str:
    """The instance a step acts on: `as` of start and find, `in` (or the latest alias) of the others."""
    if step.alias is None:
        raise ScenarioFailed("the step names no instance", step)
    return step.alias


def checked(response: httpx.Response) -> httpx.Response:
    if response.is_success:
        return response
    raise ScenarioFailed(f"the service answered {answer(response)}")


def answer(response: httpx.Response) -> str:
    """A refusal as the service words it: status, Camunda's exception type and message."""
    try:
        body = response.json()
        return f"{response.status_code} {body['type']}: {body['message']}"
    except (ValueError, KeyError, TypeError):
        return f"{response.status_code} {response.text[:500]}"


def compare_sets(what: str, wanted: list[str], found: list[str]) -> list[str]:
    if set(wanted) == set(found):
        return []
    return [f"{what}: expected {show(sorted(set(wanted)))}, found {show(sorted(set(found)))}"]


def typed_variables(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Camunda's typed variables for YAML values: ints as Long, dates as Date at midnight in ZONE,
    lists and mappings as Json."""
    return {name: typed(value) for name, value in values.items()}


def typed(value: Any) -> dict[str, Any]:
    if value is None:
        return {"type": "Null", "value": None}
    if isinstance(value, date):
        return {"type": "Date", "value": format_instant(as_instant(value), ZONE)}
    if isinstance(value, (list, dict)):
        return {"type": "Json", "value": json.dumps(value, ensure_ascii=False, default=lambda when: when.isoformat())}
    kinds = [(bool, "Boolean"), (int, "Long"), (float, "Double"), (str, "String")]  # bool before int: True is an int
    return {"type": next(kind for cls, kind in kinds if isinstance(value, cls)), "value": value}


def matches(expected: Any, actual: Any) -> bool:
    """Whether the service's value is the one the scenario tells: an instant is compared as an instant,
    a date with the day (in ZONE) of the service's date or instant; a true is not a 1."""
    if expected is None or isinstance(expected, bool):
        return actual is expected
    if isinstance(expected, date):
        if not isinstance(actual, str):
            return False
        try:
            found = datetime.fromisoformat(actual) if len(actual) > 10 else date.fromisoformat(actual)
        except ValueError:
            return False
        if isinstance(expected, datetime):
            return isinstance(found, datetime) and as_instant(found) == as_instant(expected)
        return (as_instant(found).astimezone(ZONE).date() if isinstance(found, datetime) else found) == expected
    if isinstance(expected, (int, float)):
        return isinstance(actual, (int, float)) and not isinstance(actual, bool) and actual == expected
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(actual) == len(expected)
                and all(matches(item, other) for item, other in zip(expected, actual, strict=True)))
    if isinstance(expected, dict):
        return (isinstance(actual, dict) and actual.keys() == expected.keys()
                and all(matches(value, actual[key]) for key, value in expected.items()))
    return expected == actual


def show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)

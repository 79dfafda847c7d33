"""One instance per listed case, started by a process step (CPA-02: every enterprise on the published
list gets its own mandatory-audit instance), driven by camunda:properties so no process text runs:

- `startProcess`: the key of the process to start (its latest version);
- `startProcessFor`: the variable holding the list, each item an object whose fields become the new
  instance's variables; without it, one instance is started (a next cycle of the same case);
- `startBusinessKey`: the field of each item that is the new instance's business key (without
  `startProcessFor`: the variable of the starting instance that is);
- `startVariables` (optional): comma-separated variables of the starting instance copied to each one.

Each new instance also gets `started_by`, the id of the instance that started it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.cases.hooks import Step, StepHook
from app.engine import ActivityChange, ElementInfo, ProcessModel
from app.errors import InvalidProcessModel, ProcessExecutionFailed

START_PROCESS, START_FOR, START_KEY, START_VARIABLES = (
    "startProcess", "startProcessFor", "startBusinessKey", "startVariables")
MAX_STARTS = 10_000


@dataclass(frozen=True)
class StartPlan:
    process_key: str
    starts: list[tuple[dict[str, Any], str]]  # (variables, business key) per instance


def check_process_properties(resource: str, elements: Mapping[str, ElementInfo]) -> None:
    for element in elements.values():
        properties = element.properties
        if START_PROCESS not in properties:
            continue
        named = (START_KEY, START_FOR) if START_FOR in properties else (START_KEY,)
        missing = [name for name in named if not properties.get(name, "").isidentifier()]
        if not properties[START_PROCESS] or missing:
            reason = (f"starts instances of '{properties[START_PROCESS]}': {START_PROCESS} must name a process key "
                      f"and {' and '.join(missing) or START_KEY} a variable name")
            raise InvalidProcessModel(f"{resource}: element '{element.id}' {reason}",
                                      details={"resource": resource, "element": element.id, "reason": reason})


def plan(element: ElementInfo, variables: Mapping[str, Any]) -> StartPlan:
    """What the completed element starts; a list that does not fit stops the step with the reason."""
    properties = element.properties

    def fail(reason: str) -> ProcessExecutionFailed:
        return ProcessExecutionFailed(f"element '{element.id}' cannot start its instances: {reason}",
                                      details={"activityId": element.id})

    source = properties.get(START_FOR)
    items = variables.get(source) if source else [{properties[START_KEY]: variables.get(properties[START_KEY])}]
    if not isinstance(items, list):
        raise fail(f"the variable '{source}' must be a list of objects")
    if len(items) > MAX_STARTS:
        raise fail(f"{len(items)} items are more than {MAX_STARTS} instances in one step")
    copied = {}
    for name in filter(None, (part.strip() for part in properties.get(START_VARIABLES, "").split(","))):
        if name not in variables:
            raise fail(f"the variable '{name}' to pass on is not set")
        copied[name] = variables[name]
    starts, keys = [], set()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise fail(f"item {index} of '{source}' is not an object")
        key = item.get(properties[START_KEY])
        if not isinstance(key, str) or not key.strip():
            raise fail(f"item {index} of '{source or 'the instance'}' has no text '{properties[START_KEY]}'")
        if key in keys:
            raise fail(f"'{key}' is listed twice")
        keys.add(key)
        starts.append(({**copied, **item}, key))
    return StartPlan(properties[START_PROCESS], starts)


class Spawning(StepHook):
    """CPA-02: an element with `startProcess` starts, when it completes, one case of that process per
    item of the list it names (or one case), in the same unit of work."""

    def check_model(self, model: ProcessModel) -> None:
        check_process_properties(model.resource_name, model.elements)

    def on_elements_ended(self, step: Step, ended: Sequence[ActivityChange]) -> None:
        for change, element in step.ended_with(ended, START_PROCESS):
            start_plan = plan(element, step.variables)
            started = []
            definition_id = None
            for variables, business_key in start_plan.starts:
                child = step.start(start_plan.process_key, {**variables, "started_by": step.instance.id},
                                   business_key)
                definition_id = child.definition_id
                started.append({"process_instance_id": child.id, "business_key": business_key})
            step.record("instances.started", activity_id=element.id, task_id=change.activity_instance_id,
                        process_key=start_plan.process_key, definition_id=definition_id, started=started)

"""camunda:properties `ccGroups` and `ccUsers` on an element: when the element ends, the step is
copied (抄送) to those groups and users (app.cases.copies)."""
from __future__ import annotations

from collections.abc import Sequence

from app.cases.copies import MAX_RECIPIENTS, write_copies
from app.cases.hooks import Step, StepHook
from app.engine import ActivityChange, ProcessModel
from app.errors import InvalidProcessModel

GROUPS, USERS = "ccGroups", "ccUsers"


def _names(text: str | None) -> list[str]:
    return list(dict.fromkeys(part.strip() for part in (text or "").split(",") if part.strip()))


class Copies(StepHook):
    def check_model(self, model: ProcessModel) -> None:
        for element in model.elements.values():
            named = _names(element.properties.get(GROUPS)) + _names(element.properties.get(USERS))
            if (GROUPS in element.properties or USERS in element.properties) and not 0 < len(named) <= MAX_RECIPIENTS:
                raise InvalidProcessModel(
                    f"{model.resource_name}: element '{element.id}' names 1 to {MAX_RECIPIENTS} groups or users in "
                    f"camunda:property {GROUPS} / {USERS} (comma-separated)",
                    details={"resource": model.resource_name, "element": element.id})

    def on_elements_ended(self, step: Step, ended: Sequence[ActivityChange]) -> None:
        done = {change.activity_instance_id: (change, element) for name in (GROUPS, USERS)
                for change, element in step.ended_with(ended, name)}
        for change, element in done.values():
            recipients = ([("group", name) for name in _names(element.properties.get(GROUPS))]
                          + [("user", name) for name in _names(element.properties.get(USERS))])
            task_id = change.activity_instance_id if change.activity_type == "userTask" else None
            write_copies(step.session, step.instance, step.record, recipients=recipients,
                         activity_id=change.activity_id, task_id=task_id, copied_by=None, note=None, now=step.now)

"""camunda:properties `ccGroups` and `ccUsers` on an element: when the element ends, the step is
copied (抄送) to those groups and users (app.cases.copies). A name may be a template over the case's
variables, as candidate groups are (`${province}-env`): the department of the case's region."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.cases.hooks import Step, StepHook
from app.engine import ActivityChange, ProcessModel
from app.engine.expressions import ExpressionError, compile_template, contains_expression
from app.errors import InvalidProcessModel, ProcessExecutionFailed
from app.persistence.models import CaseCopy, ProcessInstance

GROUPS, USERS = "ccGroups", "ccUsers"
MAX_RECIPIENTS = 50


def write_copies(session: Session, instance: ProcessInstance, recorder: Callable[..., None], *,
                 recipients: Sequence[tuple[str, str]], activity_id: str | None, task_id: str | None,
                 copied_by: str | None, note: str | None, now: datetime) -> list[CaseCopy]:
    """Record the copy in the case's history (with `recorder`, the unit of work's record), then the
    rows that let each recipient read the case."""
    recorder("case.copied", activity_id=activity_id, task_id=task_id, note=note,
             groups=[identity for kind, identity in recipients if kind == "group"],
             users=[identity for kind, identity in recipients if kind == "user"])
    copies = [CaseCopy(id=str(uuid.uuid4()), process_instance_id=instance.id, activity_id=activity_id,
                       task_id=task_id, kind=kind, identity=identity, copied_by=copied_by, note=note, created=now,
                       sequence=instance.last_sequence) for kind, identity in recipients]
    session.add_all(copies)
    return copies


def _names(text: str | None) -> list[str]:
    return list(dict.fromkeys(part.strip() for part in (text or "").split(",") if part.strip()))


def _resolved(names: list[str], variables: Mapping[str, Any], element_id: str) -> list[str]:
    try:
        found = [str(compile_template(name).evaluate(variables, {})).strip() if contains_expression(name) else name
                 for name in names]
    except ExpressionError as error:
        raise ProcessExecutionFailed(f"the copy of '{element_id}' cannot name its recipients: {error}",
                                     details={"activityId": element_id}) from None
    return list(dict.fromkeys(name for name in found if 0 < len(name) <= 255))


class Copies(StepHook):
    def check_model(self, model: ProcessModel) -> None:
        for element in model.elements.values():
            named = _names(element.properties.get(GROUPS)) + _names(element.properties.get(USERS))
            if (GROUPS in element.properties or USERS in element.properties) and not 0 < len(named) <= MAX_RECIPIENTS:
                raise InvalidProcessModel(
                    f"{model.resource_name}: element '{element.id}' names 1 to {MAX_RECIPIENTS} groups or users in "
                    f"camunda:property {GROUPS} / {USERS} (comma-separated)",
                    details={"resource": model.resource_name, "element": element.id})
            for name in named:
                try:
                    compile_template(name)
                except ExpressionError as error:
                    raise InvalidProcessModel(
                        f"{model.resource_name}: element '{element.id}' copies to '{name}', which is not a valid "
                        f"template: {error}",
                        details={"resource": model.resource_name, "element": element.id}) from None

    def on_elements_ended(self, step: Step, ended: Sequence[ActivityChange]) -> None:
        done = {change.activity_instance_id: (change, element) for name in (GROUPS, USERS)
                for change, element in step.ended_with(ended, name)}
        for change, element in done.values():
            recipients = ([("group", name) for name in _resolved(_names(element.properties.get(GROUPS)),
                                                                  step.variables, element.id)]
                          + [("user", name) for name in _resolved(_names(element.properties.get(USERS)),
                                                                 step.variables, element.id)])
            if not recipients:  # every name a template that named nobody for this case
                continue
            task_id = change.activity_instance_id if change.activity_type == "userTask" else None
            write_copies(step.session, step.instance, step.record, recipients=recipients,
                         activity_id=change.activity_id, task_id=task_id, copied_by=None, note=None, now=step.now)

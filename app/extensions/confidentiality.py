"""Confidential variables (CPA-16, seed 003 第二十条): an enterprise's technical and business data
are readable only by the departments that handle its case.

A process names its confidential variables in the camunda:property `confidentialVariables` of the
process (comma-separated) and may name groups that read them besides (`confidentialReaders`, for
example the auditors; they take part in every case of the process, so they may read it). The
departments that handle a case are the groups and users its tasks were offered to
(app.cases.instances records them as the instance's participants). Everyone else who may read
the case (an administrator, an auditor of every case) gets its variables without the confidential
ones.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.accounts import Principal
from app.cases.hooks import Step, StepHook
from app.engine import ProcessModel
from app.persistence.models import InstanceParticipant

VARIABLES_PROPERTY, READERS_PROPERTY = "confidentialVariables", "confidentialReaders"


def _names(text: str | None) -> frozenset[str]:
    return frozenset(part.strip() for part in (text or "").split(",") if part.strip())


def confidential_names(model: ProcessModel) -> frozenset[str]:
    return _names(model.properties.get(VARIABLES_PROPERTY))


def reader_groups(model: ProcessModel) -> frozenset[str]:
    return _names(model.properties.get(READERS_PROPERTY))


def handles_case(session: Session, model: ProcessModel, instance_id: str, principal: Principal) -> bool:
    if principal.anonymous:
        return False
    if principal.groups & reader_groups(model):
        return True
    rows = session.execute(select(InstanceParticipant.kind, InstanceParticipant.identity)
                           .where(InstanceParticipant.process_instance_id == instance_id))
    return any(principal.named_by(kind, identity) for kind, identity in rows)


def hidden_names(session: Session, model: ProcessModel, instance_id: str, principal: Principal) -> frozenset[str]:
    """The variables of the instance this caller may not read."""
    names = confidential_names(model)
    if not names or handles_case(session, model, instance_id, principal):
        return frozenset()
    return names


def visible(session: Session, model: ProcessModel, instance_id: str, principal: Principal,
            values: Mapping[str, Any]) -> dict[str, Any]:
    hidden = hidden_names(session, model, instance_id, principal)
    return {name: value for name, value in values.items() if name not in hidden}


class ConfidentialReaders(StepHook):
    """The groups a process names as readers of its confidential data take part in each of its cases."""

    def on_started(self, step: Step) -> None:
        step.add_participants({("group", group) for group in reader_groups(step.run.model)})

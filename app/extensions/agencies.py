"""The register of clean production audit agencies (CPA-09, CPA-12, seed 003 第十五、十九、二十九条).

An agency is `registered` (备案) after the joint review of the three regional departments; fraud
found in its work orders it to correct (`ordered_to_correct`, its name published); a serious case
removes it (`revoked`). Only a registered agency may be commissioned for an audit (CPA-04).

Processes drive the register through camunda:properties, so that no process text runs as code:
`agencyStanding` on a flow node records that standing for the instance's agency (variables
`agency_id`, `agency_name`) when the node completes, with the cause held by the variable that
`agencyStandingCause` names; the expression function `agencyStanding(agency_id)` answers an agency's
standing today (`none` for an agency not on the register).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.hooks import Step, StepHook
from app.engine import ActivityChange, ElementInfo, ProcessModel
from app.errors import InvalidProcessModel, InvalidRequest, NotFound, ProcessExecutionFailed
from app.persistence.models import AuditAgency

if TYPE_CHECKING:
    from app.context import Services

STATUSES = ("registered", "ordered_to_correct", "revoked")
# The standings a process may decide from each earlier one (None: not yet on the register).
DECIDED_FROM = {"registered": (None, "ordered_to_correct", "revoked"), "ordered_to_correct": ("registered",),
                "revoked": ("registered", "ordered_to_correct")}
STANDING_PROPERTY, CAUSE_PROPERTY = "agencyStanding", "agencyStandingCause"


def get_agency(services: Services, agency_id: str) -> AuditAgency:
    with services.db.read() as session:
        agency = session.get(AuditAgency, agency_id)
    if agency is None:
        raise NotFound(f"No audit agency '{agency_id}' on the register")
    return agency


def list_agencies(services: Services, *, status: str | None = None) -> list[AuditAgency]:
    query = select(AuditAgency).order_by(AuditAgency.agency_id)
    if status:
        if status not in STATUSES:
            raise InvalidRequest(f"'status' must be one of {', '.join(STATUSES)}, not {status!r}")
        query = query.where(AuditAgency.status == status)
    with services.db.read() as session:
        return list(session.scalars(query))


def check_process_properties(resource: str, elements: Mapping[str, ElementInfo]) -> None:
    for element in elements.values():
        status = element.properties.get(STANDING_PROPERTY)
        if status is None:
            continue
        reason = None
        if status not in STATUSES:
            reason = f"{STANDING_PROPERTY} must be one of {', '.join(STATUSES)}"
        elif status != "registered" and not element.properties.get(CAUSE_PROPERTY, "").isidentifier():
            reason = f"records an agency as {status}: {CAUSE_PROPERTY} must name the variable of its cause"
        if reason:
            raise InvalidProcessModel(f"{resource}: element '{element.id}' {reason}",
                                      details={"resource": resource, "element": element.id, "reason": reason})


def _variable(variables: Mapping[str, Any], name: str, element: str, limit: int) -> str:
    value = variables.get(name)
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > limit:
        raise ProcessExecutionFailed(f"element '{element}' concerns the agency register, but the variable "
                                     f"'{name}' is not a text of 1 to {limit} characters",
                                     details={"activityId": element})
    return value.strip()


def record_decided(session: Session, element: ElementInfo, variables: Mapping[str, Any], *, today: date,
                   now: datetime, process_instance_id: str) -> AuditAgency:
    """Record the standing the completed element names (`agencyStanding`)."""
    status = element.properties[STANDING_PROPERTY]
    agency_id = _variable(variables, "agency_id", element.id, 64)
    agency = session.get(AuditAgency, agency_id)
    before = agency.status if agency else None
    if before not in DECIDED_FROM[status]:
        raise ProcessExecutionFailed(
            f"element '{element.id}' would record agency '{agency_id}' as {status}, but it is "
            f"{before or 'not on the register'}: an agency becomes {status} only from "
            f"{' or '.join(str(b or 'no entry') for b in DECIDED_FROM[status])}", details={"activityId": element.id})
    cause_variable = element.properties.get(CAUSE_PROPERTY)
    cause = variables.get(cause_variable) if cause_variable else None
    if agency is None:
        agency = AuditAgency(agency_id=agency_id)
        session.add(agency)
    agency.agency_name = _variable(variables, "agency_name", element.id, 255)
    agency.status, agency.since, agency.updated = status, today, now
    agency.cause = str(cause)[:2000] if cause not in (None, "") else None
    agency.decided_by_instance_id = process_instance_id
    return agency


def register_functions(session: Session) -> dict[str, Callable[..., Any]]:
    """Expression functions that read the agency register within the step's unit of work."""
    def standing(agency_id: Any) -> str:
        if not isinstance(agency_id, str) or not agency_id.strip():
            raise ValueError(f"agencyStanding needs an agency id, got {agency_id!r}")
        agency = session.get(AuditAgency, agency_id.strip())
        return agency.status if agency is not None else "none"

    return {"agencyStanding": standing}


class AgencyRegister(StepHook):
    """CPA-09, CPA-12: an element with `agencyStanding` records, when it completes, the standing of the
    case's audit agency; `agencyStanding` reads the register in expressions."""

    def check_model(self, model: ProcessModel) -> None:
        check_process_properties(model.resource_name, model.elements)

    def functions(self, session: Session, today: Callable[[], date]) -> Mapping[str, Callable[..., Any]]:
        return register_functions(session)

    def on_elements_ended(self, step: Step, ended: Sequence[ActivityChange]) -> None:
        for change, element in step.ended_with(ended, STANDING_PROPERTY):
            agency = record_decided(step.session, element, step.variables, today=step.today, now=step.now,
                                    process_instance_id=step.instance.id)
            step.record("agency.standing", activity_id=element.id, task_id=change.activity_instance_id,
                        agency_id=agency.agency_id, status=agency.status, since=agency.since.isoformat(),
                        cause=agency.cause)

"""Where cases stand, as Camunda's Cockpit asks it (`/process-definition/statistics`,
`/process-definition/{id}/statistics`): running instances per process definition, running
activity instances per activity, and the open incidents of each. Only the cases the reader may read
are counted. Timers here never fail, so there are no failed jobs to count."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute

from app.access import permissions
from app.access.accounts import Principal
from app.cases.projections import ACTIVE
from app.context import Services
from app.definitions import deployments
from app.persistence.models import ActivityInstance, Incident, ProcessDefinition, ProcessInstance


@dataclass
class Statistics:
    """Of a process definition (`key` its id) or of one of its activities (`key` the activity id)."""

    key: str
    instances: int = 0
    incidents: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class IncidentCounting:
    """Camunda's flags: incidents (all types), incidentsForType (one type), or none counted."""

    all_types: bool = False
    of_type: str | None = None

    @property
    def wanted(self) -> bool:
        return self.all_types or self.of_type is not None


def _incidents(viewer: Principal, counting: IncidentCounting, by: InstrumentedAttribute[str]) -> Select:
    query = permissions.only_visible(select(by, Incident.incident_type, func.count()), Incident.process_instance_id,
                                     viewer).where(Incident.end_time.is_(None))
    if counting.of_type is not None:
        query = query.where(Incident.incident_type == counting.of_type)
    return query.group_by(by, Incident.incident_type)


def _add_incidents(stats: dict[str, Statistics], rows: list[Any]) -> None:
    for key, incident_type, count in rows:
        stats.setdefault(key, Statistics(key)).incidents[incident_type] = count


def of_definitions(services: Services, viewer: Principal, counting: IncidentCounting
                   ) -> list[tuple[ProcessDefinition, Statistics]]:
    """Every deployed process definition, with its running instances and open incidents."""
    with services.db.read() as session:
        definitions = list(session.scalars(deployments.definition_query()))
        running = permissions.only_visible(
            select(ProcessInstance.definition_id, func.count()).where(ProcessInstance.status == ACTIVE),
            ProcessInstance.id, viewer).group_by(ProcessInstance.definition_id)
        stats = {key: Statistics(key, instances=count) for key, count in session.execute(running)}
        if counting.wanted:
            _add_incidents(stats, list(session.execute(_incidents(viewer, counting, Incident.process_definition_id))))
    return [(definition, stats.get(definition.id) or Statistics(definition.id)) for definition in definitions]


def of_activities(services: Services, definition_id: str, viewer: Principal, counting: IncidentCounting
                  ) -> list[Statistics]:
    """The activities of a definition where instances stand now, or that have open incidents."""
    with services.db.read() as session:
        deployments.get_definition(session, definition_id)
        running = permissions.only_visible(
            select(ActivityInstance.activity_id, func.count())
            .where(ActivityInstance.process_definition_id == definition_id, ActivityInstance.end_time.is_(None)),
            ActivityInstance.process_instance_id, viewer).group_by(ActivityInstance.activity_id)
        stats = {key: Statistics(key, instances=count) for key, count in session.execute(running)}
        if counting.wanted:
            _add_incidents(stats, list(session.execute(
                _incidents(viewer, counting, Incident.activity_id)
                .where(Incident.process_definition_id == definition_id))))
    return sorted(stats.values(), key=lambda item: item.key)


"""`GET /metrics`: the service's metrics in Prometheus' text format, beside (not under) /engine-rest,
whose /engine-rest/metrics is Camunda's own resource.

Who may read them is a setting, closed by default: a scraper sending `Authorization: Bearer
<METRICS_TOKEN>`, or everybody with METRICS_OPEN=true (for a port only the scraper reaches); with
neither the route answers 404. Counters and histograms are counted where their events happen
(app.telemetry.metrics), summed over the workers of a host when PROMETHEUS_MULTIPROC_DIR is set; the
figures of open work are read from the database at each scrape, by the worker that answers it.
"""
from __future__ import annotations

import hmac
import os
from collections.abc import Iterator

from fastapi import Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from app.cases import operations
from app.context import Services
from app.errors import NotFound, Unauthenticated
from app.rest.dependencies import ServicesDep
from app.rest.routing import ServiceRouter
from app.telemetry.metrics import VERIFICATION_INTACT_NAME, VERIFICATION_TIME_NAME

router = ServiceRouter(tags=["metrics"])


def _gauge(name: str, documentation: str, value: float | None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value if value is not None else float("nan"))


def _by(name: str, documentation: str, label: str, values: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def counted_metrics() -> list[Metric]:
    """The instruments counted at their events: this process's, or with PROMETHEUS_MULTIPROC_DIR the
    sum (for gauges, the most recent value) over every process of the host that wrote there."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return list(registry.collect())
    return list(REGISTRY.collect())


class _Scrape:
    """What one scrape answers: the counted instruments (of this process, or of every worker of the
    host) and the figures of open work read now."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        counted = counted_metrics()
        verified_at = next((sample.value for metric in counted for sample in metric.samples
                            if sample.name == VERIFICATION_TIME_NAME), None)
        # Before the first verification there is no result to show (a 0 would read as "broken").
        yield from (metric for metric in counted
                    if verified_at or metric.name not in (VERIFICATION_INTACT_NAME, VERIFICATION_TIME_NAME))
        figures = operations.work_figures(self.services)
        now = figures.at.timestamp()
        yield _gauge("eco_process_instances_active", "Process instances running", figures.active_instances)
        yield _gauge("eco_user_tasks_open", "Open user tasks", figures.open_tasks)
        yield _gauge("eco_user_tasks_overdue", "Open user tasks past their due date", figures.overdue_tasks)
        yield _by("eco_user_tasks_open_by_group", "Open user tasks offered to each candidate group",
                  "candidate_group", figures.open_tasks_by_group)
        yield _by("eco_user_tasks_overdue_by_group", "Open user tasks past their due date, by candidate group",
                  "candidate_group", figures.overdue_tasks_by_group)
        yield _gauge("eco_timers_due", "Timers due that have not fired yet (the timer backlog)", figures.due_timers)
        yield _gauge("eco_timers_oldest_due_age_seconds", "How long the oldest due timer has waited to fire "
                     "(0: none waits)",
                     now - figures.oldest_due_timer.timestamp() if figures.oldest_due_timer else 0.0)
        yield _by("eco_external_tasks_backlog", "External tasks waiting for a worker (unlocked, retries left), "
                  "by topic", "topic", figures.external_task_backlog)
        yield _by("eco_incidents_open", "Open incidents by type", "incident_type", figures.open_incidents)
        yield _gauge("eco_history_verification_age_seconds", "Seconds since the history was last verified "
                     "(NaN: not since this host started)", now - verified_at if verified_at else None)


def _allowed(services: Services, authorization: str | None) -> None:
    settings = services.settings
    token = settings.metrics_token.get_secret_value()
    if settings.metrics_open:
        return
    if not token:
        raise NotFound("Metrics are not published: set METRICS_TOKEN (or METRICS_OPEN=true)")
    scheme, _, offered = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(offered.strip().encode(), token.encode()):
        raise Unauthenticated("Send the metrics token: Authorization: Bearer <METRICS_TOKEN>")


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}})
def metrics(services: ServicesDep, request: Request) -> Response:
    _allowed(services, request.headers.get("authorization"))
    return Response(generate_latest(_Scrape(services)), media_type=CONTENT_TYPE_LATEST)

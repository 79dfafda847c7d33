"""The ASGI application: `app.main:app`."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool

from app.access import accounts
from app.audit import cleanup
from app.audit.anchors import AnchorSigner
from app.cases.attachments import accepted_types
from app.cases.call_activities import CallActivities
from app.cases.events import SignalBroadcast
from app.cases.reminders import ReminderTopics
from app.cases.timers import overdue_timers
from app.clock import Clock, SimulatedClock, SystemClock
from app.context import DecisionCache, ModelCache, Services
from app.deadlines.calendars import seed_if_empty
from app.deadlines.statutory import StatutoryLimits
from app.definitions.deployments import DeploymentResult, deploy_directory
from app.extensions.agencies import AgencyRegister
from app.extensions.confidentiality import ConfidentialReaders
from app.extensions.copies import Copies
from app.extensions.parks.hooks import ExpertDraws, ParkRegister
from app.extensions.regions import Regions
from app.extensions.spawning import Spawning
from app.persistence.database import Database
from app.persistence.migrations import prepare_schema
from app.rest import agencies as agencies_api
from app.rest import audit as audit_api
from app.rest import calendar as calendar_api
from app.rest import camunda, case_work, errors, health, openapi, prometheus
from app.rest import clock as clock_api
from app.rest import deadlines as deadlines_api
from app.rest import parks as parks_api
from app.rest import returns as returns_api
from app.rest.dependencies import require_principal
from app.rest.limits import JsonBodyCheck, RequestSizeLimit
from app.rest.observe import Observe
from app.settings import Settings, get_settings
from app.telemetry import logs
from app.web import install as install_web_workspace
from app.workers.timer_worker import TimerWorker

log = logging.getLogger(__name__)


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    if clock is None:
        clock = SimulatedClock() if settings.clock == "simulated" else SystemClock()
    signer = AnchorSigner.from_settings(settings)
    # What every unit of work may need besides the connection: the anchor signer, and the content store
    # (app.cases.instances keeps binary variables), looked up when used as it may be replaced.
    session_info: dict[str, Any] = {"anchor_signer": signer}
    services = Services(settings=settings, db=Database(settings.database_url, pool_size=settings.db_pool_size,
                                                       session_info=session_info),
                        clock=clock, models=ModelCache(settings.spec_cache_size),
                        decision_tables=DecisionCache(settings.spec_cache_size), signer=signer,
                        # What processes switch on with camunda:properties, in the order it acts in a step.
                        hooks=(Regions(), ConfidentialReaders(), ParkRegister(), ExpertDraws(), AgencyRegister(),
                               Spawning(), Copies(), StatutoryLimits(), CallActivities(),
                               SignalBroadcast(), ReminderTopics()))
    session_info["contents"] = lambda: services.contents
    return services


def first_start(services: Services) -> None:
    """Bring the database to what this build needs. Processes starting at once on one database take
    turns, and each step finds the work of the one before done (an unchanged file is not redeployed)."""
    settings = services.settings
    services.contents.check()  # a store of attached files that cannot be used stops the start
    with services.db.exclusive_start():
        prepare_schema(services.db, settings.migrate_on_start, services.clock)
        seed_if_empty(services)
        accounts.ensure_administrator(services)
        if settings.demo_accounts:
            accounts.seed_demo_accounts(services)
        if settings.deploy_on_start:
            _log_deployed(deploy_directory(services, Path(settings.deploy_on_start)))
        cleanup.schedule_at_start(services)
    overdue = overdue_timers(services)
    if overdue:
        log.info("%d timers fell due while the service was stopped; %s", overdue,
                 "they fire now" if settings.timer_worker else "the timer workers fire them")


def _log_deployed(results: list[DeploymentResult]) -> None:
    for result in results:
        deployment = result.deployment
        if not (result.definitions or result.decisions):
            log.info("%s unchanged, not deployed again (deployment %s)", deployment.name, deployment.id)
        for kind, key, version in [*(("decision table", d.key, d.version) for d in result.decisions),
                                   *(("procedure", d.key, d.version) for d in result.definitions)]:
            log.info("deployed %s %s version %d (deployment %s)", kind, key, version, deployment.id)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    accepted_types(settings.attachment_types)  # a misconfigured list stops the start, not an upload
    services = build_services(settings, clock)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        uninstall_logging = logs.install(settings.log_format, settings.log_level)
        try:
            await run_in_threadpool(first_start, services)
        except BaseException:
            uninstall_logging()
            raise
        worker = TimerWorker(services, settings.timer_poll_seconds) if settings.timer_worker else None
        if worker:
            worker.start()
        yield
        if worker:
            worker.stop()
        services.db.dispose()
        uninstall_logging()

    app = FastAPI(
        title="Environmental procedure orchestrator",
        description="BPMN processes of Chinese environmental administrative procedures, "
                    "executed by SpiffWorkflow behind a Camunda 7 compatible REST API.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.services = services
    errors.install(app)
    openapi.install(app)
    app.include_router(health.router)
    app.include_router(prometheus.router)
    install_web_workspace(app)
    signed_in = [Depends(require_principal)]
    for router in (clock_api.router, calendar_api.router, deadlines_api.router, parks_api.router, agencies_api.router,
                   audit_api.router, case_work.router, returns_api.router, camunda.router):
        app.include_router(router, dependencies=signed_in)
    # A body nests a few levels around the variables it carries ({"variables": {"x": {"value": ...}}}).
    app.add_middleware(JsonBodyCheck, max_depth=settings.max_variable_depth + 4)
    app.add_middleware(RequestSizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(errors.Unexpected)
    # Outermost: every answer, refusals of the checks above included, is counted and carries its id.
    app.add_middleware(Observe, log_requests=settings.log_format == "json")
    return app


def __getattr__(name: str) -> FastAPI:
    # `app.main:app` is built on first access, so that importing this module reads no environment.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)

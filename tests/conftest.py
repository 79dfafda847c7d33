"""Shared fixtures: a real service over real HTTP, on SQLite or on the PostgreSQL named by
DATABASE_URL, with a simulated clock that tests move; and the services of the use-case tests, without
HTTP, on a database rolled back after each test. The helpers they use live in tests/support."""
from __future__ import annotations

import httpx
import pytest

from app.context import Services
from tests.support.rolled_back import migrated_url, rolled_back_services
from tests.support.service import ADMIN_AUTH, RunningService, database_url, reset, start_service


@pytest.fixture(scope="session")
def service(tmp_path_factory) -> RunningService:
    running = start_service(database_url(tmp_path_factory.mktemp("db")))
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _clean_state(request):
    """Every test starts on empty tables and the clock's start instant."""
    yield
    if "service" in request.fixturenames:
        reset(request.getfixturevalue("service"))


@pytest.fixture
def client(service: RunningService) -> httpx.Client:
    with httpx.Client(base_url=f"{service.base_url}/engine-rest", auth=ADMIN_AUTH, timeout=30) as http:
        yield http


@pytest.fixture
def root(service: RunningService) -> httpx.Client:
    """A client for the service's own API beside engine-rest (/api/clock, /api/calendar)."""
    with httpx.Client(base_url=service.base_url, auth=ADMIN_AUTH, timeout=30) as http:
        yield http


@pytest.fixture(scope="session")
def use_case_database(tmp_path_factory) -> str:
    """The URL of the use-case tests' database, migrated once."""
    return migrated_url(tmp_path_factory.mktemp("use-cases"))


@pytest.fixture
def use_cases(use_case_database: str, tmp_path) -> Services:
    """Services called directly, on a database that starts empty (but for the calendar) and whose
    every change is rolled back after the test."""
    with rolled_back_services(use_case_database, tmp_path) as services:
        yield services

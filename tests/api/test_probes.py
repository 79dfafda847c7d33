"""The probes of a container host: /health/live answers while the process runs and reads nothing,
/health/ready answers 200 only while the database answers, its schema is at this build's newest
migration and the calendar holds the current year, else 503 naming what is not; no credentials."""
from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text

from app.persistence.migrations import script_head
from tests.support.scratch import scratch_database
from tests.support.service import ADMIN_AUTH, start_service


@pytest.fixture
def scratch(tmp_path):
    """A service of its own, on a database the test may break."""
    with scratch_database(tmp_path) as url:
        running = start_service(url)
        try:
            yield running
        finally:
            running.stop()
            running.services.db.dispose()


def test_live_answers_without_credentials_or_database(service):
    with httpx.Client(base_url=service.base_url) as anonymous:
        answer = anonymous.get("/health/live")
    assert answer.status_code == 200
    assert answer.json() == {"status": "UP"}


def test_ready_names_every_check_up(service):
    with httpx.Client(base_url=service.base_url) as anonymous:
        answer = anonymous.get("/health/ready")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "UP", "checks": {"database": "UP", "migrations": "UP", "calendar": "UP"}}


def test_health_is_unchanged(service):
    with httpx.Client(base_url=service.base_url) as anonymous:
        answer = anonymous.get("/health")
    assert answer.status_code == 200
    assert set(answer.json()) == {"status", "database", "clock"}
    assert answer.json()["clock"] == "simulated"


def test_a_schema_behind_this_build_is_not_ready(scratch):
    head = script_head()
    older = f"{int(head) - 1:04d}"
    with scratch.services.db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :older"), {"older": older})
    with httpx.Client(base_url=scratch.base_url) as anonymous:
        answer = anonymous.get("/health/ready")
        assert answer.status_code == 503
        body = answer.json()
        assert body["status"] == "DOWN"
        assert body["checks"]["database"] == "UP" and body["checks"]["calendar"] == "UP"
        assert f"revision {older}" in body["checks"]["migrations"] and head in body["checks"]["migrations"]
        # Live stays up: the process is fine, it only may not serve yet.
        assert anonymous.get("/health/live").status_code == 200
        with scratch.services.db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        assert anonymous.get("/health/ready").status_code == 200


def test_a_calendar_without_the_current_year_is_not_ready(scratch):
    with scratch.services.db.engine.begin() as connection:
        connection.execute(text("DELETE FROM calendar_entry WHERE year = 2026"))
        connection.execute(text("DELETE FROM calendar_year WHERE year = 2026"))
    with httpx.Client(base_url=scratch.base_url) as anonymous:
        answer = anonymous.get("/health/ready")
        assert answer.status_code == 503
        assert answer.json()["checks"]["migrations"] == "UP"
        assert "2026" in answer.json()["checks"]["calendar"]
        # The service's clock decides the current year: in 2025 the calendar is whole again.
        scratch.clock.set(datetime(2025, 6, 2, 1, 0, tzinfo=UTC))
        assert anonymous.get("/health/ready").json() == {
            "status": "UP", "checks": {"database": "UP", "migrations": "UP", "calendar": "UP"}}
        # Importing the year makes it ready in 2026 too.
        scratch.clock.set(datetime(2026, 9, 28, 1, 0, tzinfo=UTC))
        with httpx.Client(base_url=scratch.base_url, auth=ADMIN_AUTH) as admin:
            imported = admin.put("/api/calendar/2026", json={"year": 2026, "confirmed": True,
                                                             "notice": "国办发明电〔2025〕号", "days": []})
        assert imported.status_code in (200, 204), imported.text
        assert anonymous.get("/health/ready").status_code == 200


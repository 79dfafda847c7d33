"""A real service over real HTTP for the tests, on SQLite or on the PostgreSQL named by DATABASE_URL,
with a simulated clock that tests move; and how it is put back to empty between tests."""
from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from app.access import accounts
from app.clock import SimulatedClock
from app.context import Services
from app.deadlines.calendars import seed_if_empty
from app.main import create_app
from app.persistence.models import Base
from app.settings import Settings

CLOCK_START = datetime(2026, 9, 28, 1, 0, tzinfo=UTC)
# The administrator every test service is bootstrapped with; the test clients sign in as it.
ADMIN_AUTH = ("test-admin", "test-admin-password")
# On PostgreSQL the development key and anchor log would go to the project's data/: the tests give
# their own (on SQLite both are made beside the database, as in development). The key is the same in
# every run, since a test database keeps the anchors the last run left.
TEST_ANCHOR_KEY = Ed25519PrivateKey.from_private_bytes(
    hashlib.sha256(b"eco-orchestrator tests").digest()).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def database_url(tmp_dir: Path) -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_dir / 'service.sqlite3'}"


def anchor_overrides(url: str) -> dict[str, str]:
    """The test anchor key and a fresh anchor log on PostgreSQL; nothing on SQLite."""
    if url.startswith("sqlite"):
        return {}
    return {"anchor_signing_key": TEST_ANCHOR_KEY,
            "anchor_log": str(Path(tempfile.mkdtemp(prefix="eco-anchors-")) / "anchors.jsonl")}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RunningService:
    base_url: str
    services: Services
    clock: SimulatedClock
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_service(url: str, clock: SimulatedClock | None = None, **overrides) -> RunningService:
    clock = clock or SimulatedClock(CLOCK_START)
    overrides = {**anchor_overrides(url), **overrides}
    # Password hashes of the least cost: each test creates its administrator and accounts afresh and
    # signs them in (the default cost is tested in tests/api/test_signin.py).
    settings = Settings(database_url=url, clock="simulated",
                        **{"timer_worker": False, "bootstrap_admin": ":".join(ADMIN_AUTH), "password_hash_cost": 10,
                           **overrides})
    app = create_app(settings, clock)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the service did not start")
        time.sleep(0.01)
    return RunningService(f"http://127.0.0.1:{port}", app.state.services, clock, server, thread)


def reset(running: RunningService) -> None:
    """Empty every table and put the clock back to its start instant."""
    with running.services.db.write() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(text(f"DELETE FROM {table.name}"))
    if running.services.signer.log_path is not None:
        running.services.signer.log_path.write_text("", encoding="utf-8")  # the anchors are gone too
    seed_if_empty(running.services)
    accounts.ensure_administrator(running.services)
    running.clock.set(CLOCK_START)

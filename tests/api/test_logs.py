"""Log lines and request ids: every answer carries X-Request-ID (the client's when short and plain,
else a new one); with LOG_FORMAT=json each line is one JSON object naming the request, its route,
status, duration and actor, and the start says what it deployed and which timers fell due while the
service was stopped. A generated administrator password never reaches a JSON log."""
from __future__ import annotations

import json
import os
import re
import stat
from datetime import timedelta

import httpx
import pytest

from app.clock import SimulatedClock
from tests.support.bpmn_text import timer_wait
from tests.support.scratch import scratch_database
from tests.support.service import CLOCK_START, start_service

NEW_ID = re.compile(r"[0-9a-f]{32}")

WAIT = timer_wait("logged_wait", "PT1H", activity_id="publicity")


@pytest.mark.parametrize("path", ["/health/live", "/engine-rest/task/no-such-task", "/no/such/path"])
def test_an_offered_request_id_is_echoed_on_every_answer(service, client, path):
    answer = client.get(path.removeprefix("/engine-rest") if path.startswith("/engine-rest") else
                        f"{service.base_url}{path}", headers={"X-Request-ID": "gw-7f3a.2026:01_x"})
    assert answer.headers["x-request-id"] == "gw-7f3a.2026:01_x"


def test_a_request_without_an_acceptable_id_gets_a_new_one(service):
    with httpx.Client(base_url=service.base_url) as anonymous:
        plain = anonymous.get("/health/live")
        assert NEW_ID.fullmatch(plain.headers["x-request-id"])
        assert anonymous.get("/health/live").headers["x-request-id"] != plain.headers["x-request-id"]
        for refused in ("x" * 129, "two words", "id\"<script>", "请求-1", ""):
            answer = anonymous.get("/health/live", headers={"X-Request-ID": refused.encode()})
            assert NEW_ID.fullmatch(answer.headers["x-request-id"]), refused
        # Refusals made before any route, and sign-in refusals, carry one too.
        unauthenticated = anonymous.get("/engine-rest/task")
        assert unauthenticated.status_code == 401 and NEW_ID.fullmatch(unauthenticated.headers["x-request-id"])
        too_large = anonymous.post("/engine-rest/task", content=b"x" * (service.services.settings.max_request_bytes + 1),
                                   headers={"X-Request-ID": "big-1", "Content-Type": "application/json"})
        assert too_large.status_code == 413 and too_large.headers["x-request-id"] == "big-1"
        assert len(too_large.headers.get_list("x-request-id")) == 1


def json_lines(captured: str) -> list[dict]:
    """The JSON lines written to stderr, each one whole object (the tests' other services, sharing this
    process, may write plain lines beside them)."""
    parsed = [json.loads(line) for line in captured.splitlines() if line.startswith("{")]
    assert parsed and all(isinstance(line, dict) for line in parsed)
    return parsed


def test_a_json_log_start_and_requests(tmp_path, capfd):
    deployed = tmp_path / "bpmn"
    deployed.mkdir()
    (deployed / "logged_wait.bpmn").write_bytes(WAIT)
    password_file = tmp_path / "admin-password"
    settings = {"log_format": "json", "bootstrap_admin": "", "admin_password_file": str(password_file),
                "deploy_on_start": str(deployed)}
    with scratch_database(tmp_path) as url:
        first = start_service(url, **settings)
        try:
            user, _, password = password_file.read_text(encoding="utf-8").strip().partition(":")
            assert user == "admin" and len(password) >= 20
            assert stat.S_IMODE(os.stat(password_file).st_mode) == 0o600
            with httpx.Client(base_url=first.base_url, auth=(user, password)) as admin:
                missing = admin.get("/engine-rest/task/no-such-task", headers={"X-Request-ID": "trace-42"})
                assert missing.status_code == 404
                admin.post("/engine-rest/process-definition/key/logged_wait/start",
                           json={"businessKey": "EIA-2026-7"}).raise_for_status()
        finally:
            first.stop()
            first.services.db.dispose()
        first_output = capfd.readouterr().err
        started = json_lines(first_output)

        # A second start, two hours later: the file is unchanged, and the timer fell due meanwhile.
        second = start_service(url, clock=SimulatedClock(CLOCK_START + timedelta(hours=2)), **settings)
        try:
            with httpx.Client(base_url=second.base_url, auth=(user, password)) as admin:
                admin.post("/api/clock", json={"advance": "PT0S"}).raise_for_status()
        finally:
            second.stop()
            second.services.db.dispose()
        second_output = capfd.readouterr().err
        restarted = json_lines(second_output)

    assert password not in first_output and password not in second_output
    assert all({"time", "level", "logger", "message"} <= set(line) for line in started + restarted)

    [request] = [line for line in started if line.get("request_id") == "trace-42"]
    assert request["logger"] == "app.http" and request["level"] == "INFO"
    assert request["route"] == "/engine-rest/task/{task_id}" and request["status"] == 404
    assert request["actor"] == "admin" and request["method"] == "GET"
    assert isinstance(request["duration_ms"], float | int) and request["duration_ms"] >= 0
    assert "no-such-task" in request["message"] or request["message"] == "GET /engine-rest/task/{task_id} 404"
    [created] = [line for line in started if "No administrator existed" in line["message"]]
    assert str(password_file) in created["message"] and created["level"] == "WARNING"
    assert any(line["message"].startswith("deployed procedure logged_wait version 1") for line in started)

    assert any(line["message"].startswith("logged_wait unchanged, not deployed again") for line in restarted)
    assert any(line["message"].startswith("1 timers fell due while the service was stopped") for line in restarted)
    [fired] = [line for line in restarted if line["message"].startswith("timer publicity fired")]
    assert fired["business_key"] == "EIA-2026-7" and fired["instance_id"]
    assert "3600.0 s late" in fired["message"]
    [clock_call] = [line for line in restarted if line.get("route") == "/api/clock"]
    # The timer fired inside that request: its line names the request.
    assert fired["request_id"] == clock_call["request_id"]


def test_without_a_file_a_json_log_does_not_show_the_generated_password(tmp_path, capfd):
    with scratch_database(tmp_path) as url:
        running = start_service(url, log_format="json", bootstrap_admin="")
        running.stop()
        running.services.db.dispose()
    lines = json_lines(capfd.readouterr().err)
    [created] = [line for line in lines if "No administrator existed" in line["message"]]
    assert "not shown" in created["message"] and "ADMIN_PASSWORD_FILE" in created["message"]


def test_plain_text_is_the_default(service, client, capfd):
    client.get("/task/no-such-task", headers={"X-Request-ID": "plain-1"})
    captured = capfd.readouterr().err
    assert "plain-1" not in captured  # no JSON request lines in plain mode: uvicorn's access log serves

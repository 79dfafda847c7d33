"""The HTTP layer: a JSON body is parsed once, by the strict reader, and the route gets that value;
the work with the database runs in the thread pool, never on the event loop; answers keep Chinese
text as UTF-8; each router turns away at once the paths it does not serve, also under a proxy's
root path."""
from __future__ import annotations

import asyncio
import json
import threading

import httpx
import pytest
import starlette.requests

from app.access import accounts
from app.cases import tasks
from app.rest.routing import ServiceRouter
from tests.support.http import deploy
from tests.support.paths import FIXTURES
from tests.support.service import ADMIN_AUTH


def test_a_json_body_is_parsed_once_by_the_strict_reader_and_reaches_the_route(client, monkeypatch):
    deploy(client, FIXTURES / "ten_step.bpmn")

    def second_parse(_text, *_args, **_options):
        raise AssertionError("the body was parsed a second time")

    # Starlette's Request.json() is what FastAPI parses a body with.
    monkeypatch.setattr(starlette.requests, "json", type("NoJson", (), {"loads": staticmethod(second_parse)}))
    body = {"businessKey": "审查-1", "variables": {"approved": {"value": True, "type": "Boolean"},
                                                  "opinion": {"value": "同意，请办理", "type": "String"},
                                                  "score": {"value": 1234567890123, "type": "Long"},
                                                  "ratio": {"value": 0.25, "type": "Double"}}}
    started = client.post("/process-definition/key/ten_step/start", json=body)
    assert started.status_code == 200, started.text
    monkeypatch.undo()
    variables = client.get(f"/process-instance/{started.json()['id']}/variables").json()
    assert {name: variables[name]["value"] for name in body["variables"]} == {
        "approved": True, "opinion": "同意，请办理", "score": 1234567890123, "ratio": 0.25}
    assert client.get("/process-instance", params={"businessKey": "审查-1"}).json()[0]["id"] == started.json()["id"]


def test_what_the_strict_reader_refuses_is_refused_as_before(client):
    for text, message in ((b'{"variables": {"x": {"value": NaN}}}', "NaN is not a number that can be stored"),
                          (b'{"x": "\\ud800"}', "lone surrogate"),
                          (b'{"x": ' + b"1" * 41 + b"}", "more than 40 digits"),
                          (b"[" * 40 + b"]" * 40, "nested deeper than 36 levels"),
                          (b"{bad", "The body is not valid JSON")):
        refused = client.post("/task/any/complete", content=text, headers={"content-type": "application/json"})
        assert refused.status_code == 400 and refused.json()["type"] == "InvalidRequestException"
        assert message in refused.json()["message"], refused.text
    # A blank body is FastAPI's to answer, as it was; a body that is not an object is refused by the route.
    blank = client.post("/task/any/complete", content=b"  ", headers={"content-type": "application/json"})
    assert blank.status_code == 400 and "JSON decode error" in blank.json()["message"]
    listed = client.post("/task/any/complete", content=b"[1]", headers={"content-type": "application/json"})
    assert listed.status_code == 400 and listed.json()["message"] == "Input should be a valid dictionary"


def test_the_work_with_the_database_runs_off_the_event_loop(client, monkeypatch):
    deploy(client, FIXTURES / "ten_step.bpmn")
    instance = client.post("/process-definition/key/ten_step/start", json={}).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    where: dict[str, str] = {}

    def recorded(name, function):
        def call(*args, **options):
            try:
                asyncio.get_running_loop()
                where[name] = "event loop"
            except RuntimeError:
                where[name] = "thread pool" if threading.current_thread() is not threading.main_thread() else "?"
            return function(*args, **options)
        return call

    monkeypatch.setattr(accounts, "principal_of", recorded("sign-in", accounts.principal_of))
    monkeypatch.setattr(tasks, "complete", recorded("complete", tasks.complete))
    assert client.post(f"/task/{task['id']}/complete", json={}).status_code == 204
    assert where == {"sign-in": "thread pool", "complete": "thread pool"}


def test_answers_keep_chinese_text_as_utf8(client):
    deploy(client, FIXTURES / "ten_step.bpmn")
    answer = client.get("/process-definition/key/ten_step")
    assert answer.headers["content-type"] == "application/json"
    assert "十步审查".encode() in answer.content and b"\\u" not in answer.content
    assert json.loads(answer.content)["name"] == "十步审查"


def test_routes_are_found_under_a_proxy_root_path_and_unknown_paths_are_not(service):
    app = service.server.config.app

    async def ask() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, root_path="/orchestrator")
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy", auth=ADMIN_AUTH) as proxied:
            return [await proxied.get(path) for path in ("/orchestrator/engine-rest/task", "/orchestrator/health",
                                                          "/orchestrator/engine-rest/taskx", "/orchestrator/api/nope")]

    tasks_listed, health, near_miss, unknown = asyncio.run(ask())
    assert tasks_listed.status_code == 200 and tasks_listed.json() == []
    assert health.json()["status"] == "UP"
    assert near_miss.status_code == unknown.status_code == 404


def test_a_service_router_is_included_without_a_prefix():
    with pytest.raises(ValueError, match="without a prefix"):
        ServiceRouter().include_router(ServiceRouter(prefix="/x"), prefix="/y")


def test_an_unexpected_error_answers_500_plainly_and_the_connection_goes_on(client, monkeypatch, caplog):
    """Its cause goes to the log only; the client's kept-alive connection serves its next request."""
    from app.cases import listing

    def broken(*_args, **_kwargs):
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(listing, "number_of", broken)
    answer = client.get("/deployment/count", headers={"X-Request-ID": "req-500"})
    assert answer.status_code == 500
    assert answer.json() == {"type": "ProcessEngineException", "message": "Internal error; nothing was saved",
                             "code": 500}
    assert answer.headers["X-Request-ID"] == "req-500" and "secret" not in answer.text
    assert any("secret detail" in (record.exc_text or "") or record.exc_info for record in caplog.records)
    monkeypatch.undo()
    again = client.get("/deployment/count")  # the same kept-alive connection
    assert again.status_code == 200 and again.json() == {"count": 0}

"""Calls of the Camunda REST API that several test modules make over real HTTP."""
from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.bpmn_text import process
from tests.support.service import RunningService


def deploy(client: httpx.Client, *paths: Path, name: str = "test", **fields) -> dict:
    files = [("data", (path.name, path.read_bytes(), "application/octet-stream")) for path in paths]
    data = {"deployment-name": name, **fields}
    response = client.post("/deployment/create", data=data, files=files)
    assert response.status_code == 200, response.text
    return response.json()


def deploy_bytes(client, name: str, content: bytes):
    return client.post("/deployment/create", files=[("data", (name, content, "application/xml"))])


def refusal(client, body: str) -> dict:
    """Deploy a one-process file around `body` that must be refused: the ParseException's body."""
    response = deploy_bytes(client, "refused.bpmn", process("refused", body))
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "ParseException"
    return response.json()


def start(client, key: str, business_key: str | None = None, **variables) -> httpx.Response:
    body = {"variables": {name: {"value": value} for name, value in variables.items()}}
    if business_key:
        body["businessKey"] = business_key
    return client.post(f"/process-definition/key/{key}/start", json=body)


def complete(client, instance_id: str, **variables) -> httpx.Response:
    """Complete the instance's only open task; lists and maps go as Json."""
    [task] = client.get("/task", params={"processInstanceId": instance_id}).json()
    return client.post(f"/task/{task['id']}/complete",
                       json={"variables": {name: {"value": value, "type": "Json" if isinstance(value, (list, dict))
                                                  else None} for name, value in variables.items()}})


def as_user(service: RunningService, user: str | None) -> httpx.Client:
    """A client signed in as `user` (password `<user>-password`), or anonymous for None."""
    auth = (user, f"{user}-password") if user else None
    return httpx.Client(base_url=f"{service.base_url}/engine-rest", auth=auth, timeout=30)


def listed(client, path: str, method: str = "GET", **criteria) -> list[dict]:
    """The rows a Camunda list query answers (its criteria in the query string, or in a POST body),
    checked against what its /count answers for the same criteria."""
    if method == "GET":
        answer, counted = client.get(path, params=criteria), client.get(f"{path}/count", params=criteria)
    else:
        answer, counted = client.post(path, json=criteria), client.post(f"{path}/count", json=criteria)
    assert answer.status_code == 200, answer.text
    assert counted.json() == {"count": len(answer.json())}, counted.text
    return answer.json()

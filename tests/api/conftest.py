"""Fixtures shared by several API test modules."""
from __future__ import annotations

import pytest

from tests.support.http import deploy
from tests.support.paths import FIXTURES


@pytest.fixture
def cases(client, root):
    """Two completed eco_review cases (the history chain and tamper tests)."""
    deploy(client, FIXTURES / "eco_review.bpmn")
    ids = []
    for number in (1, 2):
        body = {"businessKey": f"EIP-{number}", "variables": {"park_name": {"value": f"园区{number}"},
                                                              "province": {"value": "zj"},
                                                              "applicant": {"value": "park-office"}}}
        instance = client.post("/process-definition/key/eco_review/start", json=body).json()["id"]
        [task] = client.get("/task", params={"processInstanceId": instance}).json()
        client.post(f"/task/{task['id']}/complete", json={"variables": {
            "decision": {"value": "approve"}, "opinion": {"value": "符合条件"}, "score": {"value": 90}}}
                    ).raise_for_status()
        ids.append(instance)
    return ids

"""The process the real Camunda 7 client libraries drive (tests/clients): an eco-industrial park
application reviewed by the MEE science and technology department (mee-sti), its notice published by
an external worker (a site outage, SITE_DOWN, sends it to manual publishing), then waiting for the
objection window to close (message) and for the park list to be published (signal)."""
from __future__ import annotations

import httpx

from tests.support.paths import FIXTURES

BPMN = FIXTURES / "clients" / "review_and_notify.bpmn"
PROCESS_KEY = "eco_park_application"
TOPIC = "publish-notice"
MESSAGE = "objection_window_closed"
SIGNAL = "eco_park_list_published"


def waiting_at(client: httpx.Client, instance_id: str) -> set[str]:
    """Where the instance's tokens stand (none of the clients lists activity instances this way)."""
    response = client.get("/history/activity-instance", params={"processInstanceId": instance_id,
                                                                 "unfinished": "true"})
    assert response.status_code == 200, response.text
    return {activity["activityId"] for activity in response.json()}

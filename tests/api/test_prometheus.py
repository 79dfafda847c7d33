"""GET /metrics in Prometheus' text format: closed unless a token (or METRICS_OPEN) is set, counting
requests by route template, steps, timers, sign-ins and verifications where they happen, and reading
open work (tasks by candidate group, backlogs, incidents) from the database at each scrape."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.bpmn_text import process, timer_wait
from tests.support.paths import ROOT
from tests.support.scratch import scratch_database
from tests.support.service import ADMIN_AUTH, reset, start_service

TOKEN = "scrape-token-for-the-tests"

REVIEW = process("metered_review", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review" name="审查" camunda:candidateGroups="cn-sepa"
                 camunda:dueDate="2026-09-30T09:00:00+08:00" />
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="publish" />
  <bpmn:serviceTask id="publish" camunda:type="external" camunda:topic="publish-notice" />
  <bpmn:sequenceFlow id="f3" sourceRef="publish" targetRef="wait" />
  <bpmn:intermediateCatchEvent id="wait">
    <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f4" sourceRef="wait" targetRef="end" /><bpmn:endEvent id="end" />""")


@pytest.fixture(scope="module")
def metered(tmp_path_factory):
    """A service whose /metrics answers the token."""
    with scratch_database(tmp_path_factory.mktemp("metrics")) as url:
        running = start_service(url, metrics_token=TOKEN)
        try:
            yield running
        finally:
            running.stop()
            running.services.db.dispose()


@pytest.fixture
def admin(metered):
    with httpx.Client(base_url=metered.base_url, auth=ADMIN_AUTH, timeout=30) as http:
        yield http
    reset(metered)


def scrape(service) -> dict[str, float]:
    """Every sample of a scrape, by its name and labels: `name{label="value",...}`."""
    answer = httpx.get(f"{service.base_url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def test_metrics_are_closed_by_default_and_need_the_token(service, metered):
    closed = httpx.get(f"{service.base_url}/metrics")
    assert closed.status_code == 404 and "METRICS_TOKEN" in closed.json()["message"]
    # Signing in as an administrator does not open them either: the scraper's token does.
    assert httpx.get(f"{service.base_url}/metrics", auth=ADMIN_AUTH).status_code == 404
    assert httpx.get(f"{metered.base_url}/metrics").status_code == 401
    wrong = httpx.get(f"{metered.base_url}/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401 and wrong.json()["type"] == "AuthenticationException"
    assert httpx.get(f"{metered.base_url}/metrics", auth=ADMIN_AUTH).status_code == 401
    # Camunda's own metrics resource stays where it is, under /engine-rest.
    camunda = httpx.get(f"{metered.base_url}/engine-rest/metrics/activity-instance-start/sum", auth=ADMIN_AUTH)
    assert camunda.status_code == 200 and "result" in camunda.json()


def test_metrics_open_to_everybody_when_asked(tmp_path):
    with scratch_database(tmp_path) as url:
        running = start_service(url, metrics_open=True)
        try:
            answer = httpx.get(f"{running.base_url}/metrics")
            assert answer.status_code == 200
            assert "eco_user_tasks_open 0.0" in answer.text
        finally:
            running.stop()
            running.services.db.dispose()


def test_requests_are_counted_by_route_template_never_by_raw_path(metered, admin):
    before = scrape(metered)
    key = 'eco_http_requests_total{method="GET",route="/engine-rest/task/{task_id}",status="404"}'
    for task_id in ("no-such-task", "another-missing-task"):
        assert admin.get(f"/engine-rest/task/{task_id}").status_code == 404
    assert admin.get("/no/such/path/at/all").status_code == 404
    after = scrape(metered)
    assert after[key] - before.get(key, 0) == 2
    unmatched = 'eco_http_requests_total{method="GET",route="unmatched",status="404"}'
    assert after[unmatched] - before.get(unmatched, 0) == 1
    assert not any("no-such-task" in name or "/no/such" in name for name in after)
    timed = 'eco_http_request_duration_seconds_count{method="GET",route="/engine-rest/task/{task_id}",status="404"}'
    assert after[timed] - before.get(timed, 0) == 2


def test_open_work_moves_as_tasks_open_and_complete(metered, admin):
    deployed = admin.post("/engine-rest/deployment/create", files=[("data", ("metered.bpmn", REVIEW, "text/xml"))])
    assert deployed.status_code == 200, deployed.text
    before = scrape(metered)
    assert before["eco_user_tasks_open"] == 0
    started = admin.post("/engine-rest/process-definition/key/metered_review/start",
                         json={"businessKey": "EIA-1"})
    assert started.status_code == 200, started.text
    instance = started.json()["id"]
    opened = scrape(metered)
    assert opened["eco_user_tasks_open"] == 1
    assert opened['eco_user_tasks_open_by_group{candidate_group="cn-sepa"}'] == 1
    assert opened['eco_user_tasks_overdue_by_group{candidate_group="cn-sepa"}'] == 0
    assert opened["eco_process_instances_active"] == 1
    steps = 'eco_engine_step_duration_seconds_count{kind="start"}'
    assert opened[steps] - before.get(steps, 0) == 1

    metered.clock.advance(timedelta(days=3))  # the injected clock: the task is now past its due date
    late = scrape(metered)
    assert late["eco_user_tasks_overdue"] == 1
    assert late['eco_user_tasks_overdue_by_group{candidate_group="cn-sepa"}'] == 1

    [task] = admin.get("/engine-rest/task", params={"processInstanceId": instance}).json()
    assert admin.post(f"/engine-rest/task/{task['id']}/complete", json={}).status_code == 204
    done = scrape(metered)
    assert done["eco_user_tasks_open"] == 0 and done["eco_user_tasks_overdue"] == 0
    assert 'eco_user_tasks_open_by_group{candidate_group="cn-sepa"}' not in done
    continued = 'eco_engine_step_duration_seconds_count{kind="continue"}'
    assert done[continued] - late.get(continued, 0) == 1
    assert done['eco_external_tasks_backlog{topic="publish-notice"}'] == 1

    # The worker fails it without retries: an incident opens and the backlog empties.
    [locked] = admin.post("/engine-rest/external-task/fetchAndLock", json={
        "workerId": "w1", "maxTasks": 1, "topics": [{"topicName": "publish-notice", "lockDuration": 60000}]}).json()
    assert 'eco_external_tasks_backlog{topic="publish-notice"}' not in scrape(metered)
    assert admin.post(f"/engine-rest/external-task/{locked['id']}/failure", json={
        "workerId": "w1", "errorMessage": "the notice board is down", "retries": 0, "retryTimeout": 0}
                      ).status_code == 204
    failed = scrape(metered)
    assert failed['eco_incidents_open{incident_type="failedExternalTask"}'] == 1
    assert admin.put(f"/engine-rest/external-task/{locked['id']}/retries", json={"retries": 1}).status_code == 204
    retried = scrape(metered)
    assert 'eco_incidents_open{incident_type="failedExternalTask"}' not in retried
    assert retried['eco_external_tasks_backlog{topic="publish-notice"}'] == 1


def test_timer_backlog_and_firing_lag(metered, admin):
    wait = timer_wait("metered_wait", "PT1H")
    admin.post("/engine-rest/deployment/create", files=[("data", ("wait.bpmn", wait, "text/xml"))]).raise_for_status()
    admin.post("/engine-rest/process-definition/key/metered_wait/start", json={}).raise_for_status()
    before = scrape(metered)
    assert before["eco_timers_due"] == 0 and before["eco_timers_oldest_due_age_seconds"] == 0
    # The clock moves past the due instant with no worker running (TIMER_WORKER=false): a backlog.
    metered.clock.advance(timedelta(hours=1, minutes=30))
    behind = scrape(metered)
    assert behind["eco_timers_due"] == 1
    assert behind["eco_timers_oldest_due_age_seconds"] == 1800
    # Firing it now (POST /api/clock fires what is due): half an hour late.
    assert admin.post("/api/clock", json={"advance": "PT0S"}).status_code == 200
    fired = scrape(metered)
    assert fired["eco_timers_due"] == 0
    assert fired["eco_timers_fired_total"] - before.get("eco_timers_fired_total", 0) == 1
    assert fired["eco_timer_firing_lag_seconds_count"] - before["eco_timer_firing_lag_seconds_count"] == 1
    assert fired["eco_timer_firing_lag_seconds_sum"] - before["eco_timer_firing_lag_seconds_sum"] == 1800
    bucket = 'eco_timer_firing_lag_seconds_bucket{le="900.0"}'
    assert fired[bucket] - before[bucket] == 0  # later than a quarter of an hour


def test_signin_failures_and_throttling_are_counted(metered, admin):
    before = scrape(metered)
    for _ in range(metered.services.settings.signin_throttle_failures):
        assert httpx.get(f"{metered.base_url}/engine-rest/task", auth=("test-admin", "wrong-password")
                         ).status_code == 401
    throttled = httpx.get(f"{metered.base_url}/engine-rest/task", auth=("test-admin", "wrong-password"))
    assert throttled.status_code == 429
    after = scrape(metered)
    failures = after["eco_signin_failures_total"] - before.get("eco_signin_failures_total", 0)
    assert failures >= metered.services.settings.signin_throttle_failures
    assert after["eco_signin_throttled_total"] - before.get("eco_signin_throttled_total", 0) == 1


def test_history_verification_result_and_age(metered, admin):
    assert admin.get("/api/history/verify").json()["intact"] is True
    verified = scrape(metered)
    assert verified["eco_history_verification_intact"] == 1
    assert verified["eco_history_verification_timestamp_seconds"] == metered.clock.now().timestamp()
    assert verified["eco_history_verification_age_seconds"] == 0
    metered.clock.advance(timedelta(hours=6))
    assert scrape(metered)["eco_history_verification_age_seconds"] == 6 * 3600


def test_the_grafana_dashboard_shows_only_metrics_that_exist(metered, admin):
    admin.get("/api/history/verify").raise_for_status()  # the verification's result is shown once there is one
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text(encoding="utf-8"))
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert len(expressions) >= 10
    shown = {name for expression in expressions for name in re.findall(r"\beco_[a-z_]+", expression)}
    answer = httpx.get(f"{metered.base_url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    families = [family for family in text_string_to_metric_families(answer.text) if family.name.startswith("eco_")]
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    exposed = {family.name + suffix for family in families for suffix in ("", *suffixes.get(family.type, ()))}
    missing = shown - exposed
    assert not missing, f"the dashboard shows metrics the service does not expose: {sorted(missing)}"
    # And every family the service exposes is on the dashboard.
    unshown = {family.name for family in families
               if not any(name == family.name or name.startswith(family.name + "_") for name in shown)}
    assert not unshown, f"metrics missing from the dashboard: {sorted(unshown)}"


def test_the_workers_of_a_host_answer_one_sum(tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR, what two worker processes counted is summed by a third."""
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = ("from app.telemetry import metrics; metrics.SIGNIN_FAILURES.inc({n}); "
             "metrics.HTTP_REQUESTS.labels('GET', '/health/live', '200').inc(); metrics.verified(True, {at})")
    for n, at in ((2, 1_790_000_000), (3, 1_790_000_600)):
        subprocess.run([sys.executable, "-c", count.format(n=n, at=at)], env=environment, check=True, cwd=ROOT)
    read = ("import json; from app.rest.prometheus import counted_metrics; "
            "print(json.dumps({s.name + str(sorted(s.labels.items())): s.value "
            "for m in counted_metrics() for s in m.samples}))")
    samples = json.loads(subprocess.run([sys.executable, "-c", read], env=environment, check=True, cwd=ROOT,
                                        capture_output=True, text=True).stdout)
    assert samples["eco_signin_failures_total[]"] == 5
    assert samples["eco_http_requests_total[('method', 'GET'), ('route', '/health/live'), ('status', '200')]"] == 2
    assert samples["eco_history_verification_timestamp_seconds[]"] == 1_790_000_600

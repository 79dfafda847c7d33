"""Operators' commands on timers as Camunda's jobs: move, recalculate, execute, suspend, prioritise,
delete; each over REST as Camunda's clients send it, seen in what the case then does on the clock."""
from __future__ import annotations

import httpx

from app.access import accounts
from tests.support.bpmn_text import process
from tests.support.http import as_user, deploy_bytes
from tests.support.service import ADMIN_AUTH, database_url, start_service

# Publicity of fifteen days, then a review whose boundary timers chase it daily (three times) and
# end it after thirty days.
CASE = process("job_case", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="publicity" />
  <bpmn:intermediateCatchEvent id="publicity" name="公示十五天">
    <bpmn:timerEventDefinition><bpmn:timeDuration>P15D</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f2" sourceRef="publicity" targetRef="review" />
  <bpmn:userTask id="review" name="审查" /><bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />
  <bpmn:boundaryEvent id="chase" attachedToRef="review" cancelActivity="false">
    <bpmn:timerEventDefinition><bpmn:timeCycle>R3/P1D</bpmn:timeCycle></bpmn:timerEventDefinition>
  </bpmn:boundaryEvent>
  <bpmn:sequenceFlow id="f4" sourceRef="chase" targetRef="chased" /><bpmn:endEvent id="chased" />
  <bpmn:boundaryEvent id="lapse" attachedToRef="review">
    <bpmn:timerEventDefinition><bpmn:timeDuration>P30D</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:boundaryEvent>
  <bpmn:sequenceFlow id="f5" sourceRef="lapse" targetRef="lapsed" /><bpmn:endEvent id="lapsed" />
  <bpmn:endEvent id="end" />""")

YEARLY = process("job_yearly", """
  <bpmn:startEvent id="yearly_start">
    <bpmn:timerEventDefinition><bpmn:timeCycle>R/2027-01-01T09:00:00+08:00/P1Y</bpmn:timeCycle></bpmn:timerEventDefinition>
  </bpmn:startEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="yearly_start" targetRef="report" />
  <bpmn:userTask id="report" /><bpmn:sequenceFlow id="f2" sourceRef="report" targetRef="end" />
  <bpmn:endEvent id="end" />""")


def start_case(client) -> str:
    deploy_bytes(client, "job_case.bpmn", CASE).raise_for_status()
    return client.post("/process-definition/key/job_case/start", json={}).json()["id"]


def job_at(client, instance: str, activity: str) -> dict:
    [job] = [job for job in client.get("/job", params={"processInstanceId": instance}).json()
             if job["jobDefinitionId"].endswith(f"#{activity}")]
    return job


def activities(client, instance: str) -> list[str]:
    return [step["activityId"] for step in client.get("/history/activity-instance", params={
        "processInstanceId": instance, "sortBy": "startTime", "sortOrder": "asc"}).json()]


def open_tasks(client, instance: str) -> list[str]:
    return [task["taskDefinitionKey"] for task in client.get("/task", params={"processInstanceId": instance}).json()]


def timeline(root, instance: str, kind: str) -> list[dict]:
    return [entry for entry in root.get(f"/api/process-instances/{instance}/timeline").json() if entry["kind"] == kind]


def reproduced(root, instance: str) -> None:
    answer = root.get(f"/api/process-instances/{instance}/replay").json()
    assert answer["reproduced"] is True, answer


def test_a_moved_timer_fires_at_its_new_due_date_and_the_case_records_who_moved_it(client, root):
    instance = start_case(client)
    job = job_at(client, instance, "publicity")
    assert job["dueDate"] == "2026-10-13T09:00:00.000+0800"
    moved = client.put(f"/job/{job['id']}/duedate", json={"duedate": "2026-10-03T09:00:00.000+0800"})
    assert moved.status_code == 204
    assert client.get(f"/job/{job['id']}").json()["dueDate"] == "2026-10-03T09:00:00.000+0800"
    [entry] = timeline(root, instance, "job.dueDateSet")
    assert entry["who"] == "test-admin" and "2026-10-13" in entry["what"] and "2026-10-03" in entry["what"]
    root.post("/api/clock", json={"advance": "P4D"}).raise_for_status()
    assert open_tasks(client, instance) == []
    root.post("/api/clock", json={"advance": "P1D"}).raise_for_status()
    assert open_tasks(client, instance) == ["review"]
    reproduced(root, instance)


def test_due_dates_are_refused_when_bad_and_unknown_jobs_are_not_found(client):
    instance = start_case(client)
    job = job_at(client, instance, "publicity")
    for body in ({}, {"duedate": "next week"}, {"duedate": 20261003}, {"duedate": "2026-10-03T09:00:00+08:00",
                                                                       "cascade": "perhaps"}):
        refused = client.put(f"/job/{job['id']}/duedate", json=body)
        assert refused.status_code == 400 and refused.json()["type"] == "InvalidRequestException", body
    assert client.get(f"/job/{job['id']}").json()["dueDate"] == job["dueDate"]
    missing = client.put("/job/no-such-job/duedate", json={"duedate": "2026-10-03T09:00:00.000+0800"})
    assert missing.status_code == 404 and missing.json()["message"] == "Job with id no-such-job does not exist"
    for method, path in (("POST", "duedate/recalculate"), ("POST", "execute"), ("DELETE", "")):
        assert client.request(method, f"/job/no-such-job/{path}".rstrip("/")).status_code == 404, path
    assert client.put("/job/no-such-job/suspended", json={"suspended": True}).status_code == 404
    assert client.put("/job/no-such-job/priority", json={"priority": 5}).status_code == 404


def test_a_recalculated_due_date_counts_from_the_jobs_creation_or_from_now(client, root):
    instance = start_case(client)
    job = job_at(client, instance, "publicity")
    client.put(f"/job/{job['id']}/duedate", json={"duedate": "2026-12-01T09:00:00.000+0800"}).raise_for_status()
    root.post("/api/clock", json={"advance": "P2D"}).raise_for_status()
    assert client.post(f"/job/{job['id']}/duedate/recalculate").status_code == 204
    assert client.get(f"/job/{job['id']}").json()["dueDate"] == "2026-10-13T09:00:00.000+0800"
    assert client.post(f"/job/{job['id']}/duedate/recalculate",
                       params={"creationDateBased": "false"}).status_code == 204
    assert client.get(f"/job/{job['id']}").json()["dueDate"] == "2026-10-15T09:00:00.000+0800"
    assert client.post(f"/job/{job['id']}/duedate/recalculate",
                       params={"creationDateBased": "maybe"}).status_code == 400
    reproduced(root, instance)


def test_an_executed_timer_fires_now_without_the_clock_moving(client, root):
    instance = start_case(client)
    job = job_at(client, instance, "publicity")
    clock = root.get("/api/clock").json()["now"]
    assert client.post(f"/job/{job['id']}/execute").status_code == 204
    assert open_tasks(client, instance) == ["review"]
    assert root.get("/api/clock").json()["now"] == clock
    assert client.get(f"/job/{job['id']}").status_code == 404  # fired: the job is gone
    [fired] = timeline(root, instance, "job.executed")
    assert fired["who"] == "test-admin" and fired["activityId"] == "publicity"
    # The daily chase, executed at once, is its first firing: the next keeps to the schedule.
    chase = job_at(client, instance, "chase")
    assert chase["dueDate"] == "2026-09-29T09:00:00.000+0800"
    assert client.post(f"/job/{chase['id']}/execute").status_code == 204
    assert activities(client, instance).count("chased") == 1
    assert job_at(client, instance, "chase")["dueDate"] == "2026-09-30T09:00:00.000+0800"
    reproduced(root, instance)


def test_a_suspended_timer_does_not_fire_until_it_is_activated(client, root):
    instance = start_case(client)
    job = job_at(client, instance, "publicity")
    assert client.put(f"/job/{job['id']}/suspended", json={"suspended": True}).status_code == 204
    assert client.get(f"/job/{job['id']}").json()["suspended"] is True
    assert client.get("/job/count", params={"processInstanceId": instance}).json() == {"count": 1}
    root.post("/api/clock", json={"advance": "P20D"}).raise_for_status()
    assert open_tasks(client, instance) == []
    refused = client.post(f"/job/{job['id']}/execute")
    assert refused.status_code == 400 and "suspended" in refused.json()["message"]
    # Suspending and activating the case leaves the timer suspended on its own.
    client.put(f"/process-instance/{instance}/suspended", json={"suspended": True}).raise_for_status()
    client.put(f"/process-instance/{instance}/suspended", json={"suspended": False}).raise_for_status()
    root.post("/api/clock", json={"advance": "PT1M"}).raise_for_status()
    assert open_tasks(client, instance) == [] and client.get(f"/job/{job['id']}").json()["suspended"] is True
    assert client.put(f"/job/{job['id']}/suspended", json={"suspended": False}).status_code == 204
    assert client.get(f"/job/{job['id']}").json()["suspended"] is False
    root.post("/api/clock", json={"advance": "PT1M"}).raise_for_status()
    assert open_tasks(client, instance) == ["review"]
    assert [entry["kind"] for entry in root.get(f"/api/process-instances/{instance}/timeline").json()
            if entry["kind"].startswith("job.")] == ["job.suspended", "job.activated"]
    reproduced(root, instance)
    assert client.put(f"/job/{job['id']}/suspended", json={"suspended": True}).status_code == 404  # fired, gone
    chase = job_at(client, instance, "chase")
    assert client.put(f"/job/{chase['id']}/suspended", json={"suspended": "yes"}).status_code == 400
    assert client.put(f"/job/{chase['id']}/suspended", json={}).status_code == 400


def test_timers_are_suspended_together_by_definition_key_instance_or_job_definition(client, root):
    first, second = start_case(client), client.post("/process-definition/key/job_case/start", json={}).json()["id"]
    assert client.put("/job/suspended", json={"processDefinitionKey": "job_case", "suspended": True}).status_code == 204
    assert client.get("/job/count", params={"processDefinitionKey": "job_case"}).json() == {"count": 2}
    assert all(job["suspended"] for job in client.get("/job").json())
    assert client.put("/job/suspended", json={"processInstanceId": first, "suspended": False}).status_code == 204
    root.post("/api/clock", json={"advance": "P15D"}).raise_for_status()
    assert open_tasks(client, first) == ["review"] and open_tasks(client, second) == []
    definition_id = job_at(client, second, "publicity")["jobDefinitionId"]
    assert client.put("/job/suspended", json={"jobDefinitionId": definition_id, "suspended": False}
                      ).status_code == 204
    root.post("/api/clock", json={"advance": "PT1M"}).raise_for_status()
    assert open_tasks(client, second) == ["review"]
    for body in ({"suspended": True}, {"processInstanceId": first, "processDefinitionKey": "job_case",
                                       "suspended": True}, {"processInstanceId": first}):
        refused = client.put("/job/suspended", json=body)
        assert refused.status_code == 400 and refused.json()["type"] == "InvalidRequestException", body


def test_a_jobs_priority_is_stored_and_shown(client):
    instance = start_case(client)
    job = job_at(client, instance, "publicity")
    assert job["priority"] == 0
    assert client.put(f"/job/{job['id']}/priority", json={"priority": 2 ** 40}).status_code == 204
    assert client.get(f"/job/{job['id']}").json()["priority"] == 2 ** 40
    for body in ({}, {"priority": None}, {"priority": "high"}, {"priority": 1.5}, {"priority": 2 ** 63}):
        refused = client.put(f"/job/{job['id']}/priority", json=body)
        assert refused.status_code == 400 and refused.json()["type"] == "InvalidRequestException", body
    assert client.get(f"/job/{job['id']}").json()["priority"] == 2 ** 40


def test_a_boundary_timer_is_deleted_but_the_only_timer_a_case_waits_for_is_not(client, root):
    instance = start_case(client)
    publicity = job_at(client, instance, "publicity")
    refused = client.delete(f"/job/{publicity['id']}")
    assert refused.status_code == 400 and "process-instance modification" in refused.json()["message"]
    assert "Traceback" not in refused.text and client.get(f"/job/{publicity['id']}").status_code == 200
    client.post(f"/job/{publicity['id']}/execute").raise_for_status()
    lapse = job_at(client, instance, "lapse")
    assert client.delete(f"/job/{lapse['id']}").status_code == 204
    assert client.get(f"/job/{lapse['id']}").status_code == 404
    assert [job["jobDefinitionId"].split("#")[1] for job in client.get(
        "/job", params={"processInstanceId": instance}).json()] == ["chase"]
    # Forty days on, the review is still open: the deleted timer never came back to end it.
    root.post("/api/clock", json={"advance": "P40D"}).raise_for_status()
    assert open_tasks(client, instance) == ["review"]
    assert "lapsed" not in activities(client, instance) and activities(client, instance).count("chased") == 3
    [deleted] = timeline(root, instance, "job.deleted")
    assert deleted["activityId"] == "lapse" and deleted["who"] == "test-admin"
    reproduced(root, instance)
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    client.post(f"/task/{task['id']}/complete", json={}).raise_for_status()
    assert client.get(f"/history/process-instance/{instance}").json()["state"] == "COMPLETED"


def test_a_timer_start_events_job_is_moved_suspended_and_deleted_for_good(client, root):
    deploy_bytes(client, "job_yearly.bpmn", YEARLY).raise_for_status()
    [job] = client.get("/job", params={"processDefinitionKey": "job_yearly"}).json()
    assert job["dueDate"] == "2027-01-01T09:00:00.000+0800" and job["processInstanceId"] is None
    client.put(f"/job/{job['id']}/duedate", json={"duedate": "2026-10-02T09:00:00.000+0800"}).raise_for_status()
    client.put(f"/job/{job['id']}/suspended", json={"suspended": True}).raise_for_status()
    root.post("/api/clock", json={"advance": "P5D"}).raise_for_status()
    assert client.get("/process-instance/count", params={"processDefinitionKey": "job_yearly"}).json()["count"] == 0
    client.put(f"/job/{job['id']}/suspended", json={"suspended": False}).raise_for_status()
    root.post("/api/clock", json={"advance": "PT1M"}).raise_for_status()
    assert client.get("/process-instance/count", params={"processDefinitionKey": "job_yearly"}).json()["count"] == 1
    [job] = client.get("/job", params={"processDefinitionKey": "job_yearly"}).json()
    assert job["dueDate"] == "2027-10-02T09:00:00.000+0800"
    assert client.post(f"/job/{job['id']}/execute").status_code == 204
    assert client.get("/process-instance/count", params={"processDefinitionKey": "job_yearly"}).json()["count"] == 2
    [job] = client.get("/job", params={"processDefinitionKey": "job_yearly"}).json()
    assert client.delete(f"/job/{job['id']}").status_code == 204
    root.post("/api/clock", json={"advance": "P800D"}).raise_for_status()
    assert client.get("/job", params={"processDefinitionKey": "job_yearly"}).json() == []
    assert client.get("/process-instance/count", params={"processDefinitionKey": "job_yearly"}).json()["count"] == 2
    kinds = [event["kind"] for event in root.get("/api/history/admin-events").json()]
    assert {"job.dueDateSet", "job.suspended", "job.activated", "job.executed", "job.deleted"} <= set(kinds)


def test_timers_have_no_retries_and_no_stacktrace(client):
    instance = start_case(client)
    job = job_at(client, instance, "publicity")
    refused = client.put(f"/job/{job['id']}/retries", json={"retries": 3})
    assert refused.status_code == 400 and refused.json()["type"] == "BadUserRequestException"
    assert "retried at the timer worker's next round" in refused.json()["message"]
    assert client.put(f"/job/{job['id']}/retries", json={"retries": -1}).status_code == 400
    assert client.put(f"/job/{job['id']}/retries", json={}).status_code == 400
    assert client.put("/job/no-such-job/retries", json={"retries": 1}).status_code == 404
    trace = client.get(f"/job/{job['id']}/stacktrace")
    assert trace.status_code == 204 and trace.text == ""
    missing = client.get("/job/no-such-job/stacktrace")
    assert missing.status_code == 404 and missing.json()["message"] == "Job with id no-such-job does not exist"


def test_job_commands_are_for_operators_and_readers_see_only_their_cases(service, client):
    instance = start_case(client)
    job = job_at(client, instance, "publicity")
    accounts.save_account(service.services, "li", "li-password", ["xj-urumqi-env"])
    with as_user(service, "li") as official:
        denied = official.put(f"/job/{job['id']}/duedate", json={"duedate": "2026-10-03T09:00:00.000+0800"})
        assert denied.status_code == 403 and denied.json()["type"] == "AuthorizationException"
        assert official.post(f"/job/{job['id']}/execute").status_code == 403
        assert official.get(f"/job/{job['id']}/stacktrace").status_code == 404
    assert client.get(f"/job/{job['id']}").json()["dueDate"] == job["dueDate"]


def job_definition_url(job: dict) -> str:
    return f"/job-definition/{job['jobDefinitionId'].replace('#', '%23')}"


def test_a_suspended_job_definition_holds_its_jobs_until_it_is_activated(client, root):
    first, second = start_case(client), client.post("/process-definition/key/job_case/start", json={}).json()["id"]
    url = job_definition_url(job_at(client, first, "publicity"))
    assert client.put(f"{url}/suspended", json={"suspended": True, "includeJobs": True}).status_code == 204
    assert client.get(url).json()["suspended"] is True
    assert [job["suspended"] for job in client.get("/job", params={"activityId": "publicity"}).json()] == [True, True]
    root.post("/api/clock", json={"advance": "P16D"}).raise_for_status()
    assert open_tasks(client, first) == [] and open_tasks(client, second) == []
    assert client.put(f"{url}/suspended", json={"suspended": False, "includeJobs": True}).status_code == 204
    root.post("/api/clock", json={"advance": "PT1M"}).raise_for_status()
    assert open_tasks(client, first) == ["review"] and open_tasks(client, second) == ["review"]
    assert client.get(url).json()["suspended"] is False
    reproduced(root, first)
    # By key: every timer event's definition of every version.
    assert client.put("/job-definition/suspended", json={"processDefinitionKey": "job_case", "suspended": True,
                                                          "includeJobs": True}).status_code == 204
    assert client.get("/job-definition/count", params={"processDefinitionKey": "job_case",
                                                       "suspended": "true"}).json() == {"count": 3}
    assert all(job["suspended"] for job in client.get("/job", params={"processInstanceId": first}).json())


def test_job_definition_suspensions_are_refused_where_the_service_cannot_keep_them(client):
    url = job_definition_url(job_at(client, start_case(client), "publicity"))
    for body in ({"suspended": True}, {"suspended": True, "includeJobs": True,
                                       "executionDate": "2026-12-01T00:00:00.000+0800"}, {"includeJobs": True}):
        refused = client.put(f"{url}/suspended", json=body)
        assert refused.status_code == 400 and refused.json()["type"] == "InvalidRequestException", body
    assert client.get(url).json()["suspended"] is False
    assert client.put("/job-definition/no%23such/suspended", json={"suspended": True, "includeJobs": True}
                      ).status_code == 404
    refused = client.put("/job-definition/suspended", json={"processDefinitionKey": "job_case",
                                                            "processDefinitionId": "x", "suspended": True})
    assert refused.status_code == 400 and refused.json()["message"].startswith("Only one of jobDefinitionId")
    # Activating the definition alone leaves its jobs as they are, as Camunda does.
    client.put(f"{url}/suspended", json={"suspended": True, "includeJobs": True}).raise_for_status()
    assert client.put(f"{url}/suspended", json={"suspended": False}).status_code == 204
    assert client.get(url).json()["suspended"] is False
    assert client.get("/job", params={"activityId": "publicity"}).json()[0]["suspended"] is True


def test_a_job_definitions_overriding_priority_is_shown_and_set_on_its_jobs(client):
    instance = start_case(client)
    job = job_at(client, instance, "publicity")
    url = job_definition_url(job)
    assert client.put(f"{url}/jobPriority", json={"priority": 7, "includeJobs": True}).status_code == 204
    assert client.get(url).json()["overridingJobPriority"] == 7
    assert client.get(f"/job/{job['id']}").json()["priority"] == 7
    for body in ({"priority": None, "includeJobs": True}, {"priority": "urgent"}, {"priority": 7, "includeJobs": "x"}):
        refused = client.put(f"{url}/jobPriority", json=body)
        assert refused.status_code == 400 and refused.json()["type"] == "InvalidRequestException", body
    assert client.put(f"{url}/jobPriority", json={"priority": None}).status_code == 204
    assert client.get(url).json()["overridingJobPriority"] is None
    assert client.get(f"/job/{job['id']}").json()["priority"] == 7
    assert client.put("/job-definition/no%23such/jobPriority", json={"priority": 1}).status_code == 404
    refused = client.put(f"{url}/retries", json={"retries": 2})
    assert refused.status_code == 400 and refused.json()["type"] == "BadUserRequestException"
    assert client.put("/job-definition/no%23such/retries", json={"retries": 2}).status_code == 404


def test_the_historic_job_log_has_a_row_per_timer_created_fired_and_deleted(service, client, root):
    instance = start_case(client)
    publicity = job_at(client, instance, "publicity")
    client.post(f"/job/{publicity['id']}/execute").raise_for_status()
    lapse = job_at(client, instance, "lapse")
    client.delete(f"/job/{lapse['id']}").raise_for_status()
    log = client.get("/history/job-log", params={"processInstanceId": instance, "sortBy": "timestamp",
                                                 "sortOrder": "asc"}).json()
    states = [(row["activityId"], next(state for state in ("creation", "failure", "success", "deletion")
                                       if row[f"{state}Log"])) for row in log]
    assert states[:2] == [("publicity", "creation"), ("publicity", "success")]
    assert sorted(states[2:4]) == [("chase", "creation"), ("lapse", "creation")] and states[4] == ("lapse", "deletion")
    first = log[0]
    assert first["jobId"] == publicity["id"] and first["jobDueDate"] == "2026-10-13T09:00:00.000+0800"
    assert first["jobDefinitionId"] == publicity["jobDefinitionId"]
    assert (first["jobDefinitionType"], first["jobDefinitionConfiguration"]) == ("timer-intermediate-transition",
                                                                                 "DURATION: P15D")
    assert first["processDefinitionKey"] == "job_case" and first["rootProcessInstanceId"] == instance
    assert first["deploymentId"] and first["jobRetries"] == 3 and first["jobExceptionMessage"] is None
    assert client.get(f"/history/job-log/{first['id']}").json() == first
    assert client.get("/history/job-log/count", params={"jobId": lapse["id"]}).json() == {"count": 2}
    assert client.post("/history/job-log/count", json={"activityIdIn": ["lapse", "chase"],
                                                       "creationLog": True}).json() == {"count": 2}
    assert [row["activityId"] for row in client.post("/history/job-log", params={"maxResults": 1}, json={
        "deletionLog": True, "processDefinitionKey": "job_case"}).json()] == ["lapse"]
    newest = client.get("/history/job-log", params={"processInstanceId": instance, "sortBy": "timestamp",
                                                    "sortOrder": "desc", "maxResults": 1}).json()
    assert newest[0]["deletionLog"] is True
    assert client.get("/history/job-log/count", params={"successLog": "true", "jobDefinitionId":
                                                        publicity["jobDefinitionId"]}).json() == {"count": 1}
    trace = client.get(f"/history/job-log/{first['id']}/stacktrace")
    assert trace.status_code == 204
    missing = client.get("/history/job-log/nothing")
    assert missing.status_code == 404 and missing.json()["message"] == "Historic job log with id nothing does not exist"
    assert client.get("/history/job-log/nothing/stacktrace").status_code == 404
    for params in ({"sortBy": "colour"}, {"creationLog": "often"}, {"maxResults": 100000}):
        refused = client.get("/history/job-log", params=params)
        assert refused.status_code == 400 and refused.json()["type"] == "InvalidRequestException", params
    # The case ends: its remaining timer is logged deleted, and the log stays.
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    client.post(f"/task/{task['id']}/complete", json={}).raise_for_status()
    assert client.get("/history/job-log/count", params={"processInstanceId": instance, "activityIdIn": "chase",
                                                        "deletionLog": "true"}).json() == {"count": 1}
    accounts.save_account(service.services, "wang", "wang-password", ["xj-drc"])
    with as_user(service, "wang") as stranger:
        assert stranger.get("/history/job-log/count", params={"processInstanceId": instance}).json() == {"count": 0}
        assert stranger.get(f"/history/job-log/{first['id']}").status_code == 404


def test_a_timer_start_events_job_log_follows_deployments_and_firings(client, root):
    deploy_bytes(client, "job_yearly.bpmn", YEARLY).raise_for_status()
    [created] = client.get("/history/job-log", params={"processDefinitionKey": "job_yearly"}).json()
    assert created["creationLog"] and created["processInstanceId"] is None
    assert created["jobDefinitionType"] == "timer-start-event"
    client.post(f"/job/{created['jobId']}/execute").raise_for_status()
    deploy_bytes(client, "job_yearly.bpmn", YEARLY.replace(b"report", b"annual_report")).raise_for_status()
    rows = client.get("/history/job-log", params={"processDefinitionKey": "job_yearly", "sortBy": "timestamp"}).json()
    assert [(row["jobId"] == created["jobId"], row["successLog"], row["creationLog"], row["deletionLog"])
            for row in rows] == [(True, False, True, False), (True, True, False, False), (True, False, True, False),
                                 (True, False, False, True), (False, False, True, False)]


def test_deleted_and_suspended_timers_stay_so_when_the_service_restarts(service, tmp_path):
    url = database_url(tmp_path)
    first = start_service(url)
    try:
        with httpx.Client(base_url=f"{first.base_url}/engine-rest", auth=ADMIN_AUTH, timeout=30) as client:
            instance = start_case(client)
            client.post(f"/job/{job_at(client, instance, 'publicity')['id']}/execute").raise_for_status()
            client.delete(f"/job/{job_at(client, instance, 'lapse')['id']}").raise_for_status()
            client.put(f"/job/{job_at(client, instance, 'chase')['id']}/suspended",
                       json={"suspended": True}).raise_for_status()
    finally:
        first.stop()
        first.services.db.dispose()
    second = start_service(url)
    try:
        with httpx.Client(base_url=f"{second.base_url}/engine-rest", auth=ADMIN_AUTH, timeout=30) as client, \
                httpx.Client(base_url=second.base_url, auth=ADMIN_AUTH, timeout=30) as root:
            root.post("/api/clock", json={"advance": "P40D"}).raise_for_status()
            assert open_tasks(client, instance) == ["review"]
            assert "chased" not in activities(client, instance) and "lapsed" not in activities(client, instance)
            [chase] = client.get("/job", params={"processInstanceId": instance}).json()
            assert chase["suspended"] is True and chase["jobDefinitionId"].endswith("#chase")
            reproduced(root, instance)
    finally:
        second.stop()
        second.services.db.dispose()


RACE = process("job_race", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="race" />
  <bpmn:eventBasedGateway id="race" />
  <bpmn:sequenceFlow id="f2" sourceRef="race" targetRef="soon" />
  <bpmn:sequenceFlow id="f3" sourceRef="race" targetRef="late" />
  <bpmn:intermediateCatchEvent id="soon">
    <bpmn:timerEventDefinition><bpmn:timeDuration>P5D</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:intermediateCatchEvent>
  <bpmn:intermediateCatchEvent id="late">
    <bpmn:timerEventDefinition><bpmn:timeDuration>P10D</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f4" sourceRef="soon" targetRef="soon_end" /><bpmn:endEvent id="soon_end" />
  <bpmn:sequenceFlow id="f5" sourceRef="late" targetRef="late_end" /><bpmn:endEvent id="late_end" />
  <bpmn:subProcess id="yearly" triggeredByEvent="true">
    <bpmn:startEvent id="year_end" isInterrupting="false">
      <bpmn:timerEventDefinition><bpmn:timeDate>2026-12-31T00:00:00+08:00</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f6" sourceRef="year_end" targetRef="yearly_end" /><bpmn:endEvent id="yearly_end" />
  </bpmn:subProcess>""")


def test_a_gateways_timer_and_an_event_subprocess_start_are_not_deleted_but_can_be_moved(client, root):
    deploy_bytes(client, "job_race.bpmn", RACE).raise_for_status()
    instance = client.post("/process-definition/key/job_race/start", json={}).json()["id"]
    for activity in ("soon", "late", "year_end"):
        job = job_at(client, instance, activity)
        refused = client.delete(f"/job/{job['id']}")
        assert refused.status_code == 400 and refused.json()["type"] == "BadUserRequestException", activity
        assert f"'{activity}'" in refused.json()["message"] and "modification" in refused.json()["message"]
    # The later branch moved before the earlier one wins the race.
    late = job_at(client, instance, "late")
    client.put(f"/job/{late['id']}/duedate", json={"duedate": "2026-09-30T09:00:00.000+0800"}).raise_for_status()
    root.post("/api/clock", json={"advance": "P3D"}).raise_for_status()
    assert "late_end" in activities(client, instance) and "soon_end" not in activities(client, instance)
    reproduced(root, instance)

"""The timers cases wait on, read as Camunda's jobs one by one and by a query in the body, only by
those who may read the case."""
from __future__ import annotations

from app.access import accounts
from tests.support.bpmn_text import process
from tests.support.http import as_user, deploy_bytes

PUBLICITY = process("publicity_wait", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="publicity" />
  <bpmn:intermediateCatchEvent id="publicity" name="公示十五天">
    <bpmn:timerEventDefinition><bpmn:timeDuration>P15D</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f2" sourceRef="publicity" targetRef="end" /><bpmn:endEvent id="end" />""")


def test_a_job_is_read_by_its_id_and_by_a_query_in_the_body(service, client):
    deploy_bytes(client, "publicity_wait.bpmn", PUBLICITY).raise_for_status()
    cases = [client.post("/process-definition/key/publicity_wait/start", json={}).json()["id"] for _ in range(2)]
    [listed] = client.get("/job", params={"processInstanceId": cases[0]}).json()
    assert listed["dueDate"] == "2026-10-13T09:00:00.000+0800"
    assert client.get(f"/job/{listed['id']}").json() == listed
    assert client.post("/job", json={"processInstanceId": cases[0]}).json() == [listed]
    assert client.post("/job", params={"maxResults": 1}, json={"processDefinitionKey": "publicity_wait"}
                       ).status_code == 200
    assert client.post("/job/count", json={"activityId": "publicity"}).json() == {"count": 2}
    assert client.post("/job/count", json={"jobId": listed["id"]}).json() == {"count": 1}
    missing = client.get("/job/no-such-job")
    assert missing.status_code == 404 and missing.json()["message"] == "Job with id no-such-job does not exist"
    accounts.save_account(service.services, "zhao", "zhao-password", ["xj-drc"])
    with as_user(service, "zhao") as zhao:
        assert zhao.get(f"/job/{listed['id']}").status_code == 404
        assert zhao.post("/job/count", json={}).json() == {"count": 0}


TIMERS = process("timer_kinds", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="publicity" />
  <bpmn:intermediateCatchEvent id="publicity">
    <bpmn:timerEventDefinition><bpmn:timeDuration>P15D</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f2" sourceRef="publicity" targetRef="review" />
  <bpmn:userTask id="review" /><bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />
  <bpmn:boundaryEvent id="overdue" attachedToRef="review" cancelActivity="false">
    <bpmn:timerEventDefinition><bpmn:timeCycle>R3/P1D</bpmn:timeCycle></bpmn:timerEventDefinition>
  </bpmn:boundaryEvent>
  <bpmn:endEvent id="end" />
  <bpmn:subProcess id="yearly" triggeredByEvent="true">
    <bpmn:startEvent id="year_end" isInterrupting="false">
      <bpmn:timerEventDefinition><bpmn:timeDate>2026-12-31T00:00:00+08:00</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="year_end" targetRef="yearly_end" /><bpmn:endEvent id="yearly_end" />
  </bpmn:subProcess>""")


def test_job_definitions_name_every_timer_event_of_a_deployed_process(service, client):
    deployed = deploy_bytes(client, "timer_kinds.bpmn", TIMERS).json()
    [definition_id] = deployed["deployedProcessDefinitions"]
    rows = client.get("/job-definition", params={"processDefinitionKey": "timer_kinds"}).json()
    assert [(row["activityId"], row["jobType"], row["jobConfiguration"]) for row in rows] == [
        ("overdue", "timer-transition", "CYCLE: R3/P1D"),
        ("publicity", "timer-intermediate-transition", "DURATION: P15D"),
        ("year_end", "timer-start-event-subprocess", "DATE: 2026-12-31T00:00:00+08:00")]
    assert {row["processDefinitionId"] for row in rows} == {definition_id}
    one = client.get(f"/job-definition/{definition_id}%23publicity")
    assert one.status_code == 200 and one.json() == rows[1]
    assert client.get("/job-definition/count", params={"activityIdIn": "overdue,publicity"}).json() == {"count": 2}
    assert client.post("/job-definition/count", json={"jobType": "timer-transition"}).json() == {"count": 1}
    assert [row["activityId"] for row in client.post("/job-definition", params={"maxResults": 1},
                                                     json={"processDefinitionId": definition_id}).json()] == ["overdue"]
    # A job names its definition: the timer a case waits on is found among them.
    instance = client.post("/process-definition/key/timer_kinds/start", json={}).json()["id"]
    [job] = [job for job in client.get("/job", params={"processInstanceId": instance}).json()
             if job["jobDefinitionId"].endswith("#publicity")]
    assert client.get(f"/job-definition/{job['jobDefinitionId'].replace('#', '%23')}").json()["activityId"] == \
        "publicity"
    assert client.get("/job-definition/nothing%23here").status_code == 404


def test_a_time_date_written_as_a_duration_counts_from_now_as_camundas_due_date_calendar_reads_it(client):
    body = """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
  <bpmn:intermediateCatchEvent id="wait">
    <bpmn:timerEventDefinition><bpmn:timeDate>PT10M</bpmn:timeDate></bpmn:timerEventDefinition>
  </bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end" /><bpmn:endEvent id="end" />"""
    deploy_bytes(client, "dated.bpmn", process("dated", body)).raise_for_status()
    instance = client.post("/process-definition/key/dated/start", json={}).json()["id"]
    [job] = client.get("/job", params={"processInstanceId": instance}).json()
    assert job["dueDate"] == "2026-09-28T09:10:00.000+0800"
    refused = deploy_bytes(client, "dated.bpmn", process("dated", body.replace("PT10M", "P-1D")))
    assert refused.status_code == 400 and "'P-1D'" in refused.json()["message"], refused.text


START_TIMER = process("yearly_check", """
  <bpmn:startEvent id="yearly"><bpmn:timerEventDefinition><bpmn:timeCycle>R/P1Y</bpmn:timeCycle>
  </bpmn:timerEventDefinition></bpmn:startEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="yearly" targetRef="end" /><bpmn:endEvent id="end" />""")


def _ids(client, method: str, **criteria) -> list[str]:
    if method == "GET":
        answer = client.get("/job", params=criteria)
    else:
        answer = client.post("/job", json=criteria)
    assert answer.status_code == 200, answer.text
    return [job["id"] for job in answer.json()]


def test_camundas_job_filters_narrow_the_list_as_they_do_in_camunda(client):
    deploy_bytes(client, "publicity_wait.bpmn", PUBLICITY).raise_for_status()
    client.post("/deployment/create", data={"tenant-id": "xj"},
                files=[("data", ("yearly.bpmn", START_TIMER, "application/xml"))]).raise_for_status()
    cases = [client.post("/process-definition/key/publicity_wait/start", json={}).json()["id"] for _ in range(3)]
    jobs = {job["processInstanceId"]: job for job in client.get("/job").json()}
    first, second, third = (jobs[case]["id"] for case in cases)
    [yearly] = [job for job in jobs.values() if job["processInstanceId"] is None]
    assert yearly["tenantId"] == "xj" and jobs[cases[0]]["tenantId"] is None
    for method in ("GET", "POST"):
        ids = f"{first},{second}" if method == "GET" else [first, second]
        assert sorted(_ids(client, method, jobIds=ids)) == sorted([first, second])
        # Camunda ANDs jobId with jobIds, and executionId with processInstanceIds.
        assert _ids(client, method, jobIds=ids, jobId=third) == []
        assert _ids(client, method, executionId=cases[1]) == [second]
        instances = f"{cases[0]},{cases[2]}" if method == "GET" else [cases[0], cases[2]]
        assert sorted(_ids(client, method, processInstanceIds=instances)) == sorted([first, third])
        assert _ids(client, method, processInstanceIds=instances, processInstanceId=cases[1]) == []
        assert _ids(client, method, tenantIdIn="xj" if method == "GET" else ["xj"]) == [yearly["id"]]
        assert sorted(_ids(client, method, withoutTenantId="true" if method == "GET" else True)) == sorted(
            [first, second, third])
        for never in ("messages", "withException", "noRetriesLeft", "acquired"):
            assert _ids(client, method, **{never: "true" if method == "GET" else True}) == []
        assert _ids(client, method, exceptionMessage="boom") == []
    assert sorted(_ids(client, "GET", jobDefinitionId=jobs[cases[0]]["jobDefinitionId"])) == sorted(
        [first, second, third])
    assert len(_ids(client, "GET", timers="true", withRetriesLeft="true")) == 4
    both = client.get("/job", params={"timers": "true", "messages": "true"})
    assert both.status_code == 400
    assert both.json()["message"] == "Parameter timers cannot be used together with parameter messages."

    # Due dates: the cases' timers fall due on 13 October, the yearly start a year after deployment.
    assert sorted(_ids(client, "GET", dueDates="lt_2026-10-14T00:00:00.000+0800")) == sorted([first, second, third])
    assert _ids(client, "POST", dueDates=[{"operator": "gt", "value": "2026-10-14T00:00:00.000+0800"}]) == [
        yearly["id"]]
    assert len(_ids(client, "GET", createTimes="gt_2020-01-01T00:00:00.000+0800,lt_2100-01-01T00:00:00.000+0800")) == 4
    for bad in ("eq_2026-10-14T00:00:00.000+0800", "lt-2026-10-14", "lt_tomorrow"):
        refused = client.get("/job", params={"dueDates": bad})
        assert refused.status_code == 400 and "Traceback" not in refused.text, bad

    # Executable: due by now (moved back by an operator, not fired yet), and of a case not suspended.
    assert _ids(client, "GET", executable="true") == []
    for job in (first, third):
        assert client.put(f"/job/{job}/duedate", json={"duedate": "2026-01-01T00:00:00.000+0800"}).status_code == 204
    assert client.put(f"/process-instance/{cases[2]}/suspended", json={"suspended": True}).status_code == 204
    assert _ids(client, "GET", executable="true") == [first]
    assert _ids(client, "GET", suspended="true") == [third]
    assert sorted(_ids(client, "GET", active="true", processDefinitionKey="publicity_wait")) == sorted([first, second])

    # Priority bounds and Camunda's sort keys.
    assert client.put(f"/job/{second}/priority", json={"priority": 7}).status_code == 204
    assert _ids(client, "GET", priorityHigherThanOrEquals="5") == [second]
    assert second not in _ids(client, "GET", priorityLowerThanOrEquals="6")
    assert _ids(client, "GET", sortBy="jobPriority", sortOrder="desc")[0] == second
    assert _ids(client, "POST", sorting=[{"sortBy": "jobDueDate", "sortOrder": "desc"}])[0] == yearly["id"]
    assert client.get("/job", params={"sortBy": "dueDate", "sortOrder": "asc"}).status_code == 400

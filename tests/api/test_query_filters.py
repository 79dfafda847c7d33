"""Camunda's query filters: those the service reads narrow the rows as in Camunda; those it does not
read answer 400 naming them, so that no client, and no batch named by a query, gets more than it asked."""
from __future__ import annotations

from datetime import datetime, timedelta

from app.access import accounts
from tests.support.bpmn_text import grading, process
from tests.support.http import listed, start

REVIEW = process("filter_review", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review" name="初审" /><bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
  <bpmn:endEvent id="end" />""")


def _deploy(client, name: str, content: bytes, **fields: str) -> dict:
    answer = client.post("/deployment/create", data=fields,
                         files=[("data", (name, content, "application/xml"))])
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_camunda_filter_the_service_does_not_read_is_refused_not_ignored(client):
    _deploy(client, "review.bpmn", REVIEW)
    start(client, "filter_review")
    refused = [("GET", "/history/task", {"caseInstanceId": "case-1"}),
               ("POST", "/process-instance/count", {"caseInstanceId": "case-1"}),
               ("GET", "/task", {"caseInstanceId": "case-1"}),
               ("POST", "/history/task", {"taskVariables": [{"name": "x", "operator": "eq", "value": 1}]}),
               ("GET", "/history/process-instance", {"superCaseInstanceId": "case-1"}),
               ("GET", "/history/task/count", {"caseDefinitionKey": "case"}),
               ("GET", "/execution", {"incidentType": "failedExternalTask"})]
    for method, path, criteria in refused:
        answer = client.get(path, params=criteria) if method == "GET" else client.post(path, json=criteria)
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json()["type"] == "InvalidRequestException"
        [name] = criteria
        assert name in answer.json()["message"] and "not supported" in answer.json()["message"]
    # A switch given as false filters nothing in Camunda, and a name Camunda does not know is passed by.
    assert client.get("/process-instance/count", params={"rootProcessInstances": "false"}).json() == {"count": 1}
    assert client.get("/history/process-instance/count", params={"withIncidents": "false"}).json() == {"count": 1}
    assert client.post("/process-instance/count", json={"someClientField": 1}).json() == {"count": 1}
    # A batch named by such a query acts on nothing.
    batch = client.post("/process-instance/delete", json={"historicProcessInstanceQuery": {
        "superCaseInstanceId": "x"}, "deleteReason": "wrong region"})
    assert batch.status_code == 400 and "superCaseInstanceId" in batch.json()["message"]
    assert client.get("/process-instance/count").json() == {"count": 1}


def test_the_deployment_query_reads_camundas_filters(client):
    first = _deploy(client, "a.bpmn", REVIEW, **{"deployment-name": "a 甲", "deployment-source": "modeler"})
    second = _deploy(client, "b.bpmn", REVIEW.replace(b"filter_review", b"filter_review_b"),
                     **{"deployment-name": "b 乙", "tenant-id": "xj"})

    def ids(**criteria) -> list[str]:
        answer = client.get("/deployment", params=criteria)
        assert answer.status_code == 200, answer.text
        assert client.get("/deployment/count", params=criteria).json() == {"count": len(answer.json())}
        return [row["id"] for row in answer.json()]

    assert ids(id=second["id"]) == [second["id"]]
    assert ids(id="no-such-deployment") == []
    assert ids(source="modeler") == [first["id"]] and ids(withoutSource="true") == [second["id"]]
    assert ids(tenantIdIn="xj") == [second["id"]] and ids(withoutTenantId="true") == [first["id"]]
    both = sorted([first["id"], second["id"]])
    assert sorted(ids(tenantIdIn="xj", includeDeploymentsWithoutTenantId="true")) == both
    assert ids(sortBy="name", sortOrder="desc") == [second["id"], first["id"]]
    assert sorted(ids(after="2000-01-01T00:00:00.000+0800")) == both
    assert ids(before="2000-01-01T00:00:00.000+0800") == []
    assert client.get("/deployment", params={"sortBy": "source", "sortOrder": "asc"}).status_code == 400
    assert client.get("/deployment", params={"after": "yesterday"}).status_code == 400


def test_the_historic_activity_query_reads_names_definitions_regions_and_times(client):
    deployed = _deploy(client, "review.bpmn", REVIEW)
    [definition_id] = deployed["deployedProcessDefinitions"]
    case = start(client, "filter_review").json()["id"]

    def activities(**criteria) -> list[str]:
        answer = client.get("/history/activity-instance", params={"processInstanceId": case, **criteria})
        assert answer.status_code == 200, answer.text
        counted = client.post("/history/activity-instance/count", json={"processInstanceId": case, **criteria})
        assert counted.json() == {"count": len(answer.json())}
        return sorted(row["activityId"] for row in answer.json())

    assert activities() == ["review", "start"]
    assert activities(activityName="初审") == ["review"]
    assert activities(activityNameLike="初%") == ["review"]
    [review] = client.get("/history/activity-instance", params={"activityId": "review"}).json()
    assert activities(activityInstanceId=review["id"]) == ["review"]
    assert activities(processDefinitionId=definition_id) == ["review", "start"]
    assert activities(processDefinitionId="other:1:x") == []
    assert activities(tenantIdIn="xj") == []
    assert activities(startedAfter="2000-01-01T00:00:00.000+0800") == ["review", "start"]
    assert activities(startedBefore="2000-01-01T00:00:00.000+0800") == []
    assert activities(finishedAfter="2000-01-01T00:00:00.000+0800") == ["start"]
    # The case's execution is the case; an end event that ended the case completed its scope.
    assert activities(executionId=case) == ["review", "start"] and activities(executionId="other") == []
    assert activities(withoutTenantId="true") == ["review", "start"]
    assert activities(completeScope="true") == []
    client.post(f"/task/{review['id']}/complete", json={}).raise_for_status()
    assert activities(completeScope="true") == ["end"]


TASKS = process("filter_tasks", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork" />
  <bpmn:parallelGateway id="fork" />
  <bpmn:sequenceFlow id="f1" sourceRef="fork" targetRef="t_group" />
  <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="t_user" />
  <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="t_assigned" />
  <bpmn:userTask id="t_group" name="部门会审" camunda:candidateGroups="eco-dept,xj-drc" camunda:priority="70"
      camunda:dueDate="2026-12-01T00:00:00+08:00" />
  <bpmn:userTask id="t_user" name="专家复核" camunda:candidateUsers="zhao"
      camunda:followUpDate="2026-11-01T00:00:00+08:00" />
  <bpmn:userTask id="t_assigned" name="办公室登记" camunda:assignee="wang">
    <bpmn:documentation>登记材料</bpmn:documentation></bpmn:userTask>
  <bpmn:sequenceFlow id="f4" sourceRef="t_group" targetRef="e1" /><bpmn:endEvent id="e1" />
  <bpmn:sequenceFlow id="f5" sourceRef="t_user" targetRef="e2" /><bpmn:endEvent id="e2" />
  <bpmn:sequenceFlow id="f6" sourceRef="t_assigned" targetRef="e3" /><bpmn:endEvent id="e3" />""").replace(
    b'isExecutable="true"', 'isExecutable="true" name="排污许可审查"'.encode())


def test_camundas_further_task_filters_narrow_the_task_list(client):
    _deploy(client, "tasks.bpmn", TASKS)
    case = start(client, "filter_tasks", business_key="BK-1").json()["id"]
    created = client.get("/task", params={"taskDefinitionKey": "t_group"}).json()[0]["created"]

    def keys(method: str = "GET", **criteria) -> list[str]:
        return sorted(task["taskDefinitionKey"] for task in listed(client, "/task", method, **criteria))

    every = ["t_assigned", "t_group", "t_user"]
    assert keys(priority="70") == ["t_group"] and keys(minPriority="60") == ["t_group"]
    assert keys("POST", maxPriority=60) == ["t_assigned", "t_user"]
    # Candidate filters show the tasks still to be claimed, unless includeAssignedTasks, as in Camunda.
    assert keys(withCandidateGroups="true") == ["t_group"] and keys(withCandidateUsers="true") == ["t_user"]
    assert keys(withoutCandidateGroups="true") == ["t_user"]
    assert keys("POST", withoutCandidateGroups=True, includeAssignedTasks=True) == ["t_assigned", "t_user"]
    assert keys(withoutCandidateUsers="true") == ["t_group"]
    assert keys(candidateGroupLike="eco%") == ["t_group"] and keys(candidateGroupLike="sh%") == []
    assert keys(involvedUser="zhao") == ["t_user"] and keys(involvedUser="wang") == ["t_assigned"]
    assert keys(assigneeLike="wa%") == ["t_assigned"]
    assert keys("POST", assigneeNotIn=["wang"]) == []  # as Camunda's SQL: an unassigned task is not "not wang"
    assert keys(nameNotEqual="部门会审") == ["t_assigned", "t_user"]
    assert keys(nameNotLike="%审") == ["t_assigned", "t_user"]
    assert keys(taskDefinitionKeyLike="t_a%") == ["t_assigned"]
    assert keys(taskDefinitionKeyNotIn="t_group,t_user") == ["t_assigned"]
    assert keys(description="登记材料") == ["t_assigned"] and keys(descriptionLike="%材料") == ["t_assigned"]
    assert keys(dueDate="2026-12-01T00:00:00.000+0800") == ["t_group"]
    assert keys(due="2026-12-01T00:00:00.000+0800") == ["t_group"]
    assert keys(withoutDueDate="true") == ["t_assigned", "t_user"]
    assert keys(followUpDate="2026-11-01T00:00:00.000+0800") == ["t_user"]
    assert keys(followUpBefore="2026-12-01T00:00:00.000+0800") == ["t_user"]
    assert keys(followUpAfter="2026-12-01T00:00:00.000+0800") == []
    assert keys(followUpBeforeOrNotExistent="2026-10-01T00:00:00.000+0800") == ["t_assigned", "t_group"]
    assert keys(createdOn=created) == every and keys(created=created) == every
    assert keys(updatedAfter="2000-01-01T00:00:00.000+0800") == every
    assert keys(processDefinitionName="排污许可审查") == every and keys(processDefinitionNameLike="排污%") == every
    assert keys(processDefinitionNameLike="危废%") == []
    assert keys(processInstanceBusinessKeyIn="BK-1,BK-9") == every
    assert keys(executionId=case) == every and keys(executionId="another-case") == []
    assert keys(withoutTenantId="true") == every and keys(parentTaskId="any") == []
    ordered = client.get("/task", params={"sortBy": "priority", "sortOrder": "desc"}).json()
    assert ordered[0]["taskDefinitionKey"] == "t_group"
    for sort_by in ("instanceId", "executionId", "description", "tenantId", "nameCaseInsensitive"):
        assert client.get("/task", params={"sortBy": sort_by, "sortOrder": "asc"}).status_code == 200, sort_by
    # An expression in a query is refused, as Camunda refuses it in ad-hoc queries by default.
    refused = client.get("/task", params={"assigneeExpression": "${currentUser()}"})
    assert refused.status_code == 400 and "assigneeExpression" in refused.json()["message"]


CALLER = process("pi_parent", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call" />
  <bpmn:callActivity id="call" calledElement="pi_child" />
  <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end" /><bpmn:endEvent id="end" />""")
CALLED = process("pi_child", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="child_review" />
  <bpmn:userTask id="child_review" /><bpmn:sequenceFlow id="f2" sourceRef="child_review" targetRef="end" />
  <bpmn:endEvent id="end" />""")
PUBLISH = process("pi_external", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="publish" />
  <bpmn:serviceTask id="publish" camunda:type="external" camunda:topic="pi-topic" />
  <bpmn:sequenceFlow id="f2" sourceRef="publish" targetRef="end" /><bpmn:endEvent id="end" />""")


def test_camundas_further_process_instance_filters_and_sort_keys(client):
    client.post("/deployment/create", files=[("data", ("parent.bpmn", CALLER, "application/xml")),
                                             ("data", ("child.bpmn", CALLED, "application/xml"))]).raise_for_status()
    external_deployment = _deploy(client, "external.bpmn", PUBLISH)["id"]
    parent = start(client, "pi_parent", business_key="ECO-1").json()["id"]
    [child] = [row["id"] for row in client.get("/process-instance", params={"superProcessInstance": parent}).json()]
    external = start(client, "pi_external", business_key="CPA-1").json()["id"]
    [task] = client.post("/external-task/fetchAndLock", json={"workerId": "w", "maxTasks": 1, "topics": [
        {"topicName": "pi-topic", "lockDuration": 60_000}]}).json()
    client.post(f"/external-task/{task['id']}/failure", json={
        "workerId": "w", "errorMessage": "website down", "retries": 0, "retryTimeout": 0}).raise_for_status()
    [incident] = client.get("/incident").json()

    def found(method: str = "GET", **criteria) -> list[str]:
        return sorted(row["id"] for row in listed(client, "/process-instance", method, **criteria))

    assert found(businessKeyLike="ECO%") == [parent]
    assert found(processDefinitionKeyIn="pi_child,pi_external") == sorted([child, external])
    assert found("POST", processDefinitionKeyNotIn=["pi_parent"]) == sorted([child, external])
    assert found(deploymentId=external_deployment) == [external]
    assert found(activityIdIn="child_review") == [child] and found(activityIdIn="call") == [parent]
    assert found(activityIdIn="start") == []  # passed, not running
    assert found(withIncident="true") == [external]
    assert found(incidentType="failedExternalTask") == [external] and found(incidentType="other") == []
    assert found(incidentMessage="website down") == [external] and found(incidentMessageLike="%down") == [external]
    assert found(incidentId=incident["id"]) == [external]
    assert found(rootProcessInstances="true") == sorted([parent, external])
    assert found(leafProcessInstances="true") == sorted([child, external])
    assert found(rootProcessInstanceId=parent) == sorted([parent, child])
    assert found(withoutTenantId="true") == sorted([parent, child, external])
    assert found(processDefinitionWithoutTenantId="true") == sorted([parent, child, external])
    # Without a sort, by id as Camunda's default: pages follow one another without gaps or repeats.
    pages = [client.get("/process-instance", params={"firstResult": first, "maxResults": 2}).json()
             for first in (0, 2)]
    assert [row["id"] for page in pages for row in page] == sorted([parent, child, external])
    ordered = client.get("/process-instance", params={"sortBy": "definitionKey", "sortOrder": "desc"}).json()
    assert [row["id"] for row in ordered] == [parent, external, child]
    assert [row["id"] for row in client.post("/process-instance", json={"sorting": [
        {"sortBy": "businessKey", "sortOrder": "asc"}]}).json()][1:] == [external, parent]
    assert client.get("/process-instance", params={"sortBy": "startTime", "sortOrder": "asc"}).status_code == 400


def test_camundas_further_historic_process_instance_filters(client, root):
    client.post("/deployment/create", files=[
        ("data", ("parent.bpmn", CALLER.replace(b'isExecutable="true"', 'isExecutable="true" name="园区创建"'.encode()),
                  "application/xml")),
        ("data", ("child.bpmn", CALLED, "application/xml"))]).raise_for_status()
    _deploy(client, "external.bpmn", PUBLISH)
    parent = start(client, "pi_parent", business_key="ECO-1").json()["id"]
    [child] = [row["id"] for row in client.get("/process-instance", params={"superProcessInstance": parent}).json()]
    external = start(client, "pi_external", business_key="CPA-1").json()["id"]
    started = client.get(f"/history/process-instance/{parent}").json()
    [task] = client.post("/external-task/fetchAndLock", json={"workerId": "w", "maxTasks": 1, "topics": [
        {"topicName": "pi-topic", "lockDuration": 60_000}]}).json()
    client.post(f"/external-task/{task['id']}/failure", json={
        "workerId": "w", "errorMessage": "website down", "retries": 0, "retryTimeout": 0}).raise_for_status()

    def found(method: str = "GET", **criteria) -> list[str]:
        answer = client.get("/history/process-instance", params=criteria) if method == "GET" else client.post(
            "/history/process-instance", json=criteria)
        assert answer.status_code == 200, answer.text
        counted = client.post("/history/process-instance/count", json=criteria) if method == "POST" else \
            client.get("/history/process-instance/count", params=criteria)
        assert counted.json() == {"count": len(answer.json())}
        return sorted(row["id"] for row in answer.json())

    assert found(activeActivityIdIn="publish") == [external]
    assert found(incidentStatus="open") == [external]
    # activityIdIn: where a token waits now, as Camunda's executions are.
    assert found(activityIdIn="publish") == [external] and found(activityIdIn="child_review") == [child]
    half_a_day_on = (datetime.strptime(started["startTime"], "%Y-%m-%dT%H:%M:%S.%f%z") + timedelta(hours=12)
                     ).strftime("%Y-%m-%dT%H:%M:%S.000%z")
    assert found(executedActivityAfter=half_a_day_on) == []
    root.post("/api/clock", json={"advance": "P1D"}).raise_for_status()
    [review] = client.get("/task", params={"processInstanceId": child}).json()
    client.post(f"/task/{review['id']}/complete", json={}).raise_for_status()
    assert client.delete(f"/process-instance/{external}").status_code == 204

    every = sorted([parent, child, external])
    assert found(completed="true") == sorted([parent, child]) and found(externallyTerminated="true") == [external]
    assert found(internallyTerminated="true") == [] and found(withJobsRetrying="true") == []
    assert found(finishedAfter=started["startTime"]) == every and found(finishedBefore=started["startTime"]) == []
    assert found(startedBy=started["startUserId"]) == every and found(startedBy="nobody") == []
    assert found(withIncidents="true") == [external] and found(withRootIncidents="true") == [external]
    assert found(incidentStatus="open") == []  # its incident ended with the case
    assert found(incidentStatus="resolved") == [external]  # as Camunda: any incident that ended
    assert found(incidentType="failedExternalTask") == [external]
    assert found("POST", incidentMessageLike="%down") == [external]
    assert found(processDefinitionName="园区创建") == [parent] and found(processDefinitionNameLike="园区%") == [parent]
    assert found(processInstanceBusinessKeyIn="ECO-1,CPA-1") == sorted([parent, external])
    assert found("POST", processDefinitionKeyNotIn=["pi_parent"]) == sorted([child, external])
    assert found(processInstanceIdNotIn=parent) == sorted([child, external])
    assert found(rootProcessInstances="true") == sorted([parent, external])
    assert found(rootProcessInstanceId=parent) == sorted([parent, child])
    assert found(executedActivityIdIn="child_review") == [child] and found(activeActivityIdIn="child_review") == []
    assert found(withoutTenantId="true") == every
    assert found(activityIdIn="publish") == [] and found(activityIdIn="child_review") == []
    # An activity of each ended (or was cancelled) after half a day; each one's start was at the start.
    assert found(executedActivityAfter=half_a_day_on) == every
    assert found(executedActivityBefore=started["startTime"]) == every
    assert found("POST", executedActivityBefore="2000-01-01T00:00:00.000+0800") == []
    # No timer ran in these cases, so no job log was written in any bounds.
    assert found(executedJobAfter="2000-01-01T00:00:00.000+0800") == [] and found(
        executedJobBefore=half_a_day_on) == []
    for sort_by in ("definitionName", "definitionVersion", "tenantId"):
        assert client.get("/history/process-instance", params={"sortBy": sort_by, "sortOrder": "asc"}
                          ).status_code == 200, sort_by
    assert client.get("/history/process-instance", params={"incidentStatus": "closed"}).status_code == 400


def test_camundas_further_process_definition_filters_and_sort_keys(client):
    tagged = REVIEW.replace(b'isExecutable="true"', 'isExecutable="true" name="园区初审" camunda:versionTag="2026-a"'.encode())
    first = _deploy(client, "review.bpmn", tagged)
    second = _deploy(client, "review.bpmn", REVIEW)  # version 2, no tag
    regional = _deploy(client, "regional.bpmn", REVIEW.replace(b"filter_review", b"regional_review"),
                       **{"tenant-id": "xj"})
    [v1], [v2], [xj] = (list(d["deployedProcessDefinitions"]) for d in (first, second, regional))

    def ids(**criteria) -> list[str]:
        answer = client.get("/process-definition", params=criteria)
        assert answer.status_code == 200, answer.text
        assert client.get("/process-definition/count", params=criteria).json() == {"count": len(answer.json())}
        return sorted(row["id"] for row in answer.json())

    assert ids(keyLike="filter%") == sorted([v1, v2]) and ids(nameLike="园区%") == [v1]
    assert ids(versionTag="2026-a") == [v1] and ids(versionTagLike="2026%") == [v1]
    assert ids(withoutVersionTag="true") == sorted([v2, xj])
    assert ids(resourceName="regional.bpmn") == [xj] and ids(resourceNameLike="review%") == sorted([v1, v2])
    assert ids(tenantIdIn="xj") == [xj] and ids(withoutTenantId="true") == sorted([v1, v2])
    assert ids(tenantIdIn="xj", includeProcessDefinitionsWithoutTenantId="true") == sorted([v1, v2, xj])
    assert ids(deployedAt=first["deploymentTime"]) == sorted([v1, v2, xj])  # one instant on the test clock
    assert ids(deployedAfter=first["deploymentTime"]) == []
    assert ids(incidentType="failedExternalTask") == []
    assert ids(latest="true", key="filter_review") == [v2] and ids(ver="1", key="filter_review") == [v1]
    ordered = client.get("/process-definition", params={"sortBy": "version", "sortOrder": "desc",
                                                        "key": "filter_review"}).json()
    assert [row["id"] for row in ordered] == [v2, v1]
    assert client.get("/process-definition", params={"sortBy": "deployTime", "sortOrder": "asc"}).status_code == 200


def test_camundas_incident_filters_and_sort_keys_runtime_and_historic(client):
    _deploy(client, "external.bpmn", PUBLISH)
    cases = [start(client, "pi_external", business_key=f"CPA-{number}").json()["id"] for number in (1, 2)]
    for number, case in enumerate(cases):
        [task] = client.post("/external-task/fetchAndLock", json={"workerId": "w", "maxTasks": 1, "topics": [
            {"topicName": "pi-topic", "lockDuration": 60_000, "processInstanceId": case}]}).json()
        client.post(f"/external-task/{task['id']}/failure", json={
            "workerId": "w", "errorMessage": f"website down {number}", "retries": 0, "retryTimeout": 0}
        ).raise_for_status()
    incidents = {row["processInstanceId"]: row for row in client.get("/incident").json()}
    first = incidents[cases[0]]

    for path in ("/incident", "/history/incident"):
        def ids(**criteria) -> list[str]:
            answer = client.get(path, params=criteria)
            assert answer.status_code == 200, answer.text
            assert client.get(f"{path}/count", params=criteria).json() == {"count": len(answer.json())}
            return [row["id"] for row in answer.json()]

        assert ids(executionId=first["executionId"]) == [first["id"]]
        assert len(ids(failedActivityId="publish")) == 2 and ids(failedActivityId="elsewhere") == []
        assert ids(incidentMessage="website down 0") == [first["id"]]
        assert len(ids(incidentMessageLike="website down%")) == 2
        assert ids(causeIncidentId=first["id"]) == [first["id"]] == ids(rootCauseIncidentId=first["id"])
        assert len(ids(processDefinitionKeyIn="pi_external,other")) == 2 and ids(processDefinitionKeyIn="x") == []
        assert ids(tenantIdIn="xj") == [] and ids(jobDefinitionIdIn="some-job-definition") == []
        assert ids(sortBy="incidentMessage", sortOrder="desc")[1] == first["id"]
        assert client.get(path, params={"sortBy": "nothing", "sortOrder": "asc"}).status_code == 400
    assert len(client.get("/incident", params={"incidentTimestampAfter": "2000-01-01T00:00:00.000+0800"}).json()) == 2
    assert client.get("/incident", params={"incidentTimestampBefore": "2000-01-01T00:00:00.000+0800"}).json() == []
    assert len(client.get("/history/incident", params={"withoutTenantId": "true"}).json()) == 2
    assert client.get("/history/incident", params={"sortBy": "incidentState", "sortOrder": "asc"}).status_code == 200
    refused = client.get("/history/incident", params={"historyConfiguration": "x"})
    assert refused.status_code == 400 and "historyConfiguration" in refused.json()["message"]


def test_executions_are_suspended_with_their_case(client):
    _deploy(client, "review.bpmn", REVIEW)
    held, running = (start(client, "filter_review").json()["id"] for _ in range(2))
    assert client.put(f"/process-instance/{held}/suspended", json={"suspended": True}).status_code == 204
    for method in ("GET", "POST"):
        suspended = client.get("/execution", params={"suspended": "true"}) if method == "GET" else client.post(
            "/execution", json={"suspended": True})
        assert [row["processInstanceId"] for row in suspended.json()] == [held]
        active = client.get("/execution/count", params={"active": "true"}) if method == "GET" else client.post(
            "/execution/count", json={"active": True})
        assert active.json() == {"count": 1}
    assert [row["id"] for row in client.get("/execution", params={"active": "true"}).json()] == [running]
    # Sorted by Camunda's keys; variable instances, read case by case, are not sorted, and say so.
    for order in ("asc", "desc"):
        rows = client.get("/execution", params={"sortBy": "instanceId", "sortOrder": order}).json()
        assert [row["id"] for row in rows] == sorted([held, running], reverse=order == "desc")
    assert client.post("/execution", json={"sorting": [{"sortBy": "definitionKey", "sortOrder": "asc"}]}
                       ).status_code == 200
    assert client.get("/execution", params={"sortBy": "noSuchKey"}).status_code == 400
    for path in ("/variable-instance", "/history/variable-instance"):
        refused = client.get(path, params={"sortBy": "variableName", "sortOrder": "asc"})
        assert refused.status_code == 400 and "sortBy" in refused.json()["message"], path
        assert client.get(path, params={"sortBy": "sideways"}).status_code == 400


def test_camundas_further_decision_definition_filters_and_sort_keys(client):
    first = _deploy(client, "grading.dmn", grading("province", version_tag="2026-a"))
    second = _deploy(client, "grading.dmn", grading("city"), **{"tenant-id": "xj"})
    [v1], [xj] = (list(d["deployedDecisionDefinitions"]) for d in (first, second))

    def ids(**criteria) -> list[str]:
        answer = client.get("/decision-definition", params=criteria)
        assert answer.status_code == 200, answer.text
        assert client.get("/decision-definition/count", params=criteria).json() == {"count": len(answer.json())}
        return sorted(row["id"] for row in answer.json())

    both = sorted([v1, xj])
    assert ids(keyLike="grad%") == both and ids(keyLike="x%") == []
    assert ids(name="分级监管") == both and ids(nameLike="分级%") == both and ids(name="分级") == []
    assert ids(versionTag="2026-a") == [v1] and ids(versionTagLike="2026%") == [v1]
    assert ids(resourceName="grading.dmn") == both and ids(resourceNameLike="%.bpmn") == []
    assert ids(tenantIdIn="xj") == [xj] and ids(withoutTenantId="true") == [v1]
    assert ids(tenantIdIn="xj", includeDecisionDefinitionsWithoutTenantId="true") == both
    assert ids(deployedAt=first["deploymentTime"]) == both and ids(deployedAfter=first["deploymentTime"]) == []
    # A file of one decision makes no requirements definition, as in Camunda.
    assert ids(withoutDecisionRequirementsDefinition="true") == both
    ordered = client.get("/decision-definition", params={"sortBy": "tenantId", "sortOrder": "desc"}).json()
    assert len(ordered) == 2
    assert client.get("/decision-definition", params={"sortBy": "category", "sortOrder": "asc"}).status_code == 200


def test_camundas_further_historic_task_filters(client):
    _deploy(client, "review.bpmn", REVIEW.replace(b'isExecutable="true"', 'isExecutable="true" name="初审流程"'.encode()))
    done, dropped = (start(client, "filter_review", business_key=key).json()["id"] for key in ("BK-1", "BK-2"))
    [task] = client.get("/task", params={"processInstanceId": done}).json()
    client.post(f"/task/{task['id']}/complete", json={}).raise_for_status()
    assert client.delete(f"/process-instance/{dropped}").status_code == 204

    def cases(**criteria) -> list[str]:
        answer = client.get("/history/task", params=criteria)
        assert answer.status_code == 200, answer.text
        assert client.post("/history/task/count", json=criteria).json() == {"count": len(answer.json())}
        return sorted(row["processInstanceId"] for row in answer.json())

    both = sorted([done, dropped])
    assert cases(processInstanceBusinessKeyIn="BK-1,BK-9") == [done]
    assert cases(processInstanceBusinessKeyLike="BK-%") == both
    assert cases(processDefinitionName="初审流程") == both and cases(processDefinitionName="其他") == []
    assert cases(taskDeleteReason="completed") == [done] and cases(taskDeleteReason="deleted") == [dropped]
    assert cases(taskDeleteReasonLike="del%") == [dropped]
    assert cases(withoutTenantId="true") == both


def test_the_history_of_a_task_keeps_its_owner_description_priority_and_dates_after_it_ends(client):
    """Camunda's historic task shows what the task was when it ended; an auditor reads it years later."""
    _deploy(client, "review.bpmn", REVIEW)
    done, dropped, untouched = (start(client, "filter_review", business_key=key).json()["id"]
                                for key in ("BK-1", "BK-2", "BK-3"))
    task_of = {case: client.get("/task", params={"processInstanceId": case}).json()[0]["id"]
               for case in (done, dropped, untouched)}
    for case, owner, priority, due in [(done, "zhao", 80, "2027-01-10T17:00:00.000+0800"),
                                       (dropped, "qian", 20, "2027-03-01T17:00:00.000+0800")]:
        answer = client.put(f"/task/{task_of[case]}", json={
            "name": "初审", "description": f"核查{owner}的材料", "priority": priority,
            "due": due, "followUp": "2027-01-05T09:00:00.000+0800"})
        assert answer.status_code == 204, answer.text
        # The one it was assigned to hands it on, and stays its owner.
        client.post(f"/task/{task_of[case]}/claim", json={"userId": owner}).raise_for_status()
        client.post(f"/task/{task_of[case]}/delegate", json={"userId": "li"}).raise_for_status()
    client.post(f"/task/{task_of[done]}/resolve", json={}).raise_for_status()
    client.post(f"/task/{task_of[done]}/complete", json={}).raise_for_status()
    assert client.delete(f"/process-instance/{dropped}").status_code == 204

    def cases(**criteria) -> list[str]:
        answer = client.get("/history/task", params=criteria)
        assert answer.status_code == 200, answer.text
        assert client.post("/history/task/count", json=criteria).json() == {"count": len(answer.json())}
        found = [row["processInstanceId"] for row in answer.json()]
        return found if "sortBy" in criteria else sorted(found)

    [ended] = client.get("/history/task", params={"processInstanceId": done}).json()
    assert ended["deleteReason"] == "completed"
    assert (ended["owner"], ended["description"], ended["priority"]) == ("zhao", "核查zhao的材料", 80)
    assert ended["due"] == "2027-01-10T17:00:00.000+0800" and ended["followUp"] == "2027-01-05T09:00:00.000+0800"
    [open_one] = client.get("/history/task", params={"processInstanceId": untouched}).json()
    assert (open_one["owner"], open_one["priority"], open_one["due"]) == (None, 50, None)
    # An open task's history follows its updates, as Camunda's does.
    client.put(f"/task/{task_of[untouched]}", json={"name": "初审", "priority": 60}).raise_for_status()
    assert client.get("/history/task", params={"taskId": task_of[untouched]}).json()[0]["priority"] == 60

    assert cases(taskOwner="zhao") == [done] and cases(taskOwnerLike="%a%", sortBy="owner", sortOrder="asc") == [
        dropped, done]
    assert cases(taskDescription="核查QIAN的材料") == [dropped] and cases(taskDescriptionLike="核查%") == sorted([done, dropped])
    assert cases(taskPriority="20") == [dropped]
    assert cases(taskDueDate="2027-01-10T17:00:00.000+0800") == [done]
    assert cases(taskDueDateBefore="2027-02-01T00:00:00.000+0800") == [done]
    # Camunda's bounds are exclusive: the due instant itself is not after itself.
    assert cases(taskDueDateAfter="2027-01-10T17:00:00.000+0800") == [dropped]
    assert cases(withoutTaskDueDate="true") == [untouched]
    assert cases(taskFollowUpDateBefore="2027-01-05T09:00:00.001+0800") == sorted([done, dropped])
    assert cases(taskFollowUpDateAfter="2027-01-05T09:00:00.000+0800") == []
    assert cases(taskFollowUpDate="2027-01-05T09:00:00.000+0800", sortBy="priority", sortOrder="desc") == [
        done, dropped]
    assert cases(sortBy="dueDate", sortOrder="asc") == [untouched, done, dropped]
    # A case's task is its own activity instance; each case here is its own root; no task has a parent.
    assert cases(activityInstanceIdIn=f"{task_of[done]},other") == [done]
    assert cases(rootProcessInstanceId=dropped) == [dropped] and cases(taskParentTaskId=task_of[done]) == []
    assert client.get("/task", params={"activityInstanceIdIn": task_of[untouched]}).json()[0]["id"] == task_of[
        untouched]
    assert client.get("/task/count", params={"activityInstanceIdIn": task_of[done]}).json() == {"count": 0}
    assert client.get("/history/task", params={"taskPriority": "high"}).status_code == 400


def test_job_definitions_filter_by_region_and_overriding_priority_and_sort(client):
    waits = process("filter_waits", """
      <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="a_wait" />
      <bpmn:intermediateCatchEvent id="a_wait"><bpmn:timerEventDefinition><bpmn:timeDuration>P1D</bpmn:timeDuration>
      </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
      <bpmn:sequenceFlow id="f2" sourceRef="a_wait" targetRef="b_wait" />
      <bpmn:intermediateCatchEvent id="b_wait"><bpmn:timerEventDefinition><bpmn:timeDuration>P2D</bpmn:timeDuration>
      </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
      <bpmn:sequenceFlow id="f3" sourceRef="b_wait" targetRef="end" /><bpmn:endEvent id="end" />""")
    _deploy(client, "waits.bpmn", waits)
    _deploy(client, "waits.bpmn", waits.replace(b"filter_waits", b"regional_waits"), **{"tenant-id": "xj"})

    def activities(**criteria) -> list[str]:
        answer = client.get("/job-definition", params=criteria)
        assert answer.status_code == 200, answer.text
        assert client.post("/job-definition/count", json=criteria).json() == {"count": len(answer.json())}
        return [f"{row['processDefinitionKey']}#{row['activityId']}" for row in answer.json()]

    assert sorted(activities(tenantIdIn="xj")) == ["regional_waits#a_wait", "regional_waits#b_wait"]
    assert sorted(activities(withoutTenantId="true")) == ["filter_waits#a_wait", "filter_waits#b_wait"]
    assert len(activities(tenantIdIn="xj", includeJobDefinitionsWithoutTenantId="true")) == 4
    assert activities(withOverridingJobPriority="true") == []
    [one] = [row for row in client.get("/job-definition", params={"activityIdIn": "b_wait"}).json()
             if row["tenantId"] is None]
    assert client.put(f"/job-definition/{one['id'].replace('#', '%23')}/jobPriority", json={"priority": 9}
                      ).status_code == 204
    assert activities(withOverridingJobPriority="true") == ["filter_waits#b_wait"]
    assert activities(sortBy="activityId", sortOrder="desc", withoutTenantId="true") == [
        "filter_waits#b_wait", "filter_waits#a_wait"]
    assert client.get("/job-definition", params={"sortBy": "suspended", "sortOrder": "asc"}).status_code == 400


def test_the_historic_job_log_reads_executions_priorities_and_what_no_timer_log_is(client):
    _deploy(client, "wait.bpmn", process("filter_wait", """
      <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
      <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>P1D</bpmn:timeDuration>
      </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
      <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end" /><bpmn:endEvent id="end" />"""))
    first, second = (start(client, "filter_wait").json()["id"] for _ in range(2))

    def cases(**criteria) -> list[str]:
        answer = client.get("/history/job-log", params=criteria)
        assert answer.status_code == 200, answer.text
        assert client.post("/history/job-log/count", json=criteria).json() == {"count": len(answer.json())}
        return sorted(row["processInstanceId"] for row in answer.json())

    both = sorted([first, second])
    assert cases(executionIdIn=f"{first},{second}") == both
    assert cases(executionIdIn=first, processInstanceId=second) == []
    assert cases(jobPriorityLowerThanOrEquals="0") == both and cases(jobPriorityHigherThanOrEquals="1") == []
    assert cases(withoutTenantId="true") == both
    assert cases(failedActivityIdIn="wait") == [] and cases(hostname="node-1") == []
    assert cases(jobExceptionMessage="boom") == []


NESTED = process("filter_nested", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub" />
  <bpmn:subProcess id="sub">
    <bpmn:startEvent id="inner_start" /><bpmn:sequenceFlow id="f2" sourceRef="inner_start" targetRef="inner" />
    <bpmn:userTask id="inner" name="Review Me" /><bpmn:sequenceFlow id="f3" sourceRef="inner" targetRef="inner_end" />
    <bpmn:endEvent id="inner_end" />
  </bpmn:subProcess>
  <bpmn:sequenceFlow id="f4" sourceRef="sub" targetRef="end" /><bpmn:endEvent id="end" />""")


def test_filters_read_as_camundas_sql_reads_them(client, root):
    # Stored instants keep the clock's microseconds; a time given as the API shows it still matches.
    root.post("/api/clock", json={"set": "2026-09-29T10:00:00.123456+08:00"}).raise_for_status()
    _deploy(client, "nested.bpmn", NESTED)
    case = start(client, "filter_nested").json()["id"]
    [task] = client.get("/task", params={"processInstanceId": case}).json()
    assert task["created"] == "2026-09-29T10:00:00.123+0800"
    assert client.get("/task/count", params={"createdOn": task["created"]}).json() == {"count": 1}
    # A strict bound compares as Camunda, which stores the millisecond: not after its own millisecond.
    assert client.get("/task/count", params={"createdAfter": task["created"]}).json() == {"count": 0}
    assert client.get("/task/count", params={"createdAfter": "2026-09-29T10:00:00.122+0800"}).json() == {"count": 1}
    assert client.get("/deployment/count", params={"after": task["created"]}).json() == {"count": 0}
    # A process instance is at the activities its tokens wait at, not at the subprocess holding them.
    assert client.get("/process-instance/count", params={"activityIdIn": "inner"}).json() == {"count": 1}
    assert client.get("/process-instance/count", params={"activityIdIn": "sub"}).json() == {"count": 0}
    # A task's name and description compare in upper case, as Camunda's do.
    for criteria, count in (({"name": "review me"}, 1), ({"nameLike": "review%"}, 1),
                            ({"nameNotEqual": "REVIEW ME"}, 0), ({"nameNotLike": "%ME"}, 0)):
        assert client.get("/task/count", params=criteria).json() == {"count": count}, criteria
    # A history bound takes the instant given.
    started = client.get(f"/history/process-instance/{case}").json()["startTime"]
    assert client.get("/history/process-instance/count", params={"startedAfter": started}).json() == {"count": 1}
    assert client.get("/history/activity-instance/count", params={
        "startedBefore": started, "activityId": "start"}).json() == {"count": 1}
    # A date given as anything but text is refused in words, in a body as in a query.
    for path, name in (("/history/process-instance/count", "finishedBefore"), ("/external-task/count",
                                                                             "lockExpirationBefore"),
                       ("/task/count", "followUpBeforeOrNotExistent"), ("/history/activity-instance/count",
                                                                       "startedAfter")):
        for value in (5, [1], {}):
            answer = client.post(path, json={name: value})
            assert answer.status_code == 400 and name in answer.json()["message"], (path, value, answer.text)


def test_the_newest_version_of_a_key_is_each_regions_own_and_without_a_region_replaces_a_list(client):
    for tenant in (None, None, "xj"):
        _deploy(client, "review.bpmn", REVIEW, **({"tenant-id": tenant} if tenant else {}))
    newest = client.get("/process-definition", params={"key": "filter_review", "latestVersion": "true"}).json()
    assert sorted((row["tenantId"] or "", row["version"]) for row in newest) == [("", 2), ("xj", 1)]
    both = client.get("/process-definition", params={"tenantIdIn": "xj", "withoutTenantId": "true"}).json()
    assert [row["tenantId"] for row in both] == [None, None]
    deployments = client.get("/deployment", params={"tenantIdIn": "xj", "withoutTenantId": "true"}).json()
    assert [row["tenantId"] for row in deployments] == [None, None]


def test_a_candidate_user_is_offered_the_tasks_of_the_groups_the_user_is_a_member_of(service, client):
    accounts.save_account(service.services, "zhao", "zhao-password", ["eco-dept"])
    _deploy(client, "tasks.bpmn", TASKS)
    start(client, "filter_tasks")

    def keys(**criteria) -> list[str]:
        return sorted(task["taskDefinitionKey"] for task in client.get("/task", params=criteria).json())

    # As Camunda: the user's own candidate rows, or those of the user's groups (t_assigned is claimed).
    assert keys(candidateUser="zhao") == ["t_group", "t_user"]
    assert keys(candidateUser="zhao", candidateGroup="xj-drc") == ["t_group", "t_user"]
    assert keys(candidateUser="nobody") == [] and keys(candidateGroup="eco-dept") == ["t_group"]


def test_the_user_operation_log_reads_kinds_categories_properties_cases_and_entry_ids(client):
    _deploy(client, "review.bpmn", REVIEW)
    case, other = (start(client, "filter_review").json()["id"] for _ in range(2))
    assert client.put(f"/process-instance/{case}/suspended", json={"suspended": True}).status_code == 204

    def entries(**criteria) -> list[tuple[str, str]]:
        answer = client.get("/history/user-operation", params=criteria)
        assert answer.status_code == 200, answer.text
        assert client.get("/history/user-operation/count", params=criteria).json() == {"count": len(answer.json())}
        return sorted((row["processInstanceId"], row["operationType"]) for row in answer.json())

    assert entries(property="suspensionState") == [(case, "Suspend")]
    assert entries(entityTypeIn="ProcessInstance,Task", executionId=case) == [(case, "Create"), (case, "Suspend")]
    assert entries(category="Operator", categoryIn="Operator,TaskWorker", processDefinitionKey="filter_review") == \
        sorted([(case, "Create"), (case, "Suspend"), (other, "Create")])
    assert entries(category="Admin") == [] and entries(processDefinitionKey="elsewhere") == []
    [suspended] = client.get("/history/user-operation", params={"property": "suspensionState"}).json()
    assert entries(operationId=suspended["operationId"]) == [(case, "Suspend")]
    assert entries(operationId="not-an-entry") == []
    assert entries(jobId="some-job") == [] and entries(externalTaskId="some-task") == []


def test_variable_instances_by_value_scope_and_region(client):
    _deploy(client, "review.bpmn", REVIEW)
    first = start(client, "filter_review", score=85, applicant="Green Park", approved=True).json()["id"]
    second = start(client, "filter_review", score=60, applicant="Blue Park", approved=False).json()["id"]

    def found(path: str = "/variable-instance", method: str = "GET", **criteria) -> list[tuple[str, str]]:
        answer = client.get(path, params=criteria) if method == "GET" else client.post(path, json=criteria)
        assert answer.status_code == 200, answer.text
        counted = client.get(f"{path}/count", params=criteria) if method == "GET" else client.post(
            f"{path}/count", json=criteria)
        assert counted.json() == {"count": len(answer.json())}
        return sorted((row["processInstanceId"], row["name"]) for row in answer.json())

    assert found(variableValues="score_gt_70") == [(first, "score")]
    assert found("/variable-instance", "POST", variableValues=[{"name": "score", "operator": "lteq", "value": 60}]) \
        == [(second, "score")]
    assert found(variableValues="applicant_like_%Park") == sorted([(first, "applicant"), (second, "applicant")])
    assert found(variableValues="applicant_eq_green park", variableValuesIgnoreCase="true") == [(first, "applicant")]
    assert found(variableValues="APPROVED_eq_true", variableNamesIgnoreCase="true") == [(first, "approved")]
    assert found(variableValues="score_eq_85,applicant_eq_x") == []  # one variable must meet both
    assert found(executionIdIn=first, variableName="score") == [(first, "score")]
    assert found(activityInstanceIdIn=second, variableScopeIdIn=first) == []
    assert found(taskIdIn="some-task") == [] and found(tenantIdIn="xj") == []
    assert found("/history/variable-instance", "POST", variableName="score", variableValue=60) == [(second, "score")]
    assert found("/history/variable-instance", withoutTenantId="true", variableName="approved") == sorted([
        (first, "approved"), (second, "approved")])
    # The history's variableTypeIn names Camunda's types, in any case.
    assert found("/history/variable-instance", variableTypeIn="integer", processInstanceIdIn=first) == [
        (first, "score")]
    assert found("/history/variable-instance", "POST", variableTypeIn=["Boolean", "string"],
                 processInstanceIdIn=[second]) == [(second, "applicant"), (second, "approved")]
    assert found("/history/variable-instance", variableTypeIn="json") == []
    for bad in ("score_gt", "score_between_1", "a_b_c_d"):
        refused = client.get("/variable-instance", params={"variableValues": bad})
        assert refused.status_code == 400 and "variableValues" in refused.json()["message"], bad


def test_cases_and_tasks_by_their_variables_as_camundas_variables_and_process_variables_filters(client):
    _deploy(client, "review.bpmn", REVIEW)
    green = start(client, "filter_review", score=85, park="Green Park", region="xj").json()["id"]
    blue = start(client, "filter_review", score=60, park="Blue Park", region="zj").json()["id"]
    start(client, "filter_review", score=70)  # no park, no region

    def cases(path: str = "/process-instance", method: str = "GET", **criteria) -> list[str]:
        answer = client.get(path, params=criteria) if method == "GET" else client.post(path, json=criteria)
        assert answer.status_code == 200, answer.text
        counted = client.get(f"{path}/count", params=criteria) if method == "GET" else client.post(
            f"{path}/count", json=criteria)
        assert counted.json() == {"count": len(answer.json())}
        return sorted(row.get("processInstanceId") or row["id"] for row in answer.json())

    assert cases(variables="score_gteq_70,park_like_%Park") == [green]
    assert cases("/process-instance", "POST", variables=[{"name": "region", "operator": "neq", "value": "xj"}]) == [
        blue]  # neq needs the variable, as in Camunda
    assert cases(variables="PARK_eq_blue park", variableNamesIgnoreCase="true", variableValuesIgnoreCase="true") == [
        blue]
    assert cases(variables="score_lt_0") == []
    assert cases("/history/process-instance", variables="region_eq_zj") == [blue]
    assert cases("/task", processVariables="score_gt_65,region_eq_xj") == [green]
    assert cases("/history/task", processVariables="region_eq_zj") == [blue]
    assert cases("/execution", processVariables="region_eq_xj") == [green]
    assert cases("/execution", "POST", variables=[{"name": "score", "operator": "gt", "value": 80}]) == [green]
    assert cases("/task", "POST", processVariables=[{"name": "score", "operator": "lteq", "value": 70}]) == sorted(
        [row["processInstanceId"] for row in client.get("/task").json() if row["processInstanceId"] != green])
    # Paging applies after the filter.
    [second] = client.get("/process-instance", params={"variables": "score_gt_0", "firstResult": 1,
                                                        "maxResults": 1}).json()
    assert second["id"] == sorted(cases(variables="score_gt_0"))[1]
    # A saved task list filter with process variables runs them too.
    saved = client.post("/filter/create", json={"resourceType": "Task", "name": "新疆案件", "query": {
        "processVariables": [{"name": "region", "operator": "eq", "value": "xj"}]}}).json()
    assert [task["processInstanceId"] for task in client.get(f"/filter/{saved['id']}/list").json()] == [green]
    assert client.get(f"/filter/{saved['id']}/count").json() == {"count": 1}
    # A batch named by such a query acts on those cases only.
    batch = client.post("/process-instance/suspended-async", json={
        "processInstanceQuery": {"variables": [{"name": "region", "operator": "eq", "value": "zj"}]},
        "suspended": True})
    assert batch.status_code == 200, batch.text
    assert batch.json()["totalJobs"] == 1


def test_a_saved_task_filter_naming_a_filter_the_task_list_does_not_read_is_refused_when_saved(client):
    refused = client.post("/filter/create", json={"resourceType": "Task", "name": "或查询", "query": {
        "orQueries": [{"assignee": "zhao"}, {"caseDefinitionKey": "case"}]}})
    assert refused.status_code == 400 and "caseDefinitionKey" in refused.json()["message"]
    mine = client.post("/filter/create", json={"resourceType": "Task", "name": "我的任务", "query": {
        "assigneeExpression": "${currentUser()}", "dueDateExpression": "${now()}"}})
    assert mine.status_code == 200, mine.text
    assert client.put(f"/filter/{mine.json()['id']}", json={"name": "我的任务", "query": {
        "caseInstanceId": "case-1"}}).status_code == 400
    assert client.get(f"/filter/{mine.json()['id']}/count").json() == {"count": 0}

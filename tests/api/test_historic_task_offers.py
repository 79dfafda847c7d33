"""The historic task query's filters on whom a task was offered to and who took part in it (Camunda's
taskHadCandidateUser, taskHadCandidateGroup, taskInvolvedUser, taskInvolvedGroup, withCandidateGroups,
withoutCandidateGroups): over every identity link the task ever had, as /history/identity-link-log
shows them, open or ended; an official's list of what they took part in."""
from __future__ import annotations

from tests.api.test_query_filters import TASKS
from tests.support.http import deploy_bytes, listed, start


def _keys(client, method: str = "GET", **criteria) -> list[str]:
    return sorted(row["taskDefinitionKey"] for row in listed(client, "/history/task", method, **criteria))


def test_historic_tasks_by_whom_they_were_offered_to_and_who_took_part(client):
    deploy_bytes(client, "tasks.bpmn", TASKS).raise_for_status()
    case = start(client, "filter_tasks", business_key="BK-1").json()["id"]
    tasks = {task["taskDefinitionKey"]: task["id"] for task in client.get("/task", params={
        "processInstanceId": case}).json()}
    # Offered to sh-env for a while: it had that candidate group all the same.
    link = {"groupId": "sh-env", "type": "candidate"}
    client.post(f"/task/{tasks['t_user']}/identity-links", json=link).raise_for_status()
    client.post(f"/task/{tasks['t_user']}/identity-links/delete", json=link).raise_for_status()
    client.post(f"/task/{tasks['t_group']}/claim", json={"userId": "li"}).raise_for_status()
    client.post(f"/task/{tasks['t_group']}/complete", json={}).raise_for_status()

    assert _keys(client, taskHadCandidateUser="zhao") == ["t_user"]
    assert _keys(client, taskHadCandidateUser="wang") == []
    assert _keys(client, taskHadCandidateGroup="xj-drc") == ["t_group"]
    assert _keys(client, taskHadCandidateGroup="sh-env") == ["t_user"]
    assert _keys(client, taskInvolvedUser="wang") == ["t_assigned"]
    assert _keys(client, taskInvolvedUser="zhao") == ["t_user"]
    assert _keys(client, taskInvolvedGroup="eco-dept") == ["t_group"]
    assert _keys(client, withCandidateGroups="true") == ["t_group", "t_user"]
    assert _keys(client, withoutCandidateGroups="true") == ["t_assigned"]
    # What an official took part in and is done: the claimed and completed review.
    assert _keys(client, "POST", taskInvolvedUser="li", finished=True) == ["t_group"]
    assert _keys(client, "POST", taskInvolvedUser="li", unfinished=True) == []
    # Beside the other filters, and each a condition of its own in an or-query.
    assert _keys(client, "POST", taskDefinitionKey="t_user", withCandidateGroups=True) == ["t_user"]
    assert _keys(client, "POST", orQueries=[{"taskHadCandidateUser": "zhao", "taskInvolvedUser": "wang"}]) == [
        "t_assigned", "t_user"]
    assert _keys(client, "POST", orQueries=[{"taskInvolvedGroup": "eco-dept", "taskName": "办公室登记"}],
                 unfinished=True) == ["t_assigned"]
    for refused in ("withCandidateGroups", "withoutCandidateGroups"):
        answer = client.post("/history/task", json={"orQueries": [{refused: True}]})
        assert answer.status_code == 400 and refused in answer.json()["message"]

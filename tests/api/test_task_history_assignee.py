"""A user task opened with an assignee (the diagram's camunda:assignee) is that assignee's in its
history too, open and ended, as Camunda's historic task and activity instances show it; a case's
history verifies while one of its tasks is delegated; and the migration gives the tasks opened
before the assignee their history records."""
from __future__ import annotations

from alembic import command
from sqlalchemy import text

from app.persistence.migrations import alembic_config
from tests.api.test_query_filters import TASKS
from tests.support.history import verify
from tests.support.http import deploy_bytes, start


def _case(client) -> tuple[str, dict[str, str]]:
    deploy_bytes(client, "tasks.bpmn", TASKS).raise_for_status()
    case = start(client, "filter_tasks", business_key="BK-1").json()["id"]
    return case, {task["taskDefinitionKey"]: task["id"]
                  for task in client.get("/task", params={"processInstanceId": case}).json()}


def _historic_assignees(client, **criteria) -> dict[str, str | None]:
    rows = client.get("/history/task", params=criteria).json()
    return {row["taskDefinitionKey"]: row["assignee"] for row in rows}


def test_a_task_opened_with_an_assignee_is_theirs_in_its_history(client, root):
    case, tasks = _case(client)
    assert _historic_assignees(client, taskAssignee="wang") == {"t_assigned": "wang"}
    [activity] = client.get("/history/activity-instance", params={"activityId": "t_assigned"}).json()
    assert activity["assignee"] == "wang"
    client.post(f"/task/{tasks['t_assigned']}/complete", json={}).raise_for_status()
    assert _historic_assignees(client, taskAssignee="wang", finished="true") == {"t_assigned": "wang"}
    assert _historic_assignees(client, unassigned="true") == {"t_group": None, "t_user": None}
    assert verify(root, case)["intact"] is True


def test_a_case_verifies_while_its_task_is_delegated_and_after(client, root):
    case, tasks = _case(client)
    client.post(f"/task/{tasks['t_assigned']}/delegate", json={"userId": "expert"}).raise_for_status()
    assert _historic_assignees(client, taskDefinitionKey="t_assigned") == {"t_assigned": "expert"}
    assert verify(root, case)["intact"] is True
    client.post(f"/task/{tasks['t_assigned']}/resolve", json={}).raise_for_status()
    assert _historic_assignees(client, taskDefinitionKey="t_assigned") == {"t_assigned": "wang"}
    assert verify(root, case)["intact"] is True


def test_the_migration_gives_tasks_opened_before_the_assignee_their_history_records(service, client, root):
    case, tasks = _case(client)
    client.post(f"/task/{tasks['t_user']}/claim", json={"userId": "zhao"}).raise_for_status()
    client.post(f"/task/{tasks['t_user']}/unclaim").raise_for_status()
    # As a task opened before this release was kept: its activity row without the opening assignee.
    with service.services.db.write() as session:
        session.execute(text("UPDATE activity_instance SET assignee = NULL WHERE id = :task"),
                        {"task": tasks["t_assigned"]})
    report = verify(root, case)
    assert report["intact"] is False and "assignee" in report["problems"][0]["problem"]
    config = alembic_config(service.services.db.url)
    command.stamp(config, "0035")
    command.upgrade(config, "0036")
    command.stamp(config, "head")
    assert verify(root, case)["intact"] is True
    # The task claimed and given back after it opened keeps what its later events say: nobody.
    assert _historic_assignees(client) == {"t_assigned": "wang", "t_group": None, "t_user": None}

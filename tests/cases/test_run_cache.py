"""A worker keeps an instance's run in memory between its steps: a step by another worker (another
replica on the same database), or a step that failed half-way, must never be built on."""
from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from app.access.accounts import ADMINISTRATORS, Principal
from app.cases import instances, tasks
from app.cases.projections import COMPLETED
from app.context import Services
from app.definitions import deployments
from app.errors import ProcessExecutionFailed
from app.persistence.models import HistoryEvent, ProcessInstance, UserTask
from tests.support.paths import FIXTURES

ADMIN = Principal("admin", frozenset({ADMINISTRATORS}))


def start_ten_step(services: Services, variables: dict) -> str:
    deployments.deploy(services, name="ten steps", source="run cache tests", tenant_id=None,
                       resources={"ten_step.bpmn": (FIXTURES / "ten_step.bpmn").read_bytes()},
                       duplicate_filtering=True, changed_only=False)
    instance, _ = instances.start_instance(services, key="ten_step", variables=variables, business_key=None,
                                           actor=ADMIN)
    return instance.id


def open_task(services: Services, instance_id: str) -> tuple[str, str]:
    with services.db.read() as session:
        task = session.scalars(select(UserTask).where(UserTask.process_instance_id == instance_id)).one()
        return task.id, task.task_definition_key


def completed_steps(services: Services, instance_id: str) -> list[str | None]:
    with services.db.read() as session:
        return list(session.scalars(select(HistoryEvent.activity_id).where(
            HistoryEvent.process_instance_id == instance_id, HistoryEvent.kind == "task.completed")
            .order_by(HistoryEvent.sequence)))


def test_two_replicas_taking_turns_on_one_case_each_build_on_the_others_step(use_cases: Services) -> None:
    # A second worker on the same database, with a memory of its own.
    other = dataclasses.replace(use_cases)
    assert other.runs is not use_cases.runs
    case = start_ten_step(use_cases, {"approved": True})
    for step in range(10):
        worker = (use_cases, other)[step % 2]
        task_id, key = open_task(worker, case)
        assert key == f"step_{step + 1}"
        tasks.complete(worker, task_id, {}, actor=ADMIN)
    assert completed_steps(use_cases, case) == [f"step_{number}" for number in range(1, 11)]
    with use_cases.db.read() as session:
        assert session.get_one(ProcessInstance, case).status == COMPLETED


def test_a_step_that_failed_half_way_leaves_nothing_the_next_step_builds_on(use_cases: Services) -> None:
    case = start_ten_step(use_cases, {})
    for _ in range(9):
        tasks.complete(use_cases, open_task(use_cases, case)[0], {}, actor=ADMIN)
    last, key = open_task(use_cases, case)
    assert key == "step_10"
    # The gateway after the last step reads `approved`, which nobody has set: the step fails after the
    # engine has completed the task in memory.
    with pytest.raises(ProcessExecutionFailed):
        tasks.complete(use_cases, last, {}, actor=ADMIN)
    assert open_task(use_cases, case) == (last, "step_10")
    instances.modify_variables(use_cases, case, modifications={"approved": True}, deletions=(), actor=ADMIN)
    tasks.complete(use_cases, last, {}, actor=ADMIN)
    assert completed_steps(use_cases, case)[-1] == "step_10"
    assert len(completed_steps(use_cases, case)) == 10
    with use_cases.db.read() as session:
        assert session.get_one(ProcessInstance, case).status == COMPLETED

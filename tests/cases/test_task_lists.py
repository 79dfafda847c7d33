"""Who finds which rows in the task and history lists, and in their counts: a candidate query of a
member of the group is read from the candidates alone, one of anyone else also from the cases they may
read; a task offered to two of the viewer's groups is listed once; the history list keeps to the cases
the viewer takes part in, started, was assigned work in, or that belong to their region. Every list
is checked against its count."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from app.access.accounts import ADMINISTRATORS, Principal
from app.cases import history, instances, listing, tasks
from app.cases.tasks import TaskFilter
from app.context import Services
from app.definitions import deployments
from tests.support.bpmn_text import process

# Three tasks at once: one offered to two groups, one to one of them, one to a user.
OFFERED = process("offered", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="split" />
  <bpmn:parallelGateway id="split" />
  <bpmn:sequenceFlow id="f1" sourceRef="split" targetRef="joint" />
  <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="env" />
  <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="personal" />
  <bpmn:userTask id="joint" name="会签" camunda:candidateGroups="a-env,a-drc" />
  <bpmn:userTask id="env" name="环保审查" camunda:candidateGroups="a-env" />
  <bpmn:userTask id="personal" name="专家意见" camunda:candidateUsers="wang" />
  <bpmn:sequenceFlow id="f4" sourceRef="joint" targetRef="merge" />
  <bpmn:sequenceFlow id="f5" sourceRef="env" targetRef="merge" />
  <bpmn:sequenceFlow id="f6" sourceRef="personal" targetRef="merge" />
  <bpmn:parallelGateway id="merge" /><bpmn:sequenceFlow id="f7" sourceRef="merge" targetRef="end" />
  <bpmn:endEvent id="end" />""")
# A case of another department alone.
ELSEWHERE = process("elsewhere", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="env" />
  <bpmn:userTask id="env" name="环保审查" camunda:candidateGroups="b-env" />
  <bpmn:sequenceFlow id="f2" sourceRef="env" targetRef="end" /><bpmn:endEvent id="end" />""")

ADMIN = Principal("admin", frozenset({ADMINISTRATORS}))
BOTH = Principal("li", frozenset({"a-env", "a-drc"}))
ENV = Principal("zhang", frozenset({"a-env"}))
WANG = Principal("wang", frozenset({"experts"}))
# Takes part in no case unless it starts one, is assigned work in one, or reads a region.
FIRM = Principal("firm", frozenset({"firms"}))
OFFICIAL = Principal("zhou", frozenset({"b-env"}), region="zj")


def start(services: Services, actor: Principal = ADMIN, key: str = "offered") -> str:
    services.clock.advance(timedelta(minutes=1))
    instance, _ = instances.start_instance(services, key=key, variables={}, business_key=None, actor=actor)
    return instance.id


def listed(services: Services, **criteria: object) -> list[tuple[str, str]]:
    """(case, step) of the tasks the query lists, in its order; its count must agree."""
    query = tasks.task_query(TaskFilter(**criteria))
    rows = listing.rows(services, query, 0, 100)
    assert listing.number_of(services, query) == len(rows)
    return [(task.process_instance_id, task.task_definition_key) for task in rows]


def task_of(services: Services, case: str, step: str) -> str:
    [task] = [row for row in listing.rows(services, tasks.task_query(TaskFilter(process_instance_id=case)), 0, 10)
              if row.task_definition_key == step]
    return task.id


def cases_read_by(services: Services, viewer: Principal, **criteria: object) -> list[str]:
    query = history.historic_instance_query(history.InstanceFilter(viewer=viewer, **criteria))
    rows = listing.rows(services, query, 0, 100)
    assert listing.number_of(services, query) == len(rows)
    return [instance.id for instance, *_ in rows]


def deploy(services: Services) -> None:
    deployments.deploy(services, name="task lists", source="task list tests", tenant_id=None,
                       resources={"offered.bpmn": OFFERED, "elsewhere.bpmn": ELSEWHERE}, duplicate_filtering=False,
                       changed_only=False)


def test_a_task_offered_to_two_groups_of_the_viewer_is_listed_once(use_cases):
    deploy(use_cases)
    first, second = start(use_cases), start(use_cases)
    both = [(first, "joint"), (first, "env"), (second, "joint"), (second, "env")]
    # In the order the tasks were opened: the two tasks of a case in the same instant, by id.
    by_creation = sorted(both, key=lambda row: (row[0] != first, task_of(use_cases, *row)))
    assert listed(use_cases, candidate_groups=["a-env", "a-drc"], viewer=BOTH) == by_creation
    # candidateGroup with candidateGroups narrows to the groups in both, as Camunda's query does.
    assert listed(use_cases, candidate_group="a-drc", candidate_groups=["a-env"], viewer=BOTH) == []
    assert listed(use_cases, candidate_group="a-drc", candidate_groups=["a-env", "a-drc"], viewer=BOTH) == [
        (first, "joint"), (second, "joint")]
    assert listed(use_cases, candidate_group="a-drc", viewer=BOTH) == [(first, "joint"), (second, "joint")]
    # The same rows as the administrator finds them, who reads every case.
    assert listed(use_cases, candidate_groups=["a-env", "a-drc"], viewer=ADMIN) == by_creation


def test_a_member_finds_the_unclaimed_tasks_of_the_group_and_the_claimed_ones_when_asked(use_cases):
    deploy(use_cases)
    first, second = start(use_cases), start(use_cases)
    elsewhere = start(use_cases, key="elsewhere")
    tasks.claim(use_cases, task_of(use_cases, first, "env"), ENV.user_id, actor=ENV)
    assert listed(use_cases, candidate_group="a-env", viewer=ENV) == sorted(
        [(first, "joint"), (second, "joint"), (second, "env")],
        key=lambda row: (row[0] != first, task_of(use_cases, *row)))
    assert (first, "env") in listed(use_cases, candidate_group="a-env", include_assigned_tasks=True, viewer=ENV)
    # A group the viewer is not a member of, beside the viewer's own: the cases read decide for it.
    assert listed(use_cases, candidate_groups=["a-env", "b-env"], viewer=ENV) == listed(
        use_cases, candidate_group="a-env", viewer=ENV)
    assert listed(use_cases, candidate_group="b-env", viewer=ENV) == []
    assert listed(use_cases, candidate_groups=["a-env", "b-env"], viewer=ADMIN)[-1] == (elsewhere, "env")


def test_a_candidate_query_by_someone_outside_the_group_lists_only_the_cases_they_may_read(use_cases):
    deploy(use_cases)
    started = start(use_cases, FIRM)
    other = start(use_cases)
    regional = start(use_cases, Principal("hz-portal", frozenset({"systems"}), region="zj-hz"))
    assert listed(use_cases, candidate_group="a-env", viewer=ADMIN) == [
        (case, step) for case in (started, other, regional)
        for step in sorted(("joint", "env"), key=lambda step, case=case: task_of(use_cases, case, step))]

    # The firm started one case; the official reads the cases of Zhejiang and of the regions below it.
    assert {case for case, _ in listed(use_cases, candidate_group="a-env", viewer=FIRM)} == {started}
    assert {case for case, _ in listed(use_cases, candidate_group="a-env", viewer=OFFICIAL)} == {regional}
    assert listed(use_cases, candidate_user="wang", viewer=FIRM) == [(started, "personal")]

    # Assigned a task of another case, the firm reads that case too.
    tasks.set_assignee(use_cases, task_of(use_cases, other, "personal"), FIRM.user_id, actor=ADMIN)
    assert {case for case, _ in listed(use_cases, candidate_group="a-env", viewer=FIRM)} == {started, other}


def test_a_candidate_user_finds_the_tasks_offered_to_them(use_cases):
    deploy(use_cases)
    first, second = start(use_cases), start(use_cases)
    assert listed(use_cases, candidate_user="wang", viewer=WANG) == [(first, "personal"), (second, "personal")]
    assert listed(use_cases, candidate_user="wang", viewer=ENV) == [(first, "personal"), (second, "personal")]
    assert listed(use_cases, candidate_user="wang", viewer=FIRM) == []


def test_the_history_list_keeps_to_the_cases_the_viewer_may_read_in_start_order(use_cases):
    deploy(use_cases)
    started = start(use_cases, FIRM)
    other = start(use_cases)
    regional = start(use_cases, Principal("hz-portal", frozenset({"systems"}), region="zj-hz"))
    tasks.complete(use_cases, task_of(use_cases, other, "personal"), {}, actor=WANG)
    every = [started, other, regional]

    assert cases_read_by(use_cases, ADMIN) == every
    assert cases_read_by(use_cases, ADMIN, sort_desc={"startTime": True}) == every[::-1]
    assert cases_read_by(use_cases, ENV) == every
    assert cases_read_by(use_cases, FIRM) == [started]
    assert cases_read_by(use_cases, OFFICIAL, sort_desc={"startTime": True}) == [regional]
    assert cases_read_by(use_cases, Principal("nobody", frozenset({"b-env"}))) == []
    tasks.set_assignee(use_cases, task_of(use_cases, other, "env"), FIRM.user_id, actor=ADMIN)
    assert cases_read_by(use_cases, FIRM, sort_desc={"startTime": True}) == [other, started]


def test_the_migration_records_the_participants_of_tasks_opened_before_they_were_recorded(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine

    from app.persistence.migrations import alembic_config

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    command.upgrade(alembic_config(url), "0013")
    engine = create_engine(url)
    with engine.begin() as connection:
        for statement in (
                "INSERT INTO deployment (id, deployment_time) VALUES ('d', '2026-01-01 00:00:00')",
                "INSERT INTO process_definition (id, key, version, deployment_id, resource_name, checksum, suspended) "
                "VALUES ('p:1', 'p', 1, 'd', 'p.bpmn', 'c', 0)",
                "INSERT INTO process_instance (id, definition_id, definition_key, status, state, start_time, "
                "last_sequence, revision) VALUES ('i', 'p:1', 'p', 'ACTIVE', '', '2026-01-01 00:00:00', 0, 1)",
                "INSERT INTO user_task (id, process_instance_id, process_definition_id, process_definition_key, "
                "task_definition_key, created, priority) VALUES ('t', 'i', 'p:1', 'p', 'review', "
                "'2026-01-01 00:00:00', 50)",
                "INSERT INTO task_candidate (task_id, kind, identity) VALUES ('t', 'group', 'a-env'), "
                "('t', 'user', 'wang'), ('t', 'group', 'a-drc')",
                "INSERT INTO instance_participant (process_instance_id, kind, identity) VALUES ('i', 'group', 'a-drc')"):
            connection.execute(text(statement))
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT process_instance_id, kind, identity FROM instance_participant "
                                       "ORDER BY kind, identity")).all() == [
            ("i", "group", "a-drc"), ("i", "group", "a-env"), ("i", "user", "wang")]
    engine.dispose()

"""The use cases of a review called as the REST layer calls them, without HTTP: deploying, starting,
claiming, completing, changing and ending a case, each checked by what a person would see (who may
act, the open tasks, the case's data and its timeline). Every test runs on a database rolled back at
its end; the fixture fails a test that finds rows an earlier one left."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.access.accounts import ADMINISTRATORS, Principal
from app.audit import ledger, timeline
from app.cases import instances, tasks
from app.cases.projections import ACTIVE, COMPLETED, TERMINATED
from app.cases.tasks import TaskFilter
from app.context import Services
from app.definitions import deployments
from app.errors import Forbidden, FormValidationFailed, TaskAlreadyClaimed
from app.persistence.models import Deployment, HistoryEvent, ProcessInstance
from tests.support.paths import FIXTURES

DESIGNER = Principal("designer", frozenset({"designers"}))
APPLICANT = Principal("park-office", frozenset({"zj-parks"}))
# Members of the provincial department that the review names as candidates (${province}-eco-env).
ZHANG = Principal("zhang", frozenset({"zj-eco-env"}))
WANG = Principal("wang", frozenset({"zj-eco-env"}))
# A department of another province: no candidate of a Zhejiang review.
LI = Principal("li", frozenset({"js-eco-env"}))
MINISTRY = Principal("zhao", frozenset({"mee-sti"}))
ADMIN = Principal("admin", frozenset({ADMINISTRATORS}))
APPROVE = {"decision": "approve", "opinion": "符合条件", "score": 90}


def deploy_review(services: Services) -> None:
    deployments.deploy(services, name="eco review", source="use case tests", tenant_id=None,
                       resources={"eco_review.bpmn": (FIXTURES / "eco_review.bpmn").read_bytes()},
                       duplicate_filtering=False, changed_only=False, user_id=DESIGNER.user_id)


def start_review(services: Services, business_key: str = "EIP-1") -> str:
    instance, _ = instances.start_instance(
        services, key="eco_review", business_key=business_key, actor=APPLICANT,
        variables={"park_name": "某生态工业园区", "province": "zj", "applicant": APPLICANT.user_id})
    return instance.id


def open_tasks(services: Services, instance_id: str) -> list[dict]:
    """The instance's open tasks as a task list shows them: step, assignee and candidate groups."""
    with services.db.read() as session:
        found = session.scalars(tasks.task_query(TaskFilter(process_instance_id=instance_id))).all()
        groups = tasks.candidates(session, [task.id for task in found])
        return [{"id": task.id, "step": task.task_definition_key, "assignee": task.assignee,
                 "groups": sorted(c.identity for c in groups.get(task.id, []) if c.kind == "group")}
                for task in found]


def only_task(services: Services, instance_id: str) -> dict:
    [task] = open_tasks(services, instance_id)
    return task


def said(services: Services, instance_id: str) -> list[tuple[str | None, str]]:
    """The case's timeline as its reader sees it: who, and what they did."""
    return [(entry.who, entry.what) for entry in timeline.timeline(services, instance_id, ADMIN)]


def status_of(services: Services, instance_id: str) -> str:
    with services.db.read() as session:
        return session.get(ProcessInstance, instance_id).status


def history_of(services: Services, instance_id: str) -> list[HistoryEvent]:
    with services.db.read() as session:
        return list(session.scalars(select(HistoryEvent).where(HistoryEvent.process_instance_id == instance_id)
                                    .order_by(HistoryEvent.sequence)))


def test_a_candidate_completes_the_review_and_the_timeline_names_who_did_what(use_cases):
    deploy_review(use_cases)
    case = start_review(use_cases)
    review = only_task(use_cases, case)
    assert (review["step"], review["assignee"], review["groups"]) == ("provincial_review", None, ["zj-eco-env"])

    variables = tasks.complete(use_cases, review["id"], APPROVE, actor=ZHANG)

    assert variables["decision"] == "approve"
    approval = only_task(use_cases, case)
    assert (approval["step"], approval["groups"]) == ("ministry_approval", ["mee-sti"])
    tasks.complete(use_cases, approval["id"], {"approved": True}, actor=MINISTRY)
    assert status_of(use_cases, case) == COMPLETED and open_tasks(use_cases, case) == []
    assert said(use_cases, case) == [
        ("park-office", "启动案件"),
        (None, "待办：省级生态环境部门审查"),
        ("zhang", "办理完成：省级生态环境部门审查"),
        (None, "待办：生态环境部审批"),
        ("zhao", "办理完成：生态环境部审批"),
        ("zhao", "案件办结"),  # the step that ended the case
    ]
    # Who deployed the process is on the administrative record; the whole record verifies as written.
    [deployed] = ledger.admin_events(use_cases, kind="deployment.created")
    assert (deployed.user_id, deployed.payload["name"]) == ("designer", "eco review")
    report = ledger.verify(use_cases)
    assert report.intact and report.instances == 1, report.problems


def test_someone_who_is_no_candidate_is_refused_and_nothing_changes(use_cases):
    deploy_review(use_cases)
    case = start_review(use_cases)
    review = only_task(use_cases, case)
    before = [(event.sequence, event.kind) for event in history_of(use_cases, case)]

    with pytest.raises(Forbidden, match="'li' does not have 'UPDATE' permission"):
        tasks.complete(use_cases, review["id"], APPROVE, actor=LI)
    with pytest.raises(Forbidden):
        tasks.claim(use_cases, review["id"], LI.user_id, actor=LI)

    assert only_task(use_cases, case) == review
    assert [(event.sequence, event.kind) for event in history_of(use_cases, case)] == before
    assert status_of(use_cases, case) == ACTIVE


def test_a_refused_submission_leaves_the_task_open_for_a_valid_one(use_cases):
    deploy_review(use_cases)
    case = start_review(use_cases)
    review = only_task(use_cases, case)

    with pytest.raises(FormValidationFailed):
        tasks.complete(use_cases, review["id"], {**APPROVE, "score": 101}, actor=ZHANG)
    assert only_task(use_cases, case) == review

    # The failed unit of work rolled back to its own savepoint only: the next one commits.
    tasks.complete(use_cases, review["id"], APPROVE, actor=ZHANG)
    assert only_task(use_cases, case)["step"] == "ministry_approval"


def test_a_task_claimed_by_one_member_cannot_be_claimed_by_another(use_cases):
    deploy_review(use_cases)
    case = start_review(use_cases)
    review = only_task(use_cases, case)

    tasks.claim(use_cases, review["id"], ZHANG.user_id, actor=ZHANG)
    with pytest.raises(TaskAlreadyClaimed):
        tasks.claim(use_cases, review["id"], WANG.user_id, actor=WANG)

    assert only_task(use_cases, case)["assignee"] == "zhang"
    assert ("zhang", "认领：省级生态环境部门审查") in said(use_cases, case)
    claims = [event for event in history_of(use_cases, case) if event.kind == "task.claimed"]
    assert [(event.user_id, event.payload["assignee"]) for event in claims] == [("zhang", "zhang")]
    # The one who claimed it may still complete it.
    tasks.complete(use_cases, review["id"], APPROVE, actor=ZHANG)
    assert only_task(use_cases, case)["step"] == "ministry_approval"


def test_changed_data_and_an_ended_case_record_who_did_it(use_cases):
    deploy_review(use_cases)
    case = start_review(use_cases)

    instances.modify_variables(use_cases, case, modifications={"park_name": "更名后的园区"}, deletions=["applicant"],
                               actor=ADMIN)
    shown = instances.instance_variables(use_cases, case, ADMIN)
    assert shown["park_name"] == "更名后的园区" and "applicant" not in shown

    instances.delete_instance(use_cases, case, reason="申请人撤回申请", actor=ADMIN)

    assert status_of(use_cases, case) == TERMINATED and open_tasks(use_cases, case) == []
    assert said(use_cases, case) == [
        ("park-office", "启动案件"),
        (None, "待办：省级生态环境部门审查"),
        ("admin", "管理员修改案件数据"),
        ("admin", "案件被终止"),
    ]
    modified, deleted = (next(event for event in history_of(use_cases, case) if event.kind == kind)
                         for kind in ("variables.modified", "process.deleted"))
    assert (modified.user_id, modified.payload["modifications"], modified.payload["deletions"]) == (
        "admin", {"park_name": "更名后的园区"}, ["applicant"])
    assert (deleted.user_id, deleted.payload["reason"]) == ("admin", "申请人撤回申请")
    assert ledger.verify(use_cases, case).intact


@pytest.mark.parametrize("which", ["one", "another"])
def test_what_one_test_commits_the_next_does_not_see(use_cases, which):
    """Run in either order, the second of these finds nothing of the first (the fixture checks every
    table as well): each unit of work commits, and the test's rollback undoes it."""
    with use_cases.db.read() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
        assert session.scalars(select(Deployment.name)).all() == []
    deploy_review(use_cases)
    start_review(use_cases, business_key=f"EIP-{which}")
    with use_cases.db.read() as session:
        assert session.scalars(select(ProcessInstance.business_key)).all() == [f"EIP-{which}"]

"""The scenario runner itself, on the fixture processes: a scenario that matches the service passes
with a dated timeline; one that does not fails naming the step and the difference; refusals are
reported; bad files are refused before anything runs; the command line runs a file end to end."""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

import httpx
import pytest

from app.cli import main
from app.scenarios import ScenarioError, load_scenario, run_scenario
from app.scenarios.accounts import create_accounts
from app.scenarios.model import Scenario
from tests.support.paths import FIXTURES
from tests.support.service import ADMIN_AUTH

SAMPLES = FIXTURES.parent / "scenarios"
REVIEW = SAMPLES / "eco_review_supplemented.yaml"
STEP_LINE = re.compile(r"^\d{4}-\d\d-\d\d 周[一二三四五六日] \d\d:\d\d  ")

# The start of a scenario on eco_review, for the cases written here.
HEAD = """\
scenario: 审查
covers: [ECO-01]
clock: 2026-03-02T09:00:00+08:00
deploy: [eco_review.bpmn]
steps:
  - start: eco_review
    as: park
    businessKey: ECO-T-01
    variables: {park_name: 某园区, province: zj, applicant: park-office, score: 55}
"""


@pytest.fixture
def http(service):
    with httpx.Client(base_url=service.base_url, auth=ADMIN_AUTH, timeout=30) as client:
        yield client


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run(http: httpx.Client, tmp_path: Path, steps: str):
    """Runs HEAD followed by `steps` (YAML list items), deploying from the fixture processes."""
    scenario = load_scenario(write(tmp_path, HEAD + textwrap.indent(textwrap.dedent(steps), "  ")), FIXTURES)
    return run_scenario(http, scenario)


def test_a_passing_scenario_lists_each_step_with_its_date_and_the_paths_it_walked(http):
    scenario = load_scenario(REVIEW)
    result = run_scenario(http, scenario)

    assert result.passed, result.report()
    step_lines = [line for line in result.timeline if STEP_LINE.match(line)]
    assert len(step_lines) == 1 + len(scenario.steps)  # the deployment, then one line a step
    assert all(line.endswith(step.text) for line, step in zip(step_lines[1:], scenario.steps, strict=True))
    assert "2026-03-05 周四 09:00        advance P3D" in result.timeline
    assert ("2026-03-02 周一 09:00  park  complete provincial_review by zj-eco-env "
            "{decision: supplement, opinion: 缺少近三年监测报告, score: 55}") in result.timeline
    outcomes = [line.strip() for line in result.timeline if line.startswith(" ")]
    assert outcomes == ["park: new provincial_review", "park: new applicant_supplement", "park: new provincial_review",
                        "park: new ministry_approval", "park: ended at approved_end"]
    # The gateway sent the application back once and then on to the ministry.
    assert result.paths == {"eco_review": {("decision_gateway", "applicant_supplement"),
                                           ("decision_gateway", "ministry_approval")}}
    assert result.report().endswith("passed")


@pytest.mark.parametrize("name", ["working_day_publicity.yaml", "notice_and_objection.yaml",
                                  "enterprise_listed.yaml"])
def test_timers_deadlines_external_tasks_messages_signals_and_found_instances(http, name):
    result = run_scenario(http, load_scenario(SAMPLES / name))
    assert result.passed, result.report()


def test_an_instance_found_by_its_process_when_it_has_no_business_key(http, tmp_path):
    result = run_scenario(http, load_scenario(write(tmp_path, """\
        scenario: 年度名单
        covers: [CP-02]
        clock: 2027-03-30T09:00:00+08:00
        deploy: [events/yearly_listing.bpmn]
        steps:
          - until: 2027-03-31T09:00:00+08:00
          - find: {as: year1, process: yearly_listing}
          - expect: {tasks: [decide_list]}
        """), FIXTURES))
    assert result.passed, result.report()
    assert result.paths == {"yearly_listing": set()}


@pytest.mark.parametrize("expect, difference", [
    ("{ended: approved_end, variables: {decision: approve}}",
     'expected ended at approved_end, found ended at rejected_end; '
     'variable decision: expected "approve", found "reject"'),
    ("{tasks: [ministry_approval]}", 'open tasks: expected ["ministry_approval"], found []'),
    ("{ended: false}", "expected still running, found ended at rejected_end"),
    ("{variables: {score: '55'}}", 'variable score: expected "55", found 55'),
    ("{variables: {approved: true}}", "variable approved: expected true, found none"),
    ("{instances: {eco_review: 2}}", "instances of eco_review with business key ECO-T-01: expected 2, found 1"),
    ("{externalTasks: [publish]}", 'open external tasks: expected ["publish"], found []'),
    ("{timers: {publicity: 2026-03-05}}", 'timer publicity: expected "2026-03-05", found none'),
    ("{due: {provincial_review: 2026-03-05}}", "due of provincial_review: no such open task"),
    ("{deadlines: [{activity: provincial_review}]}", 'deadline {"activity": "provincial_review"} not among []'),
])
def test_a_wrong_expectation_fails_naming_the_step_and_the_difference(http, tmp_path, expect, difference):
    result = run(http, tmp_path, f"""\
        - complete: provincial_review
          variables: {{decision: reject, opinion: 不符合条件}}
        - expect: {expect}
        """)
    assert not result.passed
    assert str(result.failure) == f"step 3 (expect {expect}): {difference}"
    assert result.report().endswith(f"FAILED at step 3 (expect {expect}): {difference}")
    assert result.timeline[-1] == "                     park: ended at rejected_end"  # the steps that passed


def test_a_task_that_is_not_open_or_not_for_the_group_named_fails(http, tmp_path):
    result = run(http, tmp_path, "- complete: ministry_approval\n")
    assert str(result.failure) == ("step 2 (complete ministry_approval): park has no open task ministry_approval "
                                   "(open: provincial_review)")
    result = run(http, tmp_path, "- complete: provincial_review\n  by: mee-sti\n")
    assert str(result.failure) == ("step 2 (complete provincial_review by mee-sti): provincial_review is not for "
                                   "mee-sti (its candidates and assignee: zj-eco-env)")


def test_a_refused_completion_fails_unless_the_scenario_tells_the_refusal(http, tmp_path):
    incomplete = "- complete: provincial_review\n  variables: {decision: approve}\n"
    failed = run(http, tmp_path, incomplete)
    assert failed.failure.step.number == 2
    assert failed.failure.problem.startswith("the service answered 400 InvalidRequestException: ")
    assert "opinion" in failed.failure.problem

    told = run(http, tmp_path, incomplete + "  refused: true\n- expect: {tasks: [provincial_review]}\n")
    assert told.passed, told.report()
    line = told.timeline.index("2026-03-02 周一 09:00  park  complete provincial_review {decision: approve} "
                               "(must be refused)")
    assert told.timeline[line + 1].strip() == f"refused: {failed.failure.problem.removeprefix('the service answered ')}"

    accepted = run(http, tmp_path, """\
        - complete: provincial_review
          variables: {decision: approve, opinion: 同意}
          refused: true
        """)
    assert accepted.failure.problem == "the service should have refused, but answered 204"


CASE_WORK = """\
    scenario: 驳回、计时与抄送
    covers: [ECO-01]
    clock: 2026-03-02T09:00:00+08:00
    deploy: [constructs/return_and_withdraw.bpmn]
    accounts:
      reader: {password: reader-password, groups: [readers]}
    steps:
      - start: permit_review
        as: permit
      - complete: submit
      - return: review
        to: approve
        opinion: 退回
        refused: true
      - return: review
        by: reviewers
        to: submit
        opinion: 材料不全，请补正
      - expect: {tasks: [submit]}
      - copy: submit
        groups: [readers]
      - note: 没有 statutoryLimit 的流程不计时
      - clock: pause
        reason: 补正
        refused: true
      - advance: P1D
      - expect:
          copies: {reader: [submit]}
          clock: {used: 1, paused: 0, remaining: null, running: true, stops: []}
    """


def with_accounts(service, scenario: Scenario) -> Scenario:
    create_accounts(service.services, scenario)
    return scenario


def test_return_clock_and_copy_steps_and_their_expectations(service, http, tmp_path):
    result = run_scenario(http, with_accounts(service, load_scenario(write(tmp_path, CASE_WORK), FIXTURES)))
    assert result.passed, result.report()
    assert "2026-03-02 周一 09:00  permit  return review by reviewers {to: submit, opinion: 材料不全，请补正}" in (
        result.timeline)
    refusals = [line.strip() for line in result.timeline if line.strip().startswith("refused:")]
    assert "may not return the case to 'approve'" in refusals[0] and "statutoryLimit" in refusals[1], refusals
    wrong = CASE_WORK.replace("copies: {reader: [submit]}", "copies: {reader: []}").replace(
        "stops: []", "stops: [{reason: 补正}]").replace("used: 1,", "used: 2,")
    failed = run_scenario(http, load_scenario(write(tmp_path, wrong), FIXTURES))
    assert failed.failure.problem == ('clock used: expected 2, found 1; clock stops: expected [{"reason": "补正"}], '
                                      'found []; copies to reader: expected [], found ["submit"]')


def test_a_copy_recipient_who_may_work_the_case_fails_the_copies_expectation(service, http, tmp_path):
    # The reader is also an applicant: it may complete the case's open task, so it is no mere reader.
    text = CASE_WORK.replace("groups: [readers]}", "groups: [readers, applicants]}").split("      - note:")[0]
    scenario = load_scenario(write(tmp_path, text + "      - expect: {copies: {reader: [submit]}}\n"), FIXTURES)
    result = run_scenario(http, with_accounts(service, scenario))
    assert result.failure.problem == ("reader holds a copy only, yet completing submit answered 204, not 403")


def test_a_refused_external_task_completion_gives_the_task_back(http, tmp_path):
    result = run_scenario(http, load_scenario(write(tmp_path, """\
        scenario: 公示
        covers: [PUB-01]
        clock: 2026-09-28T09:00:00+08:00
        deploy: [events/publish_notice.bpmn]
        steps:
          - start: publish_notice
          - work: publish-notice
            bpmnError: NOBODY_CATCHES
            refused: true
          - work: publish-notice
            variables: {noticeUrl: https://example.gov.cn/notice/8}
          - expect: {ended: end_published}
        """), FIXTURES))
    assert result.passed, result.report()
    assert any(line.strip().startswith("refused: 400") and "NOBODY_CATCHES" in line for line in result.timeline)


@pytest.mark.parametrize("text, problem", [
    (HEAD + "owner: someone\n", "unknown key owner in the file (allowed: accounts, clock, covers, deploy, scenario, steps)"),
    (HEAD.replace("covers: [ECO-01]\n", ""), "'covers' is missing"),
    (HEAD.replace("[ECO-01]", "[eco-1]"), "'covers' must list rule IDs such as ISO-01 (found [eco-1])"),
    (HEAD.replace("[ECO-01]", "[]"), "'covers' must list rule IDs such as ISO-01 (found [])"),
    (HEAD.replace("09:00:00+08:00", "09:00:00"), "'clock' must be an instant with its offset"),
    (HEAD.replace("eco_review.bpmn]", "missing.bpmn]"), "'deploy' names missing.bpmn, which is not a file"),
    (HEAD.split("steps:")[0] + "steps: []\n", "'steps' must be a non-empty list"),
    (HEAD + "  - complete: provincial_review\n    with: x\n",
     "step 2: unknown key with in a complete step (allowed: by, complete, in, refused, variables)"),
    (HEAD + "  - experts: [{id: E1, name: 王明}]\n", "step 2: an expert needs specialty, organization"),
    (HEAD + "  - register: {park: P1, status: named}\n", "step 2: 'register' needs name, province, since"),
    (HEAD + "  - expect: {drawn: {site_verification: {count: many}}}\n",
     "step 2: 'expect.drawn.site_verification.count' must be a count"),
    (HEAD + "  - {advance: P1D, until: 2026-04-01}\n",
     "step 2: a step needs exactly one of note, start, complete, work, message, signal, advance, until, find, "
     "expect, experts, register, return, clock, copy (found advance, until)"),
    (HEAD + "  - return: provincial_review\n    opinion: 退回\n",
     "step 2: 'return' needs 'to' (the step returned to) and 'opinion'"),
    (HEAD + "  - clock: stop\n", "step 2: 'clock' is one of pause, resume, extend (found 'stop')"),
    (HEAD + "  - clock: extend\n    reason: 情况复杂\n",
     "step 2: 'clock: extend' takes approvedBy, days, reason and needs reason, days"),
    (HEAD + "  - clock: resume\n    days: 5\n", "step 2: 'clock: resume' takes reason and needs none of them"),
    (HEAD + "  - clock: extend\n    reason: r\n    days: five\n", "step 2: 'days' must be a count of working days"),
    (HEAD + "  - copy: provincial_review\n", "step 2: 'copy' needs 'groups' or 'users'"),
    (HEAD + "  - copy: provincial_review\n    groups: [a]\n    note: 请知悉\n",
     "step 2: a step needs exactly one of"),
    (HEAD + "  - expect: {copies: {nobody: []}}\n", "step 2: 'expect.copies' names accounts of the file (unknown: nobody)"),
    (HEAD + "  - expect: {clock: {usedDays: 1}}\n", "step 2: unknown key usedDays in expect.clock"),
    (HEAD + "  - expect: {clock: {stops: [{reasons: 公示}]}}\n", "step 2: unknown key reasons in a stop"),
    (HEAD + "  - complete: provincial_review\n    in: nobody\n",
     "step 2: 'in: nobody' names no alias registered by an earlier start or find (known: park)"),
    (HEAD.split("steps:")[0] + "steps:\n  - complete: provincial_review\n",
     "step 1: no instance to act on yet: start one, or find one, first"),
    (HEAD + "  - advance: P1X\n", "step 2: 'P1X' is not an ISO 8601 duration such as P16D or PT2H"),
    (HEAD + "  - expect: {task: [provincial_review]}\n", "step 2: unknown key task in expect"),
    (HEAD + "  - expect: {in: park}\n", "step 2: 'expect' checks nothing"),
    (HEAD + "  - expect: {deadlines: [{lastday: 2026-03-05}]}\n", "step 2: unknown key lastday in a deadline"),
    (HEAD + "  - expect: {instances: {eco_review: many}}\n",
     "step 2: 'expect.instances.eco_review' must be a count (found 'many')"),
    (HEAD + "  - signal: go\n    refused: maybe\n", "step 2: 'refused' must be true or false (found 'maybe')"),
    (HEAD + "  - signal: go\n    variables: {blob: !!binary aGk=}\n",
     "step 2: variable 'blob' has a value of type bytes, which has no Camunda type"),
    (HEAD + "  - until: soon\n", "step 2: 'until' must be a date or an instant"),
    (HEAD + "  - find: {as: other}\n", "step 2: 'find' needs 'as' and 'process'"),
    (HEAD + "  - note: [\n", "cannot be read"),
])
def test_a_bad_file_is_refused_naming_the_file_the_step_and_the_problem(tmp_path, text, problem):
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as refused:
        load_scenario(path, FIXTURES)
    assert str(refused.value).startswith(f"{path}: {problem}")


def test_the_command_runs_scenario_files_and_prints_their_timelines(capsys):
    main(["scenario", str(REVIEW), str(SAMPLES / "enterprise_listed.yaml")])

    printed = capsys.readouterr().out
    assert f"园区申报经一次补正后获批  [ECO-01, ECO-02]  {REVIEW}" in printed
    assert "2026-03-05 周四 09:00  park  complete ministry_approval by mee-sti {approved: true}" in printed
    assert "2026-09-28 周一 09:00  audit  find {as: audit, process: mandatory_audit, businessKey: ENT-XJ-0001}" in printed
    assert printed.count("\npassed\n") == 2


def test_the_command_exits_1_at_the_first_failing_scenario(tmp_path, capsys):
    failing = write(tmp_path, HEAD.replace("[eco_review.bpmn]", f"[{FIXTURES / 'eco_review.bpmn'}]")
                    + "  - expect: {tasks: [ministry_approval]}\n")
    with pytest.raises(SystemExit) as exited:
        main(["scenario", str(failing), str(REVIEW), "--database-url", f"sqlite:///{tmp_path / 'cli.sqlite3'}"])

    assert exited.value.code == 1
    printed = capsys.readouterr().out
    assert ('FAILED at step 2 (expect {tasks: [ministry_approval]}): open tasks: expected ["ministry_approval"], '
            'found ["provincial_review"]') in printed
    assert str(REVIEW) not in printed  # the files after the failing one do not run


def test_the_command_refuses_a_bad_file_before_running_anything(tmp_path):
    bad = write(tmp_path, HEAD + "owner: someone\n")
    with pytest.raises(SystemExit) as exited:
        main(["scenario", str(REVIEW), str(bad)])
    assert exited.value.code == f"{bad}: unknown key owner in the file (allowed: accounts, clock, covers, deploy, scenario, steps)"

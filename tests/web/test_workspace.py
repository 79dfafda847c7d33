"""The web workspace (/app/) as officials and auditors use it: Debian's Chromium, driven by Playwright,
against the real service over real HTTP on the test database. With WEB_SCREENSHOTS=1 the pages the
README shows are saved to docs/screenshots/."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import httpx
import pytest

from app.access import accounts
from tests.support.http import deploy, deploy_bytes, start
from tests.support.paths import ROOT
from tests.support.service import ADMIN_AUTH

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "docs" / "screenshots"
# The shipped procedure's start (tests/scenarios/iso14000/01_straight_pass.yaml): a zone of Zhejiang.
ZONE = {"zone_id": "ZJ-HZ-001", "zone_name": "杭州某经济技术开发区", "province": "zj", "region_type": "park",
        "region_level": "provincial", "route": "province", "has_management_body": True, "certified_months": 18,
        "polluting_enterprises": 100, "certified_enterprises": 22, "has_measures": True,
        "has_emergency_drills": True}
# A short review that an auditor replays once it is finished, with its diagram's layout.
REVIEW = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="review_definitions" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="short_review" name="简易审查" isExecutable="true">
    <bpmn:startEvent id="start" name="申请" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" name="省级审查" camunda:candidateGroups="zj-env" camunda:dueDate="${addDays(now(), 15)}">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="decision" label="审查结论" type="enum">
          <camunda:validation><camunda:constraint name="required" /></camunda:validation>
          <camunda:value id="pass" name="通过" /><camunda:value id="reject" name="不通过" />
        </camunda:formField></camunda:formData></bpmn:extensionElements></bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" name="办结" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane" bpmnElement="short_review">
    <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="100" y="100" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="review_di" bpmnElement="review"><dc:Bounds x="200" y="78" width="100" height="80" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="370" y="100" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="136" y="118" /><di:waypoint x="200" y="118" /></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="300" y="118" /><di:waypoint x="370" y="118" /></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
""".encode()

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or shutil.which("chromium") is None,
                                reason="Debian's Chromium is not installed (.ci/run installs it)")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def admin(service):
    with httpx.Client(base_url=f"{service.base_url}/engine-rest", auth=ADMIN_AUTH, timeout=30) as http:
        yield http


@pytest.fixture
def officials(service):
    """A provincial official of Zhejiang, one of Xinjiang, and an auditor."""
    accounts.save_account(service.services, "zj-official", "zj-official-password", ["zj-env"], "浙江省生态环境厅", "zj")
    accounts.save_account(service.services, "xj-official", "xj-official-password", ["xj-env"], "新疆生态环境厅", "xj")
    accounts.save_account(service.services, "auditor", "auditor-password", ["auditors"], "审计")


def new_page(browser, service, width: int = 1100):
    context = browser.new_context(base_url=service.base_url, viewport={"width": width, "height": 900},
                                  locale="zh-CN")
    return context.new_page()


def sign_in(page, user: str, then: str = "/app/") -> None:
    page.goto(then)
    assert "/app/signin" in page.url
    page.get_by_label("账号").fill(user)
    page.get_by_label("密码").fill(f"{user}-password")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/app/(?!signin)"))
    assert page.locator("#signed-in-user").inner_text() == user


def shot(page, name: str) -> None:
    if os.environ.get("WEB_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def diagram_ready(page) -> None:
    page.wait_for_selector("#canvas[data-state=ready]", timeout=15000)


def test_a_page_without_a_session_goes_to_the_sign_in_and_back(service, browser, officials):
    page = new_page(browser, service)
    page.goto("/app/procedures")
    assert "/app/signin" in page.url
    page.get_by_label("账号").fill("zj-official")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    assert page.locator("#signin-error").inner_text() == "账号或密码错误"
    cookie = next(cookie for cookie in page.context.cookies() if cookie["name"] == "eco_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    sign_in(page, "zj-official", then="/app/cases/any")
    assert page.url.endswith("/app/cases/any")
    assert page.get_by_role("heading", name="未找到").is_visible()
    page.get_by_role("button", name="退出").click()
    page.goto("/app/")
    assert "/app/signin" in page.url
    page.context.close()


def test_a_post_without_the_session_token_is_refused(service, officials):
    with httpx.Client(base_url=service.base_url) as http:
        form = http.get("/app/signin")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        forged = http.post("/app/signin", data={"username": "zj-official", "password": "zj-official-password",
                                                "csrf": "forged"})
        assert forged.status_code == 400 and "页面已过期" in forged.text
        assert "eco_session" in forged.headers["set-cookie"]  # a new token, on a form to submit again
        token = re.search(r'name="csrf" value="([^"]+)"', forged.text).group(1)
        signed_in = http.post("/app/signin", data={"username": "zj-official", "password": "zj-official-password",
                                                   "csrf": token})
        assert signed_in.status_code == 303
        assert http.post("/app/tasks/some-task/claim", data={"csrf": token}).status_code == 400  # the old token
        assert http.post("/app/signout", data={"csrf": token}).status_code == 400
        assert http.get("/app/").status_code == 200  # still signed in
        http.cookies.clear()
        assert http.get("/app/").status_code == 303


def test_an_official_works_a_task_of_a_shipped_procedure_in_the_browser(service, browser, officials, admin):
    deploy(admin, ROOT / "bpmn" / "iso14000_designation.bpmn", ROOT / "bpmn" / "iso14000_zone_year.bpmn")
    started = start(admin, "iso14000_designation", "ZJ-HZ-001", **ZONE)
    assert started.status_code == 200, started.text
    instance_id = started.json()["id"]
    assert deploy_bytes(admin, "short_review.bpmn", REVIEW).status_code == 200
    assert start(admin, "short_review", "ZJ-REVIEW-1").status_code == 200

    page = new_page(browser, service)
    sign_in(page, "zj-official")
    page.get_by_role("link", name="部门待认领").click()
    assert page.locator("li.task").count() == 2
    shot(page, "inbox")
    page.get_by_label("流程").select_option("iso14000_designation")
    page.get_by_role("button", name="筛选").click()
    assert page.locator("li.task").count() == 1
    task = page.locator("li.task[data-task-key=provincial_recommendation]")
    assert task.locator("h2").inner_text() == "省级环境保护行政主管部门审查推荐"
    assert task.locator(".badge").is_visible()
    task.get_by_role("button", name="认领").click()
    assert page.get_by_role("link", name="我的待办").get_attribute("aria-current") == "page"
    mine = page.locator("li.task[data-task-key=provincial_recommendation]")
    assert mine.get_by_role("button", name="退回").is_visible()
    mine.get_by_role("link", name="办理").click()

    # The form of camunda:formData: a boolean as a choice, required marks, the length limit as a hint.
    assert page.get_by_role("heading", level=1).inner_text() == "省级环境保护行政主管部门审查推荐"
    assert page.locator("#f-recommend option").all_inner_texts() == ["请选择", "是", "否"]
    assert "最多 2000 个字" in page.locator("#hint-recommendation_opinion").inner_text()
    assert page.locator("label[for=f-recommend] .required").is_visible()
    page.get_by_label("是否推荐").select_option("true")
    page.get_by_label("推荐意见").fill("材" * 2001)
    page.get_by_role("button", name="提交办理").click()
    assert "recommendation_opinion (推荐意见) must have at most 2000 characters" in page.locator(
        "#form-error").inner_text()
    assert page.locator("#hint-recommendation_opinion .problem").inner_text() == "must have at most 2000 characters"
    # The opinion: written on the task, shown with the case.
    page.get_by_label("意见内容").fill("材料齐全，同意推荐")
    page.get_by_role("button", name="保存意见").click()
    assert "材料齐全，同意推荐" in page.locator("#comments").inner_text()
    page.get_by_label("推荐意见").fill("同意推荐，材料齐全")
    page.get_by_label("是否推荐").select_option("true")
    shot(page, "task")
    page.get_by_role("button", name="提交办理").click()

    # The case: the next task is where it waits, the recommendation is passed through.
    page.wait_for_url(f"**/app/cases/{instance_id}")
    diagram_ready(page)
    assert page.locator('g.djs-element.current[data-element-id="formal_review"]').count() == 1
    assert page.locator('g.djs-element.done[data-element-id="provincial_recommendation"]').count() == 1
    assert page.locator('g.djs-element.current[data-element-id="provincial_recommendation"]').count() == 0
    timeline = page.locator("#timeline").inner_text()
    assert "办理完成：省级环境保护行政主管部门审查推荐" in timeline and "zj-official" in timeline
    assert "杭州某经济技术开发区" in page.locator("#variables").inner_text()
    shot(page, "case")
    # The statutory clock, as GET /api/process-instances/{id}/clock tells it.
    clock = admin.get(f"{service.base_url}/api/process-instances/{instance_id}/clock").json()
    assert page.locator("#clock-used").inner_text() == str(clock["usedDays"])
    assert page.locator("#clock-paused-days").inner_text() == str(clock["pausedDays"])
    assert page.locator("#clock-remaining").inner_text() == (
        "无法定时限" if clock["remainingDays"] is None else str(clock["remainingDays"]))
    assert page.locator("#clock-state").inner_text() == ("暂停计时" if clock["paused"] else "计时中")
    assert page.locator("#export").count() == 0  # the export link is for auditors
    assert admin.get(f"/task?processInstanceId={instance_id}").json()[0]["taskDefinitionKey"] == "formal_review"
    page.context.close()

    # Another province's official sees none of it: no task, and the case is not found.
    other = new_page(browser, service, width=390)
    sign_in(other, "xj-official")
    for tab in ("我的待办", "部门待认领", "指定给我"):
        other.get_by_role("link", name=tab).click()
        assert other.locator("#no-tasks").is_visible()
    response = other.goto(f"/app/cases/{instance_id}")
    assert response.status == 404
    assert "杭州" not in other.content()
    assert other.goto(f"/app/cases/{instance_id}/replay").status == 404
    other.context.close()


def test_an_auditor_replays_a_finished_case_to_its_end(service, browser, officials, admin):
    assert deploy_bytes(admin, "short_review.bpmn", REVIEW).status_code == 200
    instance_id = start(admin, "short_review", "ZJ-REVIEW-7").json()["id"]
    page = new_page(browser, service)
    sign_in(page, "zj-official")
    page.get_by_role("link", name="部门待认领").click()
    # The deadline badge: the working days left and the warning level of /api/deadlines.
    [deadline] = httpx.get(f"{service.base_url}/api/deadlines", params={"processInstanceId": instance_id},
                           auth=ADMIN_AUTH).json()
    badge = page.locator("li.task[data-task-key=review] .badge")
    assert badge.get_attribute("data-level") == {"normal": "normal", "warning": "yellow", "overdue": "red"}[
        deadline["level"]]
    assert f"剩余 {deadline['workingDaysLeft']} 个工作日" in badge.inner_text()
    page.locator("li.task[data-task-key=review]").get_by_role("link", name="办理").click()
    assert page.locator("#f-decision option").all_inner_texts() == ["请选择", "通过", "不通过"]
    page.get_by_role("button", name="提交办理").click()
    assert "decision (审查结论) is required" in page.locator("#form-error").inner_text()
    page.get_by_label("审查结论").select_option("pass")
    page.get_by_role("button", name="提交办理").click()
    page.wait_for_url(f"**/app/cases/{instance_id}")
    assert page.locator("#case-status").inner_text() == "已办结"
    page.context.close()

    auditor = new_page(browser, service)
    sign_in(auditor, "auditor", then=f"/app/cases/{instance_id}/replay")
    assert "核验通过" in auditor.locator("#verdict").inner_text()
    assert "哈希链完整" in auditor.locator("#chain").inner_text()
    diagram_ready(auditor)
    canvas = auditor.locator("#canvas")
    assert auditor.locator("#step-text").inner_text().endswith("启动案件")
    path = []
    assert auditor.get_by_role("button", name="上一步").is_disabled()
    seen = []
    while auditor.get_by_role("button", name="下一步").is_enabled():
        auditor.get_by_role("button", name="下一步").click()
        seen.append((canvas.get_attribute("data-current"), auditor.locator("#step-text").inner_text()))
        if not path or path[-1] != seen[-1][0]:
            path.append(seen[-1][0])
        if canvas.get_attribute("data-current") == "review" and "办理完成" in seen[-1][1]:
            shot(auditor, "replay")
    assert seen[-1][1].endswith("案件办结")
    assert any(current == "review" and "办理完成：省级审查" in text and "zj-official" in text for current, text in seen)
    assert path == ["start", "review", "end"]  # the marker moved along the recorded path
    assert ("start", "经过：申请") in [(current, text.split("　")[-1]) for current, text in seen]
    assert auditor.locator('g.djs-element.current[data-element-id="end"]').count() == 1
    assert auditor.locator('g.djs-element.done[data-element-id="review"]').count() == 1
    total = len(seen) + 1
    assert auditor.locator("#step-number").inner_text() == f"第 {total} 步，共 {total} 步"
    auditor.get_by_role("button", name="上一步").click()
    assert auditor.locator("#step-number").inner_text() == f"第 {total - 1} 步，共 {total} 步"
    # The case export, downloaded from the case page: the very JSON the API gives.
    auditor.goto(f"/app/cases/{instance_id}")
    with auditor.expect_download() as downloading:
        auditor.locator("#export").click()
    exported = json.loads(Path(downloading.value.path()).read_text(encoding="utf-8"))
    api = httpx.get(f"{service.base_url}/api/process-instances/{instance_id}/export",
                    auth=("auditor", "auditor-password")).json()
    unsealed = {"seal", "exportedAt"}  # the moment of export, and the seal over it, may differ
    assert exported.keys() == api.keys() and exported["exportedBy"] == "auditor"
    assert {k: v for k, v in exported.items() if k not in unsealed} == {
        k: v for k, v in api.items() if k not in unsealed}
    # In English on request.
    auditor.goto(f"/app/cases/{instance_id}/replay?lang=en")
    assert auditor.locator("#verdict").inner_text().startswith("Verified")
    auditor.context.close()


def test_the_procedures_page_counts_running_cases_per_activity(service, browser, officials, admin):
    assert deploy_bytes(admin, "short_review.bpmn", REVIEW).status_code == 200
    for number in range(2):
        assert start(admin, "short_review", f"ZJ-{number}").status_code == 200
    page = new_page(browser, service)
    sign_in(page, ADMIN_AUTH[0], then="/app/procedures")  # a designer who reads every case
    row = page.locator("tr[data-activity=review]")
    assert row.locator(".count").inner_text() == "2"
    # A file deployed from the browser: the definition it made is listed; a bad file, the plain refusal.
    page.get_by_label("BPMN 或 DMN 文件").set_input_files(
        files=[{"name": "two_steps.bpmn", "mimeType": "application/xml", "buffer": RETURNABLE}])
    page.get_by_role("button", name="部署").click()
    assert page.locator("#deploy-done").inner_text() == "已部署：two_steps.bpmn"
    assert page.locator("tr[data-definition^='two_steps:'] th").inner_text() == "两步审查"
    page.get_by_label("BPMN 或 DMN 文件").set_input_files(
        files=[{"name": "broken.bpmn", "mimeType": "application/xml", "buffer": b"<bpmn:definitions"}])
    page.get_by_role("button", name="部署").click()
    refusal = page.locator("#deploy-error").inner_text()
    assert "broken.bpmn" in refusal and "Traceback" not in refusal and "lxml" not in refusal
    assert [d["key"] for d in admin.get("/process-definition").json()].count("two_steps") == 1
    page.context.close()
    official = new_page(browser, service)
    sign_in(official, "zj-official", then="/app/procedures")
    assert official.get_by_role("heading", name="未找到").is_visible()
    official.context.close()


# Two steps of one department; the second may return the case to the first (returnTargets).
RETURNABLE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="returnable_definitions"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="two_steps" name="两步审查" isExecutable="true">
    <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="first" />
    <bpmn:userTask id="first" name="初审" camunda:candidateGroups="zj-env" />
    <bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="second" />
    <bpmn:userTask id="second" name="复审" camunda:candidateGroups="zj-env">
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="returnTargets" value="first" /></camunda:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="second" targetRef="end" /><bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
""".encode()


def test_an_official_returns_reminds_and_delegates_on_the_task_page(service, browser, officials, admin):
    assert deploy_bytes(admin, "two_steps.bpmn", RETURNABLE).status_code == 200
    instance_id = start(admin, "two_steps", "ZJ-TWO-1").json()["id"]
    [first] = admin.get(f"/task?processInstanceId={instance_id}").json()
    assert admin.post(f"/task/{first['id']}/complete", json={}).status_code in (200, 204)
    [second] = admin.get(f"/task?processInstanceId={instance_id}").json()
    page = new_page(browser, service)
    sign_in(page, "zj-official", then=f"/app/tasks/{second['id']}")
    # A material uploaded from the browser: listed with its download link, the same bytes come back.
    assert page.locator("#no-materials").is_visible()
    page.get_by_label("上传文件").set_input_files(
        files=[{"name": "申请表.txt", "mimeType": "text/plain", "buffer": "申请材料<b>".encode()}])
    page.get_by_role("button", name="上传材料").click()
    link = page.locator("#material-list").get_by_role("link", name="申请表.txt")
    with page.expect_download() as downloading:
        link.click()
    assert Path(downloading.value.path()).read_bytes() == "申请材料<b>".encode()
    assert downloading.value.suggested_filename == "申请表.txt"
    [listed] = admin.get(f"/task/{second['id']}/attachment").json()
    assert listed["name"] == "申请表.txt"
    work = page.locator("#work")
    # A target the procedure does not name: the use case's refusal, on the page.
    work.get_by_label("退回到的环节（活动标识）").fill("start")
    work.get_by_label("退回意见").fill("退回申请")
    work.get_by_role("button", name="退回").click()
    assert "may not return the case to 'start'" in page.locator("#work-error").inner_text()
    page.locator("#work").get_by_label("催办内容").fill("请尽快复审")
    page.locator("#work").get_by_role("button", name="催办").click()
    assert page.locator("#work-done").inner_text() == "已催办"
    reminders = httpx.get(f"{service.base_url}/api/tasks/{second['id']}/reminders", auth=ADMIN_AUTH).json()
    assert [reminder["message"] for reminder in reminders] == ["请尽快复审"]
    work = page.locator("#work")
    work.get_by_label("退回到的环节（活动标识）").fill("first")
    work.get_by_label("退回意见").fill("材料不全，退回初审")
    work.get_by_role("button", name="退回").click()
    page.wait_for_url(f"**/app/cases/{instance_id}?done=return")
    assert "初审" in page.locator("#open-tasks").inner_text()
    [reopened] = admin.get(f"/task?processInstanceId={instance_id}").json()
    assert reopened["taskDefinitionKey"] == "first"
    # Delegated (委派) to a colleague: the colleague holds it, pending, and the case page tells who.
    page.goto(f"/app/tasks/{reopened['id']}")
    work = page.locator("#work")
    work.get_by_label("委派 · 用户账号").fill("zj-colleague")
    work.get_by_role("button", name="委派").click()
    page.wait_for_url(f"**/app/cases/{instance_id}?done=delegate")
    task = admin.get(f"/task/{reopened['id']}").json()
    assert (task["assignee"], task["delegationState"]) == ("zj-colleague", "PENDING")
    page.context.close()
    # An auditor reads the task but may not work it: only the reminder is offered.
    auditor = new_page(browser, service)
    sign_in(auditor, "auditor", then=f"/app/tasks/{reopened['id']}")
    assert auditor.locator("#work").get_by_role("button", name="催办").is_visible()
    for operation in ("委派", "转办", "退回"):
        assert auditor.locator("#work").get_by_role("button", name=operation).count() == 0
    auditor.context.close()

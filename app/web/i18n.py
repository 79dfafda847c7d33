"""The workspace's words: Chinese by default, English with ?lang=en (remembered in a cookie)."""
from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

LANGUAGES = ("zh", "en")
COOKIE = "eco_lang"

# key: (中文, English)
_CATALOGUE: dict[str, tuple[str, str]] = {
    "app": ("生态环境审批工作台", "Environmental procedures workspace"),
    "skip": ("跳到正文", "Skip to content"),
    "signin": ("登录", "Sign in"),
    "signout": ("退出", "Sign out"),
    "username": ("账号", "Username"),
    "password": ("密码", "Password"),
    "signin.failed": ("账号或密码错误", "Unknown user or wrong password"),
    "signin.throttled": ("登录失败次数过多，请 {seconds} 秒后再试",
                         "Too many failed sign-ins; try again in {seconds} s"),
    "signin.expired": ("页面已过期，请重新提交", "The page expired; please submit again"),
    "signed.in.as": ("当前用户", "Signed in as"),
    "inbox": ("待办", "Inbox"),
    "procedures": ("流程", "Procedures"),
    "tab.mine": ("我的待办", "Assigned to me"),
    "tab.groups": ("部门待认领", "Offered to my groups"),
    "tab.user": ("指定给我", "Offered to me"),
    "procedure": ("流程", "Procedure"),
    "all.procedures": ("全部流程", "All procedures"),
    "filter": ("筛选", "Filter"),
    "task": ("待办事项", "Task"),
    "case": ("案件", "Case"),
    "business.key": ("业务编号", "Business key"),
    "created": ("创建时间", "Created"),
    "due": ("办理期限", "Due"),
    "deadline": ("预警", "Deadline"),
    "level.normal": ("正常", "Normal"),
    "level.warning": ("黄色预警", "Yellow warning"),
    "level.overdue": ("红色预警（已超期）", "Red (overdue)"),
    "days.left": ("剩余 {days} 个工作日", "{days} working days left"),
    "no.deadline": ("无期限", "No deadline"),
    "claim": ("认领", "Claim"),
    "unclaim": ("退回", "Unclaim"),
    "open": ("办理", "Open"),
    "no.tasks": ("暂无待办", "No tasks"),
    "previous": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "page": ("第 {page} 页，共 {pages} 页（{count} 条）", "Page {page} of {pages} ({count})"),
    "form": ("办理表单", "Form"),
    "required": ("必填", "required"),
    "hint.maxlength": ("最多 {n} 个字", "at most {n} characters"),
    "hint.minlength": ("至少 {n} 个字", "at least {n} characters"),
    "hint.min": ("不小于 {n}", "at least {n}"),
    "hint.max": ("不大于 {n}", "at most {n}"),
    "hint.long": ("整数", "whole number"),
    "hint.date": ("日期", "date"),
    "choose": ("请选择", "Choose"),
    "yes": ("是", "Yes"),
    "no": ("否", "No"),
    "readonly": ("只读", "read-only"),
    "submit": ("提交办理", "Complete"),
    "form.invalid": ("提交未通过校验", "The form was not accepted"),
    "comments": ("意见", "Opinions"),
    "comment.add": ("签署意见", "Add an opinion"),
    "comment.text": ("意见内容", "Opinion"),
    "comment.save": ("保存意见", "Save opinion"),
    "clock": ("法定时限", "Statutory clock"),
    "clock.used": ("已用工作日", "Working days used"),
    "clock.paused.days": ("暂停工作日", "Working days paused"),
    "clock.remaining": ("剩余工作日", "Working days left"),
    "clock.state": ("计时状态", "Clock"),
    "clock.paused": ("暂停计时", "Paused"),
    "clock.running": ("计时中", "Running"),
    "clock.none": ("无法定时限", "No statutory limit"),
    "export": ("下载案卷导出（JSON）", "Download the case export (JSON)"),
    "materials": ("材料", "Materials"),
    "materials.none": ("暂无材料", "No materials yet"),
    "materials.file": ("上传文件（最大 {n} 字节）", "File to upload (at most {n} bytes)"),
    "materials.name": ("材料名称", "Name of the material"),
    "materials.upload": ("上传材料", "Upload"),
    "work": ("办理操作", "Case work"),
    "work.refused": ("操作未执行", "Not done"),
    "work.user": ("用户账号", "User"),
    "work.reason": ("理由", "Reason"),
    "work.delegate": ("委派", "Delegate"),
    "work.assignee": ("转办", "Hand over"),
    "work.return": ("退回", "Return"),
    "work.target": ("退回到的环节（活动标识）", "Return to step (activity id)"),
    "work.opinion": ("退回意见", "Opinion"),
    "work.remind": ("催办", "Remind"),
    "work.message": ("催办内容", "Reminder"),
    "work.done.remind": ("已催办", "Reminder sent"),
    "no.comments": ("暂无意见", "No opinions yet"),
    "diagram": ("流程图", "Diagram"),
    "diagram.legend": ("绿色：已办理；蓝色粗框：当前所在环节",
                       "Green: passed through; bold blue: where the case waits"),
    "timeline": ("办理记录", "Timeline"),
    "who": ("办理人", "Who"),
    "what": ("事项", "What"),
    "when": ("时间", "When"),
    "variables": ("案件数据", "Variables"),
    "name": ("名称", "Name"),
    "value": ("值", "Value"),
    "status": ("状态", "Status"),
    "status.ACTIVE": ("办理中", "Running"),
    "status.COMPLETED": ("已办结", "Completed"),
    "status.EXTERNALLY_TERMINATED": ("已终止", "Terminated"),
    "status.INTERNALLY_TERMINATED": ("已终止", "Terminated"),
    "replay": ("审计回放", "Audit replay"),
    "verify": ("核验", "Verification"),
    "replay.reproduced": ("核验通过：按流程版本和办理记录重演案件，共 {events} 条记录、{activities} 个环节，结果一致。",
                          "Verified: replaying the case from its process version and history reproduces it "
                          "({events} events, {activities} activities)."),
    "replay.diverged": ("核验未通过：重演在第 {sequence} 条记录处与记录不一致：{divergence}",
                        "Not verified: the replay diverges at event {sequence}: {divergence}"),
    "chain.intact": ("办理记录的哈希链完整（{events} 条记录）。",
                     "The history's hash chain is intact ({events} events)."),
    "chain.broken": ("办理记录的哈希链被改动：{problems}", "The history's hash chain was changed: {problems}"),
    "step": ("第 {n} 步，共 {total} 步", "Step {n} of {total}"),
    "step.previous": ("上一步", "Previous step"),
    "step.next": ("下一步", "Next step"),
    "running.instances": ("办理中案件", "Running cases"),
    "activity": ("环节", "Activity"),
    "version": ("版本", "Version"),
    "key": ("标识", "Key"),
    "count": ("数量", "Count"),
    "not.found": ("未找到", "Not found"),
    "not.found.text": ("该页面不存在，或您无权查看。", "This page does not exist, or you may not see it."),
    "forbidden": ("无权操作", "Not allowed"),
    "error": ("无法办理", "Cannot do that"),
    "back.inbox": ("返回待办", "Back to the inbox"),
    "language": ("English", "中文"),
}


def language(request: Request) -> str:
    asked = request.query_params.get("lang") or request.cookies.get(COOKIE)
    return asked if asked in LANGUAGES else "zh"


def translator(lang: str) -> Callable[..., str]:
    """t(key, **values): the text of a key in the language, its {fields} filled in."""
    index = LANGUAGES.index(lang)

    def t(key: str, **values: object) -> str:
        text = _CATALOGUE[key][index] if key in _CATALOGUE else key
        return text.format(**values) if values else text
    return t

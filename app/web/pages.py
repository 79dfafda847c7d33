"""The pages of the web workspace (/app/). Each calls the use cases the REST API calls, with the
signed-in account as the principal, so that every page shows and does exactly what the API would
let that account see and do; a case the account may not read is "not found" (404)."""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from app.access import accounts, permissions
from app.access.accounts import Principal
from app.audit import export as case_export
from app.audit import ledger, replay
from app.audit import timeline as case_timeline
from app.cases import attachments, comments, history, instances, listing, modification, reminders, statistics, tasks
from app.cases.projections import ACTIVE
from app.context import Services
from app.deadlines import statutory
from app.deadlines.deadlines import open_deadlines
from app.definitions import deployments
from app.engine import FormField
from app.errors import Forbidden, FormValidationFailed, InvalidRequest, NotFound, ServiceError, TooManyAttempts
from app.rest.dependencies import ServicesDep
from app.web import i18n, sessions

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(prefix="/app", include_in_schema=False)
_MAX_FIELD = 100_000  # the longest value of one form field the pages accept


class SignInRequired(Exception):
    """A page asked for without a session: the browser goes to the sign-in form, then back."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to


@dataclass(frozen=True)
class Visitor:
    principal: Principal
    session: sessions.WebSession


def visitor(request: Request, services: ServicesDep) -> Visitor:
    """The signed-in account of the request (a dependency of every page but the sign-in)."""
    session = sessions.read(request, services)
    principal = None
    if session is not None and session.user_id and session.generation is not None:
        principal = accounts.session_principal(services, session.user_id, session.generation)
    if principal is None or session is None:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(back if request.method == "GET" else "/app/")
    return Visitor(principal, session)


VisitorDep = Annotated[Visitor, Depends(visitor)]


def signin_redirect(request: Request, error: SignInRequired) -> Response:
    return RedirectResponse(f"/app/signin?{urlencode({'next': error.back_to})}", status_code=303)


def page(request: Request, template: str, status_code: int = 200, *, who: Visitor | None = None,
         session: sessions.WebSession | None = None, **context: Any) -> HTMLResponse:
    lang = i18n.language(request)
    session = session or (who.session if who else None)
    response = TEMPLATES.TemplateResponse(request, template, {
        "t": i18n.translator(lang), "lang": lang, "user": who.principal.user_id if who else None,
        "csrf": session.csrf if session else "", "path": request.url.path, **context}, status_code=status_code)
    if request.query_params.get("lang") in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, lang, path=sessions.PATH, samesite="lax", max_age=365 * 86400,
                            secure=request.url.scheme == "https")
    return response


def not_found(request: Request, who: Visitor | None) -> HTMLResponse:
    return page(request, "error.html", 404, who=who, title_key="not.found", message=None)


def refused(request: Request, who: Visitor, error: ServiceError) -> HTMLResponse:
    """A use case's refusal as a page: what does not exist or may not be read is not found."""
    if isinstance(error, NotFound | Forbidden):
        return not_found(request, who)
    return page(request, "error.html", 400 if isinstance(error, InvalidRequest) else 409, who=who,
                title_key="error", message=error.message)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str) and len(value) <= _MAX_FIELD}


def _checked(who: Visitor, form: dict[str, str]) -> None:
    if not sessions.csrf_matches(who.session, form.get("csrf")):
        raise InvalidRequest("The form's CSRF token does not match this session: reload the page")


def _back(target: str | None) -> str:
    """Where a sign-in goes on to: a page of the workspace, never another site."""
    return target if target and target.startswith("/app/") and not target.startswith("//") else "/app/"


# --- signing in and out ----------------------------------------------------------------------------

@router.get("/signin")
def signin_form(request: Request, services: ServicesDep, next: str | None = None) -> Response:
    session = sessions.read(request, services) or sessions.fresh()
    response: Response = page(request, "signin.html", session=session, next=_back(next), error=None, username="")
    sessions.write(response, request, services, session)
    return response


@router.post("/signin")
async def sign_in(request: Request, services: ServicesDep) -> Response:
    form = await _form(request)
    session = sessions.read(request, services)
    username, password, back = form.get("username", "")[:64], form.get("password", ""), _back(form.get("next"))
    t = i18n.translator(i18n.language(request))
    if not sessions.csrf_matches(session, form.get("csrf")):
        session = sessions.fresh()
        response: Response = page(request, "signin.html", 400, session=session, next=back,
                                  error=t("signin.expired"), username=username)
        sessions.write(response, request, services, session)
        return response
    address = request.client.host if request.client else None
    try:
        principal, generation = await run_in_threadpool(accounts.sign_in_with_password, services, username,
                                                        password, address)
    except TooManyAttempts as error:
        return page(request, "signin.html", 429, session=session, next=back,
                    error=t("signin.throttled", seconds=error.retry_after), username=username)
    except ServiceError:
        return page(request, "signin.html", 401, session=session, next=back, error=t("signin.failed"),
                    username=username)
    response = RedirectResponse(back, status_code=303)
    sessions.write(response, request, services, sessions.fresh(principal.user_id, generation))
    return response


@router.post("/signout")
async def sign_out(request: Request, who: VisitorDep) -> Response:
    try:
        _checked(who, await _form(request))
    except ServiceError as error:
        return refused(request, who, error)
    response = RedirectResponse("/app/signin", status_code=303)
    response.delete_cookie(sessions.COOKIE, path=sessions.PATH)
    return response


# --- the inbox (待办) --------------------------------------------------------------------------------

TABS = ("mine", "groups", "user")


def _inbox_filter(principal: Principal, tab: str, procedure: str | None) -> tasks.TaskFilter | None:
    """GET /task's query: assignee=me, candidateGroups=my groups, or candidateUser=me."""
    key = procedure or None
    if tab == "mine":
        return tasks.TaskFilter(assignee=principal.user_id, process_definition_key=key, viewer=principal)
    if tab == "groups":
        if not principal.groups:
            return None  # an empty candidateGroups would not filter at all
        return tasks.TaskFilter(candidate_groups=sorted(principal.groups), process_definition_key=key,
                                viewer=principal)
    return tasks.TaskFilter(candidate_user=principal.user_id, process_definition_key=key, viewer=principal)


def _deadlines(services: Services, principal: Principal, rows: list[Any]) -> dict[str, Any]:
    """The warning (预警) of each task on the page, as /api/deadlines tells it: the task's own due date,
    else its case's statutory limit."""
    found: dict[str, Any] = {}
    # A standalone task has no case, hence no warning; the inbox shows its due date beside it.
    for instance_id in sorted({row.process_instance_id for row in rows if row.process_instance_id is not None}):
        for deadline in open_deadlines(services, process_instance_id=instance_id, viewer=principal):
            if deadline.task_id or deadline.kind == "statutory":
                found[deadline.task_id or instance_id] = deadline
    return {row.id: found.get(row.id) or found.get(row.process_instance_id) for row in rows}


@router.get("/")
def inbox(request: Request, who: VisitorDep, services: ServicesDep, tab: str = "mine",
          procedure: str | None = None, page_number: str = "1") -> HTMLResponse:
    tab = tab if tab in TABS else "mine"
    procedure = (procedure or "")[:255] or None
    size = services.settings.web_page_size
    number = max(1, min(int(page_number), 100_000)) if page_number.isdigit() and len(page_number) < 7 else 1
    criteria = _inbox_filter(who.principal, tab, procedure)
    rows: list[Any] = []
    count = 0
    if criteria is not None:
        query = tasks.task_query(criteria)
        count = listing.number_of(services, query)
        rows = listing.rows(services, query, (number - 1) * size, size)
    definitions = listing.rows(services, deployments.definition_query(latest_version=True), 0, 500)
    return page(request, "inbox.html", who=who, tab=tab, tabs=TABS, procedure=procedure, rows=rows,
                deadlines=_deadlines(services, who.principal, rows), definitions=definitions,
                names={d.key: d.name or d.key for d in definitions}, page_number=number,
                pages=max(1, math.ceil(count / size)), count=count, zone=services.settings.zone,
                query=lambda **changes: urlencode({**{"tab": tab, "procedure": procedure or ""}, **changes}))


@router.post("/tasks/{task_id}/claim")
async def claim(task_id: str, request: Request, who: VisitorDep, services: ServicesDep) -> Response:
    user_id = who.principal.user_id or ""
    return await _command(request, who, lambda: tasks.claim(services, task_id, user_id, actor=who.principal))


@router.post("/tasks/{task_id}/unclaim")
async def unclaim(task_id: str, request: Request, who: VisitorDep, services: ServicesDep) -> Response:
    return await _command(request, who, lambda: tasks.unclaim(services, task_id, actor=who.principal))


async def _command(request: Request, who: Visitor, command: Callable[[], None]) -> Response:
    form = await _form(request)
    try:
        _checked(who, form)
        await run_in_threadpool(command)
    except ServiceError as error:
        return refused(request, who, error)
    return RedirectResponse(_back(form.get("back")), status_code=303)


# --- a task and its form ------------------------------------------------------------------------------

def _hints(field: FormField) -> list[tuple[str, dict[str, Any]]]:
    hints: list[tuple[str, dict[str, Any]]] = []
    if field.type == "long":
        hints.append(("hint.long", {}))
    if field.type == "date":
        hints.append(("hint.date", {}))
    for key, value in (("hint.minlength", field.minlength), ("hint.maxlength", field.maxlength),
                       ("hint.min", field.min), ("hint.max", field.max)):
        if value is not None:
            hints.append((key, {"n": f"{value:g}" if isinstance(value, float) else value}))
    return hints


def _shown(value: Any) -> str:
    """A value as a form field holds it: booleans as true/false, dates as yyyy-mm-dd."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return str(value)


def _readable(t: Callable[..., str], zone: tzinfo) -> Callable[[Any], str]:
    """How a case's variable reads on its page."""
    def show(value: Any) -> str:
        if isinstance(value, bool):
            return t("yes") if value else t("no")
        if isinstance(value, datetime):
            return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False, default=str)
        return "" if value is None else str(value)
    return show


def _case_page(instance_id: str | None) -> str:
    """Where a task's page leads once it is done: its case, or the inbox for a task of no case."""
    return f"/app/cases/{quote(instance_id)}" if instance_id is not None else "/app/"


def _task_page(request: Request, who: Visitor, services: Services, task_id: str,
               entered: dict[str, str] | None = None, error: ServiceError | None = None,
               work_error: ServiceError | None = None) -> HTMLResponse:
    try:
        task = tasks.readable_task(services, task_id, who.principal)
        fields, current = tasks.form(services, task_id, who.principal)
        opinions = comments.instance_comments(services, task.process_instance_id, who.principal) \
            if task.process_instance_id is not None else []
        materials = attachments.task_attachments(services, task_id, who.principal)
        worker = tasks.may_work(services, task_id, who.principal)
    except ServiceError as refusal:
        return refused(request, who, refusal)
    values = entered if entered is not None else {field.id: _shown(current.get(field.id, field.default_value))
                                                  for field in fields}
    failed = {item["field"]: item["message"] for item in (error.details or {}).get("fields", [])
              } if isinstance(error, FormValidationFailed) else {}
    return page(request, "task.html", 400 if error or work_error else 200, who=who, task=task, fields=fields,
                values=values, hints={field.id: _hints(field) for field in fields}, error=error, failed=failed,
                work_error=work_error, worker=worker, materials=materials,
                material_max=services.settings.attachment_max_bytes,
                done=request.query_params.get("done") if request.method == "GET" else None,
                comments=opinions, zone=services.settings.zone)


@router.get("/tasks/{task_id}")
def task_page(task_id: str, request: Request, who: VisitorDep, services: ServicesDep) -> HTMLResponse:
    return _task_page(request, who, services, task_id)


@router.post("/tasks/{task_id}")
async def submit_form(task_id: str, request: Request, who: VisitorDep, services: ServicesDep) -> Response:
    """POST /task/{id}/submit-form's use case with the form's fields, as text the form checks."""
    form = await _form(request)
    try:
        _checked(who, form)
        fields, _ = await run_in_threadpool(tasks.form, services, task_id, who.principal)
        task = await run_in_threadpool(tasks.readable_task, services, task_id, who.principal)
        submitted = {field.id: form[field.id] for field in fields if not field.readonly and field.id in form}
        await run_in_threadpool(tasks.complete, services, task_id, submitted, actor=who.principal)
    except (NotFound, Forbidden) as error:
        return refused(request, who, error)
    except ServiceError as error:
        entered = {key: value for key, value in form.items() if key != "csrf"}
        return await run_in_threadpool(_task_page, request, who, services, task_id, entered, error)
    return RedirectResponse(_case_page(task.process_instance_id), status_code=303)


@router.post("/tasks/{task_id}/comments")
async def add_comment(task_id: str, request: Request, who: VisitorDep, services: ServicesDep) -> Response:
    form = await _form(request)
    try:
        _checked(who, form)
        await run_in_threadpool(comments.add_task_comment, services, task_id, {"message": form.get("message")},
                                actor=who.principal)
    except (NotFound, Forbidden) as error:
        return refused(request, who, error)
    except ServiceError as error:
        return await run_in_threadpool(_task_page, request, who, services, task_id, None, error)
    return RedirectResponse(f"/app/tasks/{quote(task_id)}#comments", status_code=303)


# --- case work on a task: delegate (委派), hand over (转办), return (退回), remind (催办) ----------------------

def _delegate(services: Services, task_id: str, form: dict[str, str], actor: Principal) -> None:
    """POST /task/{id}/delegate's use case."""
    tasks.delegate(services, task_id, form.get("userId", "")[:64] or "", actor=actor, reason=form.get("reason") or None)


def _hand_over(services: Services, task_id: str, form: dict[str, str], actor: Principal) -> None:
    """POST /task/{id}/assignee's use case."""
    tasks.set_assignee(services, task_id, form.get("userId", "")[:64] or None, actor=actor,
                       reason=form.get("reason") or None)


def _return(services: Services, task_id: str, form: dict[str, str], actor: Principal) -> None:
    """POST /api/tasks/{id}/return's use case: the target is one the procedure names in returnTargets."""
    modification.return_task(services, task_id, {"targetActivityId": form.get("targetActivityId"),
                                                 "opinion": form.get("opinion")}, actor=actor)


def _remind(services: Services, task_id: str, form: dict[str, str], actor: Principal) -> None:
    """POST /api/tasks/{id}/reminders's use case."""
    reminders.remind(services, task_id, {"message": form.get("message") or None}, actor=actor)


CASE_WORK: dict[str, Callable[[Services, str, dict[str, str], Principal], None]] = {
    "delegate": _delegate, "assignee": _hand_over, "return": _return, "remind": _remind}


@router.post("/tasks/{task_id}/work/{operation}")
async def case_work(task_id: str, operation: str, request: Request, who: VisitorDep,
                    services: ServicesDep) -> Response:
    """One case-work operation on the task; the use case's refusal is shown on the task page."""
    command = CASE_WORK.get(operation)
    if command is None:
        return not_found(request, who)
    form = await _form(request)
    try:
        _checked(who, form)
        task = await run_in_threadpool(tasks.readable_task, services, task_id, who.principal)
        await run_in_threadpool(command, services, task_id, form, who.principal)
    except (NotFound, Forbidden) as error:
        return refused(request, who, error)
    except ServiceError as error:
        return await run_in_threadpool(_task_page, request, who, services, task_id, None, None, error)
    if operation in ("delegate", "assignee", "return"):  # the task is someone else's or gone: show the case
        return RedirectResponse(f"{_case_page(task.process_instance_id)}?done={operation}", status_code=303)
    return RedirectResponse(f"/app/tasks/{quote(task_id)}?done={operation}#case-work", status_code=303)


# --- materials (附件) of a task ----------------------------------------------------------------------------

@router.post("/tasks/{task_id}/materials")
async def upload_material(task_id: str, request: Request, who: VisitorDep, services: ServicesDep) -> Response:
    """POST /task/{id}/attachment/create's use case, with the same bounds on the multipart form."""
    limit = services.settings.attachment_max_bytes
    fields: dict[str, str] = {}
    content: bytes | None = None
    part_type: str | None = None
    try:
        async with request.form(max_files=1, max_fields=5) as form:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile) and name == "content":
                    content = await value.read(limit + 1)
                    part_type = (value.content_type or "").split(";")[0].strip() or None
                    fields.setdefault("name", (value.filename or "")[:255])
                elif isinstance(value, str) and name in ("csrf", "name", "description") and len(value) <= 4000:
                    if value or name == "csrf":
                        fields[name] = value
        _checked(who, fields)
        new = attachments.NewAttachment(name=fields.get("name") or None, description=fields.get("description"),
                                        type=part_type, url=None, content=content)
        await run_in_threadpool(attachments.add, services, task_id, new, actor=who.principal)
    except (NotFound, Forbidden) as error:
        return refused(request, who, error)
    except ServiceError as error:
        return await run_in_threadpool(_task_page, request, who, services, task_id, None, None, error)
    return RedirectResponse(f"/app/tasks/{quote(task_id)}#materials", status_code=303)


@router.get("/tasks/{task_id}/materials/{attachment_id}")
def download_material(task_id: str, attachment_id: str, request: Request, who: VisitorDep,
                      services: ServicesDep) -> Response:
    """GET /task/{id}/attachment/{id}/data's use case: saved by the browser, never rendered."""
    try:
        row = attachments.task_attachment(services, task_id, attachment_id, who.principal)
        data = attachments.content(services, task_id, attachment_id, who.principal)
    except ServiceError as error:
        return refused(request, who, error)
    name = quote(row.name or attachment_id)
    return Response(data, media_type="application/octet-stream",
                    headers={"X-Content-Type-Options": "nosniff",
                             "Content-Disposition": f"attachment; filename*=UTF-8''{name}"})


# --- a case on its diagram ------------------------------------------------------------------------------

def _passage(services: Services, principal: Principal, instance_id: str) -> tuple[list[str], list[str]]:
    """The activities the case waits in, and those it passed through (GET /history/activity-instance)."""
    rows = listing.rows(services, history.activity_query(history.ActivityFilter(
        process_instance_id=instance_id, viewer=principal)), 0, services.settings.page_size_max)
    current = sorted({row.activity_id for row in rows if row.end_time is None})
    done = sorted({row.activity_id for row in rows if row.end_time is not None} - set(current))
    return current, done


@router.get("/cases/{instance_id}")
def case_page(instance_id: str, request: Request, who: VisitorDep, services: ServicesDep) -> HTMLResponse:
    try:
        instance, definition, _ = history.readable_historic_instance(services, instance_id, who.principal)
        _, xml = deployments.definition_with_xml(services, definition_id=instance.definition_id)
        current, done = _passage(services, who.principal, instance.id)
        entries = case_timeline.timeline(services, instance.id, who.principal)
        variables = (instances.instance_variables(services, instance.id, who.principal)
                     if instance.status == ACTIVE else {})
        opinions = comments.instance_comments(services, instance.id, who.principal)
        open_tasks = listing.rows(services, tasks.task_query(tasks.TaskFilter(
            process_instance_id=instance.id, viewer=who.principal)), 0, 100)
        clock = statutory.statutory_clock(services, instance.id, who.principal)
    except ServiceError as error:
        return refused(request, who, error)
    return page(request, "case.html", who=who, diagram="case", clock=clock, auditor=_auditor(who.principal),
                instance=instance, definition=definition, xml=xml,
                current=current, done=done, entries=entries, variables=variables, comments=opinions,
                readable=_readable(i18n.translator(i18n.language(request)), services.settings.zone),
                open_tasks=open_tasks, zone=services.settings.zone)


def _auditor(principal: Principal) -> bool:
    try:
        permissions.require_group(principal, (permissions.AUDITORS,), "READ", "History")
    except Forbidden:
        return False
    return True


@router.get("/cases/{instance_id}/export")
def export_page(instance_id: str, request: Request, who: VisitorDep, services: ServicesDep) -> Response:
    """GET /api/process-instances/{id}/export's use case, the same file, with the same permission."""
    try:
        document = case_export.export_case(services, instance_id, who.principal)
    except ServiceError as error:
        return refused(request, who, error)
    return JSONResponse(document, headers={
        "Content-Disposition": f'attachment; filename="case-{quote(instance_id)}.json"'})


@router.get("/cases/{instance_id}/replay")
def replay_page(instance_id: str, request: Request, who: VisitorDep, services: ServicesDep) -> HTMLResponse:
    """GET /api/process-instances/{id}/replay and, for auditors, GET /api/history/verify of the case."""
    try:
        instance, definition, _ = history.readable_historic_instance(services, instance_id, who.principal)
        result = replay.replay_intact(case_export.export_case(services, instance.id, who.principal),
                                      services.settings.zone)
        _, xml = deployments.definition_with_xml(services, definition_id=instance.definition_id)
        entries = case_timeline.timeline(services, instance.id, who.principal, passage=True)
    except ServiceError as error:
        return refused(request, who, error)
    chain = ledger.verify(services, instance.id) if _auditor(who.principal) else None
    zone = services.settings.zone
    steps = [{"activity": entry.activity_id, "what": entry.what, "who": entry.who or "",
              "when": entry.at.astimezone(zone).strftime("%Y-%m-%d %H:%M")} for entry in entries]
    return page(request, "replay.html", who=who, diagram="replay", instance=instance, definition=definition,
                xml=xml, result=result, chain=chain, steps=steps)


# --- procedures, for designers ----------------------------------------------------------------------------

@router.get("/procedures")
def procedures_page(request: Request, who: VisitorDep, services: ServicesDep) -> HTMLResponse:
    return _procedures(request, who, services)


def _procedures(request: Request, who: Visitor, services: Services,
                deploy_error: ServiceError | None = None) -> HTMLResponse:
    """GET /process-definition/statistics and, for each definition with running cases, its activities'."""
    try:
        permissions.require_group(who.principal, (permissions.DESIGNERS,), "READ", "ProcessDefinition")
        counting = statistics.IncidentCounting(all_types=True)
        found = statistics.of_definitions(services, who.principal, counting)
        activities = {definition.id: statistics.of_activities(services, definition.id, who.principal, counting)
                      for definition, item in found if item.instances}
    except ServiceError as error:
        return refused(request, who, error)
    return page(request, "procedures.html", 400 if deploy_error else 200, who=who, definitions=found,
                activities=activities, deploy_error=deploy_error,
                deployed=request.query_params.get("deployed") if request.method == "GET" else None)


@router.post("/procedures")
async def deploy_file(request: Request, who: VisitorDep, services: ServicesDep) -> Response:
    """POST /deployment/create's use case with one file, for designers (administrators are designers too)."""
    limit = services.settings.max_upload_bytes
    fields: dict[str, str] = {}
    resources: dict[str, bytes] = {}
    try:
        async with request.form(max_files=1, max_fields=5) as form:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile) and name == "content":
                    resources[(value.filename or "process.bpmn")[:255]] = await value.read(limit + 1)
                elif isinstance(value, str) and name in ("csrf", "name") and len(value) <= 4000:
                    fields[name] = value
        _checked(who, fields)
        permissions.require_group(who.principal, (permissions.DESIGNERS,), "CREATE", "Deployment")
        if not resources:
            raise InvalidRequest("Choose a BPMN or DMN file to deploy")
        result = await run_in_threadpool(
            deployments.deploy, services, name=fields.get("name") or next(iter(resources)), source="web workspace",
            tenant_id=None, resources=resources, duplicate_filtering=False, changed_only=False,
            user_id=who.principal.user_id)
    except ServiceError as error:  # a non-designer is refused the page itself: not found, as GET answers
        return await run_in_threadpool(_procedures, request, who, services, error)
    return RedirectResponse(f"/app/procedures?{urlencode({'deployed': result.deployment.name or ''})}",
                            status_code=303)

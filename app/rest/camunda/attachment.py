"""Task attachments (材料) in Camunda 7's shapes: /task/{id}/attachment."""
from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from app.cases import attachments
from app.errors import InvalidRequest
from app.persistence.models import Attachment
from app.rest.camunda.render import link
from app.rest.dependencies import PrincipalDep, ServicesDep
from app.rest.routing import ServiceRouter
from app.rest.variables import format_instant

router = ServiceRouter(prefix="/engine-rest/task", tags=["task attachment"])
_FIELDS = {"attachment-name": "name", "attachment-description": "description", "attachment-type": "type",
           "url": "url"}


def _render(row: Attachment, services: ServicesDep, request: Request | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "id": row.id, "name": row.name, "description": row.description, "taskId": row.task_id, "type": row.type,
        "url": row.url, "createTime": format_instant(row.created, services.settings.zone), "removalTime": None,
        "rootProcessInstanceId": row.process_instance_id, "processInstanceId": row.process_instance_id,
        # Beside Camunda's fields: what an auditor checks a downloaded file against.
        "size": row.size, "sha256": row.sha256,
    }
    if request is not None:
        answer["links"] = [link(request, f"/task/{row.task_id}/attachment/{row.id}")]
    return answer


@router.post("/{task_id}/attachment/create", summary="Attach a file (multipart: attachment-name, "
             "attachment-description, attachment-type, content) or a link (url) to an open task")
async def create_attachment(task_id: str, request: Request, services: ServicesDep,
                            actor: PrincipalDep) -> dict[str, Any]:
    fields: dict[str, str] = {}
    content: bytes | None = None
    part_type: str | None = None
    sent_as = request.headers.get("content-type", "")
    if "multipart/form-data" not in sent_as and "application/x-www-form-urlencoded" not in sent_as:
        raise InvalidRequest("an attachment is sent as multipart/form-data (a link alone may be a plain form)")
    async with request.form(max_files=1, max_fields=10) as form:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name != "content":
                    raise InvalidRequest(f"unexpected file part '{name}': the file goes in the part 'content'")
                content = await value.read(services.settings.attachment_max_bytes + 1)
                part_type = (value.content_type or "").split(";")[0].strip() or None
            elif name in _FIELDS:
                fields[_FIELDS[name]] = value
            elif name == "content":
                content = value.encode()
    new = attachments.NewAttachment(name=fields.get("name"), description=fields.get("description"),
                                    type=fields.get("type") or part_type, url=fields.get("url"), content=content)
    row = await run_in_threadpool(attachments.add, services, task_id, new, actor=actor)
    return _render(row, services, request)


@router.get("/{task_id}/attachment")
def list_attachments(task_id: str, services: ServicesDep, reader: PrincipalDep) -> list[dict[str, Any]]:
    return [_render(row, services) for row in attachments.task_attachments(services, task_id, reader)]


@router.get("/{task_id}/attachment/{attachment_id}")
def get_attachment(task_id: str, attachment_id: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    return _render(attachments.task_attachment(services, task_id, attachment_id, reader), services)


@router.get("/{task_id}/attachment/{attachment_id}/data", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}}})
def attachment_data(task_id: str, attachment_id: str, services: ServicesDep, reader: PrincipalDep) -> Response:
    # As Camunda, octet-stream: a browser saves the file instead of rendering what someone uploaded.
    return Response(attachments.content(services, task_id, attachment_id, reader),
                    media_type="application/octet-stream",
                    headers={"X-Content-Type-Options": "nosniff", "Content-Disposition": "attachment"})


@router.delete("/{task_id}/attachment/{attachment_id}", status_code=204)
def delete_attachment(task_id: str, attachment_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    attachments.remove(services, task_id, attachment_id, actor=actor)
    return Response(status_code=204)

"""Task comments (审批意见) in Camunda 7's shapes: /task/{id}/comment and /process-instance/{id}/comment;
edited and deleted by their authors (app.cases.comments), each change kept in the case's history."""
from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from app.cases import comments
from app.rest.camunda.render import link
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep
from app.rest.routing import ServiceRouter
from app.rest.variables import format_instant

router = ServiceRouter(prefix="/engine-rest", tags=["task comment"])


def _render(comment: comments.Comment, services: ServicesDep, request: Request | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "id": comment.id,
        "userId": comment.user_id,
        "taskId": comment.task_id,
        "processInstanceId": comment.process_instance_id,
        "time": format_instant(comment.time, services.settings.zone),
        "message": comment.message,
        "removalTime": None,
        "rootProcessInstanceId": comment.process_instance_id,
    }
    if request is not None:
        answer["links"] = [link(request, f"/task/{comment.task_id}/comment/{comment.id}")]
    return answer


@router.post("/task/{task_id}/comment/create")
def create_comment(task_id: str, request: Request, services: ServicesDep, actor: PrincipalDep,
                   body: JsonBody = None) -> dict[str, Any]:
    return _render(comments.add_task_comment(services, task_id, body or {}, actor=actor), services, request)


@router.get("/task/{task_id}/comment")
def list_task_comments(task_id: str, services: ServicesDep, reader: PrincipalDep) -> list[dict[str, Any]]:
    return [_render(comment, services) for comment in comments.task_comments(services, task_id, reader)]


@router.get("/task/{task_id}/comment/{comment_id}")
def get_task_comment(task_id: str, comment_id: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    return _render(comments.task_comment(services, task_id, comment_id, reader), services)


@router.get("/process-instance/{instance_id}/comment")
def list_instance_comments(instance_id: str, services: ServicesDep, reader: PrincipalDep) -> list[dict[str, Any]]:
    return [_render(comment, services) for comment in comments.instance_comments(services, instance_id, reader)]


@router.put("/task/{task_id}/comment", status_code=204, summary="Edit one's own comment on an open task")
def update_task_comment(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    comments.edit_task_comment(services, task_id, body or {}, actor=actor)
    return Response(status_code=204)


@router.delete("/task/{task_id}/comment", status_code=204, summary="Delete the comments of an open task")
def delete_task_comments(task_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    comments.delete_task_comments(services, task_id, None, actor=actor)
    return Response(status_code=204)


@router.delete("/task/{task_id}/comment/{comment_id}", status_code=204)
def delete_task_comment(task_id: str, comment_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    comments.delete_task_comments(services, task_id, comment_id, actor=actor)
    return Response(status_code=204)


@router.put("/process-instance/{instance_id}/comment", status_code=204,
            summary="Edit one's own comment on a running case")
def update_instance_comment(instance_id: str, services: ServicesDep, actor: PrincipalDep,
                            body: JsonBody = None) -> Response:
    comments.edit_instance_comment(services, instance_id, body or {}, actor=actor)
    return Response(status_code=204)


@router.delete("/process-instance/{instance_id}/comment", status_code=204,
               summary="Delete the comments of a running case")
def delete_instance_comments(instance_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    comments.delete_instance_comments(services, instance_id, None, actor=actor)
    return Response(status_code=204)


@router.delete("/process-instance/{instance_id}/comment/{comment_id}", status_code=204)
def delete_instance_comment(instance_id: str, comment_id: str, services: ServicesDep,
                            actor: PrincipalDep) -> Response:
    comments.delete_instance_comments(services, instance_id, comment_id, actor=actor)
    return Response(status_code=204)

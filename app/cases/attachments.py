"""Materials (材料, 补正材料) attached to the tasks officials work, as Camunda's task attachments.

A file is kept once by its SHA-256 (app.persistence.contents) and the case's chained history
records who attached or removed what, with the hash: an auditor can tell years later that the file
handed out is the one attached. Attaching and removing are for whoever may work the open task;
reading is for whoever may read the case, also after the task is done. Files are bounded in size
and accepted only in the configured content types, each checked against the file's first bytes.
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.cases.comments import readable_task_instance
from app.cases.instances import case_of_task, instance_of_open_work, record
from app.cases.tasks import optional_text
from app.context import Services
from app.errors import InvalidRequest, NotFound
from app.persistence.contents import discard_unreferenced
from app.persistence.models import Attachment, UserTask

# OFD (the national standard for electronic documents), Office files and zip archives are zip files.
_ZIP = (b"PK\x03\x04",)
# The content types the service can check, by the first bytes each starts with (None: text, checked
# as UTF-8); ATTACHMENT_TYPES names some of them.
SIGNATURES: dict[str, tuple[bytes, ...] | None] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "text/plain": None,
    "application/zip": _ZIP,
    "application/ofd": _ZIP,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _ZIP,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _ZIP,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": _ZIP,
}


def accepted_types(configured: str) -> list[str]:
    """The content types ATTACHMENT_TYPES names; a type whose content the service cannot check is a
    configuration error, found when the service starts."""
    types = [kind.strip() for kind in configured.split(",") if kind.strip()]
    unknown = [kind for kind in types if kind not in SIGNATURES]
    if unknown:
        raise ValueError(f"ATTACHMENT_TYPES names types whose content cannot be checked: {', '.join(unknown)} "
                         f"(known: {', '.join(SIGNATURES)})")
    return types


@dataclass(frozen=True)
class NewAttachment:
    name: str | None
    description: str | None
    type: str | None
    url: str | None
    content: bytes | None


def _check_content(services: Services, content_type: str | None, content: bytes) -> str:
    accepted = accepted_types(services.settings.attachment_types)
    if content_type not in accepted:
        raise InvalidRequest(f"an attached file's type must be one of: {', '.join(accepted)} "
                             f"(got '{content_type or 'none'}')")
    if len(content) > services.settings.attachment_max_bytes:
        raise InvalidRequest(f"an attached file has at most {services.settings.attachment_max_bytes} bytes")
    if not content:
        raise InvalidRequest("the attached file is empty")
    signatures = SIGNATURES[content_type]
    if signatures is None:
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            text = "\x00"
        matches = "\x00" not in text
    else:
        matches = content.startswith(signatures)
    if not matches:
        raise InvalidRequest(f"the attached file's content is not of its type '{content_type}'")
    return content_type


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if len(url) > 2048 or parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidRequest("an attachment's url is an http or https address of at most 2048 characters")
    return url


def add(services: Services, task_id: str, new: NewAttachment, *, actor: Principal) -> Attachment:
    if (new.content is None) == (new.url is None):
        raise InvalidRequest("an attachment is either a file ('content') or a link ('url')")
    name = optional_text(new.name, "attachment-name", 255)
    description = optional_text(new.description, "attachment-description")
    kind = optional_text(new.type, "attachment-type", 255)
    url = _check_url(new.url) if new.url is not None else None
    digest = None
    if new.content is not None:
        kind = _check_content(services, kind, new.content)
        digest = hashlib.sha256(new.content).hexdigest()
    with services.db.write() as session:
        task = session.get(UserTask, task_id)
        if task is None:
            raise InvalidRequest(f"No task found with id {task_id}; materials are attached to an open task")
        permissions.require_task_work(session, actor, task)
        instance = instance_of_open_work(session, case_of_task(task, "materials are attached to the tasks of cases"))
        now = services.clock.now()
        attachment = Attachment(id=str(uuid.uuid4()), process_instance_id=instance.id, task_id=task_id, name=name,
                                description=description, type=kind, url=url, sha256=digest,
                                size=len(new.content) if new.content is not None else None,
                                user_id=actor.user_id, created=now)
        if new.content is not None and digest is not None:
            services.contents.put(session, digest, new.content)
        record(session, instance, "task.attachmentAdded", now, user_id=actor.user_id,
               activity_id=task.task_definition_key, task_id=task_id, attachmentId=attachment.id, fileName=name,
               type=kind, size=attachment.size, sha256=digest, url=url)
        attachment.sequence = instance.last_sequence
        session.add(attachment)
        session.flush()
        session.expunge(attachment)
        return attachment


def _of_task(session: Session, task_id: str, attachment_id: str) -> Attachment:
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.task_id != task_id:
        raise NotFound(f"Task attachment with id {attachment_id} does not exist for task id '{task_id}'.")
    return attachment


def remove(services: Services, task_id: str, attachment_id: str, *, actor: Principal) -> None:
    """Take a material back while the task is open; the history keeps that it was attached, and its hash."""
    with services.db.write() as session:
        task = session.get(UserTask, task_id)
        if task is None:
            raise NotFound(f"No task found with id {task_id}; materials are removed from an open task")
        permissions.require_task_work(session, actor, task)
        attachment = _of_task(session, task_id, attachment_id)
        instance = instance_of_open_work(session, case_of_task(task, "materials are attached to the tasks of cases"))
        session.delete(attachment)
        if attachment.sha256:
            discard_unreferenced(services.contents, session, {attachment.sha256})
        record(session, instance, "task.attachmentDeleted", services.clock.now(), user_id=actor.user_id,
               activity_id=task.task_definition_key, task_id=task_id, attachmentId=attachment.id,
               fileName=attachment.name, sha256=attachment.sha256)


def task_attachments(services: Services, task_id: str, reader: Principal) -> list[Attachment]:
    with services.db.read() as session:
        readable_task_instance(session, task_id, reader)
        return list(session.scalars(select(Attachment).where(Attachment.task_id == task_id)
                                    .order_by(Attachment.sequence)))


def task_attachment(services: Services, task_id: str, attachment_id: str, reader: Principal) -> Attachment:
    with services.db.read() as session:
        readable_task_instance(session, task_id, reader)
        return _of_task(session, task_id, attachment_id)


def content(services: Services, task_id: str, attachment_id: str, reader: Principal) -> bytes:
    with services.db.read() as session:
        readable_task_instance(session, task_id, reader)
        attachment = _of_task(session, task_id, attachment_id)
        if attachment.sha256 is None:
            raise NotFound(f"Attachment content for attachment with id '{attachment_id}' does not exist for task "
                           f"id '{task_id}': it is a link")
        return services.contents.get(session, attachment.sha256)

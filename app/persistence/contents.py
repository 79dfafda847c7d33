"""Where the content of attached files and binary variables is kept, named by its SHA-256: in the database (default), in
a directory or in a bucket of an S3-compatible store. Either way the content is read back only if it
still has its hash, so a file changed where it is kept is noticed, never handed out as the original."""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.errors import ContentStoreUnavailable, HistoryNotIntact, NotFound
from app.persistence.database import after_commit, insert_missing
from app.persistence.models import Attachment, AttachmentContent, VariableContent
from app.settings import Settings

log = logging.getLogger(__name__)


class ContentStore(Protocol):
    def check(self) -> None:
        """Refuse to start (ValueError) when the store cannot be used as configured."""

    def put(self, session: Session, sha256: str, data: bytes) -> None: ...

    def get(self, session: Session, sha256: str) -> bytes: ...

    def discard(self, session: Session, sha256: str) -> None: ...


def checked(sha256: str, data: bytes | None) -> bytes:
    if data is None:
        raise NotFound(f"The content {sha256} (of an attached file or a binary variable) is not in the store")
    if hashlib.sha256(data).hexdigest() != sha256:
        raise HistoryNotIntact(f"The content kept as {sha256} no longer has that hash: it was "
                               "changed where it is stored")
    return data


class DatabaseContents:
    """In the unit of work of the command that attaches the file: both are kept, or neither."""

    def check(self) -> None:
        """Its table is made by the migrations."""

    def put(self, session: Session, sha256: str, data: bytes) -> None:
        insert_missing(session, AttachmentContent, [{"sha256": sha256, "data": data}])

    def get(self, session: Session, sha256: str) -> bytes:
        return checked(sha256, session.scalar(select(AttachmentContent.data)
                                              .where(AttachmentContent.sha256 == sha256)))

    def discard(self, session: Session, sha256: str) -> None:
        session.execute(delete(AttachmentContent).where(AttachmentContent.sha256 == sha256))


class DirectoryContents:
    """Files under a directory. A file is written (whole, then renamed into place) before the command
    commits; if the command then fails, the file stays unreferenced and harmless, as its name is its
    content's hash. A file is removed only after the command that released it has committed."""

    def __init__(self, directory: str) -> None:
        self.root = Path(directory)

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ValueError(f"ATTACHMENT_DIRECTORY {self.root} cannot be made: {error.strerror}") from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise ValueError(f"ATTACHMENT_DIRECTORY {self.root} is not writable by the service")

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, session: Session, sha256: str, data: bytes) -> None:
        path = self._path(sha256)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as part:
            part.write(data)
            part.flush()
            os.fsync(part.fileno())
        os.replace(part.name, path)

    def get(self, session: Session, sha256: str) -> bytes:
        path = self._path(sha256)
        return checked(sha256, path.read_bytes() if path.exists() else None)

    def discard(self, session: Session, sha256: str) -> None:
        after_commit(session, lambda: self._path(sha256).unlink(missing_ok=True))


class S3Contents:
    """Objects in a bucket of an S3-compatible store (AWS S3, MinIO, Ceph, Aliyun OSS in S3 mode), each
    keyed by its SHA-256 under the configured prefix. As in a directory, an object is written before
    the command commits and removed only after the command that released it has committed. The store's
    errors become the service's (a missing object NotFound, anything else ContentStoreUnavailable); what
    the store said goes to the log, never to the caller."""

    def __init__(self, settings: Settings) -> None:
        try:
            import boto3
            from botocore.config import Config
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError:
            raise ValueError("ATTACHMENT_STORE=s3 needs boto3: install the service with its s3 extra "
                             "(pip install 'eco-orchestrator[s3]')") from None
        self._failures: tuple[type[Exception], ...] = (BotoCoreError, ClientError)
        self.bucket = settings.attachment_s3_bucket.strip()
        self.prefix = "/".join(part for part in settings.attachment_s3_prefix.strip().split("/") if part)
        self.endpoint = settings.attachment_s3_endpoint_url.strip() or "AWS S3"
        key_id = settings.attachment_s3_access_key_id.strip()
        config = Config(
            s3={"addressing_style": "path" if settings.attachment_s3_path_style else "virtual"},
            # Checksums only where S3 requires them: the stores compatible with S3 (Aliyun OSS, older
            # Ceph and MinIO) refuse the newer checksum headers boto3 sends by default.
            request_checksum_calculation="when_required", response_checksum_validation="when_required",
            connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"})
        self._client = boto3.session.Session().client(
            "s3", endpoint_url=settings.attachment_s3_endpoint_url.strip() or None,
            region_name=settings.attachment_s3_region.strip() or None, config=config,
            aws_access_key_id=key_id or None,
            aws_secret_access_key=settings.attachment_s3_secret_access_key.get_secret_value() or None)

    def key(self, sha256: str) -> str:
        return f"{self.prefix}/{sha256}" if self.prefix else sha256

    def _code(self, error: Exception) -> str:
        response: Any = getattr(error, "response", None)
        return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else type(error).__name__

    def _unavailable(self, action: str, sha256: str, error: Exception) -> ContentStoreUnavailable:
        log.warning("The attachment store (%s, bucket %s) failed to %s %s: %s", self.endpoint, self.bucket, action,
                    self.key(sha256), self._code(error) or error)
        return ContentStoreUnavailable(f"The store of attached files could not {action} the content of attachment "
                                       f"{sha256}; nothing was changed. Try again later.")

    def check(self) -> None:
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except self._failures as error:
            raise ValueError(f"ATTACHMENT_STORE=s3: bucket '{self.bucket}' at {self.endpoint} cannot be used "
                             f"({self._code(error) or error})") from None

    def put(self, session: Session, sha256: str, data: bytes) -> None:
        try:
            self._client.put_object(Bucket=self.bucket, Key=self.key(sha256), Body=data,
                                    ContentType="application/octet-stream")
        except self._failures as error:
            raise self._unavailable("keep", sha256, error) from None

    def get(self, session: Session, sha256: str) -> bytes:
        try:
            found = self._client.get_object(Bucket=self.bucket, Key=self.key(sha256))
            with found["Body"] as body:
                data = body.read()
        except self._failures as error:
            if self._code(error) in ("NoSuchKey", "404"):
                return checked(sha256, None)
            raise self._unavailable("read", sha256, error) from None
        return checked(sha256, data)

    def discard(self, session: Session, sha256: str) -> None:
        after_commit(session, lambda: self._delete(sha256))

    def _delete(self, sha256: str) -> None:
        # The removal is committed: an object left behind is unreferenced and harmless (its key is its
        # content's hash), so a failure here is logged, not answered.
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self.key(sha256))
        except self._failures as error:
            self._unavailable("remove", sha256, error)


def discard_unreferenced(store: ContentStore, session: Session, digests: set[str]) -> None:
    """Discard the contents no attachment and no case's binary variable refers to any more (after the
    rows that referred to them are deleted in this unit of work)."""
    session.flush()
    for digest in sorted(digests):
        if session.scalar(select(Attachment.id).where(Attachment.sha256 == digest).limit(1)) is None and \
                session.scalar(select(VariableContent.sha256).where(VariableContent.sha256 == digest).limit(1)) is None:
            store.discard(session, digest)


def content_store(settings: Settings) -> ContentStore:
    """The store ATTACHMENT_STORE names."""
    if settings.attachment_store == "s3":
        return S3Contents(settings)
    if settings.attachment_store == "directory":
        return DirectoryContents(settings.attachment_directory)
    return DatabaseContents()

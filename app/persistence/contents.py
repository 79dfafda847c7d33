"""Where the content of attached files is kept, named by its SHA-256: in the database (default) or in
a directory. Either way the content is read back only if it still has its hash, so a file changed
where it is kept is noticed, never handed out as the original."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.errors import HistoryNotIntact, NotFound
from app.persistence.database import after_commit, insert_missing
from app.persistence.models import AttachmentContent


class ContentStore(Protocol):
    def put(self, session: Session, sha256: str, data: bytes) -> None: ...

    def get(self, session: Session, sha256: str) -> bytes: ...

    def discard(self, session: Session, sha256: str) -> None: ...


def checked(sha256: str, data: bytes | None) -> bytes:
    if data is None:
        raise NotFound(f"The content of attachment {sha256} is not in the store")
    if hashlib.sha256(data).hexdigest() != sha256:
        raise HistoryNotIntact(f"The content kept for attachment {sha256} no longer has that hash: it was "
                               "changed where it is stored")
    return data


class DatabaseContents:
    """In the unit of work of the command that attaches the file: both are kept, or neither."""

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

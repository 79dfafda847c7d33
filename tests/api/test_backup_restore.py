"""Backup and restore as the README's *Backup and restore* section tells operators to do them:
`pg_dump --format=custom` and `pg_restore` into an empty database on PostgreSQL, SQLite's online
backup on SQLite. A restored database verifies intact with `eco-orchestrator verify` against the
signing key and the anchor log kept outside the database; a database restored from a backup older
than the anchor log (cases lost since) does not, and says which anchors it lacks."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import make_url

from app.audit.anchors import KEY_FILE
from app.persistence.database import libpq_url
from tests.support.databases import drop_database, fresh_database
from tests.support.paths import ROOT


def backup(url: str, folder: Path) -> Path:
    """A consistent copy of the database taken while the service runs."""
    if url.startswith("sqlite"):
        copy = folder / f"backup-{uuid.uuid4().hex}.sqlite3"
        with sqlite3.connect(make_url(url).database) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        return copy
    dump = folder / f"backup-{uuid.uuid4().hex}.dump"
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", libpq_url(url)],
                   check=True, capture_output=True, timeout=120)
    return dump


@contextmanager
def restored(url: str, copy: Path) -> Iterator[str]:
    """The backup restored into a database of its own; its URL, dropped afterwards."""
    if url.startswith("sqlite"):
        yield f"sqlite:///{copy}"
        return
    target = fresh_database(copy.parent)
    try:
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={libpq_url(target)}", str(copy)],
                       check=True, capture_output=True, timeout=120)
        yield target
    finally:
        drop_database(target)


def verify_restored(service, url: str) -> subprocess.CompletedProcess:
    """`eco-orchestrator verify` on the restored database, another process as an operator runs it,
    with the key and the anchor log of the service (kept outside its database)."""
    settings = service.services.settings
    key = settings.anchor_signing_key or str(Path(make_url(settings.database_url).database).parent / KEY_FILE)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "ANCHOR_SIGNING_KEY": key,
           "ANCHOR_LOG": str(service.services.signer.log_path)}
    return subprocess.run([sys.executable, "-c", "import sys; from app.cli import main; main(sys.argv[1:])",
                           "verify"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_a_restored_backup_verifies_intact_against_the_anchors_kept_outside(service, cases, tmp_path):
    copy = backup(service.services.db.url, tmp_path)
    with restored(service.services.db.url, copy) as url:
        checked = verify_restored(service, url)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2 instance(s)" in checked.stdout and ": intact" in checked.stdout


def test_a_backup_older_than_the_anchor_log_is_seen_as_missing_its_newest_anchors(service, client, cases, tmp_path):
    copy = backup(service.services.db.url, tmp_path)
    # After the backup the service goes on: a third case is decided and anchored.
    body = {"businessKey": "EIP-3", "variables": {"park_name": {"value": "园区3"}, "province": {"value": "zj"},
                                                  "applicant": {"value": "park-office"}}}
    third = client.post("/process-definition/key/eco_review/start", json=body).json()["id"]
    [task] = client.get("/task", params={"processInstanceId": third}).json()
    client.post(f"/task/{task['id']}/complete", json={"variables": {
        "decision": {"value": "approve"}, "opinion": {"value": "符合条件"}, "score": {"value": 88}}}).raise_for_status()
    with restored(service.services.db.url, copy) as url:
        checked = verify_restored(service, url)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "NOT intact" in checked.stdout and "of the anchor log is missing from the database" in checked.stdout

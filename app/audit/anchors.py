"""The key that signs the history's anchors, and the anchor log outside the database.

The private key is never stored in the database: an attacker who can write to the database can
recompute every hash, but cannot sign. The public key is published (with every export,
`GET /api/history/anchor-key`, `eco-orchestrator anchor-key`) so that anyone can check the
signatures. Every anchor is also appended to a JSON-lines file meant to be shipped off the
database's machine, so that deleting the newest anchors from the database is seen too.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import make_url

from app.settings import PROJECT_ROOT, Settings

KEY_FILE, LOG_FILE = "anchor-signing.pem", "anchors.jsonl"


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signed_part(anchor: Mapping[str, Any]) -> bytes:
    """What an anchor's signature covers: its number, the hash before it, its hash, its instant and
    what it anchors (an anchor as `ledger.anchor_json` gives it)."""
    return canonical({key: anchor[key] for key in ("number", "processInstanceId", "eventHash", "anchoredAt",
                                                   "previousHash", "hash")})


def public_key(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def is_signed(key: Ed25519PublicKey, message: bytes, signature: str | None) -> bool:
    if not signature:
        return False
    try:
        key.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


class AnchorSigner:
    def __init__(self, private_key: Ed25519PrivateKey, log_path: Path | None) -> None:
        self._private_key = private_key
        self.public_key = private_key.public_key()
        self.public_pem = public_pem(self.public_key)
        self.log_path = log_path

    @classmethod
    def from_settings(cls, settings: Settings) -> AnchorSigner:
        database = make_url(settings.database_url).database
        # An in-memory SQLite database named by `sqlite://` alone has no file to keep the key beside.
        beside = (Path(database).expanduser().resolve().parent
                  if settings.is_sqlite and database is not None else PROJECT_ROOT / "data")
        configured = settings.anchor_signing_key.strip()
        if configured.startswith("-----BEGIN"):
            pem = configured.encode("ascii")
        elif configured:
            pem = Path(configured).expanduser().read_bytes()
        else:  # development only (Settings refuses an empty key in production)
            pem = _generated_key(beside / KEY_FILE)
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except ValueError as error:
            raise ValueError(f"ANCHOR_SIGNING_KEY is not a readable PEM private key: {error}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("ANCHOR_SIGNING_KEY must be an Ed25519 private key "
                             "(openssl genpkey -algorithm ed25519)")
        log = (Path(settings.anchor_log).expanduser() if settings.anchor_log
               else beside / LOG_FILE if settings.is_sqlite else None)
        return cls(key, log)

    def derived_secret(self, purpose: str) -> bytes:
        """A secret for another purpose (the web workspace's session cookies), derived from the private
        key: every replica holding the key derives the same one, and there is nothing more to keep."""
        raw = self._private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                              serialization.NoEncryption())
        return hmac.new(raw, purpose.encode("utf-8"), hashlib.sha256).digest()

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self._private_key.sign(message)).decode("ascii")

    def append_to_log(self, anchors: Iterable[Mapping[str, Any]]) -> None:
        """One line per anchor, written with one append each, so that concurrent writers (several
        processes) do not interleave within a line."""
        if self.log_path is None:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            for anchor in anchors:
                os.write(descriptor, canonical(anchor) + b"\n")
        finally:
            os.close(descriptor)

    def logged(self) -> list[dict[str, Any] | None]:
        """The anchor log's lines (None for a line that is not an anchor)."""
        if self.log_path is None or not self.log_path.exists():
            return []
        lines = []
        for line in self.log_path.read_text(encoding="utf-8").splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                lines.append(None)
        return lines


def _generated_key(path: Path) -> bytes:
    """The development key beside the database, made on first use (readable by its owner only)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        try:
            os.link(draft, path)  # whole or not at all; another process may have made one meanwhile
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_bytes()

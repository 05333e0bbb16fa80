"""Bearer keys for the HTTP API, one or more per user (`ragdesk users key create`).

A key is `rdk_<id>_<secret>`: the id finds its row, the secret is checked against a
SHA-256 hash (32 random bytes need no slow hash: there is nothing to guess from). The key
itself is shown once, when created, and never stored. A key names a user, not groups: the
user's groups are resolved at every request, as the chat does at sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

PREFIX = "rdk_"
_KEY = re.compile(r"^rdk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    label TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
)
"""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    user: str
    label: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class ApiKeyStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=10)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(SCHEMA)
        path.chmod(0o600)

    def create(self, user: str, label: str = "") -> tuple[ApiKey, str]:
        """A new key for `user`: (its record, the key to hand over — shown this once)."""
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        record = ApiKey(key_id, user, label.strip(), _now(), None, None)
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, NULL, NULL)",
                (key_id, user, record.label, _digest(secret), record.created_at),
            )
        return record, f"{PREFIX}{key_id}_{secret}"

    def user_of(self, key: str) -> str | None:
        """The user a presented key belongs to; None for a malformed, unknown or revoked
        key (the caller cannot tell which)."""
        match = _KEY.match(key.strip())
        if match is None:
            return None
        key_id, secret = match.groups()
        with self._lock:
            row = self._db.execute(
                "SELECT user, secret_sha256 FROM api_keys WHERE id = ? AND revoked_at IS NULL",
                (key_id,),
            ).fetchone()
        if row is None or not hmac.compare_digest(row[1], _digest(secret)):
            return None
        with self._lock, self._db:
            self._db.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (_now(), key_id))
        return str(row[0])

    def list_keys(self, user: str | None = None) -> list[ApiKey]:
        where, args = ("WHERE user = ?", (user,)) if user else ("", ())
        with self._lock:
            rows = self._db.execute(
                "SELECT id, user, label, created_at, last_used_at, revoked_at FROM api_keys "
                f"{where} ORDER BY created_at, id",
                args,
            ).fetchall()
        return [ApiKey(*row) for row in rows]

    def revoke(self, key_id: str) -> bool:
        """Revoke by id (or by the whole key); False when no active key has it."""
        match = _KEY.match(key_id.strip())
        key_id = match.group(1) if match else key_id.strip()
        with self._lock, self._db:
            cursor = self._db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (_now(), key_id),
            )
        return cursor.rowcount == 1

    def close(self) -> None:
        self._db.close()

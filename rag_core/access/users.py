"""Users, their bcrypt-hashed passwords and groups, in a YAML file the admin edits:

    users:
      alice:
        password: $2b$12$...        # bcrypt; written by `ragdesk users add`
        groups: [hr]
        admin: true                 # may add documents, read the audit log and feedback

Every user also sees documents for everyone (`*`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from rag_core.settings import Settings
from rag_core.types import EVERYONE, ConfigurationError

NAME_PATTERN = r"^[A-Za-z0-9_.@-]{1,64}$"


@cache
def _dummy_hash() -> bytes:
    """Checked against when the user does not exist, so a wrong name costs as long as a
    wrong password (no user enumeration by timing)."""
    return bcrypt.hashpw(b"not a password", bcrypt.gensalt(rounds=12))


@dataclass(frozen=True, slots=True)
class User:
    name: str
    groups: tuple[str, ...]
    admin: bool = False  # adds documents, reads the audit log and the feedback

    @property
    def search_groups(self) -> list[str]:
        return sorted({*self.groups, EVERYONE})


def local_user(settings: Settings) -> User:
    """Who asks when nobody signs in (RAGDESK_AUTH=open, or the CLI without --user): the
    person at this machine, so its admin."""
    return User("local user", tuple(settings.groups), admin=True)


def _load(path: Path) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"users file {path} cannot be read: {exc}") from exc
    users = data.get("users") if isinstance(data, dict) else None
    if users is None:
        return {}
    if not isinstance(users, dict):
        raise ConfigurationError(f"users file {path}: `users` must map names to entries")
    return {str(name): dict(entry or {}) for name, entry in users.items()}


def _groups(entry: dict[str, Any]) -> tuple[str, ...]:
    groups = entry.get("groups") or []
    if isinstance(groups, str):
        groups = groups.split(",")
    return tuple(sorted({str(g).strip() for g in groups if str(g).strip()}))


def find_user(path: Path, name: str) -> User | None:
    entry = _load(path).get(name)
    return User(name, _groups(entry), _admin(entry)) if entry is not None else None


def verify_password(path: Path, name: str, password: str) -> User | None:
    entry = _load(path).get(name)
    stored = str((entry or {}).get("password", "")).encode()
    if entry is None or not stored.startswith(b"$2"):
        bcrypt.checkpw(password.encode(), _dummy_hash())
        return None
    if not bcrypt.checkpw(password.encode(), stored):
        return None
    return User(name, _groups(entry), _admin(entry))


def _admin(entry: dict[str, Any]) -> bool:
    return entry.get("admin") is True


def add_user(path: Path, name: str, password: str, groups: list[str], admin: bool = False) -> User:
    """Create or update a user (a new password, groups, admin or not); the file stays
    private."""
    import re

    if not re.match(NAME_PATTERN, name):
        raise ConfigurationError(f"user name {name!r}: use letters, digits and . _ @ -")
    if len(password) < 8:
        raise ConfigurationError("the password must have at least 8 characters")
    users = _load(path)
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=12)).decode()
    users[name] = {"password": hashed, "groups": sorted({g.strip() for g in groups if g.strip()})}
    if admin:
        users[name]["admin"] = True
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"users": users}, handle, sort_keys=True)
    os.replace(tmp, path)
    return User(name, _groups(users[name]), admin)

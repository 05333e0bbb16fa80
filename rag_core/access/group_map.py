"""Which ragdesk groups a directory (LDAP/AD) or file-server (POSIX) group stands for, and
which of those groups make their members admins. One small YAML file, kept by IT:

    groups:                       # outside group (name or full DN) -> ragdesk groups
      hr-staff: [hr]
      "cn=engineering,ou=groups,dc=example,dc=org": [eng]
      staff: ["*"]                # everyone's documents only
    admins: [ragdesk-admins]      # members of these outside groups are admins

A group the file does not name gives nothing: access is granted, never guessed. Names
compare case-insensitively (directories do); a DN matches by its full text or its first
RDN's value (`cn=hr-staff,ou=...` matches `hr-staff`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rag_core.types import ConfigurationError


def _key(name: str) -> str:
    return " ".join(name.strip().lower().split())


def _first_rdn_value(dn: str) -> str | None:
    """`cn=hr-staff,ou=groups,...` -> `hr-staff`; None for a plain name."""
    head = dn.split(",", 1)[0]
    if "=" not in head or "," not in dn:
        return None
    return head.split("=", 1)[1].strip()


@dataclass(frozen=True, slots=True)
class GroupMap:
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    admins: frozenset[str] = frozenset()

    def _keys(self, outside: Iterable[str]) -> set[str]:
        keys: set[str] = set()
        for name in outside:
            keys.add(_key(name))
            short = _first_rdn_value(name)
            if short:
                keys.add(_key(short))
        return keys

    def ragdesk_groups(self, outside: Iterable[str]) -> tuple[str, ...]:
        """The ragdesk groups for a set of outside groups (unknown ones give nothing)."""
        found: set[str] = set()
        for key in self._keys(outside):
            found.update(self.groups.get(key, ()))
        return tuple(sorted(found))

    def is_admin(self, outside: Iterable[str]) -> bool:
        return bool(self._keys(outside) & self.admins)


def _names(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part for part in value.split(",")]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigurationError(f"{where}: expected a list of names")
    return tuple(sorted({v.strip() for v in value}))


def load_group_map(path: Path) -> GroupMap:
    """Read the mapping file; a missing or broken file is a configuration error (the
    callers fail closed: nobody signs in, no file is indexed with guessed groups)."""
    if not path.is_file():
        raise ConfigurationError(
            f"group mapping file {path} not found (RAGDESK_GROUP_MAP_FILE): it says which "
            "directory or file-server groups give which ragdesk groups"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"group mapping file {path} cannot be read: {exc}") from exc
    if not isinstance(data, dict) or not set(data) <= {"groups", "admins"}:
        raise ConfigurationError(f"group mapping file {path}: expected `groups:` and `admins:`")
    groups = data.get("groups") or {}
    if not isinstance(groups, dict):
        raise ConfigurationError(f"{path}: `groups` must map outside groups to ragdesk groups")
    mapped = {_key(str(k)): _names(v, f"{path}: groups {k!r}") for k, v in groups.items()}
    admins = _names(data.get("admins") or [], f"{path}: admins") if data.get("admins") else ()
    return GroupMap(mapped, frozenset(_key(a) for a in admins))

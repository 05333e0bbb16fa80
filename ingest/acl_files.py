"""Who may see a file: `.ragdesk-acl.yaml` files in the folder tree, else `--groups`.

An ACL file maps path patterns (relative to its folder, `*` crossing subfolders) to groups:

    "*": [hr]                  # everything here and below: HR only
    "handbook/*": ["*"]        # except the handbook: everyone
    "*.xlsx": [hr, finance]

It applies to its folder and every subfolder; within a file the last matching pattern
wins, and a deeper folder's file overrides its parents. A file no pattern matches gets the
run's `--groups`, or with `--acl-from-fs` the groups its file-system permissions give. An
ACL file (or file permissions) that cannot be read fails closed: the files it governs are
reported and hidden from everyone until it is fixed.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

import yaml

from ingest.fs_acl import FsAclError, FsPermissions

ACL_FILE = ".ragdesk-acl.yaml"

Rules = list[tuple[str, tuple[str, ...]]]


class AclFileError(ValueError):
    """An ACL file that cannot be trusted."""


def _groups(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [g.strip() for g in value.split(",")]
    if not isinstance(value, list) or not all(isinstance(g, str) and g.strip() for g in value):
        raise AclFileError(f"{where}: groups must be a list of names")
    return tuple(sorted({g.strip() for g in value}))


def read_rules(path: Path) -> Rules:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise AclFileError(f"{path.name} cannot be read: {exc}") from exc
    if data is None:
        return []
    if not isinstance(data, dict):
        raise AclFileError(f"{path.name}: expected `pattern: [groups]` lines")
    return [
        (str(pattern), _groups(groups, f"{path.name} {pattern!r}"))
        for pattern, groups in data.items()
    ]


class AclRules:
    def __init__(
        self, root: Path, default: tuple[str, ...], fs: FsPermissions | None = None
    ) -> None:
        self._root = root
        self._default = tuple(sorted(set(default)))
        self._fs = fs
        self._cache: dict[Path, Rules | AclFileError] = {}

    def _rules(self, folder: Path) -> Rules:
        if folder not in self._cache:
            path = folder / ACL_FILE
            try:
                self._cache[folder] = read_rules(path) if path.is_file() else []
            except AclFileError as exc:
                self._cache[folder] = exc
        found = self._cache[folder]
        if isinstance(found, AclFileError):
            relative = (folder / ACL_FILE).relative_to(self._root).as_posix()
            raise AclFileError(f"{relative}: {found}")
        return found

    def groups_for(self, source: str) -> tuple[str, ...]:
        """The groups for `source` (a path relative to the root); raises AclFileError."""
        parts = PurePosixPath(source).parts
        groups = self._default
        if self._fs is not None:
            try:
                groups = self._fs.groups_for(source)
            except FsAclError as exc:
                raise AclFileError(f"file permissions: {exc}") from exc
        folder = self._root
        for depth in range(len(parts)):
            relative = "/".join(parts[depth:])
            for pattern, allowed in self._rules(folder):
                if fnmatchcase(relative, pattern):
                    groups = allowed
            if depth < len(parts) - 1:
                folder = folder / parts[depth]
        return groups

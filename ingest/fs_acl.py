"""Who may read a file on the share, from the file system itself (`ingest --acl-from-fs`).

A group may read a file when it may read the file (its owner group's mode bits, or a POSIX
ACL entry, limited by the ACL mask) and pass through every folder from the ingest root down
to it (execute). "Others" allowed all the way: the file is public (`*`). Outside groups are
turned into ragdesk groups by the group map; a file only unmapped groups can read is
hidden from everyone (fail closed). Owner-only files are hidden too: ragdesk grants by group.

ACLs are read with `getfacl` (Debian package `acl`), only for files and folders that carry
one (an extended-attribute check first), and remembered per path until its ctime changes,
so a watcher polling the share runs `getfacl` only after a `chmod`/`chgrp`/`setfacl`.
"""

from __future__ import annotations

import errno
import grp
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rag_core.access.group_map import GroupMap
from rag_core.types import EVERYONE

ACL_XATTR = "system.posix_acl_access"
READ, EXECUTE = 4, 1


class FsAclError(OSError):
    """Permissions that could not be read: the file is not indexed with guessed groups."""


@dataclass(frozen=True, slots=True)
class Access:
    """Who holds a permission: everybody ("others"), or these POSIX groups."""

    everyone: bool
    groups: frozenset[str]

    def __and__(self, other: Access) -> Access:
        """Both permissions needed (the folder's execute and the file's read)."""
        if self.everyone and other.everyone:
            return Access(True, frozenset())
        mine = self.groups if not self.everyone else other.groups
        theirs = other.groups if not other.everyone else self.groups
        return Access(False, frozenset(mine & theirs))


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _has_acl(path: Path) -> bool:
    try:
        return ACL_XATTR in os.listxattr(path)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return False  # a file system without ACLs: the mode bits are all there is
        raise


def _getfacl(path: Path) -> list[tuple[str, str, str]]:
    """(kind, qualifier, perms) entries, e.g. ("group", "hr", "r-x")."""
    try:
        done = subprocess.run(
            ["getfacl", "--absolute-names", "--omit-header", "--", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except FileNotFoundError as exc:
        raise FsAclError(
            "getfacl not found: install the Debian package `acl` to read ACLs"
        ) from exc
    if done.returncode != 0:
        raise FsAclError(f"getfacl failed: {done.stderr.strip()}")
    entries = []
    for line in done.stdout.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.count(":") == 2:
            kind, qualifier, perms = line.split(":")
            entries.append((kind, qualifier, perms))
    return entries


def _bits(perms: str) -> int:
    return (4 if "r" in perms else 0) | (2 if "w" in perms else 0) | (1 if "x" in perms else 0)


def access(path: Path, info: os.stat_result, need: int) -> Access:
    """Who holds `need` (READ or EXECUTE) on one file or folder."""
    owner_group = _group_name(info.st_gid)
    if not _has_acl(path):
        groups = {owner_group} if info.st_mode >> 3 & need else set()
        return Access(bool(info.st_mode & need), frozenset(groups))
    entries = _getfacl(path)
    mask = next((_bits(p) for kind, q, p in entries if kind == "mask" and not q), 7)
    groups = set()
    for kind, qualifier, perms in entries:
        if kind == "group" and _bits(perms) & mask & need:
            groups.add(qualifier or owner_group)
    others = any(kind == "other" and _bits(perms) & need for kind, _, perms in entries)
    return Access(others, frozenset(groups))


class FsPermissions:
    """Ragdesk groups of files under `root`, from the file system; reused across runs."""

    def __init__(self, root: Path, group_map: GroupMap) -> None:
        self._root = root.resolve()
        self._map = group_map
        self._cache: dict[tuple[Path, int], tuple[tuple[int, int], Access]] = {}

    def _access(self, path: Path, need: int) -> Access:
        info = path.stat()
        stamp = (info.st_ino, info.st_ctime_ns)
        cached = self._cache.get((path, need))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        found = access(path, info, need)
        self._cache[(path, need)] = (stamp, found)
        return found

    def readers(self, source: str) -> Access:
        """Who can reach and read `source` (relative to the root)."""
        parts = PurePosixPath(source).parts
        folder = self._root
        allowed = self._access(folder, EXECUTE)
        for part in parts[:-1]:
            folder = folder / part
            allowed = allowed & self._access(folder, EXECUTE)
        return allowed & self._access(folder / parts[-1], READ)

    def groups_for(self, source: str) -> tuple[str, ...]:
        """Ragdesk groups for `source`; raises FsAclError when permissions can't be read."""
        try:
            allowed = self.readers(source)
        except FsAclError:
            raise
        except OSError as exc:
            raise FsAclError(f"permissions cannot be read: {exc.strerror or exc}") from exc
        if allowed.everyone:
            return (EVERYONE,)
        return self._map.ragdesk_groups(allowed.groups)

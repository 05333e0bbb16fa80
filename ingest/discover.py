"""Walk an ingest root: the files to consider, and the entries that cannot be read."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

# Editor/office lock files, partial downloads and our own ACL files are never documents.
_IGNORED_PREFIXES = (".", "~$")
_IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload", ".swp", "~")


@dataclass(frozen=True, slots=True)
class FoundFile:
    path: Path
    source: str  # relative to the root, POSIX separators
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Failure:
    path: str
    reason: str


def _ignored(name: str) -> bool:
    return name.startswith(_IGNORED_PREFIXES) or name.endswith(_IGNORED_SUFFIXES)


def discover(root: Path) -> tuple[list[FoundFile], list[Failure]]:
    """Every regular file below root (symlinks followed, loops and dead links reported)."""
    root = root.resolve()
    found: list[FoundFile] = []
    failures: list[Failure] = []
    visited: set[tuple[int, int]] = set()

    def rel(path: Path) -> str:
        return path.relative_to(root).as_posix()

    def walk(directory: Path) -> None:
        try:
            info = directory.stat()
        except OSError as exc:
            failures.append(Failure(rel(directory), _os_reason(exc)))
            return
        key = (info.st_dev, info.st_ino)
        if key in visited:
            failures.append(Failure(rel(directory), "symlink loop: folder already visited"))
            return
        visited.add(key)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            failures.append(Failure(rel(directory), _os_reason(exc)))
            return
        for entry in entries:
            if _ignored(entry.name):
                continue
            path = Path(entry.path)
            try:
                st = path.stat()  # follows links
            except OSError as exc:
                failures.append(Failure(rel(path), _os_reason(exc, entry.is_symlink())))
                continue
            if stat.S_ISDIR(st.st_mode):
                walk(path)
            elif stat.S_ISREG(st.st_mode):
                found.append(FoundFile(path, rel(path), st.st_size, st.st_mtime_ns))
            else:
                failures.append(Failure(rel(path), "not a regular file (device, socket or pipe)"))

    walk(root)
    return found, failures


def _os_reason(exc: OSError, is_link: bool = False) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno == errno.ENOENT and is_link:
        return "broken symbolic link (target missing)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return f"cannot read: {exc.strerror or exc}"

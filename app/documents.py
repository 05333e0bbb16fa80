"""Original files behind citations, served only from inside the document roots.

A citation's `source` is a path relative to the folder it was ingested from. It is joined to
an allowed root and resolved (symlinks included); anything that lands outside that root is
refused, so a crafted source such as `../../etc/passwd` serves nothing.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag_core.hashing import file_hash
from rag_core.settings import Settings
from rag_core.store.schema import CollectionMeta


@dataclass(frozen=True, slots=True)
class OriginalFile:
    path: Path
    name: str
    mime: str


def document_roots(settings: Settings, meta: dict[str, Any]) -> list[Path]:
    """The configured roots, or else the folder the collection was last ingested from."""
    if settings.document_roots:
        return list(settings.document_roots)
    root = CollectionMeta.of(meta).root
    return [Path(root)] if root else []


def inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def original_file(source: str, roots: Sequence[Path]) -> OriginalFile | None:
    """The file a source names, if it exists inside one of `roots`; else None."""
    if not source or "\x00" in source:
        return None
    relative = Path(source)
    if relative.is_absolute():
        return None
    for root in roots:
        try:
            base = root.resolve(strict=True)
            candidate = (base / relative).resolve(strict=True)
        except (OSError, RuntimeError):  # missing, or a symlink loop
            continue
        if inside(candidate, base) and candidate.is_file():
            mime = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
            return OriginalFile(candidate, candidate.name, mime)
    return None


@lru_cache(maxsize=512)
def _hash_of(path: Path, size: int, mtime_ns: int) -> str:
    return file_hash(path)


def changed_since_indexed(original: OriginalFile, indexed_hash: str) -> bool:
    """Whether the file on disk is no longer the version the passage was cut from (hashes
    are cached per size and modification time, so re-rendering a page stays cheap)."""
    if not indexed_hash:
        return False
    stat = original.path.stat()
    return _hash_of(original.path, stat.st_size, stat.st_mtime_ns) != indexed_hash

"""Content hashes of files: what tells a changed document (or a corrupt download) apart."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_hash(path: Path, chunk_size: int = 1 << 22) -> str:
    """sha256 of the content, streamed (bounded memory for any size)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()

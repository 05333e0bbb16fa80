"""Documents added from the chat: saved under the collection's folder, then ingested alone.

Uploads go to `<root>/uploads/`, where `root` is the folder the collection was ingested
from (so a later `ingest ROOT --prune` keeps them), or `DATA_DIR/documents/<collection>` for
a collection that has none yet. Only the uploaded files are ingested: the other files'
permissions are left exactly as the last `ingest` set them. Signed-in users' uploads go
to `uploads/<user>/` and are visible to the uploader's groups only. A file that fails is reported
with its reason and removed again, so it is not retried on every later upload.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.i18n import _
from ingest.acl_files import ACL_FILE
from ingest.formats import FORMATS, labels
from ingest.pipeline import IngestProgress, IngestReport, run_ingest
from rag_core.access.users import User
from rag_core.embedding.embedder import Embedder
from rag_core.settings import Settings
from rag_core.store.base import VectorStore
from rag_core.store.schema import CollectionMeta
from rag_core.types import EVERYONE

UPLOAD_FOLDER = "uploads"


@dataclass(frozen=True, slots=True)
class UploadedFile:
    name: str
    data: bytes


def accepted_formats() -> str:
    """The uploader's list of what it reads, from the format table (any name is accepted:
    a file's bytes say what it is)."""
    scans = [row for row in FORMATS.values() if row.parser == "image"]
    documents = labels(row for row in FORMATS.values() if row not in scans)
    return _("{documents}, or scans ({scans})").format(
        documents=", ".join(documents), scans=", ".join(labels(scans))
    )


def upload_root(settings: Settings, meta: dict[str, Any], collection: str) -> Path:
    root = CollectionMeta.of(meta).root
    return Path(root) if root else settings.data_dir.resolve() / "documents" / collection


def safe_file_name(name: str) -> str:
    """A browser-supplied name reduced to one harmless path component."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = re.sub(r"[\x00-\x1f<>:\"|?*]", "_", name).strip(" .")
    return name[:180] or "upload"


def save_uploads(files: Sequence[UploadedFile], root: Path, owner: User | None = None) -> list[str]:
    """Write the files under `root/uploads/` (signed in: `root/uploads/<user>/`, with an ACL
    file giving them the uploader's groups); returns their sources (relative to `root`).
    A file with the same name replaces the earlier upload: it is a new version."""
    folder = root / UPLOAD_FOLDER
    if owner is not None:
        folder = folder / safe_file_name(owner.name)
    folder.mkdir(parents=True, exist_ok=True)
    if owner is not None:
        groups = ", ".join(json.dumps(g) for g in owner.groups or (EVERYONE,))
        (folder / ACL_FILE).write_text(
            f'# uploads of {owner.name}: visible to their groups\n"*": [{groups}]\n',
            encoding="utf-8",
        )
    sources = []
    for upload in files:
        target = folder / safe_file_name(upload.name)
        partial = target.with_name(f".{target.name}.part")
        partial.write_bytes(upload.data)
        partial.replace(target)
        sources.append(target.relative_to(root).as_posix())
    return sources


def hand_to_worker(
    files: Sequence[UploadedFile], inbox: Path, owner: User | None = None
) -> list[str]:
    """With an ingestion worker (RAGDESK_INBOX_DIR), uploads land in its watched folder and
    the worker, which owns all writes, indexes them once they have settled."""
    return save_uploads(files, inbox, owner)


def ingest_uploads(
    files: Sequence[UploadedFile],
    settings: Settings,
    store: VectorStore,
    embedder: Embedder,
    progress: IngestProgress | None = None,
    owner: User | None = None,
    english: Embedder | None = None,
) -> IngestReport:
    """`english`: the chat's loaded English embedder, reused when it is the collection's."""
    root = upload_root(settings, store.meta(), store.collection)
    sources = save_uploads(files, root, owner)
    report = run_ingest(root, settings, store, embedder, progress, only=sources, english=english)
    for failure in report.failures:
        if failure.path in sources:
            (root / failure.path).unlink(missing_ok=True)
    return report

"""`POST /v1/documents`: the chat's upload path (app/uploads.py), with a result per file.

Files over RAGDESK_MAX_FILE_MB refuse the whole request (413) before anything is saved;
a file that cannot be read is reported with its reason and the others are indexed."""

from __future__ import annotations

from typing import Any

from fastapi import UploadFile

from app.api.errors import ApiError
from app.api.runtime import ApiRuntime
from app.uploads import UploadedFile, hand_to_worker, ingest_uploads, safe_file_name
from rag_core.access.users import User

MAX_FILES = 50


class _PerFile:
    """Ingestion progress, kept per file name: what the per-file result reports."""

    def __init__(self) -> None:
        self.done: dict[str, tuple[int, bool]] = {}

    def start(self, total_files: int, total_bytes: int = 0) -> None:
        pass

    def file_done(self, source: str, chunks: int, failed: bool, size: int = 0) -> None:
        self.done[source.rsplit("/", 1)[-1]] = (chunks, failed)


def _read(files: list[UploadFile], limit_mb: int) -> list[UploadedFile]:
    if not files:
        raise ApiError(422, "no files: send them as multipart form field `files`")
    if len(files) > MAX_FILES:
        raise ApiError(413, f"{len(files)} files in one request; at most {MAX_FILES}")
    limit = limit_mb << 20
    too_big = [f.filename or "upload" for f in files if (f.size or 0) > limit]
    if too_big:
        raise ApiError(
            413, f"larger than {limit_mb} MB (RAGDESK_MAX_FILE_MB), nothing added: {too_big}"
        )
    uploads = []
    for upload in files:
        data = upload.file.read(limit + 1)
        if len(data) > limit:
            raise ApiError(413, f"{upload.filename}: larger than {limit_mb} MB, nothing added")
        uploads.append(UploadedFile(upload.filename or "upload", data))
    return uploads


def add_documents(
    runtime: ApiRuntime, user: User, files: list[UploadFile], collection: str | None
) -> dict[str, Any]:
    settings = runtime.settings
    name = collection or settings.collection
    if name != settings.collection and name not in runtime.collections():
        raise ApiError(404, f"no collection {name!r} (only the default one is made on upload)")
    uploads = _read(files, settings.max_file_mb)
    owner = None if settings.auth == "open" else user
    if settings.inbox_dir is not None:  # an ingestion worker owns all writes
        sources = hand_to_worker(uploads, settings.inbox_dir, owner)
        return {
            "collection": name,
            "files": [
                {"name": u.name, "source": s, "status": "queued"}
                for u, s in zip(uploads, sources, strict=True)
            ],
        }
    store = runtime.store(name)
    progress = _PerFile()
    with runtime.write_lock(name):
        report = ingest_uploads(
            uploads, runtime.settings_for(name), store, runtime.embedder(store), progress, owner
        )
    failed = {f.path.rsplit("/", 1)[-1]: f.reason for f in report.failures}
    partial = {f.path.rsplit("/", 1)[-1]: f.reason for f in report.partial}
    results = []
    for upload in uploads:
        stored = safe_file_name(upload.name)
        row: dict[str, Any] = {"name": upload.name}
        if stored in failed:
            row |= {"status": "failed", "reason": failed[stored]}
        elif stored in progress.done:
            row |= {"status": "indexed", "chunks": progress.done[stored][0]}
            if stored in partial:
                row |= {"status": "indexed in part", "reason": partial[stored]}
        else:
            row |= {"status": "unchanged"}
        results.append(row)
    return {
        "collection": name,
        "files": results,
        "added": report.files_new + report.files_updated,
        "failed": len(report.failures),
    }

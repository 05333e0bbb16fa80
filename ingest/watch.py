"""`ingest --watch DIR`: keep a collection in line with a folder as files land, change, go.

The folder is polled (this works the same on local disks and network shares, where file
events are unreliable). A file is ingested once it has settled: unchanged in size and
modification time for two polls and at least `settle_s` old, so a half-copied file is
never read. Deleted files are pruned. A file that fails is reported once and retried only
when it changes. Status goes to a JSON file the chat shows; SIGTERM stops after the file
in hand.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ingest.acl_files import AclFileError, AclRules
from ingest.discover import discover
from ingest.manifest import FileRecord
from ingest.pipeline import (
    IngestReport,
    RunOptions,
    fs_permissions,
    open_manifest,
    run_ingest,
)
from rag_core.embedding.embedder import Embedder
from rag_core.embedding.english import english_embedder_for
from rag_core.observability.telemetry import record_ingest
from rag_core.settings import Settings
from rag_core.store.base import VectorStore
from rag_core.types import now_iso

Stamp = tuple[int, int]  # (size, mtime_ns)
WATCH_RUN = RunOptions(prune=True)  # files that leave the folder leave the index


def worker_status_path(settings: Settings, collection: str) -> Path:
    return settings.state_dir / f"worker-{collection}.json"


@dataclass(slots=True)
class WorkerStatus:
    """What the chat's sidebar shows about the worker."""

    root: str
    collection: str
    state: str = "starting"  # starting | watching | ingesting | stopped
    pid: int = field(default_factory=os.getpid)
    heartbeat: str = field(default_factory=now_iso)
    last_run: str | None = None
    last_report: dict[str, Any] | None = None
    waiting: list[str] = field(default_factory=list)  # seen, not settled yet
    failed: dict[str, str] = field(default_factory=dict)  # source -> reason

    def save(self, path: Path) -> None:
        self.heartbeat = now_iso()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        os.replace(tmp, path)


def read_worker_status(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


class _Heartbeat:
    """Keeps the status file fresh during a long run, so the chat knows the worker lives."""

    def __init__(self, status: WorkerStatus, path: Path, every_s: float = 10.0) -> None:
        self._status, self._path, self._every = status, path, every_s
        self._last = time.monotonic()

    def start(self, total_files: int, total_bytes: int = 0) -> None:
        pass

    def file_done(self, source: str, chunks: int, failed: bool, size: int = 0) -> None:
        if time.monotonic() - self._last >= self._every:
            self._status.save(self._path)
            self._last = time.monotonic()


class Watcher:
    def __init__(
        self,
        root: Path,
        settings: Settings,
        store: VectorStore,
        embedder: Embedder,
        on_report: Callable[[IngestReport], None] | None = None,
    ) -> None:
        self._root = root
        self._settings = settings
        self._store = store
        self._embedder = embedder
        # the collection's English embedder, loaded once and kept across runs (None: none yet)
        self._english: Embedder | None = None
        self._on_report = on_report
        self._previous: dict[str, Stamp] = {}
        self._failed: dict[str, Stamp] = {}
        self._permissions = fs_permissions(root, self._settings)
        self.status = WorkerStatus(str(root.resolve()), store.collection)
        self.status_path = worker_status_path(settings, store.collection)

    def run(self, stop: threading.Event) -> None:
        self.status.state = "watching"
        self.status.save(self.status_path)
        try:
            while not stop.is_set():
                self.poll(stop)
                stop.wait(self._settings.watch_interval_s)
        finally:
            self.status.state = "stopped"
            self.status.save(self.status_path)
            if self._english is not None:
                self._english.close()

    def poll(self, stop: threading.Event | None = None) -> IngestReport | None:
        """One look at the folder; ingests what settled and prunes what left."""
        found, _ = discover(self._root)
        snapshot = {entry.source: (entry.size, entry.mtime_ns) for entry in found}
        settle_ns = int(self._settings.watch_settle_s * 1e9)
        now = time.time_ns()
        settled = {
            source
            for source, stamp in snapshot.items()
            if self._previous.get(source) == stamp and now - stamp[1] >= settle_ns
        }
        self._previous = snapshot
        manifest = open_manifest(self._settings, self._store)
        try:
            records = manifest.all()
        finally:
            manifest.close()
        known = {source: (r.size, r.mtime_ns) for source, r in records.items()}
        changed = {
            source
            for source in settled
            if known.get(source) != snapshot[source]
            and self._failed.get(source) != snapshot[source]
        }
        changed |= self._permission_changes(snapshot, records)
        gone = set(known) - set(snapshot)
        self.status.waiting = sorted(s for s in snapshot if s not in settled)
        self.status.failed = {
            source: reason for source, reason in self.status.failed.items() if source in snapshot
        }
        if not changed and not gone:
            self.status.save(self.status_path)
            return None
        self.status.state = "ingesting"
        self.status.save(self.status_path)
        if self._english is None:
            meta = self._store.meta() if self._store.exists() else None
            self._english = english_embedder_for(self._settings, meta, self._embedder)
        report = run_ingest(
            self._root,
            self._settings,
            self._store,
            self._embedder,
            _Heartbeat(self.status, self.status_path),
            only=changed,
            stop=stop.is_set if stop is not None else None,
            permissions=self._permissions,
            options=WATCH_RUN,
            english=self._english,
        )
        for failure in report.failures:
            if failure.path in snapshot:
                self._failed[failure.path] = snapshot[failure.path]
            self.status.failed[failure.path] = failure.reason
        self.status.state = "watching"
        self.status.last_run = now_iso()
        self.status.last_report = report.to_json()
        self.status.save(self.status_path)
        record_ingest(report)
        if self._on_report is not None:
            self._on_report(report)
        return report

    def _permission_changes(
        self, snapshot: dict[str, Stamp], records: dict[str, FileRecord]
    ) -> set[str]:
        """Indexed, unchanged files whose groups changed: an ACL file was edited, or (with
        acl_from_fs) a chmod/chgrp/setfacl. Their chunks get the new groups; no re-embedding."""
        rules = AclRules(self._root, tuple(self._settings.groups), self._permissions)
        changed = set()
        for source, stamp in snapshot.items():
            record = records.get(source)
            if record is None or (record.size, record.mtime_ns) != stamp:
                continue  # new or changed content: handled as such once it settles
            try:
                if rules.groups_for(source) != record.acl:
                    changed.add(source)
            except AclFileError:
                if record.acl:  # unreadable rules: hide it once (run_ingest reports why)
                    changed.add(source)
        return changed

"""Per-file ingestion state in SQLite, written only after the file's points are in Qdrant.

The order (points first, then this record) is what makes a crash harmless: a file whose
record is missing or stale is simply processed again, and deterministic point ids make
that a no-op rewrite instead of a duplicate.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY,
    file_hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    acl TEXT NOT NULL,
    format TEXT NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class FileRecord:
    source: str
    file_hash: str
    size: int
    mtime_ns: int
    chunks: int
    acl: tuple[str, ...]
    format: str
    ingested_at: str


class Manifest:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def all(self) -> dict[str, FileRecord]:
        rows = self._db.execute("SELECT * FROM files").fetchall()
        return {row[0]: _record(row) for row in rows}

    def get(self, source: str) -> FileRecord | None:
        row = self._db.execute("SELECT * FROM files WHERE source = ?", (source,)).fetchone()
        return _record(row) if row else None

    def put(self, record: FileRecord) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.source,
                    record.file_hash,
                    record.size,
                    record.mtime_ns,
                    record.chunks,
                    json.dumps(list(record.acl)),
                    record.format,
                    record.ingested_at,
                ),
            )

    def remove(self, source: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM files WHERE source = ?", (source,))

    def clear(self) -> None:
        with self._db:
            self._db.execute("DELETE FROM files")

    def close(self) -> None:
        self._db.close()


def _record(row: tuple) -> FileRecord:
    return FileRecord(
        source=row[0],
        file_hash=row[1],
        size=row[2],
        mtime_ns=row[3],
        chunks=row[4],
        acl=tuple(json.loads(row[5])),
        format=row[6],
        ingested_at=row[7],
    )


def manifest_path(state_dir: Path, store_key: str, collection: str) -> Path:
    """One manifest per (store, collection): switching servers never reuses stale state."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in store_key)[-60:]
    return state_dir / "manifests" / f"{safe}--{collection}.sqlite"

"""Thumbs up/down on answers, kept with what was asked, answered and cited.

SQLite under the data folder: one row per answer, so changing a vote replaces it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    collection TEXT NOT NULL,
    model TEXT NOT NULL,
    rating INTEGER NOT NULL,  -- 1 thumbs up, 0 thumbs down
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    sources TEXT NOT NULL     -- JSON list of {n, source, page, section, snippet, score}
)
"""


@dataclass(frozen=True, slots=True)
class FeedbackEntry:
    answer_id: str
    user: str
    collection: str
    model: str
    rating: int
    question: str
    answer: str
    sources: list[dict[str, Any]]


class FeedbackLog:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(SCHEMA)

    def record(self, entry: FeedbackEntry) -> None:
        row = (
            entry.answer_id,
            datetime.now(UTC).isoformat(timespec="seconds"),
            entry.user,
            entry.collection,
            entry.model,
            entry.rating,
            entry.question,
            entry.answer,
            json.dumps(entry.sources, ensure_ascii=False),
        )
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row
            )

    def remove(self, answer_id: str) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM feedback WHERE answer_id = ?", (answer_id,))

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._db.execute("SELECT * FROM feedback ORDER BY at")
            names = [c[0] for c in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        for row in rows:
            row["sources"] = json.loads(row["sources"])
        return rows

    def close(self) -> None:
        self._db.close()

"""The audit trail: who asked what, which sources they were shown, what they were told.

JSON lines, rotated by size (`audit.jsonl`, `audit.jsonl.1`, ...), under the state folder,
readable by an admin (`ragdesk audit`) and by any log shipper.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

_handlers: dict[Path, RotatingFileHandler] = {}
_lock = threading.Lock()


class AuditLog:
    def __init__(self, path: Path, max_mb: int = 20, backups: int = 10) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with _lock:  # one handler per file per process: rotation must not race
            handler = _handlers.get(path)
            if handler is None:
                handler = RotatingFileHandler(
                    path, maxBytes=max_mb << 20, backupCount=backups, encoding="utf-8"
                )
                handler.setFormatter(logging.Formatter("%(message)s"))
                _handlers[path] = handler
        self._handler = handler

    def record(
        self,
        *,
        user: str,
        groups: Sequence[str],
        collection: str,
        event: str,
        question: str = "",
        answer: str = "",
        refused: bool | None = None,
        sources: Sequence[dict[str, Any]] = (),
        channel: str = "chat",
    ) -> None:
        entry = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "event": event,
            "channel": channel,
            "user": user,
            "groups": list(groups),
            "collection": collection,
            "question": question,
            "answer": answer,
            "refused": refused,
            "sources": [
                {
                    "source": s.get("source"),
                    "page": s.get("page"),
                    "section": s.get("section"),
                    **({"rows": s["rows"]} if s.get("rows") else {}),
                }
                for s in sources
            ],
        }
        record = logging.LogRecord(
            "ragdesk.audit",
            logging.INFO,
            __file__,
            0,
            json.dumps(entry, ensure_ascii=False),
            None,
            None,
        )
        self._handler.handle(record)
        self._handler.flush()


def read_audit(path: Path) -> list[dict[str, Any]]:
    """Entries oldest first, across rotated files."""
    rotated = [p for p in path.parent.glob(path.name + ".*") if p.suffix[1:].isdigit()]
    files = sorted(rotated, key=lambda p: -int(p.suffix[1:]))
    entries: list[dict[str, Any]] = []
    for file in [*files, path]:
        if file.is_file():
            with open(file, encoding="utf-8") as handle:
                entries.extend(json.loads(line) for line in handle if line.strip())
    return entries


def filter_audit(
    entries: list[dict[str, Any]],
    *,
    user: str | None = None,
    since: date | None = None,
    until: date | None = None,
    text: str | None = None,
) -> list[dict[str, Any]]:
    """Entries by user, by day (UTC, both ends included) and by words in the question,
    answer or source names (case-insensitive)."""
    needle = (text or "").strip().lower()
    kept = []
    for entry in entries:
        if user and entry.get("user") != user:
            continue
        day = datetime.fromisoformat(entry["at"]).astimezone(UTC).date()
        if (since and day < since) or (until and day > until):
            continue
        if needle:
            sources = " ".join(str(s.get("source")) for s in entry.get("sources") or [])
            haystack = f"{entry.get('question', '')} {entry.get('answer', '')} {sources}"
            if needle not in haystack.lower():
                continue
        kept.append(entry)
    return kept

"""Conversations kept per user in SQLite (`DATA_DIR/state/conversations.sqlite3`).

Every read and write names the user it is for, and every query is restricted to that
user's rows: another user's conversation id finds nothing, exactly like an id that never
existed (no way to tell them apart). The chat and the API share this file; SQLite's WAL
mode lets both processes write it. Conversations not touched for `retention_days` are
deleted with their messages.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

TITLE_CHARS = 80

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,             -- 32 random hex digits: not guessable
    user TEXT NOT NULL,
    collection TEXT NOT NULL,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL,        -- UTC ISO, microseconds: orders same-second writes
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_user ON conversations (user, updated_at);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    channel TEXT NOT NULL,           -- chat | api
    question TEXT NOT NULL,
    model TEXT NOT NULL,
    search_only INTEGER NOT NULL,    -- the model was unavailable: passages only
    error TEXT,                      -- what the user was told instead of an answer
    answer TEXT                      -- JSON: rag_core.conversations.records.answer_record
);
CREATE INDEX IF NOT EXISTS messages_in_order ON messages (conversation_id, seq);
"""


def _now() -> datetime:
    return datetime.now(UTC)


def title_from(question: str) -> str:
    """A conversation's title: its first question on one line, cut at a word."""
    line = re.sub(r"\s+", " ", question).strip()
    if len(line) <= TITLE_CHARS:
        return line or "Untitled"
    cut = line[: TITLE_CHARS - 1].rsplit(" ", 1)[0]
    return cut + "…"


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    user: str
    collection: str
    title: str
    created_at: str
    updated_at: str
    messages: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "collection": self.collection,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "messages": self.messages,
        }


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    conversation_id: str
    at: str
    channel: str
    question: str
    model: str
    search_only: bool = False
    error: str | None = None
    answer: dict[str, Any] | None = field(default=None)  # an answer_record


class ConversationStore:
    def __init__(self, path: Path, retention_days: int = 90) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.retention_days = retention_days
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=10)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
        self.purge()

    # -- conversations ------------------------------------------------------------------

    def create(self, user: str, collection: str, title: str) -> Conversation:
        now = _now().isoformat()
        conversation = Conversation(
            secrets.token_hex(16), user, collection, title_from(title), now, now
        )
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?)",
                (
                    conversation.id,
                    user,
                    collection,
                    conversation.title,
                    now,
                    now,
                ),
            )
        return conversation

    def get(self, user: str, conversation_id: str) -> Conversation | None:
        """The user's conversation, or None (also for another user's: they look alike)."""
        rows = self._conversations("c.id = ? AND c.user = ?", (conversation_id, user))
        return rows[0] if rows else None

    def recent(self, user: str, limit: int = 200) -> list[Conversation]:
        """The user's conversations, the most recently used first."""
        self.purge()
        return self._conversations("c.user = ?", (user,), limit)

    def rename(self, user: str, conversation_id: str, title: str) -> bool:
        title = re.sub(r"\s+", " ", title).strip()[:200]
        if not title:
            return False
        with self._lock, self._db:
            cursor = self._db.execute(
                "UPDATE conversations SET title = ? WHERE id = ? AND user = ?",
                (title, conversation_id, user),
            )
        return cursor.rowcount == 1

    def delete(self, user: str, conversation_id: str) -> bool:
        with self._lock, self._db:
            cursor = self._db.execute(
                "DELETE FROM conversations WHERE id = ? AND user = ?", (conversation_id, user)
            )
        return cursor.rowcount == 1

    def purge(self, now: datetime | None = None) -> int:
        """Delete conversations unused for `retention_days`; returns how many."""
        cutoff = ((now or _now()) - timedelta(days=self.retention_days)).isoformat()
        with self._lock, self._db:
            cursor = self._db.execute("DELETE FROM conversations WHERE updated_at < ?", (cutoff,))
        return cursor.rowcount

    def _conversations(
        self, where: str, args: tuple[Any, ...], limit: int = 1
    ) -> list[Conversation]:
        query = (
            "SELECT c.id, c.user, c.collection, c.title, c.created_at, c.updated_at, "
            "(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) "
            f"FROM conversations c WHERE {where} ORDER BY c.updated_at DESC LIMIT ?"
        )
        with self._lock:
            rows = self._db.execute(query, (*args, limit)).fetchall()
        return [Conversation(*row) for row in rows]

    # -- messages -----------------------------------------------------------------------

    def add_message(
        self,
        user: str,
        conversation_id: str,
        *,
        question: str,
        model: str,
        channel: str,
        answer: dict[str, Any] | None = None,
        search_only: bool = False,
        error: str | None = None,
        message_id: str | None = None,
    ) -> Message | None:
        """Append a question and what was shown for it; None when the conversation is not
        the user's (nothing is written then). `message_id`: the id the chat already showed
        the answer under (its anchors and feedback use it)."""
        now = _now().isoformat()
        message = Message(
            message_id or secrets.token_hex(6),
            conversation_id,
            now,
            channel,
            question,
            model,
            search_only,
            error,
            answer,
        )
        with self._lock, self._db:
            owned = self._db.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ? AND user = ?",
                (now, conversation_id, user),
            ).rowcount
            if owned != 1:
                return None
            (seq,) = self._db.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
            self._db.execute(
                "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    message.id,
                    conversation_id,
                    seq,
                    now,
                    channel,
                    question,
                    model,
                    int(search_only),
                    error,
                    json.dumps(answer, ensure_ascii=False) if answer is not None else None,
                ),
            )
        return message

    def messages(self, user: str, conversation_id: str) -> list[Message]:
        """The conversation's messages in order; [] when it is not the user's."""
        with self._lock:
            rows = self._db.execute(
                "SELECT m.id, m.conversation_id, m.at, m.channel, m.question, m.model, "
                "m.search_only, m.error, m.answer FROM messages m "
                "JOIN conversations c ON c.id = m.conversation_id "
                "WHERE c.id = ? AND c.user = ? ORDER BY m.seq",
                (conversation_id, user),
            ).fetchall()
        return [
            Message(*row[:6], bool(row[6]), row[7], json.loads(row[8]) if row[8] else None)
            for row in rows
        ]

    def close(self) -> None:
        self._db.close()

"""Answered questions in the audit log, as the chat records them, for the tests that read
the log back (the admin's audit page in AppTest and in chromium, the audit filters)."""

from __future__ import annotations

from collections.abc import Sequence

from rag_core.access.audit import AuditLog


def record_question(
    log: AuditLog,
    user: str,
    question: str,
    source: str,
    *,
    groups: Sequence[str] = ("*",),
    collection: str = "documents",
) -> None:
    """One question answered from one cited `source`."""
    log.record(
        user=user,
        groups=groups,
        collection=collection,
        event="question",
        question=question,
        answer="See the cited passage [1].",
        refused=False,
        sources=[{"source": source, "page": None, "section": None}],
    )

"""The users file (bcrypt) and the audit log (JSON lines, rotated)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from rag_core.access.audit import AuditLog, read_audit
from rag_core.access.users import add_user, find_user, verify_password
from rag_core.types import ConfigurationError
from tests.audit_entries import record_question


def test_users_are_stored_hashed_and_verified(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    add_user(path, "alice", "correct horse", ["hr", " finance", ""])
    text = path.read_text()
    assert "correct horse" not in text and "$2b$" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    user = verify_password(path, "alice", "correct horse")
    assert user is not None and user.groups == ("finance", "hr")
    assert user.search_groups == ["*", "finance", "hr"]
    assert verify_password(path, "alice", "wrong password") is None
    assert verify_password(path, "mallory", "correct horse") is None
    add_user(path, "alice", "new password!", ["eng"])  # update
    assert verify_password(path, "alice", "correct horse") is None
    assert find_user(path, "alice").groups == ("eng",)  # type: ignore[union-attr]


@pytest.mark.parametrize(("name", "password"), [("bad name", "long enough"), ("bob", "short")])
def test_bad_names_and_short_passwords_are_refused(
    tmp_path: Path, name: str, password: str
) -> None:
    with pytest.raises(ConfigurationError):
        add_user(tmp_path / "users.yaml", name, password, [])


def test_audit_log_rotates_and_reads_back_in_order(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, max_mb=1, backups=3)
    for i in range(120):
        log.record(
            user="alice",
            groups=["*", "hr"],
            collection="docs",
            event="question",
            question=f"q{i}",
            answer="x" * 20_000,
            refused=False,
            sources=[
                {"source": "hr/pay.md", "page": 2, "section": None, "snippet": "secret"},
                {"source": "hr/pay.xlsx", "page": None, "section": "2026", "rows": "4–9"},
            ],
        )
    assert (tmp_path / "audit.jsonl.1").is_file()
    entries = read_audit(path)
    assert [e["question"] for e in entries] == [f"q{i}" for i in range(120 - len(entries), 120)]
    assert entries[-1]["sources"] == [
        {"source": "hr/pay.md", "page": 2, "section": None},
        {"source": "hr/pay.xlsx", "page": None, "section": "2026", "rows": "4–9"},
    ]
    assert entries[-1]["user"] == "alice" and entries[-1]["groups"] == ["*", "hr"]


def test_admins_are_named_in_the_users_file(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    add_user(path, "ada", "ada-password", ["hr"], admin=True)
    add_user(path, "hank", "hank-password", ["hr"])
    assert verify_password(path, "ada", "ada-password").admin  # type: ignore[union-attr]
    assert not find_user(path, "hank").admin  # type: ignore[union-attr]
    add_user(path, "ada", "ada-password", ["hr"])  # re-added without --admin: no longer
    assert not find_user(path, "ada").admin  # type: ignore[union-attr]


def test_audit_filters_by_user_days_and_words(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from rag_core.access.audit import filter_audit

    log = AuditLog(tmp_path / "audit.jsonl")
    for user, question, source in (
        ("hank", "Salary bands?", "hr/pay.md"),
        ("erin", "Deploy steps?", "eng/deploy.md"),
    ):
        record_question(log, user, question, source)
    entries = read_audit(tmp_path / "audit.jsonl")
    today = datetime.now(UTC).date()
    assert [e["user"] for e in filter_audit(entries, user="erin")] == ["erin"]
    assert [e["user"] for e in filter_audit(entries, text="PAY.MD")] == ["hank"]
    assert len(filter_audit(entries, since=today, until=today)) == 2
    assert filter_audit(entries, until=today - timedelta(days=1)) == []

"""`ragdesk users` (with the admin role) and `ragdesk audit` with its filters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app as ragdesk_cli
from rag_core.access.audit import AuditLog
from rag_core.access.users import find_user
from rag_core.settings import Settings


def test_users_add_admin_and_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGDESK_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    added = runner.invoke(
        ragdesk_cli, ["users", "add", "ada", "--groups", "hr", "--password", "ada-pass", "--admin"]
    )
    assert added.exit_code == 0 and "ada (admin): groups hr" in added.stdout
    runner.invoke(ragdesk_cli, ["users", "add", "hank", "--groups", "hr", "--password", "hank-pw1"])
    listed = runner.invoke(ragdesk_cli, ["users", "list"])
    rows = {line.split()[1]: line for line in listed.stdout.splitlines() if "│ " in line}
    assert "yes" in rows["ada"] and "yes" not in rows["hank"]
    assert find_user(tmp_path / "users.yaml", "ada").admin  # type: ignore[union-attr]


def test_audit_filters_on_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGDESK_DATA_DIR", str(tmp_path))
    log = AuditLog(Settings(data_dir=tmp_path).audit_path)
    for user, question in (("hank", "Hotel cap?"), ("erin", "Deploy steps?")):
        log.record(user=user, groups=["*"], collection="d", event="question", question=question)
    runner = CliRunner()
    found = runner.invoke(ragdesk_cli, ["audit", "--text", "deploy", "--json"])
    assert [json.loads(line)["user"] for line in found.stdout.splitlines()] == ["erin"]
    none = runner.invoke(ragdesk_cli, ["audit", "--until", "2000-01-01", "--json"])
    assert none.exit_code == 0 and none.stdout == ""
    bad = runner.invoke(ragdesk_cli, ["audit", "--since", "yesterday"])
    assert bad.exit_code == 2

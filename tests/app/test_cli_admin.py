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


def test_api_keys_are_made_for_known_users_shown_once_and_revoked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rag_core.access.api_keys import ApiKeyStore

    monkeypatch.setenv("RAGDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RAGDESK_AUTH", "password")
    runner = CliRunner()
    runner.invoke(ragdesk_cli, ["users", "add", "hank", "--groups", "hr", "--password", "hank-pw1"])
    made = runner.invoke(ragdesk_cli, ["users", "key", "create", "hank", "--label", "teams bot"])
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("rdk_") and "not shown again" in made.output
    keys = ApiKeyStore(Settings(data_dir=tmp_path).api.keys_path)
    assert keys.user_of(key) == "hank"
    listed = runner.invoke(ragdesk_cli, ["users", "key", "list", "--json"])
    rows = json.loads(listed.stdout)
    assert [(r["user"], r["label"], r["active"]) for r in rows] == [("hank", "teams bot", True)]
    assert key.rsplit("_", 1)[1] not in listed.stdout
    unknown = runner.invoke(ragdesk_cli, ["users", "key", "create", "nobody"])
    assert unknown.exit_code == 2 and "no user 'nobody'" in unknown.output
    revoked = runner.invoke(ragdesk_cli, ["users", "key", "revoke", rows[0]["id"]])
    assert revoked.exit_code == 0 and keys.user_of(key) is None
    again = runner.invoke(ragdesk_cli, ["users", "key", "revoke", rows[0]["id"]])
    assert again.exit_code == 2 and "no active key" in again.output

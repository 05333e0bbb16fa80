"""The admin role in the chat (only admins add documents, read the audit log and the
feedback) and directory sign-in through the chat against a real slapd."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.feedback import FeedbackEntry, FeedbackLog
from rag_core.access.audit import AuditLog
from rag_core.access.users import add_user
from rag_core.observability import telemetry
from rag_core.settings import Settings
from tests.app.chat_corpus import start, use_app_settings
from tests.app.test_auth import sign_in
from tests.audit_entries import record_question
from tests.servers import free_port
from tests.slapd import PASSWORDS, Directory


@pytest.fixture
def deployment(tmp_path: Path, indexed: tuple[Path, Path]) -> Path:
    """Its own data folder (users, audit log, feedback) over the shared indexed collection."""
    data = tmp_path / "data"
    users = data / "users.yaml"
    add_user(users, "ada", "ada-password", ["hr"], admin=True)
    add_user(users, "hank", "hank-password", ["hr"])
    audit = AuditLog(Settings(data_dir=data).audit_path)
    for user, question in (
        ("hank", "How are hotel nights reimbursed?"),
        ("erin", "What does the deploy checklist say?"),
        ("hank", "Which flights may be booked in business class?"),
    ):
        record_question(audit, user, question, "travel-policy.md")
    FeedbackLog(Settings(data_dir=data).feedback_path).record(
        FeedbackEntry(
            "a1", "hank", "documents", "qwen", 0, "Hotel cap?", "150 EUR [1].", [{"source": "x.md"}]
        )
    )
    return data


@pytest.fixture
def password_chat(
    monkeypatch: pytest.MonkeyPatch, deployment: Path, indexed: tuple[Path, Path]
) -> AppTest:
    use_app_settings(
        monkeypatch,
        deployment,
        auth="password",
        users_file=str(deployment / "users.yaml"),
        qdrant_path=str(indexed[1] / "qdrant"),
    )
    return start()


def test_a_user_only_asks(password_chat: AppTest) -> None:
    sign_in(password_chat, "hank", "hank-password")
    assert password_chat.chat_input
    assert [r.key for r in password_chat.radio] == ["language"], (
        "no page switch: the admin pages are not offered"
    )
    assert not password_chat.file_uploader, "no upload"


def test_an_admin_adds_documents_and_reads_the_audit_log_with_filters(
    password_chat: AppTest,
) -> None:
    chat = sign_in(password_chat, "ada", "ada-password")
    assert any("(hr, admin)" in c.value for c in chat.caption)
    assert chat.file_uploader
    chat.radio(key="view").set_value("Audit log").run()
    assert chat.title[0].value == "Audit log" and not chat.chat_input
    assert len(chat.dataframe[0].value) == 3
    chat.selectbox(key="audit_user").set_value("hank").run()
    assert set(chat.dataframe[0].value["user"]) == {"hank"}
    chat.text_input(key="audit_text").input("business").run()
    assert list(chat.dataframe[0].value["question"]) == [
        "Which flights may be booked in business class?"
    ]
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    chat.date_input(key="audit_days").set_value((yesterday - timedelta(days=7), yesterday)).run()
    assert not chat.exception
    assert any("0 of 3 entries" in c.value for c in chat.caption)

    chat.radio(key="view").set_value("Feedback").run()
    table = chat.dataframe[0].value
    assert list(table["question"]) == ["Hotel cap?"] and list(table["rating"]) == ["👎"]

    # the Service page reads this process's Prometheus metrics (AppTest runs the page here;
    # the three-tab browser test checks it after real questions)
    telemetry.TTFT_SECONDS.observe(3.0)
    asked = telemetry.snapshot()["questions"]
    chat.radio(key="view").set_value("Service").run()
    assert chat.title[0].value == "Service" and not chat.exception
    tiles = {tile.label: tile.value for tile in chat.metric}
    assert tiles["Questions"] == f"{asked:.0f}"
    assert tiles["First token, median"].endswith(" s")
    assert {"Waiting", "Model errors", "Turned away (busy)"} <= set(tiles)


@pytest.fixture
def ldap_chat_settings(
    ldap_server: Directory, ldap_group_map: Path, deployment: Path, indexed: tuple[Path, Path]
) -> dict[str, str]:
    fields = ldap_server.settings(
        group_map_file=ldap_group_map, qdrant_path=indexed[1] / "qdrant", ldap_cache_s=0
    )
    return {key: str(value) for key, value in fields.items()}


def test_directory_sign_in_through_the_chat(
    monkeypatch: pytest.MonkeyPatch, deployment: Path, ldap_chat_settings: dict[str, str]
) -> None:
    use_app_settings(monkeypatch, deployment, **ldap_chat_settings)
    chat = start()
    assert chat.title[0].value == "Sign in"
    sign_in(chat, "lena", "wrong-password")
    assert chat.error[0].value == "Wrong user name or password." and not chat.chat_input
    sign_in(chat, "lena", PASSWORDS["lena"])
    assert any("Signed in as **lena** (hr)" in c.value for c in chat.caption)
    assert chat.chat_input and [r.key for r in chat.radio] == ["language"]
    assert not chat.file_uploader
    chat.button(key="sign_out").click().run()
    admin = sign_in(chat, "ada", PASSWORDS["ada"])
    assert any("(eng, hr, admin)" in c.value for c in admin.caption)
    assert admin.radio(key="view").options == ["Ask", "Audit log", "Feedback", "Service"]


def test_a_directory_that_is_down_lets_nobody_in(
    monkeypatch: pytest.MonkeyPatch, deployment: Path, ldap_chat_settings: dict[str, str]
) -> None:
    down = ldap_chat_settings | {"ldap_url": f"ldap://127.0.0.1:{free_port()}"}
    use_app_settings(monkeypatch, deployment, **down)
    chat = sign_in(start(), "lena", PASSWORDS["lena"])
    assert chat.error[0].value.startswith("The company directory cannot be reached")
    assert not chat.chat_input

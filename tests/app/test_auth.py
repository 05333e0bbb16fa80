"""Sign-in to the chat: password (bcrypt users file), expiry, rate limit, proxy header."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rag_core.access.users import add_user
from tests.app.chat_corpus import start, use_app_settings


@pytest.fixture
def users(tmp_path: Path) -> Path:
    path = tmp_path / "users.yaml"
    add_user(path, "hank", "hank-password", ["hr"])
    add_user(path, "rita", "rita-password", ["hr"])
    add_user(path, "erin", "erin-password", ["eng"])
    return path


@pytest.fixture
def password_app(
    monkeypatch: pytest.MonkeyPatch, indexed: tuple[Path, Path], users: Path
) -> AppTest:
    use_app_settings(monkeypatch, indexed[1], auth="password", users_file=str(users))
    return start()


def sign_in(app: AppTest, name: str, password: str) -> AppTest:
    app.text_input(key="sign_in_name").input(name)
    app.text_input(key="sign_in_password").input(password)
    app.button[0].click().run()
    assert not app.exception, app.exception
    return app


def test_the_chat_needs_a_sign_in(password_app: AppTest) -> None:
    assert password_app.title[0].value == "Sign in"
    assert not password_app.chat_input, "nothing to ask before signing in"
    assert not password_app.metric, "nor any index information"


def test_wrong_password_is_refused(password_app: AppTest) -> None:
    sign_in(password_app, "hank", "not-his-password")
    assert password_app.error[0].value == "Wrong user name or password."
    assert not password_app.chat_input


def test_signed_in_user_sees_name_and_groups_and_can_sign_out(password_app: AppTest) -> None:
    sign_in(password_app, "hank", "hank-password")
    assert password_app.chat_input
    assert any("Signed in as **hank** (hr)" in c.value for c in password_app.caption)
    password_app.button(key="sign_out").click().run()
    assert password_app.title[0].value == "Sign in"


def test_idle_session_expires(password_app: AppTest) -> None:
    sign_in(password_app, "hank", "hank-password")
    password_app.session_state["signed_in"]["last_seen"] -= 9 * 3600  # idle past 480 minutes
    password_app.run()
    assert password_app.title[0].value == "Sign in"
    assert "Your session expired" in password_app.info[0].value


def test_failed_sign_ins_are_rate_limited(password_app: AppTest) -> None:
    for _ in range(5):
        sign_in(password_app, "rita", "guess")
    sign_in(password_app, "rita", "rita-password")  # even the right password waits now
    assert password_app.error[0].value.startswith("Too many failed sign-ins")
    assert not password_app.chat_input


def test_proxy_header_names_the_user(
    monkeypatch: pytest.MonkeyPatch, indexed: tuple[Path, Path], users: Path
) -> None:
    import app.auth

    use_app_settings(monkeypatch, indexed[1], auth="header", users_file=str(users))
    monkeypatch.setattr(app.auth, "request_headers", lambda: {"X-Forwarded-User": "erin"})
    chat = start()
    assert any("Signed in as **erin** (eng)" in c.value for c in chat.caption)
    assert chat.chat_input


def test_header_mode_without_the_header_refuses(
    monkeypatch: pytest.MonkeyPatch, indexed: tuple[Path, Path], users: Path
) -> None:
    use_app_settings(monkeypatch, indexed[1], auth="header", users_file=str(users))
    chat = start()
    assert "not signed in" in chat.error[0].value
    assert not chat.chat_input


def test_open_mode_says_so(monkeypatch: pytest.MonkeyPatch, indexed: tuple[Path, Path]) -> None:
    use_app_settings(monkeypatch, indexed[1])
    chat = start()
    assert any(c.value.startswith("Single-user mode") for c in chat.caption)

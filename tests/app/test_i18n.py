"""The chat speaks the reader's language: no user-visible literal escapes the catalogs, and
the real app script renders in Spanish when told to, and switches back from the sidebar."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.chat_corpus import captions, start, use_app_settings
from tests.conftest import REPO

# Streamlit calls whose first argument (or these keywords) a reader sees
SHOWN = {
    "title", "header", "subheader", "caption", "markdown", "text", "error", "warning",
    "info", "success", "toast", "button", "download_button", "form_submit_button",
    "text_input", "text_area", "selectbox", "radio", "slider", "toggle", "checkbox",
    "expander", "metric", "chat_input", "spinner", "progress", "file_uploader",
    "date_input", "segmented_control", "pills", "multiselect", "number_input",
}  # fmt: skip
SHOWN_KEYWORDS = {"label", "help", "placeholder", "text", "body"}
# literals that are not words in any language
ALLOWED = {"ragdesk", "**{}**"}


def _is_literal_text(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any(c.isalpha() for c in node.value) and node.value not in ALLOWED
    if isinstance(node, ast.JoinedStr):  # an f-string: words around values
        return any(
            isinstance(v, ast.Constant) and any(c.isalpha() for c in str(v.value))
            for v in node.values
        )
    # a constant: N_ marks it, _() shows it
    return isinstance(node, ast.Name) and node.id.isupper()


def unwrapped_literals(path: Path) -> list[str]:
    """`st.caption("text")`, `st.error(f"... {x}")`, `st.title(CONSTANT)`: shown words that
    bypass `_()`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr not in SHOWN:
            continue
        shown = node.args[:1] + [k.value for k in node.keywords if k.arg in SHOWN_KEYWORDS]
        for argument in shown:
            if _is_literal_text(argument):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: {ast.unparse(node)[:90]}")
    return found


def test_no_user_visible_literal_bypasses_the_catalog() -> None:
    found = [
        line for path in sorted((REPO / "app").glob("*.py")) for line in unwrapped_literals(path)
    ]
    assert not found, "wrap these in _() (and run scripts/i18n.sh):\n" + "\n".join(found)


def test_the_check_catches_what_it_should(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "st.caption('Hello')\nst.error(f'Failed: {x}')\nst.title(TITLE)\n"
        "st.button(_('Fine'))\nst.caption(_(TITLE))\nst.slider(_('x'), help='Unwrapped help')\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("tests.app.test_i18n.REPO", tmp_path)
        found = unwrapped_literals(sample)
    assert [line.split(":")[1] for line in found] == ["1", "2", "3", "6"]


@pytest.fixture
def spanish_chat(monkeypatch: pytest.MonkeyPatch, indexed: tuple[Path, Path]) -> AppTest:
    use_app_settings(monkeypatch, indexed[1], language="es")
    return start()


def test_the_chat_renders_in_spanish_and_switches_to_english(spanish_chat: AppTest) -> None:
    chat = spanish_chat
    assert chat.title[0].value == "Pregunte a los documentos"
    assert chat.chat_input[0].placeholder == "Haga una pregunta sobre los documentos"
    assert {m.label for m in chat.metric} == {"Documentos", "Fragmentos"}
    assert "Última indexación: " in captions(chat)
    assert chat.button(key="new_chat").label == "Nueva conversación"
    switch = chat.radio(key="language")
    assert switch.value == "es" and switch.options == ["English", "Español"]

    switch.set_value("en").run()
    assert not chat.exception
    assert chat.title[0].value == "Ask the documents"
    assert chat.chat_input[0].placeholder == "Ask a question about the documents"
    assert {m.label for m in chat.metric} == {"Documents", "Passages"}


def test_english_is_the_default_without_a_browser_language(
    monkeypatch: pytest.MonkeyPatch, indexed: tuple[Path, Path]
) -> None:
    use_app_settings(monkeypatch, indexed[1])  # RAGDESK_LANGUAGE=auto, AppTest sends no header
    chat = start()
    assert chat.radio(key="language").value == "en"
    assert chat.title[0].value == "Ask the documents"

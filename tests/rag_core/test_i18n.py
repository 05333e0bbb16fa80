"""The message catalogs: every string the code marks for translation has a Spanish one, and
the reader's language is negotiated as the browser asks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from rag_core.i18n import (
    LANGUAGES,
    SOURCE_LANGUAGE,
    accept_language,
    catalog_path,
    interface_language,
    negotiate,
    ntranslator,
    translator,
)
from tests.conftest import REPO

PACKAGES = ("app", "rag_core", "ingest")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def marked_messages() -> dict[str | tuple[str, ...], str]:
    """Every msgid marked in the product's code (as Babel extracts them) -> where."""
    found: dict[str | tuple[str, ...], str] = {}
    for package in PACKAGES:
        for filename, line, message, _comments, _context in extract_from_dir(
            REPO / package, [("**.py", "python")], keywords=DEFAULT_KEYWORDS
        ):
            found.setdefault(message, f"{package}/{filename}:{line}")
    return found


def load(language: str) -> Catalog:
    with catalog_path(language).open("rb") as po:
        return read_po(po, locale=language)


@pytest.fixture(scope="module")
def messages() -> dict[str | tuple[str, ...], str]:
    found = marked_messages()
    assert len(found) > 100, "extraction found too few strings: is the mapping right?"
    return found


def test_every_marked_string_has_a_spanish_translation(
    messages: dict[str | tuple[str, ...], str],
) -> None:
    spanish = load("es")
    problems = []
    for msgid, where in messages.items():
        entry = spanish.get(msgid)
        if entry is None:
            problems.append(f"{where}: not in the Spanish catalog: {msgid!r}")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry.fuzzy or not all(s.strip() for s in strings):
            problems.append(f"{where}: untranslated or fuzzy in Spanish: {msgid!r}")
            continue
        wanted = set(_PLACEHOLDER.findall(msgid if isinstance(msgid, str) else msgid[-1]))
        for text in strings:
            if set(_PLACEHOLDER.findall(text)) != wanted:
                problems.append(f"{where}: placeholders differ in {text!r} ({sorted(wanted)})")
    assert not problems, "run scripts/i18n.sh and translate:\n" + "\n".join(problems)


def test_every_language_has_a_catalog_with_the_marked_strings(
    messages: dict[str | tuple[str, ...], str],
) -> None:
    for language in LANGUAGES:
        catalog = load(language)
        absent = [m for m in messages if catalog.get(m) is None]
        assert not absent, f"{language}: run scripts/i18n.sh ({absent[:3]}…)"


def test_spanish_is_served_and_english_is_the_source() -> None:
    assert translator("es")("Sign in") == "Iniciar sesión"
    assert translator("en")("Sign in") == "Sign in"
    assert translator("de")("Sign in") == "Sign in"  # no catalog: the source language
    plural = ntranslator("es")
    assert plural("{n} document was already indexed.", "{n} documents were already indexed.", 2)
    assert plural(
        "{n} document was already indexed.", "{n} documents were already indexed.", 1
    ).startswith("{n} documento ya")


def test_unknown_msgid_falls_back_to_itself() -> None:
    assert translator("es")("a sentence nobody marked") == "a sentence nobody marked"


def test_fuzzy_translations_are_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A changed English string (marked fuzzy by `pybabel update`) shows in English until
    someone checks the old translation, never a translation of something else."""
    from rag_core import i18n

    po = tmp_path / "es" / "LC_MESSAGES" / "ragdesk.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=utf-8\\n"\n\n'
        '#, fuzzy\nmsgid "Sign in"\nmsgstr "Entrar antes"\n\n'
        'msgid "Sign out"\nmsgstr "Salir"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n.translations.cache_clear()
    try:
        assert i18n.translator("es")("Sign in") == "Sign in"
        assert i18n.translator("es")("Sign out") == "Salir"
    finally:
        monkeypatch.undo()
        i18n.translations.cache_clear()


@pytest.mark.parametrize(
    ("header", "ranked"),
    [
        ("es-ES,es;q=0.9,en;q=0.8", ["es-ES", "es", "en"]),
        ("en;q=0.5, es-MX", ["es-MX", "en"]),
        ("fr-FR,fr;q=0.9,*;q=0.1", ["fr-FR", "fr"]),
        ("es;q=0, en", ["en"]),
        ("", []),
        (None, []),
        ("es;q=abc", []),
    ],
)
def test_accept_language_is_ranked_by_quality(header: str | None, ranked: list[str]) -> None:
    assert accept_language(header) == ranked


def test_interface_language_follows_the_setting_then_the_browser() -> None:
    assert interface_language("auto", "es-ES,es;q=0.9,en;q=0.8") == "es"
    assert interface_language("auto", "fr-FR,fr;q=0.9,es;q=0.5,en;q=0.4") == "es"
    assert interface_language("auto", "de-DE,de") == SOURCE_LANGUAGE
    assert interface_language("auto", None) == SOURCE_LANGUAGE
    assert interface_language("en", "es-ES") == "en"  # RAGDESK_LANGUAGE wins
    assert interface_language("es", "en-US") == "es"
    assert negotiate(["pt-BR", "es_AR"]) == "es"

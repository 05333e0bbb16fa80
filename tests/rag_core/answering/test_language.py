"""The question's language, told apart on real questions (faq-dev and its Spanish
translation); too little text falls back to the reader's interface language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag_core.answering.language import language_of


def questions(shared_docs: Path, dataset: str) -> list[str]:
    path = shared_docs.parent / "eval" / dataset / "queries.jsonl"
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(("dataset", "language"), [("faq-dev", "en"), ("faq-dev-es", "es")])
def test_every_faq_question_is_told_apart(shared_docs: Path, dataset: str, language: str) -> None:
    texts = questions(shared_docs, dataset)
    assert len(texts) > 100
    wrong = [t for t in texts if language_of(t, fallback="xx") != language]
    assert not wrong, wrong[:5]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("¿Cuántos días de vacaciones tengo?", "es"),
        ("¿Quién aprueba los gastos de viaje?", "es"),
        ("contraseña", "es"),
        ("¿Y para la v3?", "es"),
        ("Who approves travel expenses?", "en"),
        ("And for v3?", "en"),
        ("Can I work from home?", "en"),
    ],
)
def test_short_questions(text: str, language: str) -> None:
    assert language_of(text, fallback="xx") == language


@pytest.mark.parametrize("text", ["VPN", "dpkg -i", "NFS", "", "   "])
def test_text_that_does_not_tell_gets_the_fallback(text: str) -> None:
    assert language_of(text, fallback="es") == "es"
    assert language_of(text, fallback="en") == "en"


def test_spanish_punctuation_decides_a_close_call() -> None:
    assert language_of("¿VPN?", fallback="en") == "es"

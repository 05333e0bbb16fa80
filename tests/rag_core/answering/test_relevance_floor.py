"""The relevance floor per language pair: a Spanish question whose best passage is an
English manual's is held to e5's across-languages floor, one in its own language to the
same-language floor; MiniLM (English-only) and a configured floor have one for all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rag_core.answering.answer import AnswerEngine
from rag_core.answering.language import crosses_languages
from rag_core.answering.relevance_gate import floor_for
from rag_core.answering.retrieval import Retrieval, Retriever, Source, search_spec
from rag_core.embedding.embedder import Embedder
from rag_core.embedding.relevance import PASSAGE_MARGINS, RELEVANCE_FLOORS, passage_margin
from rag_core.settings import Settings
from rag_core.store.edge import EdgeStore
from tests.conftest import REPO

SPANISH_QUESTION = "¿Cada cuánto se deben rotar los registros del sistema?"
ENGLISH_QUESTION = "How often are the system logs rotated?"


def _passage(path: Path, starts: str, chars: int = 600) -> str:
    text = path.read_text(encoding="utf-8")
    at = text.index(starts)
    return " ".join(text[at : at + chars].split())


@pytest.fixture(scope="module")
def passages(shared_docs: Path) -> dict[str, str]:
    logrotate_es = REPO / "data/eval/docs-es/manpages/logrotate.8.es.txt"
    return {
        "es": _passage(logrotate_es, "logrotate"),
        "en": _passage(shared_docs / "text/debian-social-contract.txt", "1. Debian will remain"),
    }


def _retrieval(text: str, relevance: float) -> Retrieval:
    source = Source(
        id="p1",
        source="doc",
        text=text,
        title="doc",
        page=None,
        section=None,
        chunk_index=0,
        char_start=0,
        char_end=len(text),
        file_hash="h",
        score=1.0,
        relevance=relevance,
    )
    return Retrieval([source], 1.0, search_spec(Settings()))


def _engine(tmp_path: Path, embedder: Embedder, **overrides: object) -> Iterator[AnswerEngine]:
    settings = Settings(data_dir=tmp_path, **overrides)  # type: ignore[arg-type]
    with EdgeStore(settings.qdrant_dir, settings.collection) as store:
        yield AnswerEngine(Retriever(store, embedder, search_spec(settings)), None, settings)


@pytest.fixture
def e5_engine(tmp_path: Path, e5_embedder: Embedder) -> Iterator[AnswerEngine]:
    yield from _engine(tmp_path, e5_embedder)


def test_a_passage_in_another_language_is_told(passages: dict[str, str]) -> None:
    assert crosses_languages("es", passages["en"])
    assert not crosses_languages("es", passages["es"])
    assert not crosses_languages("en", passages["en"])
    assert not crosses_languages("es", None) and not crosses_languages("es", "")


def test_e5_holds_each_language_pair_to_its_floor(
    e5_engine: AnswerEngine, passages: dict[str, str]
) -> None:
    floors = RELEVANCE_FLOORS["multilingual-e5-small"]
    assert floors.across_languages < floors.same_language
    floor = e5_engine.relevance_floor
    assert floor(SPANISH_QUESTION, _retrieval(passages["en"], 0.9)) == floors.across_languages
    assert floor(SPANISH_QUESTION, _retrieval(passages["es"], 0.9)) == floors.same_language
    assert floor(ENGLISH_QUESTION, _retrieval(passages["en"], 0.9)) == floors.same_language


def test_minilm_and_a_configured_floor_have_one_floor(
    tmp_path: Path, embedder: Embedder, e5_embedder: Embedder, passages: dict[str, str]
) -> None:
    across = _retrieval(passages["en"], 0.5)
    for engine in _engine(tmp_path / "minilm", embedder):
        assert engine.relevance_floor(SPANISH_QUESTION, across) == 0.30
    for engine in _engine(tmp_path / "set", e5_embedder, min_relevance=0.5):
        assert engine.relevance_floor(SPANISH_QUESTION, across) == 0.5
        assert engine.relevance_floor(ENGLISH_QUESTION, across) == 0.5


def test_floor_for_takes_the_language_the_caller_knows(passages: dict[str, str]) -> None:
    """`eval retrieval` and the answer path both choose through floor_for; a caller that
    knows the question's language (the chat's reader language) is not second-guessed."""
    floors = RELEVANCE_FLOORS["multilingual-e5-small"]
    assert floor_for(floors, "VPN?", passages["en"], language="es") == floors.across_languages
    assert floor_for(floors, "VPN?", passages["en"]) == floors.same_language  # en fallback
    assert floor_for(floors, SPANISH_QUESTION, None) == floors.same_language
    one = RELEVANCE_FLOORS["all-MiniLM-L6-v2"]
    assert floor_for(one, SPANISH_QUESTION, passages["en"]) == one.same_language


def test_the_passage_margin_is_the_embedders_unless_set(
    tmp_path: Path, embedder: Embedder, e5_embedder: Embedder
) -> None:
    """e5's cosines are compressed: MiniLM's 0.15 would keep nearly every passage."""
    for engine in _engine(tmp_path / "e5", e5_embedder):
        assert engine.passage_margin == PASSAGE_MARGINS["multilingual-e5-small"] < 0.15
    for engine in _engine(tmp_path / "minilm", embedder):
        assert engine.passage_margin == 0.15
    for engine in _engine(tmp_path / "set", e5_embedder, passage_margin=1.0):
        assert engine.passage_margin == 1.0
    assert passage_margin(None, "some/unmeasured-model") is None

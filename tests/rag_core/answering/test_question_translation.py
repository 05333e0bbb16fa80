"""A question in Spanish is also searched translated into English by the real packaged model
(Qwen2.5-Coder 0.5B), over real indexes built with the real multilingual embedder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.pipeline import run_ingest
from rag_core.answering.answer import AnswerEngine
from rag_core.answering.language import language_of
from rag_core.answering.question_translation import QuestionTranslator, clean_translation
from rag_core.answering.retrieval import Retriever, search_spec
from rag_core.embedding.embedder import Embedder
from rag_core.generation.llm import LlamaCppChat
from rag_core.generation.model_files import resolve_model
from rag_core.settings import Settings
from rag_core.store.edge import EdgeStore
from rag_core.types import RagdeskError
from tests.app.chat_corpus import POLITICA_VIAJES, PREGUNTA, TRAVEL_POLICY
from tests.conftest import REPO

# faq-dev-es's question python-faq-q0100; its answer is python-faq-d0100 (Pylint, Pyflakes)
STATIC_ANALYSIS = "¿Hay herramientas que ayuden a encontrar errores o a hacer análisis estático?"
GOLD = "python-faq-d0100.md"
PASSAGES = 50  # python-faq passages of faq-dev's corpus indexed, the gold one among them


def _index(folder: Path, data: Path, embedder: Embedder) -> tuple[Settings, EdgeStore]:
    settings = Settings(data_dir=data, workers=0)
    store = EdgeStore(settings.qdrant_dir, settings.collection)
    assert run_ingest(folder, settings, store, embedder).failures == []
    return settings, store


@pytest.fixture(scope="module")
def qwen() -> LlamaCppChat:
    resolved = resolve_model("qwen2.5-0.5b", REPO / "data" / "models")
    return LlamaCppChat(resolved, Settings(llm_temperature=0.0, llm_seed=7))


@pytest.fixture(scope="module")
def python_faq(
    tmp_path_factory: pytest.TempPathFactory, e5_embedder: Embedder, shared_docs: Path
) -> Iterator[tuple[Settings, Retriever]]:
    """English passages of the Python FAQ (faq-dev's corpus), one Markdown file each."""
    folder = tmp_path_factory.mktemp("python-faq")
    corpus = shared_docs.parent / "eval" / "faq-dev" / "corpus.jsonl"
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r["_id"].startswith("python-faq-")]
    chosen = rows[:PASSAGES] + [r for r in rows[PASSAGES:] if f"{r['_id']}.md" == GOLD]
    for row in chosen:
        text = f"# {row['title']}\n\n{row['text']}"
        (folder / f"{row['_id']}.md").write_text(text, encoding="utf-8")
    assert (folder / GOLD).is_file()
    settings, store = _index(folder, tmp_path_factory.mktemp("python-faq-data"), e5_embedder)
    yield settings, Retriever(store, e5_embedder, search_spec(settings))
    store.close()


def test_a_spanish_question_finds_its_english_passage_through_its_translation(
    python_faq: tuple[Settings, Retriever], qwen: LlamaCppChat
) -> None:
    settings, retriever = python_faq
    alone = [s.source for s in retriever.retrieve(STATIC_ANALYSIS, ["*"], settings.top_k).sources]
    assert alone[0] != GOLD  # what the translation is for: the Spanish words alone miss it

    engine = AnswerEngine(retriever, qwen, settings)
    _, retrieval, refused = engine.retrieve(STATIC_ANALYSIS, ["*"])
    # the Spanish question's best cosine (0.80) is under e5's across-languages floor: alone,
    # it was refused; its translation's (0.85) reaches the same-language floor
    off = settings.model_copy(update={"translate_questions_to": "off"})
    assert AnswerEngine(retriever, qwen, off).retrieve(STATIC_ANALYSIS, ["*"])[2]
    assert not refused
    assert retrieval.translation and language_of(retrieval.translation, "xx") == "en"
    assert retrieval.translation_ms > 0
    assert retrieval.sources[0].source == GOLD, [s.source for s in retrieval.sources]
    # a passage's relevance: its cosine with the question or with the translation, the
    # closer (the English gold is not judged by the Spanish question's lower cosine)
    plain = {s.id: s.relevance for s in retriever.retrieve(STATIC_ANALYSIS, ["*"], 60).sources}
    english = retriever.retrieve(retrieval.translation, ["*"], 60).sources
    translated = {s.id: s.relevance for s in english}
    for source in retrieval.sources:
        if source.id in plain and source.id in translated:
            closer = max(plain[source.id], translated[source.id])
            assert abs(source.relevance - closer) < 1e-6
    gold = retrieval.sources[0]
    assert gold.relevance == pytest.approx(translated[gold.id]) and gold.relevance > plain[gold.id]


def test_an_english_question_is_not_translated(
    python_faq: tuple[Settings, Retriever], qwen: LlamaCppChat
) -> None:
    settings, retriever = python_faq
    engine = AnswerEngine(retriever, qwen, settings)
    english = "Are there tools to help find bugs or do static analysis?"
    _, retrieval, _ = engine.retrieve(english, ["*"])
    assert retrieval.translation is None
    off = settings.model_copy(update={"translate_questions_to": "off"})
    _, retrieval, _ = AnswerEngine(retriever, qwen, off).retrieve(STATIC_ANALYSIS, ["*"])
    assert retrieval.translation is None


def test_a_question_neither_it_nor_its_translation_matches_is_refused(
    python_faq: tuple[Settings, Retriever], qwen: LlamaCppChat
) -> None:
    settings, retriever = python_faq
    engine = AnswerEngine(retriever, qwen, settings)
    tiramisu = "¿Cuál es una buena receta de tiramisú con mascarpone?"
    _, retrieval, refused = engine.retrieve(tiramisu, ["*"])
    assert retrieval.translation and "tiramis" in retrieval.translation.lower()
    assert refused


def test_a_spanish_passage_keeps_the_spanish_questions_ranking(
    tmp_path_factory: pytest.TempPathFactory, e5_embedder: Embedder, qwen: LlamaCppChat
) -> None:
    """Over a Spanish policy and its English twin, the Spanish question's answer comes from
    the Spanish passage first: each passage is ranked mostly by the text in its language."""
    folder = tmp_path_factory.mktemp("policies")
    (folder / "politica-viajes.md").write_text(POLITICA_VIAJES, encoding="utf-8")
    (folder / "travel-policy.md").write_text(TRAVEL_POLICY, encoding="utf-8")
    settings, store = _index(folder, tmp_path_factory.mktemp("policies-data"), e5_embedder)
    with store:
        retriever = Retriever(store, e5_embedder, search_spec(settings))
        translation = QuestionTranslator(qwen, "en")(PREGUNTA, "es")
        assert translation and language_of(translation, "xx") == "en"
        by_translation = retriever.retrieve(translation, ["*"], 2).sources
        assert by_translation[0].source == "travel-policy.md"
        fused = retriever.retrieve(PREGUNTA, ["*"], 2, translation=translation).sources
        assert fused[0].source == "politica-viajes.md"
        assert {s.source for s in fused} == {"politica-viajes.md", "travel-policy.md"}


def test_a_reply_that_is_not_a_translation_is_dropped() -> None:
    question = "¿Cómo modifico una cadena in situ?"
    assert clean_translation('"How do I modify a string in place?"\n', question) == (
        "How do I modify a string in place?"
    )
    assert clean_translation("", question) is None
    assert clean_translation(question, question) is None
    assert clean_translation("Strings are immutable. " * 20, question) is None


def test_a_model_that_fails_to_translate_leaves_the_question_as_asked(
    qwen: LlamaCppChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault injected into the model (a remote server's error): no translation, no crash;
    the question is searched as asked."""

    def unreachable(*_args: object, **_kwargs: object) -> Iterator[str]:
        raise RagdeskError("the model server at http://127.0.0.1:9 is unreachable")

    monkeypatch.setattr(qwen, "stream_chat", unreachable)
    assert QuestionTranslator(qwen, "en")(STATIC_ANALYSIS, "es") is None

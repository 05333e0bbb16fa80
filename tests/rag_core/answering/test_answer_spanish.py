"""A question in Spanish gets its answer, its citations and every message in Spanish, with
the real packaged model (Qwen2.5-Coder 0.5B) over a small Spanish policy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ingest.pipeline import run_ingest
from rag_core.answering.answer import AnswerEngine, _is_not_found
from rag_core.answering.citation_check import (
    DEFAULT_THRESHOLD,
    SupportChecker,
    content_terms,
    missing_facts,
)
from rag_core.answering.language import language_of
from rag_core.answering.prompt import NOT_FOUND, build_prompt, not_found
from rag_core.answering.retrieval import Retriever, search_spec
from rag_core.embedding.embedder import Embedder
from rag_core.embedding.relevance import support_across_languages
from rag_core.generation.llm import LlamaCppChat
from rag_core.generation.model_files import resolve_model
from rag_core.settings import Settings
from rag_core.store.edge import EdgeStore
from tests.app.chat_corpus import POLITICA_VIAJES, PREGUNTA, PREGUNTA_AJENA, TRAVEL_POLICY
from tests.conftest import REPO


class NoModel:
    """Fails if asked: a refusal by the relevance floor never calls the model."""

    name, context_tokens = "none", 4096

    def count_tokens(self, text: str) -> int:
        return len(text) // 4

    def stream_chat(self, *args: object) -> Iterator[str]:
        raise AssertionError("a refusal must not call the model")


@pytest.fixture(scope="module")
def spanish_parts(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[tuple[Settings, Retriever]]:
    root = tmp_path_factory.mktemp("es-corpus")
    (root / "politica-viajes.md").write_text(POLITICA_VIAJES, encoding="utf-8")
    settings = Settings(data_dir=tmp_path_factory.mktemp("es-data"), workers=0)
    store = EdgeStore(settings.qdrant_dir, settings.collection)
    assert run_ingest(root, settings, store, embedder).failures == []
    yield settings, Retriever(store, embedder, search_spec(settings))
    store.close()


def test_spanish_question_gets_a_cited_spanish_answer(
    spanish_parts: tuple[Settings, Retriever],
) -> None:
    settings, retriever = spanish_parts
    resolved = resolve_model("qwen2.5-0.5b", REPO / "data" / "models")
    model = LlamaCppChat(resolved, Settings(llm_temperature=0.0, llm_seed=7))
    answer = AnswerEngine(retriever, model, settings).ask(PREGUNTA, ["*"])
    assert answer.language == "es" and not answer.refused, answer.text
    assert "220" in answer.text
    assert language_of(answer.text, fallback="xx") == "es", answer.text
    assert [c.source for c in answer.citations][:1] == ["politica-viajes.md"]
    assert not answer.unsupported, [c.to_json() for c in answer.unsupported]
    assert answer.to_json()["language"] == "es"


def test_unrelated_spanish_question_is_refused_in_spanish(
    spanish_parts: tuple[Settings, Retriever],
) -> None:
    settings, retriever = spanish_parts
    # nothing passes the floor; no translation (which is a model call: see
    # test_question_translation.py for a question its translation lets through)
    strict = settings.model_copy(update={"min_relevance": 0.99, "translate_questions_to": "off"})
    answer = AnswerEngine(retriever, NoModel(), strict).ask(PREGUNTA_AJENA, ["*"])  # type: ignore[arg-type]
    assert answer.refused and answer.refused_by == "threshold"
    assert answer.text == not_found("es") == "No he encontrado esto en los documentos."
    english = AnswerEngine(retriever, NoModel(), strict).ask("Any tiramisu recipe?", ["*"])  # type: ignore[arg-type]
    assert english.text == NOT_FOUND


def test_too_short_to_tell_falls_back_to_the_reader_language(
    spanish_parts: tuple[Settings, Retriever],
) -> None:
    settings, retriever = spanish_parts
    strict = settings.model_copy(update={"min_relevance": 0.99, "translate_questions_to": "off"})
    engine = AnswerEngine(retriever, NoModel(), strict)  # type: ignore[arg-type]
    assert engine.ask("VPN", ["*"], fallback_language="es").text == not_found("es")
    assert engine.ask("VPN", ["*"]).text == NOT_FOUND


def test_the_prompt_asks_for_spanish_and_the_spanish_refusal() -> None:
    prompt = build_prompt(PREGUNTA, [], lambda t: len(t) // 4, 4096, 400, language="es")
    tail = prompt.messages[-1]["content"]
    assert tail.endswith("Write the answer in Spanish.")
    english = build_prompt("How much?", [], lambda t: len(t) // 4, 4096, 400)
    assert "Spanish" not in english.messages[-1]["content"]
    assert prompt.messages[0] == english.messages[0]  # the system prompt never changes


@pytest.mark.parametrize(
    "text",
    [
        "No he encontrado esto en los documentos.",
        "No pude encontrar esto en los documentos.",
        "Lo siento, no se encontró información sobre esto en los documentos.",
        "I could not find this in the documents.",
    ],
)
def test_refusals_in_either_language_are_recognised(text: str) -> None:
    assert _is_not_found(text)


def test_an_answer_that_mentions_documents_is_not_a_refusal() -> None:
    assert not _is_not_found("No se reembolsa el minibar según los documentos [1].")


def test_spanish_grammar_words_are_not_claims() -> None:
    terms = content_terms("Las noches de hotel se reembolsan hasta 220 EUR en las capitales.", "es")
    assert terms == {"noche", "hotel", "reemb", "eur", "capit"}
    assert content_terms("La política", "es") == content_terms("las politicas", "es")


def test_spanish_numbers_and_names_must_be_in_the_passage() -> None:
    passage = "Los empleados reservan clase turista para vuelos de menos de seis horas."
    assert (
        missing_facts("Se reserva clase turista en vuelos de menos de seis horas.", passage, "es")
        == ()
    )
    assert missing_facts(
        "Se reserva clase turista en vuelos de menos de cinco horas.", passage, "es"
    ) == ("5",)
    assert missing_facts("El Director aprueba la clase turista.", passage, "es") == ("Director",)
    assert (
        missing_facts("Once upon a time, employees book economy.", "Employees book economy.") == ()
    )


def test_a_spanish_sentence_is_checked_against_its_spanish_passage(embedder: Embedder) -> None:
    checker = SupportChecker(embedder, DEFAULT_THRESHOLD)
    passages = {1: " ".join(POLITICA_VIAJES.split())}
    held = checker.verify(
        "Las noches de hotel en las capitales se reembolsan hasta 220 EUR [1].", passages, "es"
    )
    assert [c.supported for c in held.checks] == [True], held.checks
    wrong = checker.verify(
        "El alquiler de coches se reembolsa hasta 90 EUR por día [1].", passages, "es"
    )
    assert [c.supported for c in wrong.checks] == [False], wrong.checks


def test_a_spanish_sentence_is_checked_against_an_english_passage(e5_embedder: Embedder) -> None:
    """A Spanish answer from an English policy shares no words with it: scored as in one
    language, even the right sentence failed (and a wholly "unsupported" answer is withheld).
    With e5's measured floor across languages the right one holds and the wrong ones fail."""
    floor = support_across_languages(e5_embedder.name)
    assert floor is not None
    checker = SupportChecker(e5_embedder, DEFAULT_THRESHOLD, floor)
    passages = {1: " ".join(TRAVEL_POLICY.split())}
    right = "Los empleados reservan clase turista para vuelos de menos de seis horas [1]."
    for sentence in (
        right,
        "Las noches de hotel en las capitales se reembolsan hasta 220 EUR [1].",
    ):
        held = checker.verify(sentence, passages, "es")
        assert [c.supported for c in held.checks] == [True], held.checks
    for wrong in (
        "Los empleados pueden viajar en primera clase en todos los vuelos [1].",
        "El alquiler de coches se reembolsa hasta 90 EUR por día [1].",
        "Las comidas de trabajo se pagan con la tarjeta de la empresa [1].",
    ):
        flagged = checker.verify(wrong, passages, "es")
        assert [c.supported for c in flagged.checks] == [False], (wrong, flagged.checks)
    one_rule = SupportChecker(e5_embedder, DEFAULT_THRESHOLD).verify(right, passages, "es")
    assert [c.supported for c in one_rule.checks] == [False], one_rule.checks
    # a Spanish passage is not across languages: the one-language rule, unchanged
    spanish = {1: " ".join(POLITICA_VIAJES.split())}
    same = checker.verify(right, spanish, "es").checks[0]
    assert (
        same.support.score
        == SupportChecker(e5_embedder).verify(right, spanish, "es").checks[0].support.score
    )

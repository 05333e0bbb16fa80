"""A question naming something no document mentions is refused before any model call; the
names are read from the question, and looked up in the real collection's BM25 index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.pipeline import run_ingest
from rag_core.answering.answer import AnswerEngine
from rag_core.answering.retrieval import Retriever, search_spec
from rag_core.answering.unknown_names import name_forms, question_names
from rag_core.embedding.embedder import Embedder
from rag_core.settings import Settings
from rag_core.store.edge import EdgeStore


def test_the_names_a_question_asks_about() -> None:
    assert question_names("Which YubiKey models work for Kerberos PKINIT logins?", "en") == [
        "Kerberos",
        "PKINIT",
        "YubiKey",
    ]
    assert question_names("I'm going on holiday; how do I tell the other developers?", "en") == []
    assert question_names("With 1 KiB blocks, can a quota hold 100 files?", "en") == []
    # not in English: identifiers only (a capitalised word may be a translated name)
    spanish = "¿Qué paquete necesito en el Proyecto para entrar a la FreedomBox por Tor?"
    assert question_names(spanish, "es") == ["FreedomBox"]
    assert name_forms("GPLv3") == ["GPLv3", "GPL"] and name_forms("Kafka") == ["Kafka"]


@pytest.fixture(scope="module")
def engine(
    tmp_path_factory: pytest.TempPathFactory, shared_docs: Path, e5_embedder: Embedder
) -> Iterator[AnswerEngine]:
    root = tmp_path_factory.mktemp("etcd-docs")
    for name in ("etcd.faq.md", "etcd.op-guide.maintenance.md"):
        (root / name).write_bytes((shared_docs / "markdown" / name).read_bytes())
    settings = Settings(data_dir=tmp_path_factory.mktemp("names-data"), workers=0)
    with EdgeStore(settings.qdrant_dir, settings.collection) as store:
        assert run_ingest(root, settings, store, e5_embedder).failures == []
        retriever = Retriever(store, e5_embedder, search_spec(settings))
        yield AnswerEngine(retriever, None, settings)


def test_a_question_about_what_no_document_names_is_refused(engine: AnswerEngine) -> None:
    question = "How can I stream etcd key changes into a Kafka topic?"
    _, retrieval, refused = engine.retrieve(question, ["*"])
    assert retrieval.best_relevance >= engine.relevance_floor(question, retrieval)  # close enough
    assert refused and retrieval.unknown_names == ["Kafka"]
    answer = engine.ask(question, ["*"])
    assert answer.refused and answer.refused_by == "unknown names"
    assert answer.text.endswith("None of the documents mentions “Kafka”.")
    spanish = engine.ask("¿Cómo envío los cambios de etcd a un topic de KafkaConnect?", ["*"])
    assert spanish.refused_by == "unknown names"
    assert spanish.text.endswith("Ningún documento menciona “KafkaConnect”.")


def test_questions_whose_names_the_documents_use_pass(engine: AnswerEngine) -> None:
    for question in (
        "How do I defragment an etcd member with etcdctl?",
        "Does the Raft log grow forever if I never take a snapshot?",
    ):
        _, retrieval, refused = engine.retrieve(question, ["*"])
        assert not refused and retrieval.unknown_names == [], question


def test_the_check_can_be_turned_off(engine: AnswerEngine) -> None:
    question = "How can I stream etcd key changes into a Kafka topic?"
    retriever = engine._retriever
    settings = Settings(data_dir=Path("/nonexistent"), workers=0, refuse_unknown_names=False)
    off = AnswerEngine(retriever, None, settings)
    _, retrieval, refused = off.retrieve(question, ["*"])
    assert not refused and retrieval.unknown_names == []

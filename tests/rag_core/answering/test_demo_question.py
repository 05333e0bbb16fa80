"""Issue 21's first-run case: the README's kind of question over data/sample, with what a
new user runs: the default embedder of a new collection (multilingual-e5-small), default
retrieval (no re-scoring) and the packaged model `auto` falls back to (Qwen2.5-Coder 1.5B),
through the whole answer path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ingest.pipeline import run_ingest
from rag_core.answering.answer import AnswerEngine
from rag_core.answering.assembly import assemble
from rag_core.embedding.embedder import Embedder
from rag_core.generation.llm import LlamaCppChat
from rag_core.generation.model_files import resolve_model
from rag_core.settings import Settings
from rag_core.store.edge import EdgeStore
from tests.conftest import REPO, SAMPLE

QUESTION = "Who started the Debian project, and in which year?"
FAQ_SENTENCE = "The Debian Project was created by Ian Murdock in 1993"


@pytest.fixture(scope="module")
def sample_engine(
    tmp_path_factory: pytest.TempPathFactory, e5_embedder: Embedder
) -> Iterator[AnswerEngine]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("sample-data"),
        workers=0,
        embed_model="multilingual-e5-small",
    )
    store = EdgeStore(settings.qdrant_dir, settings.collection)
    report = run_ingest(SAMPLE, settings, store, e5_embedder)
    assert report.failures == []
    model = LlamaCppChat(
        resolve_model("qwen2.5-1.5b", REPO / "data" / "models"),
        Settings(llm_context_tokens=4096, llm_seed=7, llm_temperature=0.0),
    )
    yield assemble(settings, store, embedder=e5_embedder, model=model).engine
    store.close()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_the_founding_passage_is_given_and_answered_with_its_citation(
    sample_engine: AnswerEngine,
) -> None:
    answer = sample_engine.ask(QUESTION, ["*"])
    given = [s for s in answer.sources if FAQ_SENTENCE in _one_line(s.text)]
    assert given, [(_one_line(s.text)[:80], s.source, s.page) for s in answer.sources]
    assert not answer.refused, answer.text
    assert "Murdock" in answer.text and "1993" in answer.text, answer.text
    faq = [
        c for c in answer.citations if c.source == "debian-faq.en.pdf" and c.page == given[0].page
    ]
    assert faq, (answer.text, [(c.source, c.page) for c in answer.citations])
    assert not answer.unsupported, [c.to_json() for c in answer.unsupported]

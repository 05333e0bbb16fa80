"""Generation through a real OpenAI-compatible server: llama-cpp-python's own
`python -m llama_cpp.server`, serving the packaged 0.5B model on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.pipeline import run_ingest
from rag_core.answer import Answer, AnswerEngine
from rag_core.embeddings import Embedder
from rag_core.llm import GenerationStats, OpenAICompatibleChat, load_chat_model
from rag_core.retrieval import Retriever, search_spec
from rag_core.settings import Settings
from rag_core.store import EdgeStore
from rag_core.types import RagdeskError
from tests.servers import free_port, model_server

POLICY = """# Travel policy

## Hotels

Hotel nights are reimbursed up to 150 EUR in most cities and 220 EUR in capitals.

## Trains

Train journeys under four hours are booked in second class.
"""


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with model_server(tmp_path_factory.mktemp("llm-server")) as url:
        yield url


def server_settings(url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        workers=0,
        llm_backend="openai",
        llm_base_url=url,
        llm_model="small",
        llm_temperature=0.0,
    )


def test_server_streams_tokens(server_url: str, tmp_path: Path) -> None:
    model = load_chat_model(server_settings(server_url, tmp_path))
    assert isinstance(model, OpenAICompatibleChat)
    stats = GenerationStats()
    pieces = list(model.stream_chat([{"role": "user", "content": "Count from 1 to 5."}], 24, stats))
    assert len(pieces) > 3 and "".join(pieces).strip()
    assert stats.first_token_ms > 0 and stats.total_ms >= stats.first_token_ms
    assert stats.completion_tokens == len(pieces)


def test_answer_engine_over_the_server_cites_its_sources(
    server_url: str, tmp_path: Path, embedder: Embedder
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "travel.md").write_text(POLICY, encoding="utf-8")
    settings = server_settings(server_url, tmp_path)
    with EdgeStore(settings.qdrant_dir, settings.collection) as store:
        run_ingest(docs, settings, store, embedder)
        engine = AnswerEngine(
            Retriever(store, embedder, search_spec(settings)), load_chat_model(settings), settings
        )
        items = list(engine.stream("How much is a hotel night reimbursed in a capital?", ["*"]))
    final = items[-1]
    assert isinstance(final, Answer) and not final.refused
    assert all(isinstance(item, str) for item in items[:-1]) and len(items) > 3
    assert "220" in final.text
    assert [c.source for c in final.citations] == ["travel.md"] * len(final.citations)
    assert final.timings["time_to_first_token_ms"] > 0


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    model = load_chat_model(server_settings(f"http://127.0.0.1:{free_port()}", tmp_path))
    with pytest.raises(RagdeskError, match="cannot reach the model server"):
        list(model.stream_chat([{"role": "user", "content": "hi"}], 8, GenerationStats()))

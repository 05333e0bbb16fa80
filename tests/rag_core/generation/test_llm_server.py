"""Generation through a real OpenAI-compatible server: llama-cpp-python's own
`python -m llama_cpp.server`, serving the packaged 0.5B model on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rag_core.answering.answer import Answer
from rag_core.embedding.embedder import Embedder
from rag_core.generation.llm import GenerationStats, OpenAICompatibleChat, load_chat_model
from rag_core.settings import Settings
from rag_core.types import RagdeskError
from tests.servers import TRAVEL_NOTE, answer_engine, free_port, model_server, served_settings


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with model_server(tmp_path_factory.mktemp("llm-server")) as url:
        yield url


def server_settings(url: str, tmp_path: Path) -> Settings:
    return served_settings(url, tmp_path / "data", model="small")  # model_server's alias


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
    settings = server_settings(server_url, tmp_path)
    with answer_engine(settings, embedder, {"travel.md": TRAVEL_NOTE}) as engine:
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

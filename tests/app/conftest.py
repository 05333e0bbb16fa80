"""Fixtures for the chat tests: one indexed collection shared by the whole session."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag_core.embedding.embedder import Embedder
from tests.app.chat_corpus import build_collection


@pytest.fixture(scope="session")
def indexed(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Path, Path]:
    docs = tmp_path_factory.mktemp("chat-docs")
    data = tmp_path_factory.mktemp("chat-data")
    build_collection(docs, data, embedder)
    return docs, data

"""English vectors beside the multilingual ones: written by the real ingestion with the real
e5 and MiniLM, recorded by the collection, searched by English questions only, on both
Qdrant engines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest.chunk import vector_text
from ingest.pipeline import run_ingest
from rag_core.answering.retrieval import Retriever, search_spec
from rag_core.embedding.embedder import Embedder
from rag_core.embedding.english import ENGLISH_EMBEDDER, english_embedder_for
from rag_core.settings import Settings
from rag_core.store.base import VectorStore
from rag_core.store.factory import open_local
from rag_core.store.schema import CollectionMeta, MetaKey, check_english
from rag_core.types import Chunk, ConfigurationError, EmbedderInfo, Payload

PASSAGES = 30  # Python FAQ passages of faq-dev's corpus
ENGLISH_QUESTION = "Are there tools that help find bugs or perform static analysis?"
SPANISH_QUESTION = "¿Hay herramientas que ayuden a encontrar errores o a hacer análisis estático?"


@pytest.fixture(scope="module")
def faq_folder(tmp_path_factory: pytest.TempPathFactory, shared_docs: Path) -> Path:
    folder = tmp_path_factory.mktemp("python-faq")
    corpus = shared_docs.parent / "eval" / "faq-dev" / "corpus.jsonl"
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    for row in [r for r in rows if r["_id"].startswith("python-faq-")][:PASSAGES]:
        text = f"# {row['title']}\n\n{row['text']}"
        (folder / f"{row['_id']}.md").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(params=["edge", "client"])
def indexed(
    request: pytest.FixtureRequest, tmp_path: Path, faq_folder: Path, e5_embedder: Embedder
) -> Iterator[tuple[Settings, VectorStore]]:
    settings = Settings(data_dir=tmp_path / "data", workers=0)
    store = open_local(request.param, tmp_path / "qdrant", "docs")
    assert run_ingest(faq_folder, settings, store, e5_embedder).failures == []
    yield settings, store
    store.close()


def _chunk(payload: dict[str, Any]) -> Chunk:
    """A stored chunk back from its payload (what its vectors were computed from)."""
    return Chunk(
        text=payload[Payload.TEXT],
        source=payload[Payload.SOURCE],
        file_hash=payload[Payload.FILE_HASH],
        chunk_index=payload[Payload.CHUNK_INDEX],
        char_start=payload[Payload.CHAR_START],
        char_end=payload[Payload.CHAR_END],
        title=payload[Payload.TITLE],
        format=payload[Payload.FORMAT],
        section=payload[Payload.SECTION],
    )


def _ranking(retriever: Retriever, question: str, k: int = 10) -> list[str]:
    return [s.id for s in retriever.retrieve(question, ["*"], k).sources]


def test_a_new_collection_records_and_searches_english_vectors(
    indexed: tuple[Settings, VectorStore], e5_embedder: Embedder
) -> None:
    settings, store = indexed
    recorded = CollectionMeta.of(store.meta()).english_embedder
    assert recorded is not None and recorded["name"] == ENGLISH_EMBEDDER
    english = english_embedder_for(settings, store.meta(), e5_embedder)
    assert english is not None and english.info.dim == recorded["dim"]
    # the English vector alone ranks an English question as MiniLM's own cosines do
    texts = {p["text"]: p for p in store.payloads()}
    spec = replace(search_spec(settings), weights=(0.0, 0.0), english_weight=1.0)
    only_english = Retriever(store, e5_embedder, spec, english=english)
    found = only_english.retrieve(ENGLISH_QUESTION, ["*"], 5).sources
    query = english.embed_query(ENGLISH_QUESTION)
    payloads = list(texts.values())
    vectors = english.embed([vector_text(_chunk(p)) for p in payloads])
    expected = [payloads[n]["text"] for n in np.argsort(-(vectors @ query))[:5]]
    assert [s.text for s in found] == expected
    english.close()


def test_only_english_questions_search_the_english_vector(
    indexed: tuple[Settings, VectorStore], e5_embedder: Embedder
) -> None:
    settings, store = indexed
    english = english_embedder_for(settings, store.meta(), e5_embedder)
    spec = search_spec(settings)
    with_english = Retriever(store, e5_embedder, spec, english=english)
    without = Retriever(store, e5_embedder, spec)
    # a Spanish question: the same ranking with or without the English vector
    assert _ranking(with_english, SPANISH_QUESTION) == _ranking(without, SPANISH_QUESTION)
    # an English one: the English vector takes part (its weight changes the ranking)
    heavy = Retriever(store, e5_embedder, replace(spec, english_weight=10.0), english=english)
    assert _ranking(heavy, ENGLISH_QUESTION) != _ranking(without, ENGLISH_QUESTION)
    english.close()


def test_a_collection_keeps_what_it_was_made_with(
    tmp_path: Path, faq_folder: Path, e5_embedder: Embedder, embedder: Embedder
) -> None:
    """english_vectors decides at creation: a collection made without keeps none when the
    setting is on (nothing to re-index), and MiniLM's own collections never get a second
    MiniLM vector."""
    off = Settings(data_dir=tmp_path / "off", workers=0, english_vectors=False)
    with open_local("edge", tmp_path / "off" / "qdrant", "docs") as store:
        assert run_ingest(faq_folder, off, store, e5_embedder).failures == []
        assert MetaKey.ENGLISH_EMBEDDER not in store.meta()
        on = off.model_copy(update={"english_vectors": True})
        (faq_folder / "added.md").write_text("# Added\n\nA new English passage.\n")
        try:
            report = run_ingest(faq_folder, on, store, e5_embedder)
        finally:
            (faq_folder / "added.md").unlink()
        assert report.failures == [] and report.files_new == 1
        assert english_embedder_for(on, store.meta(), e5_embedder) is None
    minilm = Settings(data_dir=tmp_path / "minilm", workers=0)
    assert english_embedder_for(minilm, None, embedder) is None
    with open_local("edge", tmp_path / "minilm" / "qdrant", "docs") as store:
        assert run_ingest(faq_folder, minilm, store, embedder).failures == []
        assert MetaKey.ENGLISH_EMBEDDER not in store.meta()


def test_english_vectors_of_another_embedder_are_refused() -> None:
    info = EmbedderInfo(name=ENGLISH_EMBEDDER, dim=384, max_tokens=256, backend="onnx-int8")
    meta = {MetaKey.ENGLISH_EMBEDDER: {"name": ENGLISH_EMBEDDER, "dim": 384}}
    with pytest.raises(ConfigurationError, match="rebuild"):
        check_english("docs", meta, info)
    with pytest.raises(ConfigurationError, match="no English vectors"):
        check_english("docs", {}, info)
    check_english("docs", {}, None)  # none, and none wanted


def test_a_run_reuses_the_english_embedder_its_caller_keeps(
    tmp_path: Path, faq_folder: Path, e5_embedder: Embedder
) -> None:
    """The watcher and the chat keep the English embedder loaded: a run given the one the
    collection takes embeds with it and leaves it open; a collection without English
    vectors ignores it."""
    settings = Settings(data_dir=tmp_path / "data", workers=0)
    kept = english_embedder_for(settings, None, e5_embedder)
    assert kept is not None
    with open_local("edge", tmp_path / "qdrant", "docs") as store:
        assert run_ingest(faq_folder, settings, store, e5_embedder, english=kept).failures == []
        first = kept.stats.texts
        assert first >= PASSAGES
        (faq_folder / "added.md").write_text("# Added\n\nA new English passage.\n")
        try:
            report = run_ingest(faq_folder, settings, store, e5_embedder, english=kept)
        finally:
            (faq_folder / "added.md").unlink()
        assert report.files_new == 1 and kept.stats.texts > first
        assert store.payloads(source="added.md")
    assert kept.embed_query("still open").shape == (kept.info.dim,)
    off = Settings(data_dir=tmp_path / "off", workers=0, english_vectors=False)
    with open_local("edge", tmp_path / "off" / "qdrant", "docs") as store:
        before = kept.stats.texts
        assert run_ingest(faq_folder, off, store, e5_embedder, english=kept).failures == []
        assert kept.stats.texts == before and MetaKey.ENGLISH_EMBEDDER not in store.meta()
    kept.close()

"""A passage is given with the chunk that follows it in its section: the answer often opens
the next chunk. Real etcd docs, the real e5 embedder, the embedded Qdrant."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ingest.pipeline import run_ingest
from rag_core.answering.answer import AnswerEngine
from rag_core.answering.continuation import with_continuations
from rag_core.answering.retrieval import Retriever, search_spec
from rag_core.embedding.embedder import Embedder
from rag_core.settings import Settings
from rag_core.store.edge import EdgeStore

QUESTION = "What is the default --snapshot-count in recent etcd versions?"
MAINTENANCE = "etcd.op-guide.maintenance.md"


@pytest.fixture(scope="module")
def indexed(
    tmp_path_factory: pytest.TempPathFactory, shared_docs: Path, e5_embedder: Embedder
) -> Iterator[tuple[EdgeStore, Settings]]:
    root = tmp_path_factory.mktemp("etcd-docs")
    for name in ("etcd.faq.md", MAINTENANCE, "etcd.op-guide.configuration.md"):
        (root / name).write_bytes((shared_docs / "markdown" / name).read_bytes())
    settings = Settings(data_dir=tmp_path_factory.mktemp("continuation-data"), workers=0)
    with EdgeStore(settings.qdrant_dir, settings.collection) as store:
        assert run_ingest(root, settings, store, e5_embedder).failures == []
        yield store, settings


def engine(store: EdgeStore, settings: Settings, embedder: Embedder, **change: int) -> AnswerEngine:
    settings = settings.model_copy(update=change)
    return AnswerEngine(Retriever(store, embedder, search_spec(settings)), None, settings)


def test_the_answer_that_opens_the_next_chunk_is_given(
    indexed: tuple[EdgeStore, Settings], e5_embedder: Embedder
) -> None:
    store, settings = indexed
    chunks = {(p["source"], p["chunk_index"]): p for p in store.payloads()}
    _, alone, refused = engine(store, settings, e5_embedder, continued_passages=0).retrieve(
        QUESTION, ["*"]
    )
    assert not refused and len(alone.sources) == settings.top_k
    _, continued, _ = engine(store, settings, e5_embedder).retrieve(QUESTION, ["*"])
    given = continued.sources
    # every retrieved passage is still there, in order, each followed by its section's next
    # chunk unless that one is given already
    assert [s.id for s in given if s.id in {a.id for a in alone.sources}] == [
        s.id for s in alone.sources
    ]
    added = [s for s in given if s.id not in {a.id for a in alone.sources}]
    assert added
    for extra in added:
        before = given[given.index(extra) - 1]
        assert (extra.source, extra.chunk_index) == (before.source, before.chunk_index + 1)
        stored = chunks[(extra.source, extra.chunk_index)]
        assert extra.text == stored["text"] and extra.section == stored["section"]
        assert extra.relevance == before.relevance  # kept or dropped with its passage
    assert len({s.id for s in given}) == len(given)  # nothing given twice
    # the v3.2 note ("the default … changed from 10,000 to 100,000") follows the retention
    # passage the question's words match
    assert any("100,000" in s.text for s in given)
    assert not any("100,000" in s.text for s in alone.sources)


def test_no_continuation_across_sections_or_outside_the_callers_groups(
    indexed: tuple[EdgeStore, Settings], e5_embedder: Embedder
) -> None:
    store, settings = indexed
    _, retrieval, _ = engine(store, settings, e5_embedder, continued_passages=0).retrieve(
        QUESTION, ["*"]
    )
    first = retrieval.sources[0]
    seen: list[tuple[str, tuple[str, ...]]] = []

    def hidden(point: str, groups: object) -> None:  # the groups may not see it
        seen.append((point, tuple(groups)))  # type: ignore[arg-type]
        return None

    assert with_continuations([first], ["staff"], 1, hidden) == [first]
    assert seen and seen[0][1] == ("staff",)
    elsewhere = replace(first, section="Some other section")
    assert with_continuations([elsewhere], ["*"], 1, store.visible_payload) == [elsewhere]
    assert with_continuations([first], ["*"], 0, store.visible_payload) == [first]

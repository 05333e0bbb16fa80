"""Question -> ranked Sources the caller may see.

Dense (the ingestion embedder) and sparse (BM25 term weights) searches are fused, by
weighted DBSF (in VectorStore.search) or inside Qdrant's query API (RRF); every search carries
the caller's ACL filter. Each source also gets a `relevance`: the cosine between question
and passage, which, unlike a fused score, means the same thing from one question to the
next, so a threshold on it can decide that the documents do not answer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from rag_core.embeddings import Embedder
from rag_core.settings import Settings
from rag_core.sparse import languages_of, sparse_query
from rag_core.store import Hit, QueryVectors, SearchSpec, VectorStore
from rag_core.types import Payload


@dataclass(frozen=True, slots=True)
class Source:
    """A retrieved passage, with everything needed to cite and show it."""

    id: str
    source: str
    text: str
    title: str
    page: int | None
    section: str | None
    chunk_index: int
    char_start: int
    char_end: int
    file_hash: str
    score: float  # the fused rank score
    relevance: float  # cosine(question, passage)
    rows: str | None = None  # spreadsheets and CSV: "12–30"


@dataclass(slots=True)
class Retrieval:
    sources: list[Source]
    milliseconds: float
    spec: SearchSpec

    @property
    def best_relevance(self) -> float:
        return max((s.relevance for s in self.sources), default=0.0)


def _source(hit: Hit, query: np.ndarray) -> Source:
    payload = hit.payload
    relevance = float(hit.dense @ query) if hit.dense is not None else 0.0
    return Source(
        id=hit.id,
        source=payload.get(Payload.SOURCE, ""),
        text=payload.get(Payload.TEXT, ""),
        title=payload.get(Payload.TITLE, ""),
        page=payload.get(Payload.PAGE),
        section=payload.get(Payload.SECTION),
        chunk_index=int(payload.get(Payload.CHUNK_INDEX, 0)),
        char_start=int(payload.get(Payload.CHAR_START, 0)),
        char_end=int(payload.get(Payload.CHAR_END, 0)),
        file_hash=payload.get(Payload.FILE_HASH, ""),
        score=hit.score,
        relevance=relevance,
        rows=payload.get(Payload.ROWS),
    )


# (dense, sparse) weights measured best on faq-dev for each fusion, used when unset
DEFAULT_WEIGHTS = {"rrf": (1.0, 2.0), "dbsf": (1.0, 0.2)}


def search_spec(settings: Settings) -> SearchSpec:
    dense, sparse = DEFAULT_WEIGHTS[settings.fusion]
    weights = (
        dense if settings.dense_weight is None else settings.dense_weight,
        sparse if settings.sparse_weight is None else settings.sparse_weight,
    )
    return SearchSpec(
        mode=settings.retrieval_mode,
        fusion=settings.fusion,
        rrf_k=settings.rrf_k,
        weights=None if weights == (1.0, 1.0) else weights,
        prefetch=settings.prefetch,
    )


class Retriever:
    """The only way to search: `groups` is a required argument, never defaulted here."""

    def __init__(self, store: VectorStore, embedder: Embedder, spec: SearchSpec) -> None:
        self._store = store
        self._embedder = embedder
        self.spec = spec

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    def retrieve(
        self, question: str, groups: Sequence[str], k: int, spec: SearchSpec | None = None
    ) -> Retrieval:
        if not groups:
            raise ValueError("retrieval needs the caller's groups")
        spec = spec or self.spec
        started = time.perf_counter()
        dense = self._embedder.embed_query(question)
        sparse = sparse_query(question, languages_of(self._store.meta()))
        query = QueryVectors(dense=dense, sparse=sparse)
        hits = self._store.search(query, k, groups, replace(spec, with_dense=True))
        sources = [_source(hit, dense) for hit in hits]
        return Retrieval(sources, (time.perf_counter() - started) * 1000, spec)

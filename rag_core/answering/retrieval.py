"""Question -> ranked Sources the caller may see.

Dense (the ingestion embedder) and sparse (BM25 term weights) searches, and for an English
text the English vector too where the collection has one (rag_core/embedding/english.py), are
fused, by weighted DBSF (in VectorStore.search) or inside Qdrant's query API (RRF); every
search carries the caller's ACL filter. Each source also gets a `relevance`: the cosine
between question and passage (the main embedder's), which, unlike a fused score, means the
same thing from one question to the next, so a threshold on it can decide that the
documents do not answer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from rag_core.answering.continuation import with_continuations
from rag_core.answering.language import language_of
from rag_core.answering.rerank import best_unit_scores
from rag_core.embedding.embedder import Embedder
from rag_core.embedding.english import ENGLISH
from rag_core.embedding.sparse import languages_of, sparse_query
from rag_core.settings import Settings
from rag_core.store.base import Hit, QueryVectors, SearchSpec, VectorStore
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
    # the best passage cosine among all candidates, before any re-scoring: what the
    # relevance floor is measured on (None: the sources' own relevance)
    passage_relevance: float | None = None
    translation: str | None = None  # the question's translation, also searched
    translation_ms: float = 0.0  # the model's time to translate it
    # the translation's best cosine among the candidates, and that passage's text
    translation_best: tuple[float, str] | None = None
    # names the question asks about that no document the asker may see mentions
    # (rag_core/answering/unknown_names.py): refused as not found
    unknown_names: list[str] = field(default_factory=list)

    @property
    def best_relevance(self) -> float:
        if self.passage_relevance is not None:
            return self.passage_relevance
        return max((s.relevance for s in self.sources), default=0.0)

    @property
    def best_source(self) -> Source | None:
        """The given passage closest to the question (whose language the floor follows)."""
        return max(self.sources, key=lambda s: s.relevance, default=None)


def _source(hit: Hit, query: np.ndarray, translated: np.ndarray | None = None) -> Source:
    """A hit as a passage; its relevance is its cosine with the question, or with the
    question's translation when that is closer (a passage in the translation's language:
    so an English passage is not judged by a Spanish question's lower cosine across
    languages when the prompt's passage margin is applied)."""
    payload = hit.payload
    relevance = float(hit.dense @ query) if hit.dense is not None else 0.0
    if translated is not None and hit.dense is not None:
        relevance = max(relevance, float(hit.dense @ translated))
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


# re-scoring: closest-unit cosine + this share of the min-max normalised fused score
# (answers-corpus, 30 candidates: 0.03-0.1 all beat either score alone; 0.05 best)
FUSED_SHARE = 0.05

# Fusing a question's search with its translation's (weighted RRF): each passage counts
# this much more in the ranking of the question in its own language. faq-dev-es nDCG@10
# (English passages, the 1.5B's translations, benchmarks/translation_fusion.py): Spanish
# alone 0.652, translation alone 0.748, fused at weight 1 0.721, 3 0.735, 5 0.742, 10 0.744.
# answers-es, gold among 6 (@1): es->es 0.983 (0.932) alone, 0.966 (0.898) fused at 3 or 10.
# With English vectors (the translation's search then holds MiniLM's ranking, which orders
# Spanish passages poorly): weight 10: faq-dev-es 0.806, answers-es es->es 0.983 (0.847),
# es->en 1.0 (0.905); weight 30: 0.815, es->es 0.983 (0.898), es->en 1.0 (0.905).
MATCHED_WEIGHT = 30.0
TRANSLATION_RRF_K = 60
TRANSLATION_DEPTH = 30  # candidates taken from each search before fusing

# (dense, sparse) weights measured best on faq-dev for each fusion, used when unset
DEFAULT_WEIGHTS = {"rrf": (1.0, 2.0), "dbsf": (1.0, 0.2)}
# the English vector's weight beside them, likewise (benchmarks/english_vectors.py; dbsf,
# faq-dev / faq-dev-es nDCG@10: none 0.754 / 0.744, 0.5 0.815 / 0.798, 1 0.823 / 0.806,
# 2 0.830 / 0.806, 3 0.821 / 0.802, 5 0.818 / 0.797; rrf at k=10 and 1:2: none 0.738 / 0.741,
# 1 0.810 / 0.797, 2 0.804 / 0.798, 3 0.799 / 0.786)
DEFAULT_ENGLISH_WEIGHTS = {"rrf": 1.0, "dbsf": 2.0}


def search_spec(settings: Settings) -> SearchSpec:
    """The configured search (`settings.retrieval`); unset weights: the measured ones."""
    config = settings.retrieval
    dense, sparse = DEFAULT_WEIGHTS[config.fusion]
    weights = (
        dense if config.dense_weight is None else config.dense_weight,
        sparse if config.sparse_weight is None else config.sparse_weight,
    )
    english = config.english_weight
    return SearchSpec(
        mode=config.mode,
        fusion=config.fusion,
        rrf_k=config.rrf_k,
        weights=None if weights == (1.0, 1.0) else weights,
        english_weight=DEFAULT_ENGLISH_WEIGHTS[config.fusion] if english is None else english,
        prefetch=config.prefetch,
    )


class Retriever:
    """The only way to search: `groups` is a required argument, never defaulted here."""

    def __init__(
        self,
        store: VectorStore,
        embedder: Embedder,
        spec: SearchSpec,
        rerank_depth: int = 0,
        english: Embedder | None = None,
    ) -> None:
        """`english`: the collection's English embedder (rag_core.embedding.english), for
        English texts; None: the collection has no English vectors."""
        self._store = store
        self._embedder = embedder
        self._english = english
        self.spec = spec
        # candidates re-scored by their closest sentence (rag_core/answering/rerank.py); 0: off
        self.rerank_depth = rerank_depth

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    @property
    def english(self) -> Embedder | None:
        return self._english

    def close(self) -> None:
        """Close the embedders (their caches, ONNX threads)."""
        self._embedder.close()
        if self._english is not None:
            self._english.close()

    def retrieve(
        self,
        question: str,
        groups: Sequence[str],
        k: int,
        spec: SearchSpec | None = None,
        translation: str | None = None,
    ) -> Retrieval:
        """`translation`: the question in another language, searched too and fused
        (`fuse_by_language`)."""
        if not groups:
            raise ValueError("retrieval needs the caller's groups")
        spec = spec or self.spec
        started = time.perf_counter()
        dense = self._embedder.embed_query(question)
        depth = max(k, self.rerank_depth)
        translation_best = None
        translated = None
        if translation:
            wide = max(depth, TRANSLATION_DEPTH)
            own = self._search(question, dense, wide, groups, spec)
            translated = self._embedder.embed_query(translation)
            other = self._search(translation, translated, wide, groups, spec)
            hits = fuse_by_language(own, other, language_of(question), language_of(translation))
            hits = hits[:depth]
            translation_best = _best_match(translated, hits)
        else:
            hits = self._search(question, dense, depth, groups, spec)
        sources = [_source(hit, dense, translated) for hit in hits]
        if depth == k:
            elapsed = (time.perf_counter() - started) * 1000
            return Retrieval(
                sources, elapsed, spec, translation=translation, translation_best=translation_best
            )
        floor_relevance = max((s.relevance for s in sources), default=0.0)
        scores = best_unit_scores(dense, [s.text for s in sources], self._embedder)
        # the fused rank still counts a little: it holds the BM25 side (names, numbers)
        fused = [s.score for s in sources]
        low, span = min(fused), (max(fused) - min(fused)) or 1.0
        ranked = [u + FUSED_SHARE * (f - low) / span for u, f in zip(scores, fused, strict=True)]
        order = sorted(range(len(sources)), key=lambda n: (-ranked[n], n))[:k]
        reranked = [replace(sources[n], relevance=scores[n]) for n in order]
        elapsed = (time.perf_counter() - started) * 1000
        return Retrieval(
            reranked,
            elapsed,
            spec,
            passage_relevance=floor_relevance,
            translation=translation,
            translation_best=translation_best,
        )

    def continued(
        self, sources: Sequence[Source], groups: Sequence[str], first: int
    ) -> list[Source]:
        """The first `first` sources each followed by the next chunk of its section
        (rag_core/answering/continuation.py)."""
        if first <= 0:
            return list(sources)
        return with_continuations(sources, groups, first, self._store.visible_payload)

    def mentioned(self, name: str, groups: Sequence[str]) -> bool:
        """Does any document the groups may see contain the name (its BM25 terms, any of
        them)? A name with no term (all stop words) is taken as mentioned."""
        sparse = sparse_query(name, languages_of(self._store.meta()))
        if not sparse.indices:
            return True
        query = QueryVectors(dense=np.zeros(self._embedder.info.dim, np.float32), sparse=sparse)
        return bool(self._store.search(query, 1, groups, replace(self.spec, mode="sparse")))

    def _search(
        self, text: str, dense: np.ndarray, depth: int, groups: Sequence[str], spec: SearchSpec
    ) -> list[Hit]:
        sparse = sparse_query(text, languages_of(self._store.meta()))
        english = None
        if self._english is not None and language_of(text) == ENGLISH:
            english = self._english.embed_query(text)
        query = QueryVectors(dense=dense, sparse=sparse, english=english)
        return self._store.search(query, depth, groups, replace(spec, with_dense=True))


def _best_match(query: np.ndarray, hits: list[Hit]) -> tuple[float, str] | None:
    scored = [(float(h.dense @ query), h) for h in hits if h.dense is not None]
    if not scored:
        return None
    relevance, hit = max(scored, key=lambda pair: pair[0])
    return relevance, str(hit.payload.get(Payload.TEXT, ""))


def fuse_by_language(
    own: list[Hit], other: list[Hit], own_language: str, other_language: str
) -> list[Hit]:
    """One ranking from a question's hits and its translation's (weighted RRF): a passage
    counts MATCHED_WEIGHT times more in the ranking of the text in its own language, so a
    Spanish passage is ranked mostly by the Spanish question and an English one by the
    English translation. Each hit's score becomes its fused score."""
    scores: dict[str, float] = {}
    first: dict[str, Hit] = {}
    passage_language: dict[str, str] = {}  # told once per passage, found in both lists or not
    for hits, language in ((own, own_language), (other, other_language)):
        for rank, hit in enumerate(hits):
            if hit.id not in first:
                first[hit.id] = hit
                text = str(hit.payload.get(Payload.TEXT, ""))[:600]
                passage_language[hit.id] = language_of(text, own_language)
            weight = MATCHED_WEIGHT if passage_language[hit.id] == language else 1.0
            scores[hit.id] = scores.get(hit.id, 0.0) + weight / (TRANSLATION_RRF_K + rank)
    order = sorted(scores, key=lambda hit_id: -scores[hit_id])
    return [replace(first[hit_id], score=scores[hit_id]) for hit_id in order]

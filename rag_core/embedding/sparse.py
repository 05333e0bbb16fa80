"""Lexical term weights for Qdrant sparse vectors (BM25 term frequencies; the collection's
IDF modifier supplies the inverse document frequency at query time).

The tokenizer and weighting are qdrant-edge's own `Bm25`, the same code Qdrant uses, run
in-process: no hub model, and the server path stores exactly the same vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any


@dataclass(frozen=True, slots=True)
class SparseVec:
    indices: list[int]
    values: list[float]


@lru_cache(maxsize=1)
def _bm25() -> Any:
    import qdrant_edge

    return qdrant_edge.Bm25()


def sparse_document(text: str) -> SparseVec:
    vec = _bm25().embed_document(text)
    return SparseVec(list(vec.indices), list(vec.values))


def sparse_query(text: str) -> SparseVec:
    vec = _bm25().embed_query(text)
    return SparseVec(list(vec.indices), list(vec.values))

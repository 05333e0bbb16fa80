"""What every engine shares: the `VectorStore` protocol (search, counts, listings, life
cycle), how to search (`SearchSpec`), the ACL and per-file filters, and the fusion done here
(weighted DBSF; RRF and plain DBSF run inside Qdrant).

qdrant-edge mirrors the names of qdrant-client's models, so one function builds a filter or
a vector for either, given the module. Engines: rag_core.store.edge (embedded, the default)
and rag_core.store.client (a Qdrant server, or qdrant-client's local mode).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any, Literal

import numpy as np

from rag_core.embedding.sparse import SparseVec
from rag_core.settings import Settings
from rag_core.store.schema import DENSE, ENGLISH, SPARSE, check_compatible, check_english
from rag_core.types import (
    EVERYONE,
    Chunk,
    EmbedderInfo,
    Payload,
)


@dataclass(slots=True)
class StoredPoint:
    id: str
    dense: np.ndarray
    sparse: SparseVec
    payload: dict[str, Any]
    english: np.ndarray | None = None  # in collections with English vectors

    @classmethod
    def of(
        cls,
        chunk: Chunk,
        dense: np.ndarray,
        sparse: SparseVec,
        english: np.ndarray | None = None,
    ) -> StoredPoint:
        """A chunk as stored: its id, its vectors and its payload."""
        return cls(chunk.id, dense, sparse, chunk.payload(), english)


@dataclass(frozen=True, slots=True)
class QueryVectors:
    dense: np.ndarray
    sparse: SparseVec
    english: np.ndarray | None = None  # an English question's, where the collection has them


@dataclass(frozen=True, slots=True)
class SearchSpec:
    """How to search: one vector kind, or both fused (weighted DBSF here, else in Qdrant)."""

    mode: Literal["dense", "sparse", "hybrid"] = "hybrid"
    fusion: Literal["rrf", "dbsf"] = "rrf"
    rrf_k: int = 60
    weights: tuple[float, float] | None = None  # (dense, sparse), for RRF or DBSF
    english_weight: float = 1.0  # the English vector's, when a query has one (hybrid only)
    prefetch: int = 50
    with_dense: bool = False  # return each hit's dense vector (to score relevance)

    def __post_init__(self) -> None:
        if self.mode not in ("dense", "sparse", "hybrid"):
            raise ValueError(f"search mode {self.mode!r}: use dense, sparse or hybrid")
        if self.fusion not in ("rrf", "dbsf"):
            raise ValueError(f"fusion {self.fusion!r}: use rrf or dbsf")
        if self.weights is not None and (len(self.weights) != 2 or min(self.weights) < 0):
            raise ValueError(f"fusion weights {self.weights}: use two numbers >= 0 (dense, sparse)")
        if self.english_weight < 0:
            raise ValueError(f"English vector weight {self.english_weight}: use a number >= 0")
        if self.rrf_k < 1 or self.prefetch < 1:
            raise ValueError(f"rrf_k {self.rrf_k} and prefetch {self.prefetch} must be >= 1")


@dataclass(slots=True)
class Hit:
    id: str
    score: float
    payload: dict[str, Any]
    dense: np.ndarray | None = None


def _hit(point: Any) -> Hit:
    vector = point.vector
    dense = None
    if isinstance(vector, dict) and DENSE in vector:
        dense = np.asarray(vector[DENSE], dtype=np.float32)
    return Hit(str(point.id), float(point.score), dict(point.payload or {}), dense)


def _weighted_kinds(vectors: dict[str, Any], spec: SearchSpec) -> list[tuple[str, float]]:
    """Each vector kind of a query with its fusion weight, in `vectors`' order."""
    dense, sparse = spec.weights or (1.0, 1.0)
    weights = {DENSE: dense, SPARSE: sparse, ENGLISH: spec.english_weight}
    return [(kind, weights[kind]) for kind in vectors]


def fusion_weights(vectors: dict[str, Any], spec: SearchSpec) -> list[float] | None:
    """Qdrant's RRF weights for the prefetches of `vectors` (None: all equal)."""
    weights = [weight for _, weight in _weighted_kinds(vectors, spec)]
    return None if all(w == 1.0 for w in weights) else weights


def _dbsf_normalised(scores: Sequence[float]) -> list[float]:
    """Qdrant's DBSF normalisation: mean +/- 3 standard deviations mapped to 0..1."""
    values = np.asarray(scores, dtype=np.float64)
    spread = 6 * float(values.std()) if len(values) else 0.0
    if spread == 0.0:
        return [0.5] * len(values)
    low = float(values.mean()) - spread / 2
    return [float(v) for v in (values - low) / spread]


def visible_to(models: ModuleType, groups: Sequence[str]) -> Any:
    """The ACL condition: documents for everyone, or for one of the caller's groups."""
    allowed = sorted({*groups, EVERYONE})
    return models.Filter(
        must=[models.FieldCondition(key=Payload.ACL, match=models.MatchAny(any=allowed))]
    )


def file_points(models: ModuleType, source: str, except_hash: str | None = None) -> Any:
    """Points of one source file, optionally sparing one version of it."""
    must = [models.FieldCondition(key=Payload.SOURCE, match=models.MatchValue(value=source))]
    must_not = None
    if except_hash is not None:
        must_not = [
            models.FieldCondition(key=Payload.FILE_HASH, match=models.MatchValue(value=except_hash))
        ]
    return models.Filter(must=must, must_not=must_not)


class VectorStore(ABC):
    """One collection. Methods take plain types; each engine maps them to its own.

    The search, counts and payload listings are done here, once; an engine implements the
    calls whose syntax differs (the `_` methods) and its collection life cycle."""

    collection: str
    location: str  # where the collection lives: a folder or a URL (keys local state)
    _models: ModuleType  # qdrant_edge, or qdrant_client.models: the same names for both

    @abstractmethod
    def exists(self) -> bool: ...

    @abstractmethod
    def meta(self) -> dict[str, Any]: ...

    @abstractmethod
    def update_meta(self, values: dict[str, Any]) -> None: ...

    @abstractmethod
    def _create(self, embedder: EmbedderInfo, english: EmbedderInfo | None) -> None: ...

    def ensure_schema(self, embedder: EmbedderInfo, english: EmbedderInfo | None = None) -> bool:
        """Create the collection if absent (True), or check it fits these embedders (the
        English one: see rag_core.embedding.english)."""
        if self.exists():
            check_compatible(self.collection, self.meta(), embedder)
            check_english(self.collection, self.meta(), english)
            return False
        self._create(embedder, english)
        return True

    @abstractmethod
    def collections(self) -> list[str]:
        """The collections at this store's location, by the names users know."""

    @abstractmethod
    def upsert(self, points: Sequence[StoredPoint]) -> None: ...

    @abstractmethod
    def delete_file(self, source: str, except_hash: str | None = None) -> None: ...

    @abstractmethod
    def set_acl(self, source: str, acl: list[str]) -> None: ...

    # -- searching: one implementation for both engines ------------------------------------

    def search(
        self,
        query: QueryVectors,
        limit: int,
        groups: Sequence[str],
        spec: SearchSpec = SearchSpec(),
    ) -> list[Hit]:
        """Top `limit` points the groups may see (the ACL filter is inside every stage).

        Weighted DBSF, which Qdrant's Fusion.Dbsf lacks, is fused here from one search per
        vector kind; RRF (weighted or not) and plain DBSF are fused inside Qdrant. A query
        with an English vector searches it too in hybrid mode, at `spec.english_weight`."""
        if limit < 1:
            raise ValueError(f"a search returns at least one point, not {limit}")
        acl = visible_to(self._models, groups)
        vectors = self._vectors(query)
        if spec.mode != "hybrid":
            kind = DENSE if spec.mode == "dense" else SPARSE
            return [_hit(p) for p in self._query(vectors[kind], kind, limit, acl, spec.with_dense)]
        if spec.fusion == "dbsf" and fusion_weights(vectors, spec) is not None:
            return self._weighted_dbsf(vectors, limit, acl, spec)
        return [_hit(p) for p in self._fused(vectors, limit, acl, spec)]

    def _weighted_dbsf(
        self, vectors: dict[str, Any], limit: int, acl: Any, spec: SearchSpec
    ) -> list[Hit]:
        """One search per vector kind, each score normalised as Qdrant's DBSF does, then
        summed with the weights."""
        depth = max(spec.prefetch, limit)
        fused: dict[str, float] = {}
        hits: dict[str, Hit] = {}
        for kind, weight in _weighted_kinds(vectors, spec):
            if weight <= 0:
                continue
            found = [_hit(p) for p in self._query(vectors[kind], kind, depth, acl, spec.with_dense)]
            for hit, score in zip(found, _dbsf_normalised([h.score for h in found]), strict=True):
                fused[hit.id] = fused.get(hit.id, 0.0) + weight * score
                hits.setdefault(hit.id, hit)
        ranked = sorted(fused, key=lambda point: -fused[point])[:limit]
        return [replace(hits[point], score=fused[point]) for point in ranked]

    def _vectors(self, item: QueryVectors | StoredPoint) -> dict[str, Any]:
        """The named vectors in the engine's types (a query's, or a point's to upsert)."""
        sparse = self._models.SparseVector(indices=item.sparse.indices, values=item.sparse.values)
        vectors: dict[str, Any] = {DENSE: item.dense.tolist(), SPARSE: sparse}
        if item.english is not None:
            vectors[ENGLISH] = item.english.tolist()
        return vectors

    @abstractmethod
    def _query(self, vector: Any, using: str, limit: int, acl: Any, with_dense: bool) -> list[Any]:
        """The `limit` points nearest to one vector of kind `using` among those `acl` lets
        through: scored points (id, score, payload, and the dense vector if asked)."""

    @abstractmethod
    def _fused(self, vectors: dict[str, Any], limit: int, acl: Any, spec: SearchSpec) -> list[Any]:
        """All kinds fused inside Qdrant's query API (RRF with spec's k and the weights of
        `fusion_weights`, in `vectors`' order, or plain DBSF), from prefetches of
        max(spec.prefetch, limit); `acl` in every stage."""

    # -- counting and listing ---------------------------------------------------------------

    def count(self, source: str | None = None) -> int:
        return self._count(self._of_file(source)) if self.exists() else 0

    def per_source(self) -> dict[str, int]:
        if not self.exists():
            return {}
        # the facet index can keep a value with count 0 after its points are deleted
        return {source: count for source, count in self._source_counts() if count}

    def payloads(self, source: str | None = None) -> list[dict[str, Any]]:
        """Every stored payload (of one file), for inspection: status pages and tests."""
        if not self.exists():
            return []
        scroll_filter = self._of_file(source)
        found: list[dict[str, Any]] = []
        offset = None
        while True:
            records, offset = self._scroll(scroll_filter, offset)
            found.extend(dict(r.payload or {}) for r in records)
            if offset is None:
                return found

    def visible_payload(self, point_id: str, groups: Sequence[str]) -> dict[str, Any] | None:
        """One point's payload, if the caller's groups may see it; None when it does not
        exist or is not theirs (a caller cannot tell the two apart). `point_id`: a UUID."""
        if not self.exists():
            return None
        q = self._models
        acl = visible_to(q, groups)
        try:  # qdrant-client's model takes a list by name, qdrant-edge's a set
            by_id = q.HasIdCondition(has_id=[point_id])
        except TypeError:
            by_id = q.HasIdCondition({point_id})
        points = q.Filter(must=[by_id, *acl.must])
        records, _ = self._scroll(points, None)
        return dict(records[0].payload or {}) if records else None

    def _of_file(self, source: str | None) -> Any:
        return file_points(self._models, source) if source is not None else None

    @abstractmethod
    def _count(self, points: Any) -> int:
        """Exact count of the points the filter selects (None: all)."""

    @abstractmethod
    def _source_counts(self) -> list[tuple[str, int]]:
        """(source, points) for every value of the source field."""

    @abstractmethod
    def _scroll(self, points: Any, offset: Any) -> tuple[list[Any], Any]:
        """One page of the records the filter selects, and the next page's offset (None:
        the last page)."""

    # -- life cycle -------------------------------------------------------------------------

    def optimize(self) -> None:  # noqa: B027 - optional hook, most engines need nothing
        """Build indexes after a bulk write, where the engine needs to be told."""

    @property
    def state_key(self) -> str:
        """Names this physical collection (a generation) for local state such as the
        manifest: after a rebuild's switch, the new one starts with its own."""
        return self.collection

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Stay on one generation for a whole ingest run (no switch half-way)."""
        yield

    def publish(self) -> str | None:
        """Make a staged collection (from open_staging) the live one, atomically; returns
        the previous one's state key."""
        raise NotImplementedError

    def discard(self) -> None:
        """Throw away a staged collection that was not published."""
        raise NotImplementedError

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> VectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def store_location(settings: Settings) -> str:
    """Where the store `settings` point at lives, as an open store's `location` says: the
    server's URL, or the embedded engine's folder."""
    return settings.store.location


def iter_batches(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

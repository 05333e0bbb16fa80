"""The Qdrant collection: schema, writes, deletes and searches, for two engines.

- `EdgeStore`: the Qdrant engine in-process (qdrant-edge), the embedded default. Chosen by
  measurement over qdrant-client's local mode (which commits every point to SQLite and
  searches by brute force): see benchmarks/store_bench.py.
- `ClientStore`: qdrant-client, i.e. a Qdrant server by URL (or qdrant-client's own local
  mode, which tests use to exercise this code path without a server).

Both build the same filters from the same payload keys: qdrant-edge mirrors the names of
qdrant-client's models, so one function builds a filter for either, given the module.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import numpy as np

from rag_core.settings import Settings
from rag_core.sparse import SparseVec
from rag_core.types import (
    EVERYONE,
    ConfigurationError,
    EmbedderInfo,
    Payload,
    StoreUnavailable,
    StoreUnreachable,
)

DENSE = "dense"
SPARSE = "bm25"
SCHEMA_VERSION = 2  # 2: vectors of title + breadcrumb + passage (meta "embed_headers")


@dataclass(slots=True)
class StoredPoint:
    id: str
    dense: np.ndarray
    sparse: SparseVec
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class QueryVectors:
    dense: np.ndarray
    sparse: SparseVec


@dataclass(frozen=True, slots=True)
class SearchSpec:
    """How to search: one vector kind, or both fused inside Qdrant's query API."""

    mode: Literal["dense", "sparse", "hybrid"] = "hybrid"
    fusion: Literal["rrf", "dbsf"] = "rrf"
    rrf_k: int = 60
    weights: tuple[float, float] | None = None  # (dense, sparse), for RRF or DBSF
    prefetch: int = 50
    with_dense: bool = False  # return each hit's dense vector (to score relevance)


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


def _dbsf_normalised(scores: Sequence[float]) -> list[float]:
    """Qdrant's DBSF normalisation: mean +/- 3 standard deviations mapped to 0..1."""
    values = np.asarray(scores, dtype=np.float64)
    spread = 6 * float(values.std()) if len(values) else 0.0
    if spread == 0.0:
        return [0.5] * len(values)
    low = float(values.mean()) - spread / 2
    return [float(v) for v in (values - low) / spread]


def weighted_dbsf(
    store: VectorStore, query: QueryVectors, limit: int, groups: Sequence[str], spec: SearchSpec
) -> list[Hit]:
    """Hybrid search with DBSF weights, which Qdrant's Fusion.Dbsf lacks: one search per
    vector kind (each ACL-filtered), then normalised scores summed with the weights."""
    weights = spec.weights or (1.0, 1.0)
    depth = max(spec.prefetch, limit)
    fused: dict[str, float] = {}
    hits: dict[str, Hit] = {}
    for mode, weight in (("dense", weights[0]), ("sparse", weights[1])):
        if weight <= 0:
            continue
        found = store.search(query, depth, groups, replace(spec, mode=mode))
        for hit, score in zip(found, _dbsf_normalised([h.score for h in found]), strict=True):
            fused[hit.id] = fused.get(hit.id, 0.0) + weight * score
            hits.setdefault(hit.id, hit)
    ranked = sorted(fused, key=lambda point: -fused[point])[:limit]
    return [replace(hits[point], score=fused[point]) for point in ranked]


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


def collection_meta(embedder: EmbedderInfo) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "embedder": embedder.name,
        "dim": embedder.dim,
        "max_tokens": embedder.max_tokens,
        "sparse": SPARSE,
    }


def check_compatible(collection: str, meta: dict[str, Any], embedder: EmbedderInfo) -> None:
    """Refuse to mix vectors of two models (or two schemas) in one collection."""
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise ConfigurationError(
            f"collection {collection!r} was built by another ragdesk version (schema "
            f"{meta.get('schema_version')}, expected {SCHEMA_VERSION}): re-index it with "
            "`ingest DIR --rebuild`, or ingest into a new --collection"
        )
    if meta.get("embedder") != embedder.name or meta.get("dim") != embedder.dim:
        raise ConfigurationError(
            f"collection {collection!r} holds vectors of embedder {meta.get('embedder')!r} "
            f"({meta.get('dim')}-d), not {embedder.name!r} ({embedder.dim}-d): use the same "
            "embedder, re-index with `ingest DIR --rebuild`, or use another --collection"
        )


class VectorStore(ABC):
    """One collection. Methods take plain types; each engine maps them to its own."""

    collection: str
    location: str  # where the collection lives: a folder or a URL (keys local state)

    @abstractmethod
    def exists(self) -> bool: ...

    @abstractmethod
    def meta(self) -> dict[str, Any]: ...

    @abstractmethod
    def update_meta(self, values: dict[str, Any]) -> None: ...

    @abstractmethod
    def _create(self, embedder: EmbedderInfo) -> None: ...

    def ensure_schema(self, embedder: EmbedderInfo) -> bool:
        """Create the collection if absent (True), or check it fits this embedder."""
        if self.exists():
            check_compatible(self.collection, self.meta(), embedder)
            return False
        self._create(embedder)
        return True

    @abstractmethod
    def drop(self) -> None:
        """Delete the collection's points and schema (`ingest --rebuild`); files are untouched."""

    @abstractmethod
    def upsert(self, points: Sequence[StoredPoint]) -> None: ...

    @abstractmethod
    def delete_file(self, source: str, except_hash: str | None = None) -> None: ...

    @abstractmethod
    def set_acl(self, source: str, acl: list[str]) -> None: ...

    @abstractmethod
    def count(self, source: str | None = None) -> int: ...

    @abstractmethod
    def per_source(self) -> dict[str, int]: ...

    @abstractmethod
    def search(
        self,
        query: QueryVectors,
        limit: int,
        groups: Sequence[str],
        spec: SearchSpec = SearchSpec(),
    ) -> list[Hit]:
        """Top `limit` points the groups may see (the ACL filter is inside every stage)."""

    @abstractmethod
    def payloads(self, source: str | None = None) -> list[dict[str, Any]]:
        """Every stored payload (of one file), for inspection: status pages and tests."""

    def optimize(self) -> None:  # noqa: B027 - optional hook, most engines need nothing
        """Build indexes after a bulk write, where the engine needs to be told."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> VectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Serialized:
    """Calls into one object, one at a time: the chat app shares a shard between sessions
    (threads), and an upload may write while another session searches."""

    def __init__(self, target: Any) -> None:
        self._target = target
        self._lock = threading.RLock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attribute(*args, **kwargs)

        return call


class EdgeStore(VectorStore):
    """qdrant-edge shard at <root>/<collection>/shard, meta in <root>/<collection>/ragdesk.json.

    One process writes a shard at a time: an exclusive lock file says so plainly rather than
    letting two writers corrupt it.
    """

    def __init__(self, root: Path, collection: str) -> None:
        import qdrant_edge

        self._q = qdrant_edge
        self.collection = collection
        self.location = str(root.resolve())
        self._dir = root / collection
        self._shard_dir = self._dir / "shard"
        self._meta_file = self._dir / "ragdesk.json"
        self._dir.mkdir(parents=True, exist_ok=True)
        self._lock = open(self._dir / ".lock", "a+")  # noqa: SIM115 - held for the store's life
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock.close()
            raise StoreUnavailable(
                f"collection {collection!r} at {self._dir} is open in another ragdesk process "
                "(an ingest run, or the chat app, which keeps it open): wait for the ingest to "
                "finish, or add documents through the app's upload while it runs; several "
                "processes at once need a Qdrant server (RAGDESK_QDRANT_URL)"
            ) from exc
        self._shard: Any = None
        if self._meta_file.is_file() and self._shard_dir.is_dir():
            self._shard = _Serialized(qdrant_edge.EdgeShard.load(str(self._shard_dir)))

    def exists(self) -> bool:
        return self._shard is not None

    def meta(self) -> dict[str, Any]:
        return json.loads(self._meta_file.read_text()) if self._meta_file.is_file() else {}

    def update_meta(self, values: dict[str, Any]) -> None:
        meta = {**self.meta(), **values}
        tmp = self._meta_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta, indent=2))
        os.replace(tmp, self._meta_file)

    def _create(self, embedder: EmbedderInfo) -> None:
        q = self._q
        if self._shard_dir.exists():  # leftovers of a creation that crashed before the meta
            import shutil

            shutil.rmtree(self._shard_dir)
        config = q.EdgeConfig(
            vectors={DENSE: q.EdgeVectorParams(size=embedder.dim, distance=q.Distance.Cosine)},
            sparse_vectors={SPARSE: q.EdgeSparseVectorParams(modifier=q.Modifier.Idf)},
        )
        shard = q.EdgeShard.create(str(self._shard_dir), config)
        for field in Payload.INDEXED:
            shard.update(q.UpdateOperation.create_field_index(field, q.PayloadSchemaType.Keyword))
        shard.flush()
        self._shard = _Serialized(shard)
        self.update_meta(collection_meta(embedder))  # written last: it marks the shard complete

    def _require(self) -> Any:
        if self._shard is None:
            raise StoreUnavailable(f"collection {self.collection!r} does not exist yet")
        return self._shard

    def drop(self) -> None:
        import shutil

        if self._shard is not None:
            self._shard.close()
            self._shard = None
        self._meta_file.unlink(missing_ok=True)  # first: a half-dropped shard reads as absent
        shutil.rmtree(self._shard_dir, ignore_errors=True)

    def upsert(self, points: Sequence[StoredPoint]) -> None:
        q = self._q
        shard = self._require()
        batch = [
            q.Point(
                p.id,
                {
                    DENSE: p.dense.tolist(),
                    SPARSE: q.SparseVector(indices=p.sparse.indices, values=p.sparse.values),
                },
                p.payload,
            )
            for p in points
        ]
        if batch:
            shard.update(q.UpdateOperation.upsert_points(batch))

    def delete_file(self, source: str, except_hash: str | None = None) -> None:
        q = self._q
        shard = self._require()
        shard.update(q.UpdateOperation.delete_points_by_filter(file_points(q, source, except_hash)))

    def set_acl(self, source: str, acl: list[str]) -> None:
        q = self._q
        shard = self._require()
        shard.update(
            q.UpdateOperation.set_payload_by_filter(file_points(q, source), {Payload.ACL: acl})
        )

    def count(self, source: str | None = None) -> int:
        if self._shard is None:
            return 0
        flt = file_points(self._q, source) if source is not None else None
        return int(self._shard.count(self._q.CountRequest(exact=True, filter=flt)))

    def per_source(self) -> dict[str, int]:
        if self._shard is None:
            return {}
        response = self._shard.facet(
            self._q.FacetRequest(key=Payload.SOURCE, limit=1_000_000, exact=True)
        )
        # the facet index can keep a value with count 0 after its points are deleted
        return {str(hit.value): int(hit.count) for hit in response if hit.count}

    def search(
        self,
        query: QueryVectors,
        limit: int,
        groups: Sequence[str],
        spec: SearchSpec = SearchSpec(),
    ) -> list[Hit]:
        if spec.mode == "hybrid" and spec.fusion == "dbsf" and spec.weights is not None:
            return weighted_dbsf(self, query, limit, groups, spec)
        q = self._q
        shard = self._require()
        acl = visible_to(q, groups)
        dense = q.Query.Nearest(query.dense.tolist(), using=DENSE)
        sparse = q.Query.Nearest(
            q.SparseVector(indices=query.sparse.indices, values=query.sparse.values), using=SPARSE
        )
        vectors = [DENSE] if spec.with_dense else False
        if spec.mode == "dense":
            request = q.QueryRequest(
                limit=limit, query=dense, filter=acl, with_payload=True, with_vector=vectors
            )
        elif spec.mode == "sparse":
            request = q.QueryRequest(
                limit=limit, query=sparse, filter=acl, with_payload=True, with_vector=vectors
            )
        else:
            depth = max(spec.prefetch, limit)
            fusion = (
                q.Fusion.Dbsf()
                if spec.fusion == "dbsf"
                else q.Fusion.Rrf(
                    k=spec.rrf_k, weights=list(spec.weights) if spec.weights else None
                )
            )
            request = q.QueryRequest(
                limit=limit,
                prefetches=[
                    q.Prefetch(limit=depth, query=dense, filter=acl),
                    q.Prefetch(limit=depth, query=sparse, filter=acl),
                ],
                query=fusion,
                filter=acl,
                with_payload=True,
                with_vector=vectors,
            )
        return [_hit(p) for p in shard.query(request)]

    def payloads(self, source: str | None = None) -> list[dict[str, Any]]:
        if self._shard is None:
            return []
        q = self._q
        flt = file_points(q, source) if source is not None else None
        found: list[dict[str, Any]] = []
        offset = None
        while True:
            records, offset = self._shard.scroll(
                q.ScrollRequest(offset=offset, limit=1000, filter=flt, with_payload=True)
            )
            found.extend(dict(r.payload or {}) for r in records)
            if offset is None:
                return found

    def optimize(self) -> None:
        if self._shard is not None:
            self._shard.optimize()

    def close(self) -> None:
        if self._shard is not None:
            self._shard.flush()
            self._shard.close()
            self._shard = None
        if not self._lock.closed:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()


class ClientStore(VectorStore):
    """A collection on a Qdrant server (or in qdrant-client's local mode), via qdrant-client."""

    def __init__(self, client: Any, collection: str, location: str = "qdrant-client") -> None:
        from qdrant_client import models

        self._m = models
        self._client = client
        self.collection = collection
        self.location = location

    @classmethod
    def connect(cls, settings: Settings) -> ClientStore:
        from qdrant_client import QdrantClient

        client = QdrantClient(
            url=settings.qdrant_url,
            api_key=settings.qdrant_api_key,
            timeout=30,
            check_compatibility=False,  # reachability is checked below, with a clear message
        )
        try:
            client.get_collections()
        except Exception as exc:  # the client raises several transport types
            raise StoreUnreachable(
                f"cannot reach the Qdrant server at {settings.qdrant_url}: {exc}. "
                "Check RAGDESK_QDRANT_URL and that the server is running"
            ) from exc
        return cls(client, settings.collection, settings.qdrant_url or "")

    def exists(self) -> bool:
        return bool(self._client.collection_exists(self.collection))

    def meta(self) -> dict[str, Any]:
        if not self.exists():
            return {}
        return dict(self._client.get_collection(self.collection).config.metadata or {})

    def update_meta(self, values: dict[str, Any]) -> None:
        self._client.update_collection(self.collection, metadata=values)

    def _create(self, embedder: EmbedderInfo) -> None:
        m = self._m
        self._client.create_collection(
            self.collection,
            vectors_config={DENSE: m.VectorParams(size=embedder.dim, distance=m.Distance.COSINE)},
            sparse_vectors_config={SPARSE: m.SparseVectorParams(modifier=m.Modifier.IDF)},
            metadata=collection_meta(embedder),
        )
        with warnings.catch_warnings():  # qdrant-client's local mode warns that it ignores them
            warnings.simplefilter("ignore", UserWarning)
            for field in Payload.INDEXED:
                self._client.create_payload_index(
                    self.collection, field, field_schema=m.PayloadSchemaType.KEYWORD
                )

    def drop(self) -> None:
        if self.exists():
            self._client.delete_collection(self.collection)

    def upsert(self, points: Sequence[StoredPoint]) -> None:
        m = self._m
        structs = [
            m.PointStruct(
                id=p.id,
                vector={
                    DENSE: p.dense.tolist(),
                    SPARSE: m.SparseVector(indices=p.sparse.indices, values=p.sparse.values),
                },
                payload=p.payload,
            )
            for p in points
        ]
        if structs:
            self._client.upsert(self.collection, structs, wait=True)

    def delete_file(self, source: str, except_hash: str | None = None) -> None:
        selector = self._m.FilterSelector(filter=file_points(self._m, source, except_hash))
        self._client.delete(self.collection, points_selector=selector, wait=True)

    def set_acl(self, source: str, acl: list[str]) -> None:
        self._client.set_payload(
            self.collection, {Payload.ACL: acl}, points=file_points(self._m, source), wait=True
        )

    def count(self, source: str | None = None) -> int:
        if not self.exists():
            return 0
        flt = file_points(self._m, source) if source is not None else None
        return int(self._client.count(self.collection, count_filter=flt, exact=True).count)

    def per_source(self) -> dict[str, int]:
        if not self.exists():
            return {}
        response = self._client.facet(
            self.collection, key=Payload.SOURCE, limit=1_000_000, exact=True
        )
        return {str(hit.value): int(hit.count) for hit in response.hits}

    def search(
        self,
        query: QueryVectors,
        limit: int,
        groups: Sequence[str],
        spec: SearchSpec = SearchSpec(),
    ) -> list[Hit]:
        if spec.mode == "hybrid" and spec.fusion == "dbsf" and spec.weights is not None:
            return weighted_dbsf(self, query, limit, groups, spec)
        m = self._m
        acl = visible_to(m, groups)
        sparse = m.SparseVector(indices=query.sparse.indices, values=query.sparse.values)
        if spec.mode == "dense":
            kwargs: dict[str, Any] = {"query": query.dense.tolist(), "using": DENSE}
        elif spec.mode == "sparse":
            kwargs = {"query": sparse, "using": SPARSE}
        else:
            depth = max(spec.prefetch, limit)
            fusion = (
                m.FusionQuery(fusion=m.Fusion.DBSF)
                if spec.fusion == "dbsf"
                else m.RrfQuery(
                    rrf=m.Rrf(k=spec.rrf_k, weights=list(spec.weights) if spec.weights else None)
                )
            )
            kwargs = {
                "prefetch": [
                    m.Prefetch(query=query.dense.tolist(), using=DENSE, limit=depth, filter=acl),
                    m.Prefetch(query=sparse, using=SPARSE, limit=depth, filter=acl),
                ],
                "query": fusion,
            }
        response = self._client.query_points(
            self.collection,
            query_filter=acl,
            limit=limit,
            with_payload=True,
            with_vectors=[DENSE] if spec.with_dense else False,
            **kwargs,
        )
        return [_hit(p) for p in response.points]

    def payloads(self, source: str | None = None) -> list[dict[str, Any]]:
        if not self.exists():
            return []
        flt = file_points(self._m, source) if source is not None else None
        found: list[dict[str, Any]] = []
        offset = None
        while True:
            records, offset = self._client.scroll(
                self.collection, scroll_filter=flt, limit=1000, offset=offset, with_payload=True
            )
            found.extend(dict(r.payload or {}) for r in records)
            if offset is None:
                return found

    def close(self) -> None:
        self._client.close()


def list_collections(settings: Settings) -> list[str]:
    """Collections that exist where `settings` point: the server's, or the embedded folder's."""
    if settings.qdrant_url:
        store = ClientStore.connect(settings)
        try:
            return sorted(c.name for c in store._client.get_collections().collections)
        finally:
            store.close()
    root = settings.qdrant_dir
    if not root.is_dir():
        return []
    return sorted(
        d.name for d in root.iterdir() if (d / "ragdesk.json").is_file() and (d / "shard").is_dir()
    )


def open_store(settings: Settings) -> VectorStore:
    """The server when RAGDESK_QDRANT_URL is set, else the embedded engine."""
    if settings.qdrant_url:
        return ClientStore.connect(settings)
    return EdgeStore(settings.qdrant_dir, settings.collection)


def iter_batches(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

"""The Qdrant collection: schema, writes, deletes and searches, for two engines.

- `EdgeStore`: the Qdrant engine in-process (qdrant-edge), the embedded default. Chosen by
  measurement over qdrant-client's local mode (which commits every point to SQLite and
  searches by brute force): see benchmarks/store_bench.py.
- `ClientStore`: qdrant-client, i.e. a Qdrant server by URL (or qdrant-client's own local
  mode, which tests use to exercise this code path without a server).

`VectorStore` does what both share once: the search (ACL filter in every stage, weighted
DBSF, hits), counts and payload listings. An engine implements the few calls that differ
(`_query`, `_fused`, `_count`, ...). qdrant-edge mirrors the names of qdrant-client's models,
so one function builds a filter or a vector for either, given the module.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import IO, Any, Literal

import numpy as np

from rag_core.settings import Settings
from rag_core.sparse import SparseVec
from rag_core.types import (
    EVERYONE,
    Chunk,
    ConfigurationError,
    EmbedderInfo,
    Payload,
    RagdeskError,
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

    @classmethod
    def of(cls, chunk: Chunk, dense: np.ndarray, sparse: SparseVec) -> StoredPoint:
        """A chunk as stored: its id, its two vectors and its payload."""
        return cls(chunk.id, dense, sparse, chunk.payload())


@dataclass(frozen=True, slots=True)
class QueryVectors:
    dense: np.ndarray
    sparse: SparseVec


@dataclass(frozen=True, slots=True)
class SearchSpec:
    """How to search: one vector kind, or both fused (weighted DBSF here, else in Qdrant)."""

    mode: Literal["dense", "sparse", "hybrid"] = "hybrid"
    fusion: Literal["rrf", "dbsf"] = "rrf"
    rrf_k: int = 60
    weights: tuple[float, float] | None = None  # (dense, sparse), for RRF or DBSF
    prefetch: int = 50
    with_dense: bool = False  # return each hit's dense vector (to score relevance)

    def __post_init__(self) -> None:
        if self.mode not in ("dense", "sparse", "hybrid"):
            raise ValueError(f"search mode {self.mode!r}: use dense, sparse or hybrid")
        if self.fusion not in ("rrf", "dbsf"):
            raise ValueError(f"fusion {self.fusion!r}: use rrf or dbsf")
        if self.weights is not None and (len(self.weights) != 2 or min(self.weights) < 0):
            raise ValueError(f"fusion weights {self.weights}: use two numbers >= 0 (dense, sparse)")
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


def collection_meta(embedder: EmbedderInfo) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "embedder": embedder.name,
        "dim": embedder.dim,
        "max_tokens": embedder.max_tokens,
        "embed_backend": embedder.backend,
        "embed_build": embedder.build,
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
    built_with = meta.get("embed_backend") or "torch"  # collections older than backends
    if built_with != embedder.backend:
        raise ConfigurationError(
            f"collection {collection!r} was embedded with the {built_with} backend, not "
            f"{embedder.backend}: their vectors differ slightly, so a collection keeps one. "
            "Set RAGDESK_EMBED_BACKEND=auto (keeps it), or re-index with `ingest DIR "
            "--rebuild` (the chat keeps answering from the current index until it is done)"
        )
    # collections made before builds were recorded: torch's, or the first ONNX export's
    built = meta.get("embed_build") or (0 if built_with == "torch" else 1)
    if built != embedder.build:
        raise ConfigurationError(
            f"collection {collection!r} was embedded by export {built} of the {built_with} "
            f"backend, and this ragdesk makes export {embedder.build}: their vectors differ "
            "slightly, so a collection keeps one. Re-index with `ingest DIR --rebuild` (the "
            "chat keeps answering from the current index until it is done)"
        )


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
    def _create(self, embedder: EmbedderInfo) -> None: ...

    def ensure_schema(self, embedder: EmbedderInfo) -> bool:
        """Create the collection if absent (True), or check it fits this embedder."""
        if self.exists():
            check_compatible(self.collection, self.meta(), embedder)
            return False
        self._create(embedder)
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
        vector kind; RRF (weighted or not) and plain DBSF are fused inside Qdrant."""
        if limit < 1:
            raise ValueError(f"a search returns at least one point, not {limit}")
        acl = visible_to(self._models, groups)
        vectors = self._vectors(query)
        if spec.mode != "hybrid":
            kind = DENSE if spec.mode == "dense" else SPARSE
            return [_hit(p) for p in self._query(vectors[kind], kind, limit, acl, spec.with_dense)]
        if spec.fusion == "dbsf" and spec.weights is not None:
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
        for kind, weight in zip((DENSE, SPARSE), spec.weights or (1.0, 1.0), strict=True):
            if weight <= 0:
                continue
            found = [_hit(p) for p in self._query(vectors[kind], kind, depth, acl, spec.with_dense)]
            for hit, score in zip(found, _dbsf_normalised([h.score for h in found]), strict=True):
                fused[hit.id] = fused.get(hit.id, 0.0) + weight * score
                hits.setdefault(hit.id, hit)
        ranked = sorted(fused, key=lambda point: -fused[point])[:limit]
        return [replace(hits[point], score=fused[point]) for point in ranked]

    def _vectors(self, item: QueryVectors | StoredPoint) -> dict[str, Any]:
        """Both named vectors in the engine's types (a query's, or a point's to upsert)."""
        sparse = self._models.SparseVector(indices=item.sparse.indices, values=item.sparse.values)
        return {DENSE: item.dense.tolist(), SPARSE: sparse}

    @abstractmethod
    def _query(self, vector: Any, using: str, limit: int, acl: Any, with_dense: bool) -> list[Any]:
        """The `limit` points nearest to one vector of kind `using` among those `acl` lets
        through: scored points (id, score, payload, and the dense vector if asked)."""

    @abstractmethod
    def _fused(self, vectors: dict[str, Any], limit: int, acl: Any, spec: SearchSpec) -> list[Any]:
        """Both kinds fused inside Qdrant's query API (RRF with spec's k and weights, or
        plain DBSF), from prefetches of max(spec.prefetch, limit); `acl` in every stage."""

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


# An embedded generation's folder: its shard, and its meta (written last: marks it complete).
SHARD, META = "shard", "ragdesk.json"


def _complete(folder: Path) -> bool:
    return (folder / META).is_file() and (folder / SHARD).is_dir()


def _lock(path: Path) -> IO[str] | None:
    """An exclusive lock on a lock file (made if absent); None while another holds it."""
    handle = open(path, "a+")  # noqa: SIM115 - the caller holds it, then _unlock()s it
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _unlock(handle: IO[str] | None) -> None:
    if handle is not None and not handle.closed:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


class EdgeStore(VectorStore):
    """qdrant-edge shard of one collection, in generations under <root>/<collection>/.

    A generation is a folder with `shard/`, `ragdesk.json` (the meta) and `.lock`; the first
    one (and every collection made before generations) is the collection folder itself.
    `ingest --rebuild` builds a new generation beside the live one, then replaces the
    `current` pointer file atomically (os.replace). An open store follows the pointer before
    each call, so the chat answers from the old generation until the switch and from the new
    one after it; an old generation is deleted by the last process that lets go of it.

    One process writes a generation at a time: an exclusive lock file says so plainly rather
    than letting two writers corrupt it.
    """

    def __init__(self, root: Path, collection: str, generation: str | None = None) -> None:
        import qdrant_edge

        self._models = qdrant_edge
        self.collection = collection
        self.location = str(root.resolve())
        self._root = root
        self._home = root / collection
        self._home.mkdir(parents=True, exist_ok=True)
        self._pointer = self._home / "current"
        self._pinned = generation is not None  # a rebuild's new generation: never follows
        self._held = 0  # > 0 while a run must stay on one generation (see hold())
        self._guard = threading.RLock()
        self._rebuild_lock: IO[str] | None = None
        self._stamp = self._pointer_stamp()
        self._gen = generation if generation is not None else _current(self._home)
        self._lock, self._shard = self._attach(self._gen)
        if not self._pinned:
            self._follow()  # a switch between reading the pointer and locking: catch up
            self._sweep()

    @staticmethod
    def collections_in(root: Path) -> list[str]:
        """The embedded collections under `root`: folders with a complete live generation."""
        if not root.is_dir():
            return []
        return sorted(home.name for home in root.iterdir() if _live(home) is not None)

    def collections(self) -> list[str]:
        return self.collections_in(self._root)

    # -- generations -------------------------------------------------------------------

    def _gen_dir(self, gen: str) -> Path:
        return self._home / gen if gen else self._home

    @property
    def _dir(self) -> Path:
        return self._gen_dir(self._gen)

    @property
    def state_key(self) -> str:
        return f"{self.collection}@{self._gen}" if self._gen else self.collection

    def _pointer_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self._pointer.stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    def _attach(self, gen: str) -> tuple[IO[str], Any]:
        """Lock a generation and load its shard (None when it has none yet)."""
        folder = self._gen_dir(gen)
        folder.mkdir(parents=True, exist_ok=True)
        lock = _lock(folder / ".lock")  # held while attached
        if lock is None:
            raise StoreUnavailable(
                f"collection {self.collection!r} at {folder} is open in another ragdesk "
                "process (an ingest run, or the chat app, which keeps it open): wait for the "
                "ingest to finish, or add documents through the app's upload while it runs; "
                "several processes at once need a Qdrant server (RAGDESK_QDRANT_URL)"
            )
        shard = None
        if _complete(folder):
            shard = _Serialized(self._models.EdgeShard.load(str(folder / SHARD)))
        return lock, shard

    def _detach(self) -> None:
        if self._shard is not None:
            self._shard.flush()
            self._shard.close()
            self._shard = None
        _unlock(self._lock)

    def _follow(self) -> None:
        """Move to the generation the pointer names, if it changed since the last call."""
        if self._pinned or self._held:
            return
        stamp = self._pointer_stamp()
        if stamp == self._stamp:
            return
        with self._guard:
            gen = _current(self._home)
            if gen == self._gen:
                self._stamp = stamp
                return
            try:
                lock, shard = self._attach(gen)
            except StoreUnavailable:
                return  # its builder has not let go yet: try again on the next call
            old = self._gen
            self._detach()
            self._lock, self._shard, self._gen, self._stamp = lock, shard, gen, stamp
            self._retire(old)

    def _retire(self, gen: str) -> None:
        """Delete a generation that is no longer current, unless a process still has it."""
        folder = self._gen_dir(gen)
        try:
            lock = _lock(folder / ".lock")
        except OSError:
            return
        if lock is None:
            return  # still open elsewhere: that process retires it when it moves on
        try:
            if gen:
                shutil.rmtree(folder, ignore_errors=True)
            else:  # the collection folder itself: only the first generation's files
                (folder / META).unlink(missing_ok=True)
                shutil.rmtree(folder / SHARD, ignore_errors=True)
        finally:
            _unlock(lock)

    def _sweep(self) -> None:
        """Delete generations left behind (a crashed rebuild, a reader gone), unless a
        rebuild is running: its new generation is not current yet."""
        lock = _lock(self._home / ".rebuild.lock")
        if lock is None:
            return
        try:
            stale = [d.name for d in self._home.glob("gen-*") if d.name != self._gen]
            if self._gen and (self._home / SHARD).exists():
                stale.append("")
            for gen in stale:
                self._retire(gen)
        finally:
            _unlock(lock)

    @classmethod
    def staging(cls, root: Path, collection: str) -> EdgeStore:
        """A new, empty generation of the collection for `ingest --rebuild`; one at a time."""
        home = root / collection
        home.mkdir(parents=True, exist_ok=True)
        rebuild_lock = _lock(home / ".rebuild.lock")  # held until publish
        if rebuild_lock is None:
            raise StoreUnavailable(
                f"another `ingest --rebuild` of collection {collection!r} is running"
            )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        store = cls(root, collection, generation=f"gen-{stamp}-{os.getpid()}")
        store._rebuild_lock = rebuild_lock
        return store

    def publish(self) -> str | None:
        """Make this new generation the live one (atomic), then delete the previous one if
        nobody has it open. Returns the previous generation's state key."""
        if not self._pinned:
            raise RagdeskError("only a generation made by EdgeStore.staging can be published")
        with self._guard:
            self._detach()  # flushed and unlocked: readers may attach as soon as it is live
            previous = _current(self._home)
            tmp = self._pointer.with_suffix(".tmp")
            with open(tmp, "w") as handle:
                handle.write(self._gen)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self._pointer)
            _fsync_dir(self._home)
            if previous != self._gen:
                self._retire(previous)
            _unlock(self._rebuild_lock)
        return f"{self.collection}@{previous}" if previous else self.collection

    def discard(self) -> None:
        """Throw this unpublished generation away (a failed or stopped rebuild)."""
        with self._guard:
            self._detach()
            if self._pinned and self._gen:
                shutil.rmtree(self._dir, ignore_errors=True)
            _unlock(self._rebuild_lock)

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._guard:
            self._follow()
            self._held += 1
        try:
            yield
        finally:
            with self._guard:
                self._held -= 1

    # -- the collection ------------------------------------------------------------------

    def exists(self) -> bool:
        self._follow()
        return self._shard is not None

    def meta(self) -> dict[str, Any]:
        self._follow()
        meta_file = self._dir / META
        return json.loads(meta_file.read_text()) if meta_file.is_file() else {}

    def update_meta(self, values: dict[str, Any]) -> None:
        self._follow()
        meta = {**self.meta(), **values}
        tmp = (self._dir / META).with_suffix(".tmp")
        tmp.write_text(json.dumps(meta, indent=2))
        os.replace(tmp, self._dir / META)

    def _create(self, embedder: EmbedderInfo) -> None:
        q = self._models
        shard_dir = self._dir / SHARD
        if shard_dir.exists():  # leftovers of a creation that crashed before the meta
            shutil.rmtree(shard_dir)
        config = q.EdgeConfig(
            vectors={DENSE: q.EdgeVectorParams(size=embedder.dim, distance=q.Distance.Cosine)},
            sparse_vectors={SPARSE: q.EdgeSparseVectorParams(modifier=q.Modifier.Idf)},
        )
        shard = q.EdgeShard.create(str(shard_dir), config)
        for field in Payload.INDEXED:
            shard.update(q.UpdateOperation.create_field_index(field, q.PayloadSchemaType.Keyword))
        shard.flush()
        self._shard = _Serialized(shard)
        self.update_meta(collection_meta(embedder))  # written last: it marks the shard complete

    def _require(self) -> Any:
        if self._shard is None:
            raise StoreUnavailable(f"collection {self.collection!r} does not exist yet")
        return self._shard

    def _update(self, operation: Any) -> None:
        self._follow()
        self._require().update(operation)

    def upsert(self, points: Sequence[StoredPoint]) -> None:
        q = self._models
        self._follow()
        shard = self._require()
        if points:
            batch = [q.Point(p.id, self._vectors(p), p.payload) for p in points]
            shard.update(q.UpdateOperation.upsert_points(batch))

    def delete_file(self, source: str, except_hash: str | None = None) -> None:
        q = self._models
        self._update(q.UpdateOperation.delete_points_by_filter(file_points(q, source, except_hash)))

    def set_acl(self, source: str, acl: list[str]) -> None:
        q = self._models
        self._update(
            q.UpdateOperation.set_payload_by_filter(file_points(q, source), {Payload.ACL: acl})
        )

    def _count(self, points: Any) -> int:
        return int(self._require().count(self._models.CountRequest(exact=True, filter=points)))

    def _source_counts(self) -> list[tuple[str, int]]:
        request = self._models.FacetRequest(key=Payload.SOURCE, limit=1_000_000, exact=True)
        return [(str(hit.value), int(hit.count)) for hit in self._require().facet(request)]

    def _scroll(self, points: Any, offset: Any) -> tuple[list[Any], Any]:
        request = self._models.ScrollRequest(
            offset=offset, limit=1000, filter=points, with_payload=True
        )
        return self._require().scroll(request)

    def _query(self, vector: Any, using: str, limit: int, acl: Any, with_dense: bool) -> list[Any]:
        return self._run(self._models.Query.Nearest(vector, using=using), limit, acl, with_dense)

    def _fused(self, vectors: dict[str, Any], limit: int, acl: Any, spec: SearchSpec) -> list[Any]:
        q = self._models
        depth = max(spec.prefetch, limit)
        prefetches = [
            q.Prefetch(limit=depth, query=q.Query.Nearest(vector, using=kind), filter=acl)
            for kind, vector in vectors.items()
        ]
        if spec.fusion == "dbsf":
            fusion = q.Fusion.Dbsf()
        else:
            fusion = q.Fusion.Rrf(
                k=spec.rrf_k, weights=list(spec.weights) if spec.weights else None
            )
        return self._run(fusion, limit, acl, spec.with_dense, prefetches)

    def _run(
        self, query: Any, limit: int, acl: Any, with_dense: bool, prefetches: Any = None
    ) -> list[Any]:
        self._follow()
        request = self._models.QueryRequest(
            limit=limit,
            query=query,
            prefetches=prefetches,
            filter=acl,
            with_payload=True,
            with_vector=[DENSE] if with_dense else False,
        )
        return self._require().query(request)

    def optimize(self) -> None:
        self._follow()
        if self._shard is not None:
            self._shard.optimize()

    def close(self) -> None:
        with self._guard:
            self._detach()
            _unlock(self._rebuild_lock)


def _current(home: Path) -> str:
    """The live generation of an embedded collection, from its pointer ("": the folder)."""
    try:
        return (home / "current").read_text().strip()
    except FileNotFoundError:
        return ""


def _live(home: Path) -> Path | None:
    """The live generation folder of an embedded collection (None: not a collection)."""
    if home.name.startswith(".") or not home.is_dir():
        return None
    try:
        gen = _current(home)
    except OSError:
        gen = ""
    live = home / gen if gen else home
    return live if _complete(live) else None


class ClientStore(VectorStore):
    """A collection on a Qdrant server (or in qdrant-client's local mode), via qdrant-client.

    The name users know is an alias of a physical collection `<name>--gen-<time>`: requests
    go to the alias, which the server resolves on each one, and `ingest --rebuild` fills a
    new physical collection, then moves the alias in one `update_collection_aliases` call
    (atomic), then deletes the old one. Collections made before aliases are real ones under
    the name itself: their first rebuild must delete that before the alias can take the
    name, a gap of one request's length.
    """

    def __init__(
        self,
        client: Any,
        collection: str,
        location: str = "qdrant-client",
        physical: str | None = None,
    ) -> None:
        from qdrant_client import models

        self._models = models
        self._client = client
        self.collection = collection
        self.location = location
        self._staged = physical is not None  # a rebuild's new collection, not live yet
        self._owns_client = True  # False when it shares a live store's client
        self._name = physical or collection  # what requests name: the alias, or the new one

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
        return cls(client, settings.collection, store_location(settings))

    def _aliases(self) -> dict[str, str]:
        return {a.alias_name: a.collection_name for a in self._client.get_aliases().aliases}

    def collections(self) -> list[str]:
        """By the names users know: aliases, not the physical generations behind them."""
        names = {c.name for c in self._client.get_collections().collections}
        aliases = self._aliases()
        behind = set(aliases.values())
        return sorted(set(aliases) | {n for n in names - behind if "--gen-" not in n})

    def _physical(self) -> str | None:
        """The physical collection behind the name (None: nothing there yet)."""
        if self._staged:
            return self._name if self._client.collection_exists(self._name) else None
        target = self._aliases().get(self.collection)
        if target is not None:
            return target
        return self.collection if self._client.collection_exists(self.collection) else None

    @property
    def state_key(self) -> str:
        return self._physical() or self._name

    @classmethod
    def staging_of(cls, live: ClientStore) -> ClientStore:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        staged = cls(
            live._client, live.collection, live.location, f"{live.collection}--gen-{stamp}"
        )
        staged._owns_client = False
        return staged

    def exists(self) -> bool:
        return self._physical() is not None

    def meta(self) -> dict[str, Any]:
        physical = self._physical()  # collection-level calls name the collection, not an alias
        if physical is None:
            return {}
        return dict(self._client.get_collection(physical).config.metadata or {})

    def update_meta(self, values: dict[str, Any]) -> None:
        self._client.update_collection(self._physical() or self._name, metadata=values)

    @contextmanager
    def hold(self) -> Iterator[None]:
        live = self._name
        self._name = self._physical() or live  # a rebuild's alias switch won't move this run
        try:
            yield
        finally:
            self._name = live

    def _create(self, embedder: EmbedderInfo) -> None:
        m = self._models
        physical = self._name
        if not self._staged:  # a new name: a physical collection behind an alias from the start
            physical = f"{self.collection}--gen-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}"
        self._client.create_collection(
            physical,
            vectors_config={DENSE: m.VectorParams(size=embedder.dim, distance=m.Distance.COSINE)},
            sparse_vectors_config={SPARSE: m.SparseVectorParams(modifier=m.Modifier.IDF)},
            metadata=collection_meta(embedder),
        )
        with warnings.catch_warnings():  # qdrant-client's local mode warns that it ignores them
            warnings.simplefilter("ignore", UserWarning)
            for field in Payload.INDEXED:
                self._client.create_payload_index(
                    physical, field, field_schema=m.PayloadSchemaType.KEYWORD
                )
        if not self._staged:
            self._client.update_collection_aliases(
                change_aliases_operations=[self._alias_to(physical)]
            )

    def _alias_to(self, physical: str) -> Any:
        m = self._models
        return m.CreateAliasOperation(
            create_alias=m.CreateAlias(collection_name=physical, alias_name=self.collection)
        )

    def publish(self) -> str | None:
        """Point the alias at this new collection in one call, then delete the old one."""
        if not self._staged:
            raise RagdeskError("only a collection made by open_staging can be published")
        m = self._models
        old = self._aliases().get(self.collection)
        operations = [self._alias_to(self._name)]
        if old is not None:
            delete = m.DeleteAliasOperation(delete_alias=m.DeleteAlias(alias_name=self.collection))
            operations.insert(0, delete)
        elif self._client.collection_exists(self.collection):
            old = self.collection  # made before aliases: the name must be freed first
            self._client.delete_collection(old)
        self._client.update_collection_aliases(change_aliases_operations=operations)
        if old is not None and old != self.collection:
            self._client.delete_collection(old)
        self._staged, self._name = False, self.collection
        return old

    def discard(self) -> None:
        if self._staged and self._client.collection_exists(self._name):
            self._client.delete_collection(self._name)

    def upsert(self, points: Sequence[StoredPoint]) -> None:
        m = self._models
        structs = [
            m.PointStruct(id=p.id, vector=self._vectors(p), payload=p.payload) for p in points
        ]
        if structs:
            self._client.upsert(self._name, structs, wait=True)

    def delete_file(self, source: str, except_hash: str | None = None) -> None:
        selector = self._models.FilterSelector(
            filter=file_points(self._models, source, except_hash)
        )
        self._client.delete(self._name, points_selector=selector, wait=True)

    def set_acl(self, source: str, acl: list[str]) -> None:
        self._client.set_payload(
            self._name, {Payload.ACL: acl}, points=file_points(self._models, source), wait=True
        )

    def _count(self, points: Any) -> int:
        return int(self._client.count(self._name, count_filter=points, exact=True).count)

    def _source_counts(self) -> list[tuple[str, int]]:
        response = self._client.facet(self._name, key=Payload.SOURCE, limit=1_000_000, exact=True)
        return [(str(hit.value), int(hit.count)) for hit in response.hits]

    def _scroll(self, points: Any, offset: Any) -> tuple[list[Any], Any]:
        return self._client.scroll(
            self._name, scroll_filter=points, limit=1000, offset=offset, with_payload=True
        )

    def _query(self, vector: Any, using: str, limit: int, acl: Any, with_dense: bool) -> list[Any]:
        return self._points(limit, acl, with_dense, query=vector, using=using)

    def _fused(self, vectors: dict[str, Any], limit: int, acl: Any, spec: SearchSpec) -> list[Any]:
        m = self._models
        depth = max(spec.prefetch, limit)
        prefetch = [
            m.Prefetch(query=vector, using=kind, limit=depth, filter=acl)
            for kind, vector in vectors.items()
        ]
        if spec.fusion == "dbsf":
            fusion = m.FusionQuery(fusion=m.Fusion.DBSF)
        else:
            weights = list(spec.weights) if spec.weights else None
            fusion = m.RrfQuery(rrf=m.Rrf(k=spec.rrf_k, weights=weights))
        return self._points(limit, acl, spec.with_dense, query=fusion, prefetch=prefetch)

    def _points(self, limit: int, acl: Any, with_dense: bool, **query: Any) -> list[Any]:
        response = self._client.query_points(
            self._name,
            query_filter=acl,
            limit=limit,
            with_payload=True,
            with_vectors=[DENSE] if with_dense else False,
            **query,
        )
        return response.points

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


def store_location(settings: Settings) -> str:
    """Where the store `settings` point at lives, as an open store's `location` says: the
    server's URL, or the embedded engine's folder."""
    return settings.qdrant_url or str(settings.qdrant_dir.resolve())


def list_collections(settings: Settings) -> list[str]:
    """The collections where `settings` point, without opening one (another process may
    hold it): the server's, or the embedded folder's."""
    if settings.qdrant_url:
        with ClientStore.connect(settings) as store:
            return store.collections()
    return EdgeStore.collections_in(settings.qdrant_dir)


def open_store(settings: Settings) -> VectorStore:
    """The server when RAGDESK_QDRANT_URL is set, else the embedded engine."""
    if settings.qdrant_url:
        return ClientStore.connect(settings)
    return EdgeStore(settings.qdrant_dir, settings.collection)


def open_local(engine: Literal["edge", "client"], folder: Path, collection: str) -> VectorStore:
    """A collection in a folder on either engine: qdrant-edge, or qdrant-client's local mode
    (the server code path without a server), for tests and benchmarks."""
    if engine == "edge":
        return EdgeStore(folder, collection)
    from qdrant_client import QdrantClient

    return ClientStore(QdrantClient(path=str(folder)), collection, str(folder.resolve()))


def open_staging(settings: Settings) -> VectorStore:
    """A new, empty version of the collection for `ingest --rebuild`: filled while the live
    one keeps serving, then `publish()`ed in one atomic switch (or `discard()`ed)."""
    if settings.qdrant_url:
        staged = ClientStore.staging_of(ClientStore.connect(settings))
        staged._owns_client = True  # its own connection: closed with it
        return staged
    return EdgeStore.staging(settings.qdrant_dir, settings.collection)


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def iter_batches(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

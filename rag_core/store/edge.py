"""`EdgeStore`: the Qdrant engine in-process (qdrant-edge), the embedded default, in
generations so a rebuild switches atomically. Chosen by measurement over qdrant-client's
local mode (which commits every point to SQLite and searches by brute force): see
benchmarks/store_bench.py.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from rag_core.store.base import (
    SearchSpec,
    StoredPoint,
    VectorStore,
    file_points,
    fusion_weights,
)
from rag_core.store.schema import DENSE, ENGLISH, SPARSE, collection_meta
from rag_core.types import (
    EmbedderInfo,
    Payload,
    RagdeskError,
    StoreUnavailable,
)


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

    def _create(self, embedder: EmbedderInfo, english: EmbedderInfo | None) -> None:
        q = self._models
        shard_dir = self._dir / SHARD
        if shard_dir.exists():  # leftovers of a creation that crashed before the meta
            shutil.rmtree(shard_dir)
        vectors = {DENSE: q.EdgeVectorParams(size=embedder.dim, distance=q.Distance.Cosine)}
        if english is not None:
            vectors[ENGLISH] = q.EdgeVectorParams(size=english.dim, distance=q.Distance.Cosine)
        config = q.EdgeConfig(
            vectors=vectors,
            sparse_vectors={SPARSE: q.EdgeSparseVectorParams(modifier=q.Modifier.Idf)},
        )
        shard = q.EdgeShard.create(str(shard_dir), config)
        for field in Payload.INDEXED:
            shard.update(q.UpdateOperation.create_field_index(field, q.PayloadSchemaType.Keyword))
        shard.flush()
        self._shard = _Serialized(shard)
        # written last: it marks the shard complete
        self.update_meta(collection_meta(embedder, english))

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
            fusion = q.Fusion.Rrf(k=spec.rrf_k, weights=fusion_weights(vectors, spec))
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


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

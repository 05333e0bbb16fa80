"""`ClientStore`: qdrant-client, i.e. a Qdrant server by URL (or qdrant-client's own local
mode, which tests use to exercise this code path without a server).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from rag_core.settings import Settings
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
    StoreUnreachable,
)


def cluster_layout(settings: Settings) -> dict[str, int]:
    """How a new server collection spreads over a Qdrant cluster (create_collection's
    arguments): RAGDESK_QDRANT_SHARDS, _REPLICATION, _WRITE_CONSISTENCY."""
    return {
        "shard_number": settings.qdrant_shards,
        "replication_factor": settings.qdrant_replication,
        "write_consistency_factor": settings.qdrant_write_consistency,
    }


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
        owns_client: bool = True,  # False: it shares a live store's client, closed by that
        layout: dict[str, int] | None = None,
    ) -> None:
        from qdrant_client import models

        self._models = models
        self._client = client
        self.collection = collection
        self.location = location
        self._staged = physical is not None  # a rebuild's new collection, not live yet
        self._owns_client = owns_client
        self._name = physical or collection  # what requests name: the alias, or the new one
        self.layout = layout or {}  # shards and replicas of collections this store creates

    @classmethod
    def connect(cls, settings: Settings) -> ClientStore:
        from qdrant_client import QdrantClient

        where = settings.store
        client = QdrantClient(
            url=where.qdrant_url,
            api_key=where.qdrant_api_key,
            timeout=30,
            check_compatibility=False,  # reachability is checked below, with a clear message
        )
        try:
            client.get_collections()
        except Exception as exc:  # the client raises several transport types
            raise StoreUnreachable(
                f"cannot reach the Qdrant server at {where.qdrant_url}: {exc}. "
                "Check RAGDESK_QDRANT_URL and that the server is running"
            ) from exc
        return cls(client, where.collection, where.location, layout=cluster_layout(settings))

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
    def staging_of(cls, live: ClientStore, owns_client: bool = False) -> ClientStore:
        """A new physical collection behind `live`'s name, on its client (`owns_client`:
        closed with the staged one, for a connection made just for it)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        staged = cls(
            live._client,
            live.collection,
            live.location,
            f"{live.collection}--gen-{stamp}",
            owns_client=owns_client,
            layout=live.layout,
        )
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

    def _create(self, embedder: EmbedderInfo, english: EmbedderInfo | None) -> None:
        m = self._models
        physical = self._name
        if not self._staged:  # a new name: a physical collection behind an alias from the start
            physical = f"{self.collection}--gen-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}"
        vectors = {DENSE: m.VectorParams(size=embedder.dim, distance=m.Distance.COSINE)}
        if english is not None:
            vectors[ENGLISH] = m.VectorParams(size=english.dim, distance=m.Distance.COSINE)
        self._client.create_collection(
            physical,
            vectors_config=vectors,
            sparse_vectors_config={SPARSE: m.SparseVectorParams(modifier=m.Modifier.IDF)},
            metadata=collection_meta(embedder, english),
            **self.layout,
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
            fusion = m.RrfQuery(rrf=m.Rrf(k=spec.rrf_k, weights=fusion_weights(vectors, spec)))
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

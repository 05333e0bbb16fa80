"""Stored data outlives the code that wrote it: a collection made before rag_core was split
into rooms (its files and metadata keys spelled out here, as that code wrote them) opens,
searches and reports after it; the metadata keys themselves are pinned."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from rag_core.embedding.sparse import sparse_document, sparse_query
from rag_core.store.base import QueryVectors
from rag_core.store.client import ClientStore
from rag_core.store.edge import EdgeStore
from rag_core.store.schema import (
    CollectionMeta,
    MetaKey,
    check_embed_headers,
    collection_meta,
)
from rag_core.store.status import index_status
from rag_core.types import ConfigurationError, EmbedderInfo, point_id

INT8 = EmbedderInfo(name="test-embedder", dim=4, max_tokens=256, backend="onnx-int8", build=2)
TORCH = EmbedderInfo(name="test-embedder", dim=4, max_tokens=256)

# What `ingest` wrote into a collection before the move (ragdesk.json, or a server
# collection's metadata): the literal keys, not MetaKey's, so a rename cannot hide here.
OLD_META = {
    "schema_version": 2,
    "embedder": "test-embedder",
    "dim": 4,
    "max_tokens": 256,
    "embed_backend": "onnx-int8",
    "embed_build": 2,
    "sparse": "bm25",
    "embed_headers": True,
    "last_ingest": "2026-12-01T09:00:00+00:00",
    "root": "/srv/documents",
}
# ... and before embedder backends and builds were recorded (all torch then)
OLDEST_META = {
    key: value for key, value in OLD_META.items() if key not in ("embed_backend", "embed_build")
}

TEXT = "Kerberos tickets are renewed every ten hours."
DENSE = [0.5, 0.5, 0.5, 0.5]
PAYLOAD = {
    "text": TEXT,
    "source": "it/kerberos.md",
    "file_hash": "abc",
    "chunk_index": 0,
    "page": None,
    "section": "Tickets",
    "rows": None,
    "char_start": 0,
    "char_end": len(TEXT),
    "title": "Kerberos",
    "format": "md",
    "ingested_at": "2026-12-01T09:00:00+00:00",
    "acl": ["*"],
    "instruction_like": False,
}


def write_old_embedded_collection(root: Path, meta: dict[str, object]) -> None:
    """<root>/docs/shard + ragdesk.json, one point, as the embedded store laid them out."""
    import qdrant_edge as q

    home = root / "docs"
    config = q.EdgeConfig(
        vectors={"dense": q.EdgeVectorParams(size=4, distance=q.Distance.Cosine)},
        sparse_vectors={"bm25": q.EdgeSparseVectorParams(modifier=q.Modifier.Idf)},
    )
    shard = q.EdgeShard.create(str(home / "shard"), config)
    for field in ("source", "acl", "file_hash"):
        shard.update(q.UpdateOperation.create_field_index(field, q.PayloadSchemaType.Keyword))
    sparse = sparse_document(TEXT)
    vectors = {
        "dense": DENSE,
        "bm25": q.SparseVector(indices=sparse.indices, values=sparse.values),
    }
    point = q.Point(point_id("it/kerberos.md", "abc", 0), vectors, PAYLOAD)
    shard.update(q.UpdateOperation.upsert_points([point]))
    shard.flush()
    shard.close()
    (home / "ragdesk.json").write_text(json.dumps(meta, indent=2))


def write_old_server_collection(client: QdrantClient, meta: dict[str, object]) -> None:
    """A collection under its own name (no alias yet), metadata on the collection."""
    client.create_collection(
        "docs",
        vectors_config={"dense": models.VectorParams(size=4, distance=models.Distance.COSINE)},
        sparse_vectors_config={"bm25": models.SparseVectorParams(modifier=models.Modifier.IDF)},
        metadata=meta,
    )
    sparse = sparse_document(TEXT)
    vector = {
        "dense": DENSE,
        "bm25": models.SparseVector(indices=sparse.indices, values=sparse.values),
    }
    point = models.PointStruct(
        id=point_id("it/kerberos.md", "abc", 0), vector=vector, payload=PAYLOAD
    )
    client.upsert("docs", [point], wait=True)


def assert_it_opens_searches_and_reports(
    store: EdgeStore | ClientStore, info: EmbedderInfo
) -> None:
    assert store.ensure_schema(info) is False  # there, and compatible: nothing re-created
    check_embed_headers(store.collection, store.meta(), True)
    query = QueryVectors(np.asarray(DENSE, dtype=np.float32), sparse_query("kerberos renewal"))
    hits = store.search(query, 3, ["sales"])
    assert [hit.payload["source"] for hit in hits] == ["it/kerberos.md"]
    status = index_status(store)
    assert (status["files"], status["chunks"], status["embedder"]) == (1, 1, "test-embedder")
    assert status["embed_backend"] == info.backend
    assert CollectionMeta.of(store.meta()).root == "/srv/documents"


def test_an_embedded_collection_from_before_the_move_opens(tmp_path: Path) -> None:
    write_old_embedded_collection(tmp_path, OLD_META)
    with EdgeStore(tmp_path, "docs") as store:
        assert_it_opens_searches_and_reports(store, INT8)


def test_an_embedded_collection_from_before_backends_reads_as_torch(tmp_path: Path) -> None:
    write_old_embedded_collection(tmp_path, OLDEST_META)
    with EdgeStore(tmp_path, "docs") as store:
        assert_it_opens_searches_and_reports(store, TORCH)
        with pytest.raises(ConfigurationError, match="torch backend, not onnx-int8"):
            store.ensure_schema(INT8)


def test_a_server_collection_from_before_the_move_opens(tmp_path: Path) -> None:
    client = QdrantClient(path=str(tmp_path / "client"))
    write_old_server_collection(client, OLD_META)
    with ClientStore(client, "docs", str(tmp_path / "client")) as store:
        assert_it_opens_searches_and_reports(store, INT8)


def test_the_stored_metadata_keys_do_not_change() -> None:
    assert collection_meta(INT8) == {
        key: OLD_META[key]
        for key in ("schema_version", "embedder", "dim", "max_tokens", "embed_backend")
    } | {"embed_build": 2, "embed_weights": INT8.weights, "sparse": "bm25"}
    names = {value for key, value in vars(MetaKey).items() if key.isupper()}
    # keys are only ever added: the weights and BM25 languages came with the e5 embedder,
    # the English embedder with the English vectors
    assert names == set(OLD_META) | {"embed_weights", "sparse_languages", "english_embedder"}

"""Both Qdrant engines behind VectorStore: the embedded one and the qdrant-client path."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np
import pytest
from qdrant_client import QdrantClient

from rag_core.embedding.sparse import sparse_document, sparse_query
from rag_core.settings import Settings
from rag_core.store.base import QueryVectors, SearchSpec, StoredPoint, VectorStore, store_location
from rag_core.store.client import ClientStore
from rag_core.store.edge import EdgeStore
from rag_core.store.factory import list_collections, open_local
from rag_core.types import Chunk, ConfigurationError, EmbedderInfo, StoreUnavailable

INFO = EmbedderInfo(name="test-embedder", dim=4, max_tokens=256)


def _point(
    source: str, file_hash: str, index: int, vector: list[float], acl: list[str]
) -> StoredPoint:
    chunk = Chunk(
        text=f"{source} chunk {index} about kerberos tickets",
        source=source,
        file_hash=file_hash,
        chunk_index=index,
        char_start=0,
        char_end=10,
        title="t",
        format="txt",
        acl=acl,
    )
    dense = np.asarray(vector, dtype=np.float32)
    return StoredPoint.of(chunk, dense / np.linalg.norm(dense), sparse_document(chunk.text))


@pytest.fixture(params=["edge", "client"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    opened = open_local(request.param, tmp_path / "qdrant", "docs")
    yield opened
    opened.close()


def test_schema_is_created_once_and_remembers_the_embedder(store: VectorStore) -> None:
    assert not store.exists()
    assert store.ensure_schema(INFO) is True
    assert store.ensure_schema(INFO) is False
    meta = store.meta()
    assert meta["embedder"] == "test-embedder" and meta["dim"] == 4


def test_other_embedder_is_refused_with_a_clear_message(store: VectorStore) -> None:
    store.ensure_schema(INFO)
    other = EmbedderInfo(name="bigger-model", dim=768, max_tokens=512)
    with pytest.raises(ConfigurationError, match=r"test-embedder.*4-d.*bigger-model"):
        store.ensure_schema(other)


def test_delete_file_spares_the_current_version(store: VectorStore) -> None:
    store.ensure_schema(INFO)
    store.upsert([_point("a.txt", "old", i, [1, 0, 0, i], ["*"]) for i in range(3)])
    store.upsert([_point("a.txt", "new", i, [1, 0, 0, i], ["*"]) for i in range(2)])
    store.upsert([_point("b.txt", "h", 0, [0, 1, 0, 0], ["*"])])
    assert store.count("a.txt") == 5
    store.delete_file("a.txt", except_hash="new")
    assert store.count("a.txt") == 2
    assert store.per_source() == {"a.txt": 2, "b.txt": 1}
    store.delete_file("a.txt")
    assert store.per_source() == {"b.txt": 1}


def test_upsert_of_the_same_chunk_never_duplicates(store: VectorStore) -> None:
    store.ensure_schema(INFO)
    for _ in range(3):
        store.upsert([_point("a.txt", "h", i, [1, 0, 0, i], ["*"]) for i in range(4)])
    assert store.count() == 4


def test_search_only_returns_what_the_groups_may_see(store: VectorStore) -> None:
    store.ensure_schema(INFO)
    store.upsert(
        [
            _point("public.txt", "h", 0, [1, 0, 0, 0], ["*"]),
            _point("hr.txt", "h", 0, [1, 0.01, 0, 0], ["hr"]),
            _point("eng.txt", "h", 0, [1, 0.02, 0, 0], ["eng"]),
        ]
    )
    query = QueryVectors(np.asarray([1, 0, 0, 0], dtype=np.float32), sparse_query("kerberos"))

    def sources(groups: list[str]) -> set[str]:
        found = set()
        for mode in ("dense", "sparse", "hybrid"):
            hits = store.search(query, 10, groups, SearchSpec(mode=mode))
            found |= {h.payload["source"] for h in hits}
        return found

    assert sources(["*"]) == {"public.txt"}
    assert sources(["hr"]) == {"public.txt", "hr.txt"}
    assert sources(["eng", "hr"]) == {"public.txt", "hr.txt", "eng.txt"}
    store.set_acl("hr.txt", ["eng"])
    assert sources(["hr"]) == {"public.txt"}


def test_one_point_is_read_only_through_the_callers_groups(store: VectorStore) -> None:
    """A source id (a download link) gives its payload only to groups that may see it; a
    forbidden id and a missing one answer the same."""
    hr = _point("hr.txt", "h", 0, [1, 0.01, 0, 0], ["hr"])
    store.ensure_schema(INFO)
    store.upsert([_point("public.txt", "h", 0, [1, 0, 0, 0], ["*"]), hr])
    assert store.visible_payload(hr.id, ["hr"])["source"] == "hr.txt"
    assert store.visible_payload(hr.id, ["eng"]) is None
    assert store.visible_payload("00000000-0000-0000-0000-000000000000", ["hr"]) is None


def test_edge_store_survives_reopen(tmp_path: Path) -> None:
    with EdgeStore(tmp_path, "docs") as store:
        store.ensure_schema(INFO)
        store.upsert([_point("a.txt", "h", i, [1, 0, 0, i], ["*"]) for i in range(5)])
    with EdgeStore(tmp_path, "docs") as store:
        assert store.count() == 5
        assert store.ensure_schema(INFO) is False


def test_second_writer_gets_a_clear_error(tmp_path: Path) -> None:
    with (
        EdgeStore(tmp_path, "docs"),
        pytest.raises(StoreUnavailable, match="open in another ragdesk process"),
    ):
        EdgeStore(tmp_path, "docs")


@pytest.mark.parametrize("fusion", ["rrf", "dbsf"])
def test_fusion_weights_favour_the_weighted_search(
    store: VectorStore, fusion: Literal["rrf", "dbsf"]
) -> None:
    """A dense-only match and a term-only match: the weight decides which ranks first,
    the same way on both engines and with either fusion."""
    store.ensure_schema(INFO)
    dense_match = _point("dense.txt", "h", 0, [1, 0, 0, 0], ["*"])
    term_match = _point("terms.txt", "h", 0, [0, 1, 0, 0], ["*"])
    term_match = StoredPoint(
        term_match.id, term_match.dense, sparse_query("zebra"), term_match.payload
    )
    fillers = [_point(f"f{i}.txt", "h", 0, [1, 0.1, 0, 0.1 * i], ["*"]) for i in range(8)]
    store.upsert([dense_match, term_match, *fillers])
    query = QueryVectors(np.asarray([1, 0, 0, 0], dtype=np.float32), sparse_query("zebra"))

    def first(weights: tuple[float, float]) -> str:
        spec = SearchSpec(fusion=fusion, weights=weights, prefetch=3)
        hits = store.search(query, 2, ["*"], spec)
        return hits[0].payload["source"]

    assert first((3.0, 1.0)) == "dense.txt"
    assert first((1.0, 3.0)) == "terms.txt"


def test_weighted_dbsf_keeps_the_acl_filter(store: VectorStore) -> None:
    store.ensure_schema(INFO)
    store.upsert(
        [
            _point("public.txt", "h", 0, [0, 1, 0, 0], ["*"]),
            _point("secret.txt", "h", 0, [1, 0, 0, 0], ["hr"]),
        ]
    )
    query = QueryVectors(np.asarray([1, 0, 0, 0], dtype=np.float32), sparse_query("kerberos"))
    spec = SearchSpec(fusion="dbsf", weights=(1.0, 0.2))
    hits = store.search(query, 5, ["eng"], spec)
    assert [h.payload["source"] for h in hits] == ["public.txt"]
    assert {h.payload["source"] for h in store.search(query, 5, ["hr"], spec)} == {
        "public.txt",
        "secret.txt",
    }


def test_the_backend_is_part_of_the_embedder_identity(store: VectorStore) -> None:
    """int8 vectors are close to torch's but not the same: a collection keeps one backend."""
    store.ensure_schema(replace(INFO, backend="torch"))
    assert store.meta()["embed_backend"] == "torch"
    with pytest.raises(ConfigurationError, match=r"torch backend, not onnx-int8.*--rebuild"):
        store.ensure_schema(replace(INFO, backend="onnx-int8"))
    store.update_meta({"embed_backend": None})  # a collection from before backends existed
    assert store.ensure_schema(INFO) is False  # read as torch


def test_the_onnx_export_is_part_of_the_embedder_identity(store: VectorStore) -> None:
    """Two exports' int8 vectors differ as much as int8's and torch's: a collection filled
    by the first export (which recorded no build) is not written by this one's."""
    current = replace(INFO, backend="onnx-int8", build=2)
    store.ensure_schema(current)
    assert store.meta()["embed_build"] == 2
    assert store.ensure_schema(current) is False
    store.update_meta({"embed_build": None})  # as the first export left it
    with pytest.raises(ConfigurationError, match=r"export 1 of the onnx-int8.*export 2.*--rebuild"):
        store.ensure_schema(current)


def test_collections_are_listed_by_their_names_while_a_version_is_staged(
    store: VectorStore, tmp_path: Path
) -> None:
    assert store.collections() == []
    store.ensure_schema(INFO)
    staged = _staging(store, tmp_path)
    staged.ensure_schema(INFO)
    assert store.collections() == ["docs"]
    staged.publish()
    assert store.collections() == staged.collections() == ["docs"]
    staged.close()


def test_a_bad_search_is_refused_with_a_clear_message(store: VectorStore) -> None:
    store.ensure_schema(INFO)
    query = QueryVectors(np.asarray([1, 0, 0, 0], dtype=np.float32), sparse_query("kerberos"))
    with pytest.raises(ValueError, match="at least one point, not 0"):
        store.search(query, 0, ["*"])
    with pytest.raises(ValueError, match="search mode 'both'"):
        SearchSpec(mode="both")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"weights \(1.0, -1.0\)"):
        SearchSpec(weights=(1.0, -1.0))


def _staging(store: VectorStore, tmp_path: Path) -> VectorStore:
    if isinstance(store, EdgeStore):
        return EdgeStore.staging(tmp_path / "qdrant", "docs")
    assert isinstance(store, ClientStore)
    return ClientStore.staging_of(store)


def _sources(store: VectorStore) -> set[str]:
    query = QueryVectors(np.asarray([1, 0, 0, 0], dtype=np.float32), sparse_query("kerberos"))
    return {h.payload["source"] for h in store.search(query, 10, ["*"], SearchSpec(mode="dense"))}


def test_a_staged_version_replaces_the_live_one_in_one_switch(
    store: VectorStore, tmp_path: Path
) -> None:
    """What `ingest --rebuild` does: readers see the old version until publish, then the new."""
    store.ensure_schema(INFO)
    store.upsert([_point("old.txt", "h", 0, [1, 0, 0, 0], ["*"])])
    staged = _staging(store, tmp_path)
    staged.ensure_schema(replace(INFO, backend="onnx-int8"))  # a rebuild may change it
    staged.upsert([_point("new.txt", "h", i, [1, 0, 0, i], ["*"]) for i in range(2)])
    assert _sources(store) == {"old.txt"} and store.count() == 1
    assert staged.state_key != store.state_key  # its manifest is its own

    staged.publish()

    assert _sources(store) == {"new.txt"} and store.count() == 2
    assert store.meta()["embed_backend"] == "onnx-int8"
    assert store.state_key == staged.state_key
    staged.close()


def test_a_discarded_version_leaves_the_live_one_alone(store: VectorStore, tmp_path: Path) -> None:
    store.ensure_schema(INFO)
    store.upsert([_point("old.txt", "h", 0, [1, 0, 0, 0], ["*"])])
    staged = _staging(store, tmp_path)
    staged.ensure_schema(INFO)
    staged.upsert([_point("new.txt", "h", 0, [1, 0, 0, 0], ["*"])])
    staged.discard()
    staged.close()
    assert _sources(store) == {"old.txt"}
    if isinstance(store, EdgeStore):
        assert not list((tmp_path / "qdrant" / "docs").glob("gen-*"))


def test_edge_old_version_is_deleted_by_its_last_reader(tmp_path: Path) -> None:
    root = tmp_path / "qdrant"
    reader = EdgeStore(root, "docs")  # the chat: holds the first version open
    reader.ensure_schema(INFO)
    reader.upsert([_point("old.txt", "h", 0, [1, 0, 0, 0], ["*"])])
    staged = EdgeStore.staging(root, "docs")
    with pytest.raises(StoreUnavailable, match="another `ingest --rebuild`"):
        EdgeStore.staging(root, "docs")
    staged.ensure_schema(INFO)
    staged.upsert([_point("new.txt", "h", 0, [1, 0, 0, 0], ["*"])])
    staged.publish()
    assert (root / "docs" / "shard").is_dir()  # still in use by the reader
    assert _sources(reader) == {"new.txt"}  # the reader moved on, and let go of it
    assert not (root / "docs" / "shard").exists()
    assert len(list((root / "docs").glob("gen-*"))) == 1
    reader.close()
    with EdgeStore(root, "docs") as again:
        assert _sources(again) == {"new.txt"}
        settings = Settings(data_dir=tmp_path, qdrant_path=root)
        assert store_location(settings) == again.location
    assert list_collections(settings) == ["docs"]


def test_client_collection_made_before_aliases_gets_one_on_rebuild() -> None:
    """A real collection under the name (older ragdesk): its first rebuild frees the name
    and puts an alias there; later rebuilds only move the alias."""
    client = QdrantClient(":memory:")
    ClientStore(client, "docs", physical="docs").ensure_schema(INFO)  # a real collection
    reader = ClientStore(client, "docs")
    reader.upsert([_point("old.txt", "h", 0, [1, 0, 0, 0], ["*"])])
    assert reader.state_key == "docs"
    for name in ("first.txt", "second.txt"):
        staged = ClientStore.staging_of(reader)
        staged.ensure_schema(INFO)
        staged.upsert([_point(name, "h", 0, [1, 0, 0, 0], ["*"])])
        staged.publish()
        assert _sources(reader) == {name}
    names = {c.name for c in client.get_collections().collections}
    assert names == {reader.state_key}  # old versions deleted, only the live one is left
    assert reader.collections() == ["docs"]  # by the name users know, not the version
    assert {a.alias_name for a in client.get_aliases().aliases} == {"docs"}

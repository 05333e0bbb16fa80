"""A Qdrant cluster's layout settings reach create_collection.

What can be checked here honestly: there is no Qdrant server on these machines, and
qdrant-client's local mode accepts shard_number, replication_factor and
write_consistency_factor but ignores them. So the test records the arguments the real
ClientStore code passes to the real client (a recording wrapper, the call still goes
through) and that local mode then works as usual; the cluster itself spreading shards is
Qdrant's and is not exercised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from qdrant_client import QdrantClient

from rag_core.embedding.embedder import Embedder
from rag_core.settings import Settings
from rag_core.store.client import ClientStore, cluster_layout
from rag_core.types import ConfigurationError


def test_cluster_settings_become_create_collection_arguments(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGDESK_QDRANT_SHARDS", "6")
    monkeypatch.setenv("RAGDESK_QDRANT_REPLICATION", "2")
    monkeypatch.setenv("RAGDESK_QDRANT_WRITE_CONSISTENCY", "2")
    layout = cluster_layout(Settings())
    assert layout == {"shard_number": 6, "replication_factor": 2, "write_consistency_factor": 2}

    client = QdrantClient(path=str(tmp_path / "qc"))
    calls: list[dict[str, Any]] = []
    real_create = client.create_collection

    def recording_create(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real_create(*args, **kwargs)

    client.create_collection = recording_create  # type: ignore[method-assign]
    store = ClientStore(client, "documents", "local", layout=layout)
    try:
        assert store.ensure_schema(embedder.info)
        staged = ClientStore.staging_of(store)  # a rebuild's new collection: same layout
        staged.ensure_schema(embedder.info)
    finally:
        store.close()
    assert len(calls) == 2
    for kwargs in calls:
        assert {key: kwargs[key] for key in layout} == layout


def test_a_single_server_keeps_one_shard_and_one_copy() -> None:
    assert cluster_layout(Settings()) == {
        "shard_number": 1,
        "replication_factor": 1,
        "write_consistency_factor": 1,
    }


def test_more_confirmations_than_copies_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from rag_core.settings import load_settings

    with pytest.raises(ConfigurationError, match="write_consistency"):
        load_settings(qdrant_replication=2, qdrant_write_consistency=3)

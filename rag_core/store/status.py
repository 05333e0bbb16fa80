"""What is indexed: read from the collection itself, so any host with access can report it."""

from __future__ import annotations

from typing import Any

from rag_core.store.base import VectorStore


def index_status(store: VectorStore) -> dict[str, Any]:
    meta = store.meta()
    per_source = dict(sorted(store.per_source().items()))
    return {
        "collection": store.collection,
        "location": store.location,
        "files": len(per_source),
        "chunks": store.count(),
        "per_source": per_source,
        "embedder": meta.get("embedder"),
        "embed_backend": (meta.get("embed_backend") or "torch") if meta else None,
        "last_ingest": meta.get("last_ingest"),
    }

"""What is indexed: read from the collection itself, so any host with access can report it."""

from __future__ import annotations

from typing import Any

from rag_core.store.base import VectorStore
from rag_core.store.schema import CollectionMeta


def index_status(store: VectorStore) -> dict[str, Any]:
    stored = store.meta()
    meta = CollectionMeta.of(stored)
    per_source = dict(sorted(store.per_source().items()))
    return {
        "collection": store.collection,
        "location": store.location,
        "files": len(per_source),
        "chunks": store.count(),
        "per_source": per_source,
        "embedder": meta.embedder,
        "embed_backend": meta.backend if stored else None,
        # the English vectors' embedder (rag_core/embedding/english.py), None: none
        "english_embedder": (meta.english_embedder or {}).get("name"),
        "last_ingest": meta.last_ingest,
    }

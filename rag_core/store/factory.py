"""Which store the settings point at, opened: the server when RAGDESK_QDRANT_URL is set,
else the embedded engine; also a rebuild's staged collection and the list of collections.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from rag_core.settings import Settings
from rag_core.store.base import VectorStore
from rag_core.store.client import ClientStore
from rag_core.store.edge import EdgeStore


def list_collections(settings: Settings) -> list[str]:
    """The collections where `settings` point, without opening one (another process may
    hold it): the server's, or the embedded folder's."""
    if settings.store.qdrant_url:
        with ClientStore.connect(settings) as store:
            return store.collections()
    return EdgeStore.collections_in(settings.store.qdrant_dir)


def open_store(settings: Settings) -> VectorStore:
    """The server when RAGDESK_QDRANT_URL is set, else the embedded engine."""
    where = settings.store
    if where.qdrant_url:
        return ClientStore.connect(settings)
    return EdgeStore(where.qdrant_dir, where.collection)


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
    where = settings.store
    if where.qdrant_url:
        return ClientStore.staging_of(ClientStore.connect(settings), owns_client=True)
    return EdgeStore.staging(where.qdrant_dir, where.collection)

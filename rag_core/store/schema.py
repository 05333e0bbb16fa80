"""What a collection is made of and who may write into it: vector names, the schema
version, the metadata a collection records about its embedder, and every rule that refuses to
mix vectors of two embedders (or two schemas) in one collection.

The metadata keys are stored data: collections built by earlier versions must keep opening.
"""

from __future__ import annotations

from typing import Any

from rag_core.types import (
    ConfigurationError,
    EmbedderInfo,
)

DENSE = "dense"
SPARSE = "bm25"
SCHEMA_VERSION = 2  # 2: vectors of title + breadcrumb + passage (meta "embed_headers")


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


def check_embed_headers(collection: str, meta: dict[str, Any], embed_headers: bool) -> None:
    """One collection, one way of computing vectors: with or without the header line."""
    stored = meta.get("embed_headers")
    if stored != embed_headers:
        raise ConfigurationError(
            f"collection {collection!r} was built with RAGDESK_EMBED_HEADERS={stored}, "
            f"not {embed_headers}: use the same setting, or ingest into another --collection"
        )

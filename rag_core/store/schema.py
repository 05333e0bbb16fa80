"""What a collection is made of and who may write into it: vector names, the schema
version, the metadata a collection records about its embedder, and every rule that refuses to
mix vectors of two embedders (or two schemas) in one collection.

The metadata keys are stored data: collections built by earlier versions must keep opening.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rag_core.embedding.backends import LEGACY
from rag_core.types import ConfigurationError, EmbedderInfo

DENSE = "dense"
SPARSE = "bm25"
ENGLISH = "dense_en"  # the English embedder's vector, in collections that have one
SCHEMA_VERSION = 2  # 2: vectors of title + breadcrumb + passage (meta "embed_headers")


class MetaKey:
    """Names of the metadata a collection records. Stored data: never rename one (existing
    collections carry them), only add."""

    SCHEMA_VERSION = "schema_version"
    EMBEDDER = "embedder"
    DIM = "dim"
    MAX_TOKENS = "max_tokens"
    EMBED_BACKEND = "embed_backend"  # absent: made before backends (torch)
    EMBED_BUILD = "embed_build"  # absent: made before builds were recorded
    EMBED_WEIGHTS = "embed_weights"  # absent: made before weights were recorded (before e5)
    SPARSE = "sparse"
    SPARSE_LANGUAGES = "sparse_languages"  # absent: made before languages (English BM25)
    EMBED_HEADERS = "embed_headers"  # set by the first ingest into the collection
    # the English embedder's identity (EmbedderInfo fields); absent: no English vectors
    ENGLISH_EMBEDDER = "english_embedder"
    LAST_INGEST = "last_ingest"
    ROOT = "root"  # the folder last ingested from: where the chat serves originals from


@dataclass(frozen=True, slots=True)
class CollectionMeta:
    """A collection's metadata, read with the defaults older collections imply. An empty
    one stands for a collection that does not exist yet."""

    schema_version: int | None = None
    embedder: str | None = None
    dim: int | None = None
    max_tokens: int | None = None
    embed_backend: str | None = None
    embed_build: int | None = None
    embed_weights: str | None = None
    embed_headers: bool | None = None
    english_embedder: dict[str, Any] | None = None
    last_ingest: str | None = None
    root: str | None = None

    @classmethod
    def of(cls, meta: Mapping[str, Any]) -> CollectionMeta:
        return cls(
            schema_version=meta.get(MetaKey.SCHEMA_VERSION),
            embedder=meta.get(MetaKey.EMBEDDER),
            dim=meta.get(MetaKey.DIM),
            max_tokens=meta.get(MetaKey.MAX_TOKENS),
            embed_backend=meta.get(MetaKey.EMBED_BACKEND),
            embed_build=meta.get(MetaKey.EMBED_BUILD),
            embed_weights=meta.get(MetaKey.EMBED_WEIGHTS),
            embed_headers=meta.get(MetaKey.EMBED_HEADERS),
            english_embedder=meta.get(MetaKey.ENGLISH_EMBEDDER),
            last_ingest=meta.get(MetaKey.LAST_INGEST),
            root=meta.get(MetaKey.ROOT),
        )

    @property
    def backend(self) -> str:
        """The backend its vectors were computed with (torch for collections older than
        backends)."""
        return self.embed_backend or LEGACY

    @property
    def build(self) -> int:
        """The export its vectors come from: collections made before builds were recorded
        are torch's (0) or the first ONNX export's (1)."""
        return self.embed_build or (0 if self.backend == LEGACY else 1)


def english_identity(english: EmbedderInfo) -> dict[str, Any]:
    """What a collection records about its English embedder: enough to make the same one."""
    return {
        "name": english.name,
        "dim": english.dim,
        "backend": english.backend,
        "build": english.build,
        "weights": english.weights,
    }


def collection_meta(embedder: EmbedderInfo, english: EmbedderInfo | None = None) -> dict[str, Any]:
    """What a new collection records about the embedders that fill it."""
    extra = {MetaKey.ENGLISH_EMBEDDER: english_identity(english)} if english else {}
    return extra | {
        MetaKey.SCHEMA_VERSION: SCHEMA_VERSION,
        MetaKey.EMBEDDER: embedder.name,
        MetaKey.DIM: embedder.dim,
        MetaKey.MAX_TOKENS: embedder.max_tokens,
        MetaKey.EMBED_BACKEND: embedder.backend,
        MetaKey.EMBED_BUILD: embedder.build,
        MetaKey.EMBED_WEIGHTS: embedder.weights,
        MetaKey.SPARSE: SPARSE,
    }


def check_compatible(collection: str, meta: Mapping[str, Any], embedder: EmbedderInfo) -> None:
    """Refuse to mix vectors of two models (or two schemas) in one collection."""
    found = CollectionMeta.of(meta)
    if found.schema_version != SCHEMA_VERSION:
        raise ConfigurationError(
            f"collection {collection!r} was built by another ragdesk version (schema "
            f"{found.schema_version}, expected {SCHEMA_VERSION}): re-index it with "
            "`ingest DIR --rebuild`, or ingest into a new --collection"
        )
    if found.embedder != embedder.name or found.dim != embedder.dim:
        raise ConfigurationError(
            f"collection {collection!r} holds vectors of embedder {found.embedder!r} "
            f"({found.dim}-d), not {embedder.name!r} ({embedder.dim}-d): use the same "
            "embedder, re-index with `ingest DIR --rebuild`, or use another --collection"
        )
    if found.backend != embedder.backend:
        raise ConfigurationError(
            f"collection {collection!r} was embedded with the {found.backend} backend, not "
            f"{embedder.backend}: their vectors differ slightly, so a collection keeps one. "
            "Set RAGDESK_EMBED_BACKEND=auto (keeps it), or re-index with `ingest DIR "
            "--rebuild` (the chat keeps answering from the current index until it is done)"
        )
    if found.build != embedder.build:
        raise ConfigurationError(
            f"collection {collection!r} was embedded by export {found.build} of the "
            f"{found.backend} backend, and this ragdesk makes export {embedder.build}: their "
            "vectors differ slightly, so a collection keeps one. Re-index with `ingest DIR "
            "--rebuild` (the chat keeps answering from the current index until it is done)"
        )
    if found.embed_weights and embedder.weights and found.embed_weights != embedder.weights:
        raise ConfigurationError(
            f"collection {collection!r} was embedded with the weights {found.embed_weights}, "
            f"and this embedder holds {embedder.weights}: their vectors differ, so a "
            "collection keeps one. Re-index with `ingest DIR --rebuild` (the chat keeps "
            "answering from the current index until it is done)"
        )


def check_english(collection: str, meta: Mapping[str, Any], english: EmbedderInfo | None) -> None:
    """A collection's English vectors come from one embedder, or it has none."""
    stored = CollectionMeta.of(meta).english_embedder
    wanted = english_identity(english) if english else None
    if stored != wanted:
        have = f"English vectors of {stored['name']}" if stored else "no English vectors"
        raise ConfigurationError(
            f"collection {collection!r} has {have}, and this ingest would write "
            f"{'those of ' + english.name if english else 'none'}: re-index it with "
            "`ingest DIR --rebuild` (the chat keeps answering from the current index until "
            "it is done)"
        )


def embed_headers_meta(embed_headers: bool) -> dict[str, Any]:
    """What the first ingest into a new collection records about its vectors' text."""
    return {MetaKey.EMBED_HEADERS: embed_headers}


def sparse_languages_meta(languages: Sequence[str]) -> dict[str, Any]:
    """What the first ingest into a new collection records about its BM25 terms."""
    return {MetaKey.SPARSE_LANGUAGES: list(languages)}


def ingest_meta(ingested_at: str, root: str) -> dict[str, Any]:
    """What every ingest run records: when, and from which folder."""
    return {MetaKey.LAST_INGEST: ingested_at, MetaKey.ROOT: root}


def check_embed_headers(collection: str, meta: Mapping[str, Any], embed_headers: bool) -> None:
    """One collection, one way of computing vectors: with or without the header line."""
    stored = CollectionMeta.of(meta).embed_headers
    if stored != embed_headers:
        raise ConfigurationError(
            f"collection {collection!r} was built with RAGDESK_EMBED_HEADERS={stored}, "
            f"not {embed_headers}: use the same setting, or ingest into another --collection"
        )

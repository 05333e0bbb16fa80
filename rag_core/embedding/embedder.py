"""The dense embedder: loaded once, batched by length, normalized, cached by text hash.

It runs on one of the backends of rag_core.embedding.backends; the backend is part of the
embedder's identity (`EmbedderInfo.backend`), of the cache's keys, and of what a collection
records, because int8 vectors are close to torch's but not the same. So is the model
(`RAGDESK_EMBED_MODEL`, auto: a collection keeps the one that built it, a new one gets the
multilingual default) and the weights it was made from.

Models trained with prompts (multilingual-e5: "query: " / "passage: ") get them here:
`embed` is for passages, `embed_query` for questions; `encode_uncached` takes the text as
given."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag_core.embedding.backends import (
    EXPORT_VERSION,
    LEGACY,
    OnnxEncoder,
    load_onnx,
    resolve_backend,
)
from rag_core.embedding.cache import EmbeddingCache, text_key
from rag_core.embedding.files import (
    LEGACY_EMBEDDER,
    model_prompts,
    resolve_embedder_path,
    resolve_model_name,
    weights_identity,
)
from rag_core.embedding.tokens import SPECIAL_TOKENS, model_window
from rag_core.settings import EmbeddingSettings, Settings
from rag_core.store.schema import CollectionMeta
from rag_core.types import ConfigurationError, EmbedderInfo


@dataclass(slots=True)
class EmbedStats:
    texts: int = 0
    cache_hits: int = 0
    encoded: int = 0


class Embedder:
    """sentence-transformers on the CPU: torch, or onnxruntime on a local ONNX build.

    `backend`, `model`: the ones to use (see `backend_for`, `model_for`); None: the
    settings', `auto` meaning the fastest backend and the default model (a new collection)."""

    def __init__(
        self, settings: Settings, backend: str | None = None, model: str | None = None
    ) -> None:
        config = settings.embedding
        self.name = model or model_for(config, None)
        self.model_path: Path = resolve_embedder_path(self.name, config.builds_dir)
        self.backend = backend or backend_for(config, None)
        self.prompts = model_prompts(self.name, self.model_path)
        self._threads = config.threads
        self._builds_dir = config.builds_dir
        self._model: Any = None  # loaded on first use: an unchanged re-run never needs it
        self._onnx: OnnxEncoder | None = None  # the same model when ONNX: it has threads to end
        self._load_lock = threading.Lock()
        window = model_window(str(self.model_path))
        dim = _declared_dimension(self.model_path) or self._torch_dimension()
        build = 0 if self.backend == LEGACY else EXPORT_VERSION
        self.info = EmbedderInfo(
            name=self.name,
            dim=int(dim),
            max_tokens=window,
            backend=self.backend,
            build=build,
            weights=weights_identity(self.name, self.model_path),
        )
        self._prompt_tokens = _prompt_tokens(self.model_path, self.prompts["passage"])
        if config.chunk_tokens > self.max_chunk_tokens:
            raise ConfigurationError(
                f"chunk_tokens={config.chunk_tokens} does not fit the embedder window "
                f"({window} tokens incl. {SPECIAL_TOKENS} special and {self._prompt_tokens} "
                f"of the passage prompt): use at most {self.max_chunk_tokens}"
            )
        self._batch_size = config.batch_size
        # torch keeps the cache file and keys it had before backends existed; an ONNX build's
        # keys name its export, so a new export never reuses an older one's vectors
        suffix = "" if self.backend == LEGACY else f"-{self.backend}"
        self._key_name = self.name + (f"@{self.backend}#{build}" if suffix else "")
        cache_file = config.cache_dir / f"embeddings-{_slug(self.name)}{suffix}.sqlite"
        self._cache = EmbeddingCache(cache_file, self.info.dim)
        self.stats = EmbedStats()

    def _load(self) -> Any:
        with self._load_lock:  # two chat sessions may ask first at once
            return self._load_once()

    def _load_once(self) -> Any:
        if self._model is not None:
            return self._model
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder never needs the hub
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        window = model_window(str(self.model_path))
        if self.backend != LEGACY:  # torch is imported only to make the build, once
            self._onnx = load_onnx(
                self.model_path, self.backend, self._builds_dir, window, self._threads
            )
            self._model = self._onnx
            return self._model
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        if self._threads:
            torch.set_num_threads(self._threads)
        model = SentenceTransformer(str(self.model_path), device="cpu")
        model.max_seq_length = window
        self._model = model
        return self._model

    def _torch_dimension(self) -> int:
        from sentence_transformers import SentenceTransformer

        return int(
            SentenceTransformer(str(self.model_path), device="cpu").get_embedding_dimension()
        )

    @property
    def builds_dir(self) -> Path:
        """Where this embedder's ONNX builds are made and found."""
        return self._builds_dir

    @property
    def max_chunk_tokens(self) -> int:
        """The longest passage (in tokens) the model sees whole, its prompt included."""
        return self.info.max_tokens - SPECIAL_TOKENS - self._prompt_tokens

    def encode_uncached(self, texts: Sequence[str]) -> np.ndarray:
        """Raw model throughput (the benchmark's baseline): no cache, no dedup, no prompt."""
        vectors = self._load().encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for passages, in order; each distinct text is encoded at most once ever."""
        if not texts:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        prompt = self.prompts["passage"]
        texts = [prompt + t for t in texts] if prompt else texts
        keys = [text_key(self._key_name, t) for t in texts]
        known = self._cache.get_many(list(dict.fromkeys(keys)))
        missing: dict[bytes, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in known and key not in missing:
                missing[key] = text
        if missing:
            fresh = self.encode_uncached(list(missing.values()))
            new_items = list(zip(missing.keys(), fresh, strict=True))
            self._cache.put_many(new_items)
            known.update(new_items)
        self.stats.texts += len(texts)
        self.stats.encoded += len(missing)
        self.stats.cache_hits += len(texts) - len(missing)
        return np.stack([known[k] for k in keys])

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of a question (never cached: questions rarely repeat)."""
        return self.encode_uncached([self.prompts["query"] + text])[0]

    def close(self) -> None:
        self._cache.close()
        if self._onnx is not None:  # the ONNX encoder's worker threads
            self._onnx.close()


def backend_of(meta: Mapping[str, Any] | None) -> str | None:
    """The backend an existing collection's vectors were computed with (None: no collection)."""
    if not meta:
        return None
    return CollectionMeta.of(meta).backend


def model_of(meta: Mapping[str, Any] | None) -> str | None:
    """The embedder an existing collection's vectors were computed with (None: no collection)."""
    if not meta:
        return None
    return CollectionMeta.of(meta).embedder or LEGACY_EMBEDDER


def backend_for(
    config: EmbeddingSettings, meta: Mapping[str, Any] | None, *, query: bool = False
) -> str:
    """The one rule for which backend embeds, given a collection's meta (None or empty: a
    new collection, or none at all). Writing: `auto` keeps the collection's backend, an
    explicit other one is then refused by the collection. A query: always the backend that
    built the collection, so the question's vector is computed the way the passages' were."""
    built = backend_of(meta)
    if query and built is not None:
        return built
    return resolve_backend(config.backend, built)


def model_for(
    config: EmbeddingSettings, meta: Mapping[str, Any] | None, *, query: bool = False
) -> str:
    """The same rule for the model: `auto` keeps an existing collection's (a new one gets
    the multilingual default); a query always uses the model that built the collection."""
    built = model_of(meta)
    if query and built is not None:
        return built
    return resolve_model_name(config.model, built)


def embedder_for(settings: Settings, meta: Mapping[str, Any] | None = None) -> Embedder:
    """The embedder to write a collection with (its meta; None: a new collection), or to
    embed outside any collection."""
    config = settings.embedding
    return Embedder(settings, backend_for(config, meta), model_for(config, meta))


def query_embedder(settings: Settings, meta: Mapping[str, Any]) -> Embedder:
    """The embedder to search a collection with (see `backend_for`, `model_for`)."""
    config = settings.embedding
    return Embedder(
        settings, backend_for(config, meta, query=True), model_for(config, meta, query=True)
    )


def _declared_dimension(model_path: Path) -> int | None:
    """The output size from the model's files, when no module after pooling changes it."""
    try:
        modules = json.loads((model_path / "modules.json").read_text())
        pooling = json.loads((model_path / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError):
        return None
    if any(m.get("type", "").endswith(("Dense", "LayerNorm")) for m in modules):
        return None
    value = pooling.get("word_embedding_dimension")
    return int(value) if value else None


def _prompt_tokens(model_path: Path, prompt: str) -> int:
    """How many of the window's tokens a prompt takes."""
    if not prompt:
        return 0
    from rag_core.embedding.tokens import HuggingFaceTokens

    # the embedder's own tokenizer, which this process holds anyway (not the parsers' light one)
    return HuggingFaceTokens(str(model_path)).count(prompt.strip())


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[-80:]

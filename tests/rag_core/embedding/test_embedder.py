from __future__ import annotations

from pathlib import Path

import numpy as np

from rag_core.embedding.embedder import Embedder
from rag_core.settings import Settings


def test_vectors_are_normalized_and_meaningful(embedder: Embedder) -> None:
    vectors = embedder.embed(
        [
            "How do I renew my Kerberos ticket?",
            "Use kinit to obtain a new ticket-granting ticket.",
            "The cafeteria serves lunch from noon.",
        ]
    )
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_each_text_is_encoded_once_across_instances(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = Embedder(settings)
    texts = ["alpha beta", "gamma delta", "alpha beta"]
    vectors = first.embed(texts)
    assert first.stats.encoded == 2 and first.stats.cache_hits == 1
    first.close()

    second = Embedder(settings)  # a later run: the cache is on disk
    again = second.embed(texts)
    assert second.stats.encoded == 0
    assert second._model is None  # nothing to encode, so the model was never loaded
    assert np.allclose(vectors, again)
    second.close()


def test_model_facts_come_from_its_files(embedder: Embedder) -> None:
    assert embedder.info.name == "all-MiniLM-L6-v2"
    assert embedder.info.dim == 384 and embedder.info.max_tokens == 256
    assert embedder.max_chunk_tokens == 254

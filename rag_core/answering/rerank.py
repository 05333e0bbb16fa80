"""A second look at the candidates: the passage's best sentence, not its average.

A chunk's vector is the mean of everything in it: a page whose one sentence answers
("The Debian Project was created by Ian Murdock in 1993") after a running header and a
paragraph about free software ranks below chunks that are about Debian throughout. Here
each of the first `depth` candidates of the fused search is scored by the question's cosine
to its closest unit — a sentence, two neighbouring sentences, or the whole passage (the
citation check's units, rag_core/support.py) — and the top k by that score are kept. Units
are embedded with the collection's embedder through its cache (a passage seen once costs
nothing the next time); no model is called.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class UnitEmbedder(Protocol):
    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def best_unit_scores(
    query: np.ndarray, passages: Sequence[str], embedder: UnitEmbedder
) -> list[float]:
    """For each passage, the question's cosine to its closest unit."""
    from rag_core.answering.citation_check import (
        passage_units,  # support -> citations -> retrieval -> here
    )

    units = [passage_units(p) for p in passages]
    distinct = list(dict.fromkeys(u for group in units for u in group))
    if not distinct:
        return [0.0 for _ in passages]
    vectors = dict(zip(distinct, embedder.embed(distinct), strict=True))
    return [
        float(np.max(np.stack([vectors[u] for u in group]) @ query)) if group else 0.0
        for group in units
    ]

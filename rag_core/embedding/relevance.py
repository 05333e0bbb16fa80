"""The relevance floor: below it, a question gets "not found" without a model call.

The floor is a cosine between question and passage, and each embedder spreads its cosines
differently: all-MiniLM-L6-v2 puts unrelated text near 0 and answers above ~0.4, while
multilingual-e5 puts nearly everything above 0.7. So the floor is per embedder, measured
(`benchmarks/relevance_gate.py`: answerable questions of faq-dev and faq-dev-es refused at
most 5 %, the unanswerable ones of data/eval/answers-dev.jsonl refused at least as often as
with MiniLM at its floor). `RAGDESK_MIN_RELEVANCE` overrides it for every embedder.
"""

from __future__ import annotations

# embedder name -> floor (the packaged e5 and the hub's share the model, and the floor)
RELEVANCE_FLOORS: dict[str, float] = {
    "all-MiniLM-L6-v2": 0.30,
    "multilingual-e5-small": 0.80,
    "intfloat/multilingual-e5-small": 0.80,
}
UNMEASURED_FLOOR = 0.0  # a model nobody measured: never refuse on relevance alone


def relevance_floor(setting: float | None, embedder: str) -> float:
    """The configured floor, else the one measured for `embedder`."""
    if setting is not None:
        return setting
    return RELEVANCE_FLOORS.get(embedder, UNMEASURED_FLOOR)

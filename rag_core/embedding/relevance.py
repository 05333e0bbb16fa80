"""The relevance floor: below it, a question gets "not found" without a model call.

The floor is a cosine between question and passage, and each embedder spreads its cosines
differently: all-MiniLM-L6-v2 puts unrelated text near 0 and answers above ~0.4, while
multilingual-e5 puts nearly everything above 0.7. So the floor is per embedder, measured
by `benchmarks/relevance_gate.py`: the highest floor that refuses at most 5 % of the
answerable questions of faq-dev (same language) and of faq-dev-es (across languages).

With e5 a Spanish question's cosine to its English answer sits ~0.04 below an English
question's, into the range of questions with no answer at all. One floor for both would
either refuse Spanish questions or let unanswerable same-language ones through, so e5 has
two: one when the question and its best passage are in the same language, a lower one
across languages (the caller tells which, rag_core.answering.language). MiniLM is
English-only: one floor. `RAGDESK_MIN_RELEVANCE` overrides both for every embedder.

The same compression sets how far below the best passage another one may score and still be
given to the model (the passage margin): 0.15 of MiniLM's cosine is a wide gap, of e5's
nearly its whole range. Each margin is the smallest that gives the model the gold passage
as often as keeping every passage does (`benchmarks/passage_recall.py`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Floors:
    same_language: float
    across_languages: float


# embedder name -> floors (the packaged e5 and the hub's share the model, and the floors).
# e5: 0.81 across languages is the highest refusing <= 5 % of faq-dev-es (3.2 %); 0.825 in
# one language refuses 1.1 % of faq-dev and 4 of answers-dev's 12 unanswerable questions,
# as MiniLM's 0.30 did (0.84 would refuse 5, and 3.2 % of faq-dev): README, "Embedders"
RELEVANCE_FLOORS: dict[str, Floors] = {
    "all-MiniLM-L6-v2": Floors(0.30, 0.30),
    "multilingual-e5-small": Floors(0.825, 0.81),
    "intfloat/multilingual-e5-small": Floors(0.825, 0.81),
}
UNMEASURED = Floors(0.0, 0.0)  # a model nobody measured: never refuse on relevance alone


def relevance_floors(setting: float | None, embedder: str) -> Floors:
    """The configured floor (for every language pair), else the ones measured for
    `embedder`."""
    if setting is not None:
        return Floors(setting, setting)
    return RELEVANCE_FLOORS.get(embedder, UNMEASURED)


def relevance_floor(
    setting: float | None, embedder: str, *, across_languages: bool = False
) -> float:
    """The floor for one question: across languages when its best passage is written in
    another language than the question."""
    floors = relevance_floors(setting, embedder)
    return floors.across_languages if across_languages else floors.same_language


# embedder name -> passage margin. e5: on answers-corpus, 0.03 gives the gold passage as often
# as 0.15 (0.816) in 1,081 prompt tokens instead of 1,216 (0.025: 0.793); on answers-dev 1.000
# either way, 800 tokens instead of 1,085. MiniLM: 0.15, chosen in round 2 (README).
PASSAGE_MARGINS: dict[str, float] = {
    "all-MiniLM-L6-v2": 0.15,
    "multilingual-e5-small": 0.03,
    "intfloat/multilingual-e5-small": 0.03,
}


def passage_margin(setting: float | None, embedder: str) -> float | None:
    """The configured margin, else the one measured for `embedder`; None (every passage
    kept, within the prompt budget) for a model nobody measured."""
    if setting is not None:
        return setting
    return PASSAGE_MARGINS.get(embedder)


# embedder name -> the dense cosine an answer sentence must reach in a passage written in
# another language for the citation check to count it as backed (a Spanish answer from an
# English manual has no words in common with it: the one-language score cannot pass).
# e5: the 223 labelled support pairs with their claims in Spanish against the English
# passages (benchmarks/support_across.py): 0.87 flags 77 % of the unsupported claims at
# precision 0.953 (5 of 92 supported ones flagged; the one-language rule flagged 72 of 92).
# MiniLM is English-only: not measured, so it keeps the one-language rule everywhere.
SUPPORT_ACROSS_LANGUAGES: dict[str, float] = {
    "multilingual-e5-small": 0.87,
    "intfloat/multilingual-e5-small": 0.87,
}


def support_across_languages(embedder: str) -> float | None:
    """The citation check's dense floor across languages for `embedder` (None: unmeasured)."""
    return SUPPORT_ACROSS_LANGUAGES.get(embedder)

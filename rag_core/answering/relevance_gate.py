"""Which relevance floor one question must reach: its embedder's floors
(rag_core.embedding.relevance) chosen by the language pair of the question and the
passage that decides (its best one). The answer path, `eval retrieval` and the floors'
benchmark all ask here, so the three cannot drift apart."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag_core.answering.language import crosses_languages, language_of
from rag_core.embedding.relevance import Floors

if TYPE_CHECKING:
    from rag_core.answering.retrieval import Retrieval


def floor_for(
    floors: Floors, question: str, best_passage: str | None, language: str | None = None
) -> float:
    """The across-languages floor when the best passage is in another language than the
    question (a Spanish question over an English manual), else the same-language one.
    `language`: the question's, when the caller knows it already."""
    if floors.same_language == floors.across_languages:
        return floors.same_language  # one floor: no language to guess
    across = crosses_languages(language or language_of(question), best_passage)
    return floors.across_languages if across else floors.same_language


def translation_passes(floors: Floors, retrieval: Retrieval) -> bool:
    """Whether the question's translation (when it was searched too) reaches its own floor
    with its best passage: a question the floor refuses in its own words is still answered
    when its translation clearly matches (a Spanish question's cosine to its English answer
    sits below an English question's)."""
    if not retrieval.translation or retrieval.translation_best is None:
        return False
    relevance, passage = retrieval.translation_best
    return relevance >= floor_for(floors, retrieval.translation, passage)

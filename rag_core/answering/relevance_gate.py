"""Which relevance floor one question must reach: its embedder's floors
(rag_core.embedding.relevance) chosen by the language pair of the question and the
passage that decides (its best one). The answer path, `eval retrieval` and the floors'
benchmark all ask here, so the three cannot drift apart."""

from __future__ import annotations

from rag_core.answering.language import crosses_languages, language_of
from rag_core.embedding.relevance import Floors


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

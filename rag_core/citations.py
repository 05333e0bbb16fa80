"""Parse [n] markers in an answer, keep those that name a given source, map them to it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag_core.prompt import PromptSource

_MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_WORDS = re.compile(r"\w{3,}")


@dataclass(frozen=True, slots=True)
class Citation:
    n: int
    source: str
    page: int | None
    section: str | None
    snippet: str  # the sentence of the passage that best matches what the answer says
    score: float


def cite(answer: str, sources: Sequence[PromptSource]) -> tuple[str, list[Citation]]:
    """(answer with invented markers removed, citations in order of first use)."""
    by_number = {s.n: s for s in sources}
    used: dict[int, Citation] = {}

    def keep_valid(match: re.Match[str]) -> str:
        numbers = [int(x) for x in re.split(r"\s*[,;]\s*", match.group(1))]
        valid = [n for n in numbers if n in by_number]
        for n in valid:
            if n not in used:
                used[n] = _citation(by_number[n], _claim_around(answer, match.start()))
        return "".join(f"[{n}]" for n in valid)

    cleaned = _MARKER.sub(keep_valid, answer)
    cleaned = re.sub(r"[ \t]+([.,;:])", r"\1", cleaned)
    return cleaned.strip(), list(used.values())


def _claim_around(answer: str, position: int) -> str:
    start = max(answer.rfind(".", 0, position - 1), answer.rfind("\n", 0, position)) + 1
    return answer[start:position]


def _citation(prompt_source: PromptSource, claim: str) -> Citation:
    source = prompt_source.source
    return Citation(
        n=prompt_source.n,
        source=source.source,
        page=source.page,
        section=source.section,
        snippet=best_sentence(prompt_source.text, claim),
        score=round(source.relevance, 4),
    )


def best_sentence(passage: str, claim: str) -> str:
    """The passage sentence sharing most words with the claim (the first if none do)."""
    sentences = [s.strip() for s in _SENTENCES.split(passage) if len(s.strip()) > 20]
    if not sentences:
        return passage.strip()[:300]
    words = {w.lower() for w in _WORDS.findall(claim)}
    best = max(sentences, key=lambda s: len(words & {w.lower() for w in _WORDS.findall(s)}))
    return best[:400]

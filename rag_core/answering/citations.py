"""Parse [n] markers in an answer, keep those that name a given source, map them to it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag_core.answering.function_words import stop_words
from rag_core.answering.prompt import PromptSource

MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_WORDS = re.compile(r"\w{3,}")
_STOP = frozenset(
    "the and for are was were with that this from have has not but you your can will "
    "their they them there which what when where who how also into than then its".split()
) | stop_words("es")  # an answer and its passages may be in Spanish too


@dataclass(frozen=True, slots=True)
class Citation:
    n: int
    source: str
    page: int | None
    section: str | None
    snippet: str  # the sentence of the passage that best matches what the answer says
    score: float
    rows: str | None = None  # spreadsheets and CSV: "12–30"


def cite(answer: str, sources: Sequence[PromptSource]) -> tuple[str, list[Citation]]:
    """(answer with invented markers removed, citations in order of first use).

    Small models sometimes echo a source's header instead of citing, or leave a sentence
    uncited: echoed headers are removed, and a sentence without a marker gets the source
    that contains most of its words (when one clearly does)."""
    answer = attribute_uncited(strip_echoed_headers(answer, sources), sources)
    # a marker standing alone after a cited sentence's full stop cites nothing: drop it
    answer = re.sub(
        r"(\]\s*[.!?])(\s*\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\])+(?=\s*$)", r"\1", answer, flags=re.M
    )
    by_number = {s.n: s for s in sources}
    used: dict[int, Citation] = {}

    def keep_valid(match: re.Match[str]) -> str:
        numbers = [int(x) for x in re.split(r"\s*[,;]\s*", match.group(1))]
        valid = [n for n in numbers if n in by_number]
        for n in valid:
            if n not in used:
                used[n] = _citation(by_number[n], _claim_around(answer, match.start()))
        return "".join(f"[{n}]" for n in valid)

    cleaned = MARKER.sub(keep_valid, answer)
    cleaned = re.sub(r"[ \t]+([.,;:])", r"\1", cleaned)
    return cleaned.strip(), list(used.values())


def strip_echoed_headers(answer: str, sources: Sequence[PromptSource]) -> str:
    """Remove source headers a model copied into its answer ("[2] guide.pdf, page 3, section
    “Setup”"), in any case and quoting."""
    for name in {p.source.source for p in sources}:
        header = (
            rf"(\[\d{{1,3}}\]\s*)?{re.escape(name)}(,\s*page\s*\d+)?"
            r"(,\s*section\s*(“[^”\n]*”|\"[^\n]*\"(?=\s|$)|'[^'\n]*'))?"
            r"(,\s*rows\s*\d+(\s*[–-]\s*\d+)?)?[:.]?\s*"
        )
        answer = re.sub(header, "", answer, flags=re.IGNORECASE)
    return answer.strip()


def _content_words(text: str) -> set[str]:
    return {w.lower() for w in _WORDS.findall(text)} - _STOP


def attribute_uncited(answer: str, sources: Sequence[PromptSource], floor: float = 0.6) -> str:
    """Append [n] to sentences with no marker when source n holds >= floor of their words."""
    vocab = {s.n: _content_words(s.text) for s in sources}
    pieces = re.split(r"(?<=[.!?])(\s+)", answer)
    out = []
    for piece in pieces:
        words = _content_words(piece)
        if len(words) >= 3 and not MARKER.search(piece):
            best = max(vocab, key=lambda n: len(words & vocab[n]), default=None)
            if best is not None and len(words & vocab[best]) >= floor * len(words):
                stripped = piece.rstrip()
                end = stripped[-1] if stripped and stripped[-1] in ".!?" else ""
                body = stripped[:-1] if end else stripped
                piece = f"{body} [{best}]{end}" + piece[len(stripped) :]
        out.append(piece)
    text = "".join(out)
    return re.sub(r"^\s*(\[\d{1,3}\]\s*)+(?=\S)", "", text)  # a bare leading marker


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
        rows=source.rows,
    )


def best_sentence(passage: str, claim: str) -> str:
    """The passage sentence sharing most words with the claim (the first if none do)."""
    sentences = [s.strip() for s in _SENTENCES.split(passage) if len(s.strip()) > 20]
    if not sentences:
        return passage.strip()[:300]
    words = {w.lower() for w in _WORDS.findall(claim)}
    best = max(sentences, key=lambda s: len(words & {w.lower() for w in _WORDS.findall(s)}))
    return best[:400]

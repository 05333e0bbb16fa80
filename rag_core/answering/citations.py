"""Parse [n] markers in an answer, keep those that name a given source, map them to it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag_core.answering.function_words import stem, stop_words
from rag_core.answering.prompt import EXAMPLE_QUESTION, EXAMPLE_RULE, PromptSource

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

    Small models sometimes echo a source's header instead of citing, cite a paragraph once
    at its end, or leave a sentence uncited: echoed headers are removed, a paragraph's
    closing marker is given to each of its sentences, and a sentence still without a marker
    gets the source that contains most of its words (when one clearly does)."""
    by_number = {s.n: s for s in sources}
    # a marker naming no given source ("[82]" of six) cites nothing: drop it first, so the
    # sentence counts as uncited and attribution can find the source it came from
    answer = MARKER.sub(lambda m: _valid_markers(m, by_number), answer)
    # "… output. [1]" -> "… output [1].": a sentence's markers inside it, before its stop
    answer = strip_echoed_example(strip_echoed_headers(answer, sources), sources)
    answer = _MARKERS_AFTER_STOP.sub(_marker_before_stop, answer)
    answer = spread_closing_markers(answer)
    answer = attribute_uncited(answer, sources)
    # a marker standing alone after a cited sentence's full stop cites nothing: drop it
    answer = _STRAY_MARKERS.sub(r"\1", answer)
    used: dict[int, Citation] = {}

    def record(match: re.Match[str]) -> str:
        """Every marker names a given source by now (invalid ones went first; the steps
        between only copy markers or add given ones): record it, "[1, 2]" as "[1][2]"."""
        numbers = _marker_numbers(match)
        for n in numbers:
            if n not in used:
                used[n] = _citation(by_number[n], _claim_around(answer, match.start()))
        return "".join(f"[{n}]" for n in numbers)

    cleaned = MARKER.sub(record, answer)
    # the space a dropped marker left before a stop ("output ." -> "output."), not the one
    # before a file name's dot (".htaccess", "your .logout file")
    cleaned = re.sub(r"[ \t]+([.,;:])(?!\w)", r"\1", cleaned)
    return cleaned.strip(), list(used.values())


def _marker_before_stop(match: re.Match[str]) -> str:
    """ "output. [1]" -> "output [1].", unless a marker already ends the sentence."""
    if _ENDS_WITH_MARKER.search(match.string, max(match.start() - 24, 0), match.start()):
        return match.group(0)
    return match.group(2) + match.group(1)


def _marker_numbers(match: re.Match[str]) -> list[int]:
    """The numbers of one marker: "[1, 2]" -> [1, 2]."""
    return [int(x) for x in re.split(r"\s*[,;]\s*", match.group(1))]


def _valid_markers(match: re.Match[str], by_number: dict[int, PromptSource]) -> str:
    return "".join(f"[{n}]" for n in _marker_numbers(match) if n in by_number)


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


_EXAMPLE_CLAIM = EXAMPLE_RULE.rstrip(".").lower()
_EXAMPLE_SENTENCE = re.compile(
    rf"[^.!?\n]*{re.escape(_EXAMPLE_CLAIM)}[^.!?\n]*[.!?]?(?:\s*{MARKER.pattern})*[.!?]?[ \t]*",
    re.IGNORECASE,
)
# the whole example echoed, format and all: its line goes
_EXAMPLE_LINE = re.compile(rf"^.*{re.escape(EXAMPLE_QUESTION)}.*(?:\n|$)", re.IGNORECASE | re.M)


def strip_echoed_example(answer: str, sources: Sequence[PromptSource]) -> str:
    """Remove what repeats the system prompt's worked example (seen with the 1.5B: "No:
    laptops are replaced every 4 years [1]." about bug reports; the example's whole line,
    its question included, as an answer): it comes from the instructions, not the
    documents, unless a passage happens to say it too."""
    if _EXAMPLE_CLAIM not in answer.lower():
        return answer
    if any(_EXAMPLE_CLAIM in p.text.lower() for p in sources):
        return answer
    return _EXAMPLE_SENTENCE.sub("", _EXAMPLE_LINE.sub("", answer)).strip()


# sentences of a line: split after . ! ? and a space, unless a marker follows (it belongs
# to the sentence before: "… output. [1]")
_LINE_SENTENCES = re.compile(r"(?<=[.!?])(\s+)(?!\[\d)")
_CLOSING_MARKERS = re.compile(rf"(?:\s*{MARKER.pattern})+\s*[.!?]?\s*$")
# a full stop followed by markers (moved before it unless a marker stands right before the
# stop: that case is a stray marker, dropped in `cite`)
# (not after a list item's number: "1. [1] Run …" keeps its marker where it is)
_MARKERS_AFTER_STOP = re.compile(
    rf"(?<!\s)(?<!^\d)(?<!^\d\d)([.!?])((?:[ \t]*{MARKER.pattern})+)(?=\s|$)", re.M
)
_ENDS_WITH_MARKER = re.compile(rf"{MARKER.pattern}\s*$")
# markers standing alone after a cited sentence's full stop, at a line's end (a marker
# before the stop, not any bracket: "… in [libdefaults]. [2]" is cited by its [2])
_STRAY_MARKERS = re.compile(rf"((?:{MARKER.pattern})\s*[.!?])(\s*{MARKER.pattern})+(?=\s*$)", re.M)
# what a sentence that only points at a source says: "The source for this information is [2]."
_POINTER_WORDS = frozenset(
    stem(w)
    for w in "source sources information info reference references see answer passage passages "
    "document documents according found fuente fuentes información referencia véase "
    "respuesta pasaje documento documentos según".split()
)


def spread_closing_markers(answer: str) -> str:
    """A line whose only markers close its last sentence cites them for the whole line, the
    way small models write a paragraph ("… tickets. This means … [1]"): each earlier
    sentence gets them too, so the citation check judges every sentence against the passage
    meant, instead of the last one alone (and an answer whose first sentence the passage
    states is not withheld because its closing remark is not). A last sentence that only
    points at the source ("The source for this information is [2].") gives its markers to
    the sentences before it and is dropped."""
    lines = []
    for line in answer.split("\n"):
        pieces = _LINE_SENTENCES.split(line)
        sentences, gaps = pieces[::2], pieces[1::2]
        closing = _CLOSING_MARKERS.search(sentences[-1]) if len(sentences) > 1 else None
        if closing is None or any(MARKER.search(s) for s in sentences[:-1]):
            lines.append(line)
            continue
        markers = "".join(f"[{m.group(1)}]" for m in MARKER.finditer(closing.group(0)))
        last = sentences[-1]
        if not _content_words(MARKER.sub(" ", last)) - _POINTER_WORDS:
            sentences, gaps = sentences[:-1], gaps[:-1]  # the pointer itself says nothing
            last = ""
        cited = [_with_marker(s, markers) if len(_content_words(s)) >= 2 else s for s in sentences]
        if last:
            cited[-1] = last
        lines.append("".join(x for pair in zip(cited, [*gaps, ""], strict=True) for x in pair))
    return "\n".join(lines)


def _with_marker(sentence: str, markers: str) -> str:
    """`sentence` with `markers` before its closing punctuation (unchanged if it has one)."""
    if MARKER.search(sentence):
        return sentence
    stripped = sentence.rstrip()
    end = stripped[-1] if stripped and stripped[-1] in ".!?" else ""
    body = (stripped[:-1] if end else stripped).rstrip()
    return f"{body} {markers}{end}" + sentence[len(stripped) :]


def _content_words(text: str) -> set[str]:
    """The words that carry a claim, stemmed as the citation check stems them (a Spanish
    answer conjugates and inflects what its passage says: conectarte ~ conectar)."""
    return {stem(w) for w in _WORDS.findall(text) if w.lower() not in _STOP}


def attribute_uncited(answer: str, sources: Sequence[PromptSource], floor: float = 0.6) -> str:
    """Append [n] to sentences with no marker when source n holds >= floor of their words."""
    vocab = {s.n: _content_words(s.text) for s in sources}
    pieces = _LINE_SENTENCES.split(answer)  # "… output. [1]" stays one cited piece
    out = []
    for piece in pieces:
        words = _content_words(piece)
        if len(words) >= 3 and not MARKER.search(piece):
            best = max(vocab, key=lambda n: len(words & vocab[n]), default=None)
            if best is not None and len(words & vocab[best]) >= floor * len(words):
                piece = _with_marker(piece, f"[{best}]")
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

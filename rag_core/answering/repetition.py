"""Where a model's answer starts repeating itself.

A small model at temperature 0 can loop: the 0.5B, asked in Spanish what a hotel night in a
capital is reimbursed, wrote its two right sentences six times over until the token limit
cut the last copy mid-sentence ("… de seis horas o [1]"). The reader gets the answer once,
and generation stops at the first repeat instead of running to the limit.
"""

from __future__ import annotations

import re

from rag_core.answering.citation_check import claim_of, split_sentences

_OPENING_MARKER = re.compile(r"\n[ \t]*(?:\[\d{1,3}\][ \t]*)+\s*$")
MIN_REPEATED_CHARS = 24  # a sentence this long said twice is a loop, not a short heading


def _said(sentence: str) -> str:
    """The sentence's words, without markers: "[1]" sits at the end of one copy and the
    start of the next when the model copies its sources' headers."""
    return " ".join(re.findall(r"\w+", claim_of(sentence).lower()))


def repeat_start(text: str, finished: bool = True) -> int | None:
    """The offset where the text starts saying again what it already said, or None: a
    sentence of at least MIN_REPEATED_CHARS whose words equal an earlier sentence's, and
    the next one the earlier one's next too (a loop; one step of a procedure named twice is
    not), or nothing after it in a `finished` text. The cut moves back over short lines (a
    heading) that also repeat the ones before the first copy."""
    spans = split_sentences(text)
    said = [_said(text[start:end]) for start, end in spans]
    first_seen: dict[str, int] = {}
    for index, words in enumerate(said):
        earlier = first_seen.get(words)
        if earlier is not None and len(words) >= MIN_REPEATED_CHARS:
            last = index + 1 == len(said)
            if (last and finished) or (not last and said[index + 1] == said[earlier + 1]):
                while earlier > 0 and index > earlier + 1 and said[index - 1] == said[earlier - 1]:
                    index, earlier = index - 1, earlier - 1
                start = spans[index][0]
                # a marker on its own line opens the repeated copy of a source's header
                opening = _OPENING_MARKER.search(text, 0, start)
                return opening.start() if opening else start
        first_seen.setdefault(words, index)
    return None


def without_repetition(text: str) -> str:
    """The text up to where it starts repeating itself."""
    start = repeat_start(text)
    return text if start is None else text[:start].rstrip()

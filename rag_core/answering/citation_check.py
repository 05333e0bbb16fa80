"""Does the passage an answer sentence cites actually say it?

Each answer sentence that carries `[n]` is scored against source n: the MiniLM cosine
between the sentence and the passage's closest sentence (or the whole passage), averaged
with the share of the sentence's content words found in the passage. Numbers, dates and
names are facts a reader will act on, so each one must occur in the passage, whatever the
score. A sentence that fails is re-cited to another given source that supports it, or
marked unsupported. The threshold is measured on `data/eval/support-pairs.jsonl`
(`ragdesk eval support`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rag_core.answering.citations import MARKER

DENSE_WEIGHT = 0.5  # fixed a priori: the labelled set tunes only the threshold
DEFAULT_THRESHOLD = 0.7  # `ragdesk eval support` on data/eval/support-pairs.jsonl

# a sentence ends at . ! ? (with any markers right after it) before whitespace, or a newline
_SENTENCE_END = re.compile(r"[.!?]+(?:\s*\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\])*(?=\s|$)|\n+")
_LIST_PREFIX = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'’.+-]*[A-Za-z0-9]|[A-Za-z]")
_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split()
    )
} | {"twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100"}
_STOP = frozenset(
    """a an the and or but nor of to in on at by for with from into onto over under about as
    is are was were be been being am do does did done have has had having it its this that
    these those there here their they them he she his her we our you your i me my not no can
    could will would shall should may might must also than then so such very more most any
    all each both some which what when where who whom whose how why if else while because
    only just own same other out up down off again further once one per via eg ie etc use
    used using uses""".split()
)
# capitalised words that are not names of anything
_NOT_NAMES = frozenset(
    "The A An In On At If It Its This That These Those There For To Of And Or But With By "
    "As When Where What Which Who How Why Yes No Note Also However See You Your We Our I "
    "Each Every All Any Some Both Then Thus Use Using".split()
)


class SentenceEncoder(Protocol):
    """What the checker needs from `rag_core.embedding.embedder.Embedder`."""

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_uncached(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class Support:
    """How well one passage backs one claim."""

    score: float  # DENSE_WEIGHT * dense + (1 - DENSE_WEIGHT) * lexical
    dense: float  # best cosine between the claim and a passage sentence (or the passage)
    lexical: float  # share of the claim's content words that occur in the passage
    missing: tuple[str, ...]  # numbers, dates and names of the claim absent from the passage

    def holds(self, threshold: float) -> bool:
        return self.score >= threshold and not self.missing


@dataclass(frozen=True, slots=True)
class SentenceCheck:
    """One cited answer sentence, as it stands in the final answer text."""

    sentence: str  # the sentence with its markers, verbatim from the answer
    cited: tuple[int, ...]  # the sources it cites (after any re-citation)
    support: Support  # against the best of its cited sources
    supported: bool
    recited_from: tuple[int, ...] = ()  # what the model cited, when that was replaced

    def to_json(self) -> dict[str, object]:
        return {
            "sentence": self.sentence,
            "cited": list(self.cited),
            "score": round(self.support.score, 3),
            "missing": list(self.support.missing),
            "recited_from": list(self.recited_from),
        }


@dataclass(frozen=True, slots=True)
class Verification:
    text: str  # the answer, with re-cited markers
    checks: list[SentenceCheck]

    @property
    def unsupported(self) -> list[SentenceCheck]:
        return [c for c in self.checks if not c.supported]

    def supported_sources(self) -> dict[int, bool]:
        """n -> every sentence citing source n is supported by it."""
        result: dict[int, bool] = {}
        for check in self.checks:
            for n in check.cited:
                result[n] = result.get(n, True) and check.supported
        return result


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, markers after a full stop kept with their sentence."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if text[start : match.end()].strip():
            spans.append((start, match.end()))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def claim_of(sentence: str) -> str:
    """The sentence without markers, list bullets or markdown emphasis."""
    text = MARKER.sub("", sentence)
    text = _LIST_PREFIX.sub("", text.replace("**", "").replace("`", ""))
    return re.sub(r"\s+", " ", text).strip()


def _stem(word: str) -> str:
    word = word.lower().strip("'’.-")
    return word[:5] if len(word) > 5 else word  # reimbursed ~ reimbursement


def content_terms(text: str) -> set[str]:
    return {
        _stem(w)
        for w in _WORD.findall(text)
        if len(w) > 1 and w.lower() not in _STOP and w.lower() not in _NUMBER_WORDS
    }


def numbers_in(text: str) -> set[str]:
    found = {n.replace(",", "") for n in _NUMBER.findall(MARKER.sub(" ", text))}
    words = {_NUMBER_WORDS[w.lower()] for w in _WORD.findall(text) if w.lower() in _NUMBER_WORDS}
    return found | (words - {"1", "0"})  # "one of", "no one": not quantities


def names_in(claim: str) -> set[str]:
    """Capitalised words after the first, and identifiers (CamelCase, with _ . or digits)."""
    words = _WORD.findall(claim)
    names = set()
    for i, word in enumerate(words):
        word = re.sub(r"['’]s$", "", word)
        identifier = bool(re.search(r"[a-z][A-Z]|_|\w\.\w|[A-Za-z]\d", word))
        capitalised = word[0].isupper() and i > 0 and word not in _NOT_NAMES and len(word) > 1
        if identifier or capitalised:
            names.add(word)
    return names


def missing_facts(claim: str, passage: str, given: str = "") -> tuple[str, ...]:
    """Numbers and names of the claim that neither the passage nor `given` (the question:
    "a 4 hour flight" applied to a rule on flights "under 6 hours") contain."""
    known = f"{passage}\n{given}" if given else passage
    have_numbers = numbers_in(known)
    missing = sorted(numbers_in(claim) - have_numbers)
    lowered = known.lower()
    for name in sorted(names_in(claim)):
        forms = {name.lower(), re.sub(r"(?<=[A-Z])s$", "", name).lower()}  # SSDs ~ SSD
        # a unit may follow its number ("16MB"): only a letter before the name is a new word
        bounded = (rf"(?<![a-z_]){re.escape(f)}(?![a-z0-9_])" for f in forms)
        if not any(re.search(pattern, lowered) for pattern in bounded):
            missing.append(name)
    return tuple(missing)


def lexical_overlap(claim: str, passage: str) -> float:
    terms = content_terms(claim)
    if not terms:
        return 0.0
    return len(terms & content_terms(passage)) / len(terms)


def passage_units(passage: str) -> list[str]:
    """The passage's sentences, each joined with its neighbour, and the passage itself."""
    passage = " ".join(passage.split())  # hard-wrapped text: sentences run across lines
    sentences = [passage[a:b].strip() for a, b in split_sentences(passage)]
    sentences = [s for s in sentences if len(s) > 15]
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(sentences)]
    return [*sentences, *pairs, passage.strip()]


class SupportChecker:
    """Scores claims against passages with the real embedder; re-cites or flags."""

    def __init__(self, encoder: SentenceEncoder, threshold: float = DEFAULT_THRESHOLD) -> None:
        self._encoder = encoder
        self.threshold = threshold

    def score_many(self, pairs: Sequence[tuple[str, str]], given: str = "") -> list[Support]:
        """Support of each (claim, passage), embedding every distinct text once; `given`:
        what the asker stated (its numbers and names are not the passage's to back)."""
        if not pairs:
            return []
        claims = list(dict.fromkeys(claim for claim, _ in pairs))
        passages = list(dict.fromkeys(passage for _, passage in pairs))
        units = {p: passage_units(p) for p in passages}
        all_units = list(dict.fromkeys(u for p in passages for u in units[p]))
        claim_vectors = dict(zip(claims, self._encoder.encode_uncached(claims), strict=True))
        unit_vectors = dict(zip(all_units, self._encoder.embed(all_units), strict=True))
        results = []
        for claim, passage in pairs:
            matrix = np.stack([unit_vectors[u] for u in units[passage]])
            dense = float(np.max(matrix @ claim_vectors[claim]))
            lexical = lexical_overlap(claim, passage)
            score = DENSE_WEIGHT * dense + (1 - DENSE_WEIGHT) * lexical
            results.append(Support(score, dense, lexical, missing_facts(claim, passage, given)))
        return results

    def score(self, claim: str, passage: str) -> Support:
        return self.score_many([(claim, passage)])[0]

    def verify(self, answer: str, passages: Mapping[int, str], question: str = "") -> Verification:
        """Check every cited sentence of `answer` against the passages it cites (numbered as
        in the prompt); a sentence backed only by another given passage is re-cited to it.
        The question's own numbers and names are taken as given."""
        cited_spans = []
        for start, end in split_sentences(answer):
            sentence = answer[start:end]
            numbers = _cited_numbers(sentence, passages)
            claim = claim_of(sentence)
            if numbers and len(content_terms(claim)) >= 2:
                cited_spans.append((start, end, claim, numbers))
        if not cited_spans:
            return Verification(answer, [])
        # first what each sentence cites; the other passages only for those that fail
        wanted = [(claim, n) for _, _, claim, numbers in cited_spans for n in numbers]
        found = self.score_many([(c, passages[n]) for c, n in wanted], question)
        scores = dict(zip(wanted, found, strict=True))
        failing = [
            (claim, n)
            for _, _, claim, numbers in cited_spans
            if not any(scores[(claim, m)].holds(self.threshold) for m in numbers)
            for n in passages
            if n not in numbers
        ]
        found = self.score_many([(c, passages[n]) for c, n in failing], question)
        scores |= zip(failing, found, strict=True)
        pieces, checks, position = [], [], 0
        for start, end, claim, numbers in cited_spans:
            sentence = answer[start:end]
            best_cited = max(numbers, key=lambda n: scores[(claim, n)].score)
            support, cited, recited_from = scores[(claim, best_cited)], numbers, ()
            if not support.holds(self.threshold):
                others = [n for n in passages if (claim, n) in scores and n not in numbers]
                better = max(others, key=lambda n: scores[(claim, n)].score, default=None)
                if better is not None and scores[(claim, better)].holds(self.threshold):
                    sentence = _recite(sentence, better)
                    support, cited, recited_from = scores[(claim, better)], (better,), numbers
            pieces.append(answer[position:start] + sentence)
            position = end
            checks.append(
                SentenceCheck(
                    sentence=sentence.strip(),
                    cited=cited,
                    support=support,
                    supported=support.holds(self.threshold),
                    recited_from=recited_from,
                )
            )
        pieces.append(answer[position:])
        return Verification("".join(pieces), checks)


def _cited_numbers(sentence: str, passages: Mapping[int, str]) -> tuple[int, ...]:
    found = []
    for match in MARKER.finditer(sentence):
        for part in re.split(r"\s*[,;]\s*", match.group(1)):
            n = int(part)
            if n in passages and n not in found:
                found.append(n)
    return tuple(found)


def _recite(sentence: str, n: int) -> str:
    """Replace the sentence's markers with one `[n]` where its first marker stood."""
    first = MARKER.search(sentence)
    assert first is not None
    rest = re.sub(r"[ \t]+([.,;:!?])", r"\1", MARKER.sub("", sentence[first.end() :]))
    return f"{sentence[: first.start()]}[{n}]{rest}"

"""Does the passage an answer sentence cites actually say it?

Each answer sentence that carries `[n]` is scored against source n: the MiniLM cosine
between the sentence and the passage's closest sentence (or the whole passage), averaged
with the share of the sentence's content words found in the passage. Numbers, dates,
names and file paths are facts a reader will act on, so each one must occur in the passage,
whatever the score. A sentence that fails is re-cited to another given source that supports it, or
marked unsupported. The threshold is measured on `data/eval/support-pairs.jsonl`
(`ragdesk eval support`).

A sentence in another language than its passage (a Spanish answer from an English manual)
shares no words with it, so the lexical half would hold its score near half the dense
cosine and every such sentence would fail. Across languages the score is the dense cosine
alone, moved by the embedder's measured across-languages floor onto the same threshold
(`benchmarks/support_across.py`); an embedder with no such floor keeps the one rule.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rag_core.answering.citations import MARKER
from rag_core.answering.function_words import (
    ALL_NUMBER_WORDS,
    not_names,
    number_words,
    stem,
    stop_words,
)
from rag_core.answering.language import language_of
from rag_core.i18n import SOURCE_LANGUAGE

DENSE_WEIGHT = 0.5  # fixed a priori: the labelled set tunes only the threshold
DEFAULT_THRESHOLD = 0.7  # `ragdesk eval support` on data/eval/support-pairs.jsonl

# a sentence ends at . ! ? (with any markers right after it) before whitespace, or a newline
# (a list item's number, "1. [1] Run …", ends no sentence: its marker cites the item)
_SENTENCE_END = re.compile(
    r"(?<!^\d)(?<!^\d\d)[.!?]+(?:\s*\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\])*(?=\s|$)|\n+", re.M
)
_LIST_PREFIX = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")
# a word: letters of any alphabet (accents, ñ), digits and _ ' ’ . + - inside
_WORD = re.compile(r"[^\W\d_](?:[\w'’.+-]*[^\W_])?")


class SentenceEncoder(Protocol):
    """What the checker needs from `rag_core.embedding.embedder.Embedder`."""

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_uncached(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class Support:
    """How well one passage backs one claim."""

    score: float  # DENSE_WEIGHT * dense + (1 - DENSE_WEIGHT) * lexical (across languages:
    # dense moved onto the threshold's scale, see SupportChecker)
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


def cites_a_claim(answer: str, language: str = SOURCE_LANGUAGE) -> bool:
    """Does any sentence carry both a marker and a word of its own? An answer with no
    marker, or whose only marker stands alone on a line (after a code block), points the
    reader at nothing to check."""
    return any(
        MARKER.search(answer[start:end]) and content_terms(claim_of(answer[start:end]), language)
        for start, end in split_sentences(answer)
    )


def claim_of(sentence: str) -> str:
    """The sentence without markers, list bullets or markdown emphasis."""
    text = MARKER.sub("", sentence)
    text = _LIST_PREFIX.sub("", text.replace("**", "").replace("`", ""))
    return re.sub(r"\s+", " ", text).strip()


def content_terms(text: str, language: str = SOURCE_LANGUAGE) -> set[str]:
    """The text's words that carry a claim, stemmed (`language`'s grammar words left out)."""
    stop, numbers = stop_words(language), number_words(language)
    return {
        stem(w)
        for w in _WORD.findall(text)
        if len(w) > 1 and w.lower() not in stop and w.lower() not in numbers
    }


def numbers_in(text: str, words: Mapping[str, str] | None = None) -> set[str]:
    """Digits, and number words of `words` (default English's; a claim: its language's,
    a passage: any language's)."""
    words = number_words(SOURCE_LANGUAGE) if words is None else words
    found = {n.replace(",", "") for n in _NUMBER.findall(MARKER.sub(" ", text))}
    spelled = {words[w.lower()] for w in _WORD.findall(text) if w.lower() in words}
    return found | (spelled - {"1", "0"})  # "one of", "no one": not quantities


def names_in(claim: str, language: str = SOURCE_LANGUAGE, capitalised: bool = True) -> set[str]:
    """Capitalised words after the first, and identifiers (CamelCase, with _ . or digits);
    `capitalised=False`: identifiers only (across languages a capitalised word is often a
    translated name, "Secretario del Proyecto" for "Project Secretary")."""
    plain = not_names(language)
    words = _WORD.findall(claim)
    names = set()
    for i, word in enumerate(words):
        word = re.sub(r"['’]s$", "", word)
        identifier = bool(re.search(r"[a-z][A-Z]|_|\w\.\w|[A-Za-z]\d", word))
        name = capitalised and word[0].isupper() and i > 0 and word not in plain and len(word) > 1
        if identifier or name:
            names.add(word)
    return names


_PATH = re.compile(r"(?<![\w/.~])/(?:[\w.+-]+/)*[\w.+-]*\w")


def paths_in(claim: str) -> set[str]:
    """Absolute file paths the claim names ("/etc/krb5.conf", "/var/games")."""
    return {
        m.group(0)
        for m in _PATH.finditer(MARKER.sub(" ", claim))
        if m.group(0).count("/") > 1 or len(m.group(0)) > 4
    }


# a quotation: opened after a space, bracket or colon, closed before a non-word character
_QUOTATION = re.compile(r'(?:^|(?<=[\s(\[:]))["“]([^"“”\s][^"“”]*?)["”](?!\w)')


def quotations_in(claim: str) -> list[str]:
    """What the claim quotes, four words or more: given as the source's own words, so
    the words must be there ("states that "Debian Developers get paid vacation days each
    year."" passed the score on its title words alone)."""
    return [q for q in _QUOTATION.findall(claim) if len(_WORD.findall(q)) >= 4]


def _words(text: str) -> list[str]:
    """The text's words, lowercased (line breaks, bullets, curly apostrophes and
    punctuation left out): a quotation is compared word by word."""
    return _WORD.findall(text.replace("’", "'").lower())


QUOTED_SHARE = 0.75  # of a quotation's word pairs, found in one stretch of the text


def quoted_in(quotation: str, text: str) -> bool:
    """Whether the text says the quotation: three in four of its consecutive word pairs
    stand within one stretch of the text twice its length. A model quoting from memory
    changes a word or two ("If your bug report has been filed already, you should submit
    your comments by sending e-mail to …" for "If there is an existing bug report
    #<number>, you should submit your comments by sending e-mail to …"); an invented
    quotation shares a pair or two with its passage, not most of them."""
    quoted = _words(quotation)
    pairs = list(itertools.pairwise(quoted))
    if not pairs:
        return True
    words = _words(text)
    span = 2 * len(quoted)
    needed = QUOTED_SHARE * len(pairs)
    wanted = set(pairs)
    starts = [i for i, pair in enumerate(itertools.pairwise(words)) if pair in wanted]
    for start in starts:
        stretch = words[start : start + span]
        found = set(itertools.pairwise(stretch))
        if sum(pair in found for pair in pairs) >= needed:
            return True
    return False


def missing_facts(
    claim: str,
    passage: str,
    language: str = SOURCE_LANGUAGE,
    given: str = "",
    capitalised: bool = True,
    places: str = "",
) -> tuple[str, ...]:
    """Numbers and names of the claim (in `language`) that neither the passage nor `given`
    (the question: "a 4 hour flight" applied to a rule on flights "under 6 hours") contain,
    and, in one language (`capitalised`; see `names_in`), quotations found neither in the
    passage nor in `places` (the sources' file and section names, which the model sees in
    each source's header)."""
    known = f"{passage}\n{given}" if given else passage
    have_numbers = numbers_in(known, ALL_NUMBER_WORDS)
    missing = sorted(numbers_in(claim, number_words(language)) - have_numbers)
    lowered = known.lower()
    # a path is one fact ("/etc/krb5.conf", not "krb5.conf" anywhere); PDF text may break it
    packed = re.sub(r"\s+", "", lowered)
    missing += sorted(path for path in paths_in(claim) if path.lower() not in packed)
    for name in sorted(names_in(claim, language, capitalised)):
        forms = {name.lower(), re.sub(r"(?<=[A-Z])s$", "", name).lower()}  # SSDs ~ SSD
        # a unit may follow its number ("16MB"): only a letter before the name is a new word
        bounded = (rf"(?<![^\W\d]){re.escape(f)}(?!\w)" for f in forms)
        if not any(re.search(pattern, lowered) for pattern in bounded):
            missing.append(name)
    quotations = quotations_in(claim) if capitalised else []
    if quotations:
        said = f"{known}\n{places}"
        missing += [q for q in quotations if not quoted_in(q, said)]
    return tuple(missing)


def lexical_overlap(claim: str, passage: str, language: str = SOURCE_LANGUAGE) -> float:
    terms = content_terms(claim, language)
    if not terms:
        return 0.0
    return len(terms & content_terms(passage, language)) / len(terms)


def passage_units(passage: str) -> list[str]:
    """The passage's sentences, each joined with its neighbour, and the passage itself."""
    passage = " ".join(passage.split())  # hard-wrapped text: sentences run across lines
    sentences = [passage[a:b].strip() for a, b in split_sentences(passage)]
    sentences = [s for s in sentences if len(s) > 15]
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(sentences)]
    return [*sentences, *pairs, passage.strip()]


class SupportChecker:
    """Scores claims against passages with the real embedder; re-cites or flags."""

    def __init__(
        self,
        encoder: SentenceEncoder,
        threshold: float = DEFAULT_THRESHOLD,
        across_languages: float | None = None,
    ) -> None:
        """`across_languages`: the dense cosine a claim must reach in a passage written in
        another language (None: the same rule as in one language)."""
        self._encoder = encoder
        self.threshold = threshold
        self.across_languages = across_languages

    def score_many(
        self,
        pairs: Sequence[tuple[str, str]],
        language: str = SOURCE_LANGUAGE,
        given: str = "",
        places: str = "",
    ) -> list[Support]:
        """Support of each (claim, passage), embedding every distinct text once; the claims
        are in `language`; `given`: what the asker stated (its numbers and names are not the
        passage's to back); `places`: the sources' names, which a claim may quote."""
        if not pairs:
            return []
        claims = list(dict.fromkeys(claim for claim, _ in pairs))
        passages = list(dict.fromkeys(passage for _, passage in pairs))
        units = {p: passage_units(p) for p in passages}
        all_units = list(dict.fromkeys(u for p in passages for u in units[p]))
        claim_vectors = dict(zip(claims, self._encoder.encode_uncached(claims), strict=True))
        unit_vectors = dict(zip(all_units, self._encoder.embed(all_units), strict=True))
        across = self.across_languages
        foreign = {p: self._in_another_language(p, language) for p in passages}
        results = []
        for claim, passage in pairs:
            matrix = np.stack([unit_vectors[u] for u in units[passage]])
            dense = float(np.max(matrix @ claim_vectors[claim]))
            lexical = lexical_overlap(claim, passage, language)
            if across is not None and foreign[passage]:
                score = dense - across + self.threshold
            else:
                score = DENSE_WEIGHT * dense + (1 - DENSE_WEIGHT) * lexical
            missing = missing_facts(claim, passage, language, given, not foreign[passage], places)
            results.append(Support(score, dense, lexical, missing))
        return results

    def _in_another_language(self, passage: str, language: str) -> bool:
        """Whether the passage is written in another language than the claims (a passage
        too short or technical to tell counts as theirs: the one-language rule)."""
        if self.across_languages is None:
            return False
        return language_of(passage[:1000], language) != language

    def score(self, claim: str, passage: str) -> Support:
        return self.score_many([(claim, passage)])[0]

    def verify(
        self,
        answer: str,
        passages: Mapping[int, str],
        language: str = SOURCE_LANGUAGE,
        question: str = "",
        places: str = "",
    ) -> Verification:
        """Check every cited sentence of `answer` against the passages it cites (numbered as
        in the prompt); a sentence backed only by another given passage is re-cited to it.
        The question's own numbers and names are taken as given; `places` (the sources'
        file and section names) may be quoted."""
        cited_spans = []
        for start, end in split_sentences(answer):
            sentence = answer[start:end]
            numbers = _cited_numbers(sentence, passages)
            claim = claim_of(sentence)
            if numbers and len(content_terms(claim, language)) >= 2:
                cited_spans.append((start, end, claim, numbers))
        if not cited_spans:
            return Verification(answer, [])
        # first what each sentence cites; the other passages only for those that fail
        wanted = [(claim, n) for _, _, claim, numbers in cited_spans for n in numbers]
        found = self.score_many([(c, passages[n]) for c, n in wanted], language, question, places)
        scores = dict(zip(wanted, found, strict=True))
        failing = [
            (claim, n)
            for _, _, claim, numbers in cited_spans
            if not any(scores[(claim, m)].holds(self.threshold) for m in numbers)
            for n in passages
            if n not in numbers
        ]
        found = self.score_many([(c, passages[n]) for c, n in failing], language, question, places)
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

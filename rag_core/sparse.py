"""Lexical term weights for Qdrant sparse vectors (BM25 term frequencies; the collection's
IDF modifier supplies the inverse document frequency at query time), per language.

The tokenizer and weighting are qdrant-edge's own `Bm25`, the same code Qdrant uses, run
in-process: no hub model, and the server path stores exactly the same vectors.

A collection's languages (`RAGDESK_DOCUMENT_LANGUAGES`, recorded when it is made) choose
the stop words and Snowball stemmers. With several, every text goes through each
language's stemmer (stop words of all of them removed) and the terms are pooled: a Spanish
"políticas" and "política" meet on one stem, an English "policies" and "policy" on
another, and no guess of each text's language is needed (questions are too short for
one). A term two stemmers agree on counts once (its largest weight). Measured in the
README ("Lexical search per language"): what a language-neutral choice costs, and what a
second language costs the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rag_core.types import ConfigurationError

# language code -> (qdrant-edge stop words, Snowball stemmer; None: stop words only)
LANGUAGES: dict[str, tuple[str, str | None]] = {
    "en": ("English", "English"),
    "es": ("Spanish", "Spanish"),
    "fr": ("French", "French"),
    "de": ("German", "German"),
    "it": ("Italian", "Italian"),
    "pt": ("Portuguese", "Portuguese"),
    "nl": ("Dutch", "Dutch"),
    "ca": ("Catalan", None),
}
NEUTRAL = "none"  # no stop words, no stemming: words as written (lower-cased)
# a new collection's languages when RAGDESK_DOCUMENT_LANGUAGES is auto
DEFAULT_LANGUAGES = ("en", "es")
# collections made before languages were recorded: Qdrant's default Bm25 (English)
LEGACY_LANGUAGES = ("en",)


@dataclass(frozen=True, slots=True)
class SparseVec:
    indices: list[int]
    values: list[float]


def parse_languages(values: Sequence[str]) -> tuple[str, ...]:
    """Language codes as given (order kept, repeats dropped), checked."""
    codes = tuple(dict.fromkeys(v.strip().lower() for v in values if v.strip()))
    if codes == (NEUTRAL,):
        return codes
    unknown = [c for c in codes if c not in LANGUAGES]
    if unknown or not codes:
        raise ConfigurationError(
            f"unknown document language(s) {unknown or list(values)}: use codes among "
            f"{', '.join(LANGUAGES)}, or {NEUTRAL!r} (no stemming, no stop words)"
        )
    return codes


def languages_of(meta: dict[str, Any]) -> tuple[str, ...]:
    """The languages an existing collection's sparse vectors were made with."""
    recorded = meta.get("sparse_languages")
    return tuple(recorded) if recorded else LEGACY_LANGUAGES


def resolve_languages(setting: Sequence[str], meta: dict[str, Any] | None) -> tuple[str, ...]:
    """The languages to write a collection with. `auto`: an existing collection's (`meta`),
    else the default; an explicit choice must match an existing collection's, because a
    collection's terms are all made one way."""
    auto = [s.lower() for s in setting] == ["auto"]
    if meta:
        recorded = languages_of(meta)
        if not auto and parse_languages(setting) != recorded:
            raise ConfigurationError(
                f"the collection's lexical index was made for languages {','.join(recorded)}, "
                f"not {','.join(setting)}: set RAGDESK_DOCUMENT_LANGUAGES=auto (keeps them), "
                "or re-index with `ingest DIR --rebuild` (the chat keeps answering from the "
                "current index until it is done)"
            )
        return recorded
    return DEFAULT_LANGUAGES if auto else parse_languages(setting)


class LexicalEncoder:
    """BM25 sparse vectors for texts in the given languages (see the module docstring)."""

    def __init__(self, languages: Sequence[str]) -> None:
        import qdrant_edge as q

        codes = parse_languages(languages)
        if codes == LEGACY_LANGUAGES:
            self._models = [q.Bm25()]  # exactly the vectors collections have always had
            return
        if codes == (NEUTRAL,):
            stop = q.StopwordsSet(languages=set(), custom=set())
            config = q.Bm25Config(stopwords=stop, stemmer=q.DisabledStemmer())
            self._models = [q.Bm25(config)]
            return
        stop = q.StopwordsSet(languages={getattr(q.Language, LANGUAGES[c][0]) for c in codes})
        stemmers = dict.fromkeys(LANGUAGES[c][1] for c in codes)
        self._models = [
            q.Bm25(
                q.Bm25Config(
                    stopwords=stop,
                    stemmer=q.SnowballParams(getattr(q.SnowballLanguage, name))
                    if name
                    else q.DisabledStemmer(),
                )
            )
            for name in stemmers
        ]

    def document(self, text: str) -> SparseVec:
        """Term-frequency weights of an indexed text."""
        if len(self._models) == 1:
            vec = self._models[0].embed_document(text)
            return SparseVec(list(vec.indices), list(vec.values))
        weights: dict[int, float] = {}
        for model in self._models:
            vec = model.embed_document(text)
            for index, value in zip(vec.indices, vec.values, strict=True):
                if value > weights.get(index, 0.0):
                    weights[index] = value
        return SparseVec(list(weights), list(weights.values()))

    def query(self, text: str) -> SparseVec:
        """Each distinct term of a question, weight 1."""
        terms: dict[int, float] = {}
        for model in self._models:
            terms.update(dict.fromkeys(model.embed_query(text).indices, 1.0))
        return SparseVec(list(terms), list(terms.values()))


@lru_cache(maxsize=8)
def lexical_encoder(languages: tuple[str, ...] = LEGACY_LANGUAGES) -> LexicalEncoder:
    return LexicalEncoder(languages)


def sparse_document(text: str, languages: tuple[str, ...] = LEGACY_LANGUAGES) -> SparseVec:
    return lexical_encoder(languages).document(text)


def sparse_query(text: str, languages: tuple[str, ...] = LEGACY_LANGUAGES) -> SparseVec:
    return lexical_encoder(languages).query(text)

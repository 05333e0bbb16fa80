"""Document text is data, never instructions.

A prompt alone is no defence (measured: a 1.5B model obeyed an injected "ACCESS GRANTED"
line despite fenced sources and a system rule). So sentences that address the assistant
are detected — flagged at ingest, removed before prompting — and answers are checked for
words that only those removed sentences contained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_AI = r"(ai|a\.i\.|llm|gpt|language model|chat ?bot|ai assistants?|virtual assistant|ai model)"
_PATTERNS = [
    r"\b(ignore|disregard|forget|override)\b[^.!?\n]{0,40}\b(instructions?|rules|prompts?|"
    r"guidelines|directions|user'?s? question|the question)\b",
    r"\b(you are now|from now on,? you|pretend (to be|you are)|roleplay as)\b",
    r"\b(system|developer|hidden)\s+(prompt|message|instruction)s?\b",
    rf"\b{_AI}\b[^.!?\n]{{0,30}}\b(must|should|shall|will|need to|are required to)\b"
    r"[^.!?\n]{0,30}\b(answer|reply|respond|say|output|print|reveal|tell)\b",
    r"\b(answer|reply|respond|say|output|print)\b[^.!?\n]{0,20}\b(only|exactly|verbatim)\b"
    r"[^.!?\n]{0,10}(with|:|\")",
    rf"\b(if|when) (you are|you're) (an? )?{_AI}\b",
    rf"\b(dear|note to|attention,?|hey) (the |all )?{_AI}\b",
    r"<\|im_start\|>|<\|im_end\|>|\[/?INST\]|<</?SYS>>|<\|(system|user|assistant)\|>"
    r"|###\s*(instruction|system)",
]
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*\n?|\n")
REMOVED = "[text addressed to the assistant removed]"
_WORD = re.compile(r"[A-Za-z0-9_$@#%-]{3,}")
_COMMON = frozenset(
    "the and for you your are not with this that from have has was were will can all any "
    "answer reply respond say output print question instructions instruction ignore previous "
    "assistant model must should only exactly now user document documents sources source".split()
)


def looks_like_instructions(text: str) -> bool:
    return _INSTRUCTION.search(text) is not None


@dataclass(frozen=True, slots=True)
class Neutralized:
    text: str
    removed: tuple[str, ...]


def neutralize(text: str) -> Neutralized:
    """Sentences that address the assistant replaced by a marker; the rest untouched."""
    if not looks_like_instructions(text):
        return Neutralized(text, ())
    kept: list[str] = []
    removed: list[str] = []
    for sentence in _SENTENCE.findall(text):
        if looks_like_instructions(sentence):
            removed.append(sentence.strip())
            kept.append(REMOVED + (" " if not sentence.endswith("\n") else "\n"))
        else:
            kept.append(sentence)
    return Neutralized("".join(kept), tuple(removed))


def leaked_words(answer: str, removed: list[str], allowed_text: str) -> set[str]:
    """Distinctive words of removed sentences that the answer repeats although neither the
    kept sources nor the question contain them: the model followed an injection."""
    allowed = {w.lower() for w in _WORD.findall(allowed_text)}
    suspicious = (
        {w.lower() for sentence in removed for w in _WORD.findall(sentence)} - allowed - _COMMON
    )
    return {w for w in suspicious if re.search(rf"\b{re.escape(w)}\b", answer, re.IGNORECASE)}

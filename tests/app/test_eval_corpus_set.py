"""data/eval/answers-corpus.jsonl: well formed, and every gold passage really answers.

PDF pages are read with poppler's `pdftotext -f N -l N` (an independent reader); other files
with ingest's own parser. Each answerable question's quoted evidence is in its file, each
keyword (any of its alternatives) in the gold page or near the evidence, and the question is
not a copy of the passage. So are the places a row lists in `also`: other manuals that
state the same answer.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from app.eval_answers import QaItem, comparable, holds_answer, holds_gold, load_qa
from ingest.parse import parse_document
from ingest.sniff import sniff_format
from tests.conftest import REPO

CORPUS_SET = REPO / "data" / "eval" / "answers-corpus.jsonl"
NEAR = 1500  # characters either side of the evidence where the keywords must be


@functools.cache
def parsed_text(path: Path) -> str:
    parsed = parse_document(path, sniff_format(path, 512 << 20))
    return comparable("\n".join(block.text for block in parsed.blocks))


def gold_text(item: QaItem, docs: Path) -> str:
    path = docs / item.source
    if item.pages:
        pages = [
            subprocess.run(
                ["pdftotext", "-f", str(n), "-l", str(n), str(path), "-"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            for n in item.pages
        ]
        return comparable("\n".join(pages))
    text = parsed_text(path)
    at = text.find(comparable(item.evidence))
    assert at >= 0, f"{item.source}: evidence not found: {item.evidence!r}"
    return text[max(at - NEAR, 0) : at + NEAR]


def test_set_is_well_formed() -> None:
    items = load_qa(CORPUS_SET)
    assert len(items) >= 100
    unanswerable = [i for i in items if not i.answerable]
    assert 0.15 <= len(unanswerable) / len(items) <= 0.25
    assert all(not i.source and not i.keywords for i in unanswerable)
    answerable = [i for i in items if i.answerable]
    assert len({i.source for i in answerable}) >= 30  # across many documents
    assert len({i.question for i in items}) == len(items)
    kinds = Counter(i.kind for i in answerable)
    assert set(kinds) == {"fact", "reasoning"} and kinds["reasoning"] >= 15
    for item in answerable:
        assert item.keywords, item.question
        if item.source.endswith(".pdf"):
            assert item.pages, f"a PDF's gold needs its page: {item.question}"
        else:
            assert item.evidence, f"a file without pages needs a quoted evidence: {item.question}"


@pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="needs poppler-utils (scripts/system.sh)"
)
def test_each_gold_passage_holds_its_answer(shared_docs: Path) -> None:
    for item in load_qa(CORPUS_SET):
        if not item.answerable:
            continue
        text = gold_text(item, shared_docs)
        for keyword in item.keywords:
            alternatives = [comparable(a) for a in keyword.split("|") if a.strip()]
            assert any(a in text for a in alternatives), (
                f"{keyword!r} not at the gold of {item.question!r}"
            )
        for place in item.alternatives():  # another manual saying the same
            assert place.source != item.source or place.pages != item.pages, item.question
            other = gold_text(place, shared_docs)
            for keyword in item.keywords:
                alternatives = [comparable(a) for a in keyword.split("|") if a.strip()]
                assert any(a in other for a in alternatives), (
                    f"{keyword!r} not at {place.source} {place.pages} for {item.question!r}"
                )
        # asked in the employee's words: no run of six words copied from the passage
        words = re.findall(r"[\w'./-]+", comparable(item.question))
        runs = {" ".join(words[n : n + 6]) for n in range(len(words) - 5)}
        assert not any(run in text for run in runs), f"copied from the passage: {item.question!r}"


def test_a_listed_alternative_counts_as_an_answer_not_as_the_gold() -> None:
    item = next(i for i in load_qa(CORPUS_SET) if i.question.startswith("When was the Debian"))
    history = "Debian was begun in August 1993 by Ian Murdock"
    assert holds_answer(item, "pdf/project-history.en.pdf", 12, history)
    assert not holds_gold(item, "pdf/project-history.en.pdf", 12, history)
    assert not holds_answer(item, "pdf/project-history.en.pdf", 3, history)  # not a listed page
    assert holds_answer(item, "pdf/debian-faq.en.pdf", 10, "") and holds_gold(
        item, "pdf/debian-faq.en.pdf", 10, ""
    )

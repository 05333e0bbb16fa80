"""The Spanish / cross-lingual QA set (data/eval/answers-es.jsonl) is well formed.

Every gold file exists (in data/eval/docs-es, data/eval/docs or the shared corpus), every
answerable item's keywords (one alternative of each) appear in the gold file's text — on
the gold page ±1 for PDFs — compared without case and accents, and every row has the
fields `ragdesk eval answers` and benchmarks/answer_devset.py read. A keyword that the
passage does not contain would make keyword recall measure the question, not the model.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from app.eval_answers import load_qa

REPO = Path(__file__).resolve().parents[2]
QA = REPO / "data/eval/answers-es.jsonl"
DOCS_ES = REPO / "data/eval/docs-es"
LICENSES = REPO / "data/eval/docs-es-licenses"
SHARED = Path(os.environ.get("RAGDESK_SHARED_DIR", REPO.parent / "shared")) / "docs"
ROOTS = (DOCS_ES, REPO / "data/eval/docs", SHARED)

KINDS = {"fact", "reasoning", "unanswerable", "injection"}
LANGS = {"es", "en"}
FIELDS = {"question", "answerable", "kind", "source", "pages", "answer_keywords"}


def fold(text: str) -> str:
    """Lower case, no accents, one space between words: how a reader compares."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", bare)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def gold_path(source: str) -> Path | None:
    return next((root / source for root in ROOTS if (root / source).is_file()), None)


@cache
def page_texts(path: Path) -> tuple[str, ...]:
    """The file's text, one entry per PDF page (one entry for other formats)."""
    if path.suffix == ".pdf":
        document = pdfium.PdfDocument(str(path))
        try:
            return tuple(fold(page.get_textpage().get_text_range()) for page in document)
        finally:
            document.close()
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix in (".html", ".htm"):
        parser = _Text()
        parser.feed(raw)
        raw = " ".join(parser.parts)
    return (fold(raw),)


def rows() -> list[dict]:
    return [json.loads(line) for line in QA.read_text(encoding="utf-8").splitlines() if line]


def test_every_row_has_the_schema_and_loads() -> None:
    items = load_qa(QA)
    assert len(items) == len(rows())
    for row in rows():
        assert row.keys() >= FIELDS, row
        assert row["kind"] in KINDS, row
        assert row["lang"] in LANGS and row["doc_lang"] in LANGS, row
        assert row["answerable"] == (row["kind"] != "unanswerable"), row
        if row["answerable"]:
            assert row["source"] and row["answer_keywords"], row
        else:
            assert not row["source"] and not row["answer_keywords"], row
    questions = [row["question"] for row in rows()]
    assert len(questions) == len(set(questions)), "a question is asked twice"


def test_the_set_has_the_promised_parts() -> None:
    """≥ 40 Spanish questions over Spanish documents (~15 % unanswerable), ~20 Spanish
    questions over English documents, ~10 English questions over Spanish documents."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows():
        groups.setdefault((row["lang"], row["doc_lang"]), []).append(row)
    es_es = groups[("es", "es")]
    unanswerable = sum(not r["answerable"] for r in es_es)
    assert len(es_es) >= 40
    assert 0.10 <= unanswerable / len(es_es) <= 0.20
    assert len(groups[("es", "en")]) >= 18
    assert len(groups[("en", "es")]) >= 10


@pytest.mark.parametrize(
    "row", [r for r in rows() if r["answerable"]], ids=lambda r: r["question"][:60]
)
def test_gold_passage_contains_the_keywords(row: dict) -> None:
    path = gold_path(row["source"])
    if path is None and not SHARED.is_dir():
        pytest.skip(f"the shared corpus is not on this machine: {row['source']}")
    assert path is not None, f"gold file missing: {row['source']}"
    if row["doc_lang"] == "es":
        assert path.is_relative_to(DOCS_ES), f"{row['source']} is not a Spanish document"
    pages = page_texts(path)
    if row["pages"]:
        assert path.suffix == ".pdf"
        wanted = {p + d for p in row["pages"] for d in (-1, 0, 1)}
        text = " ".join(t for n, t in enumerate(pages, start=1) if n in wanted)
    else:
        text = " ".join(pages)
    for keyword in row["answer_keywords"]:
        alternatives = [fold(a.strip()) for a in keyword.split("|") if a.strip()]
        assert any(a in text for a in alternatives), f"{keyword!r} not in {row['source']}"


def test_every_spanish_document_is_used_and_licensed() -> None:
    """Each document is a gold file of some question, and its Debian package's copyright
    file is in docs-es-licenses/ and named in the README's provenance table."""
    gold = {row["source"] for row in rows()}
    readme = (LICENSES / "README.md").read_text(encoding="utf-8")
    for document in sorted(p for p in DOCS_ES.rglob("*") if p.is_file()):
        name = document.relative_to(DOCS_ES).as_posix()
        assert name in gold, f"{name} is asked about by no question"
        assert name in readme, f"{name} has no provenance row in the README"
    for copyright_file in re.findall(r"\(([\w.-]+\.copyright)\)", readme):
        assert (LICENSES / copyright_file).is_file(), copyright_file

"""Contents and index pages of real manuals are left out of the index, and nothing else is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingest.contents_pages import contents_blocks, is_contents_listing
from ingest.parse import parse_document
from ingest.pipeline import run_ingest
from rag_core.embedding.embedder import Embedder
from rag_core.settings import Settings
from rag_core.store.factory import open_store
from rag_core.types import Block, Payload, TableRows


def _flagged_pages(path: Path) -> list[int | None]:
    doc = parse_document(path, "pdf")
    return sorted(doc.blocks[n].page or 0 for n in contents_blocks(doc.blocks))


def test_the_contents_pages_of_real_manuals_are_found(shared_docs: Path) -> None:
    # page numbers checked by eye: the FAQ's contents run over pages 3-6, the history's 4-5
    assert _flagged_pages(shared_docs / "pdf/debian-faq.en.pdf") == [3, 4, 5, 6]
    assert _flagged_pages(shared_docs / "pdf/project-history.en.pdf") == [4, 5]
    assert _flagged_pages(shared_docs / "pdf/krb5-basic.pdf") == []


def test_a_book_index_is_a_listing_and_pages_with_a_few_dot_runs_are_not(
    shared_docs: Path,
) -> None:
    admin = parse_document(shared_docs / "pdf/R-admin.pdf", "pdf")
    index_pages = [b for b in admin.blocks if "Function and variable index" in b.text[:60]]
    assert index_pages and all(is_contents_listing(b.text) for b in index_pages)
    # a page of the Debian Reference whose fuser output holds two runs of dots ("F....")
    reference = parse_document(shared_docs / "pdf/debian-reference.en.pdf", "pdf")
    page = next(b for b in reference.blocks if b.page == 172)
    assert "F...." in page.text and not is_contents_listing(page.text)
    transcript = "\n".join(
        ["Reading package lists... Done", "Building dependency tree... Done"] * 4
    )  # ellipses of three dots are not leaders
    assert not is_contents_listing(transcript)
    listing = "a . . . . 1\nb . . . . 2\nc . . . . 3"
    table = Block(listing, table=TableRows(header="a", rows=((1, "b"),)))
    assert contents_blocks([Block(listing), table, Block(transcript)]) == frozenset({0})


def test_ingest_leaves_contents_pages_out_and_reports_them(
    make_corpus: Callable[..., Path], settings: Settings, embedder: Embedder
) -> None:
    root = make_corpus("pdf/project-history.en.pdf")
    with open_store(settings) as store:
        report = run_ingest(root, settings, store, embedder)
        pages = {p[Payload.PAGE] for p in store.payloads()}
        founding = [
            p for p in store.payloads() if "Ian Murdock" in p[Payload.TEXT] and p[Payload.PAGE]
        ]
    assert report.failures == [] and report.contents_pages == 2
    assert not pages & {4, 5}
    assert {1, 6, 12} <= pages  # the title page, the abstract, the founding story stay
    assert founding

    kept = settings.model_copy(update={"index_contents_pages": True, "collection": "kept"})
    with open_store(kept) as store:
        report = run_ingest(root, kept, store, embedder)
        assert {4, 5} <= {p[Payload.PAGE] for p in store.payloads()}
    assert report.contents_pages == 0

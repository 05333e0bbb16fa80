"""Each format family on real files: text, pages, sections, titles; and refusals."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

from ingest.errors import UnreadableDocument
from ingest.parse import decode_text, parse_document
from tests.ingest import bad_files


@pytest.mark.parametrize("engine", ["pypdf", "pdfium"])
def test_pdf_pages_are_numbered_from_one(shared_docs: Path, engine: str) -> None:
    doc = parse_document(shared_docs / "pdf/krb5-basic.pdf", "pdf", engine)
    pages = {block.page for block in doc.blocks}
    assert min(pages) == 1 and max(pages) == 19
    page_15 = next(b for b in doc.blocks if b.page == 15)
    assert "8h30s" in page_15.text  # a table cell printed on page 15 of the manual
    assert doc.title == "Kerberos Concepts"


def test_docx_sections_follow_headings(shared_docs: Path) -> None:
    doc = parse_document(shared_docs / "office/Lib3MF-1.docx", "docx")
    sections = [b.section for b in doc.blocks if b.section]
    assert any(s.endswith("General Architecture") for s in sections)
    assert sum(len(b.text) for b in doc.blocks) > 50_000


@pytest.mark.parametrize(
    ("name", "fmt", "phrase"),
    [
        ("office/aprx-requirement-specification.odt", "odt", "APRS"),
        ("office/Alg-dds_x.rtf", "rtf", "double dummy"),
        ("office/Par_Calculation.rtf", "docx", "par"),
        ("html/apache2.caching.html", "html", "mod_cache"),
        ("text/debian-social-contract.txt", "txt", "Debian will remain 100% free"),
    ],
)
def test_office_html_text(shared_docs: Path, name: str, fmt: str, phrase: str) -> None:
    doc = parse_document(shared_docs / name, fmt)
    text = "\n".join(b.text for b in doc.blocks)
    assert phrase.lower() in text.lower()


def test_html_title_and_breadcrumb_sections(shared_docs: Path) -> None:
    doc = parse_document(shared_docs / "html/apache2.caching.html", "html")
    assert doc.title == "Caching Guide"
    assert any(b.section and b.section.startswith("Caching Guide > ") for b in doc.blocks)


def test_markdown_front_matter_is_metadata(shared_docs: Path) -> None:
    doc = parse_document(shared_docs / "markdown/etcd.faq.md", "md")
    assert doc.title == "Frequently Asked Questions (FAQ)"
    assert "title:" not in doc.blocks[0].text


def test_email_and_presentation(tmp_path: Path) -> None:
    mail = parse_document(bad_files.email_message(tmp_path / "n.eml"), "eml")
    assert "30 November" in " ".join(b.text for b in mail.blocks)
    deck = parse_document(bad_files.presentation(tmp_path / "d.pptx"), "pptx")
    text = " ".join(b.text for b in deck.blocks)
    assert "14 characters" in text and "Phishing" in text


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            "Die Größe und das Maß sind im Handbuch erklärt.".encode("latin-1"),
            "Die Größe und das Maß sind im Handbuch erklärt.",
        ),
        (
            "Резервное копирование выполняется каждую ночь в два часа.".encode("cp1251"),
            "Резервное копирование выполняется каждую ночь в два часа.",
        ),
        ("café – naïve".encode("utf-16"), "café – naïve"),
        ("\ufeffBOM first".encode(), "BOM first"),
        (b"nul\x00 bytes\x00 dropped", "nul bytes dropped"),
    ],
)
def test_text_encodings(data: bytes, expected: str) -> None:
    assert decode_text(data) == expected


def test_cp1252_document(tmp_path: Path) -> None:
    path = tmp_path / "memo.txt"
    text = "The “quarterly” report is due — see §4. Prices in € only.\n" * 20
    path.write_bytes(text.encode("cp1252"))
    doc = parse_document(path, "txt")
    assert "“quarterly”" in doc.blocks[0].text and "€" in doc.blocks[0].text


@pytest.mark.parametrize("engine", ["pypdf", "pdfium"])
def test_broken_pdfs_say_why(shared_docs: Path, tmp_path: Path, engine: str) -> None:
    real = shared_docs / "pdf/krb5-basic.pdf"
    cases = {
        bad_files.encrypted_pdf(real, tmp_path / "locked.pdf"): "encrypted",
        bad_files.image_only_pdf(tmp_path / "scan.pdf"): "no text layer",
        bad_files.corrupt_pdf(tmp_path / "corrupt.pdf"): "damaged",
        bad_files.truncated_pdf(real, tmp_path / "cut.pdf"): "damaged|no text layer",
    }
    for path, reason in cases.items():
        with pytest.raises(UnreadableDocument, match=reason):
            parse_document(path, "pdf", engine)


def test_text_pages_match_an_independent_extraction(shared_docs: Path) -> None:
    path = shared_docs / "pdf/krb5-basic.pdf"
    reader = PdfReader(path)
    for block in parse_document(path, "pdf", "pypdf").blocks:
        assert block.text == reader.pages[block.page - 1].extract_text()
    pdf = pdfium.PdfDocument(path)
    for block in parse_document(path, "pdf", "pdfium").blocks:
        expected = pdf[block.page - 1].get_textpage().get_text_range().replace("\r\n", "\n")
        assert block.text == expected


def test_default_engine_keeps_the_spaces_between_words(shared_docs: Path) -> None:
    """pypdf glues words together on this TeX-made PDF; the default engine must not."""
    doc = parse_document(shared_docs / "pdf/debian-faq.en.pdf", "pdf")
    words = " ".join(b.text for b in doc.blocks).split()
    glued = sum(1 for w in words if len(w) > 25) / len(words)
    assert glued < 0.01, f"{glued:.1%} of words longer than 25 characters"
    assert "Could you tell me whether to install stable, testing or unstable?" in " ".join(
        b.text.replace("\n", " ") for b in doc.blocks
    )

"""OCR of scans: real corpus pages rendered to pictures, read back by the real tesseract.

tesseract takes seconds a page on a loaded machine: these tests OCR three small-to-one-page
pictures in all, and share the results through module fixtures.
"""

from __future__ import annotations

import difflib
import re
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from ingest import ocr
from ingest.errors import UnreadableDocument
from ingest.parse import parse_document
from ingest.sniff import sniff_format
from rag_core.types import ParsedDocument
from tests.ingest import made_files

CAP = 64 << 20


def words_found(reference: str, ocr_text: str) -> float:
    """Share of the reference's words that OCR gave back, in order."""
    ref, hyp = re.findall(r"\S+", reference), re.findall(r"\S+", ocr_text)
    matcher = difflib.SequenceMatcher(None, ref, hyp, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(ref)


@pytest.fixture(scope="module")
def mixed_pdf(shared_docs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return made_files.scanned_pdf(shared_docs, tmp_path_factory.mktemp("scan") / "mixed.pdf")


@pytest.fixture(scope="module")
def ocred(mixed_pdf: Path) -> tuple[ParsedDocument, list[int]]:
    """The mixed PDF parsed, with the text of each OCR run (observed, not replaced)."""
    runs: list[str] = []
    real = ocr.ocr_pdf_page

    def observed(page, options, timeout_s):  # type: ignore[no-untyped-def]
        runs.append(real(page, options, timeout_s))
        return runs[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ocr, "ocr_pdf_page", observed)
        doc = parse_document(mixed_pdf, sniff_format(mixed_pdf, CAP))
    return doc, runs


def test_scanned_page_is_read_and_keeps_its_page_number(
    ocred: tuple[ParsedDocument, list[str]], shared_docs: Path
) -> None:
    doc, _ = ocred
    pages = {block.page: block.text for block in doc.blocks}
    assert set(pages) == {1, 2}
    assert "I know that Knoppix/Linux Mint Debian Edition" in pages[2]
    reference = made_files.page_text(shared_docs / made_files.FAQ, made_files.FAQ_PAGE)
    assert words_found(reference, pages[2]) > 0.95


def test_a_page_with_text_is_never_ocred(
    ocred: tuple[ParsedDocument, list[str]], shared_docs: Path
) -> None:
    doc, runs = ocred
    assert runs == [doc.blocks[1].text]  # one OCR run: the scan's page
    text_page = made_files.page_text(shared_docs / "pdf/krb5-basic.pdf", 5)
    assert doc.blocks[0].text == text_page.replace("\r\n", "\n")  # the text layer, verbatim


def test_a_text_pdf_with_blank_pages_runs_no_ocr(
    shared_docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object) -> str:
        raise AssertionError("OCR ran on a PDF that has a text layer")

    monkeypatch.setattr(ocr, "ocr_image", fail)
    doc = parse_document(shared_docs / "pdf/krb5-basic.pdf", "pdf")  # has blank pages
    assert len(doc.blocks) > 10


def test_png_scan_is_searchable(shared_docs: Path, tmp_path: Path) -> None:
    target = tmp_path / "memo.png"
    made_files.page_image(shared_docs / made_files.FAQ, 21, crop=0.45).save(target, dpi=(200, 200))
    assert sniff_format(target, CAP) == "png"
    doc = parse_document(target, "png")
    assert doc.format == "png" and [b.page for b in doc.blocks] == [1]
    ocr_text = doc.blocks[0].text
    assert "Debian GNU/Linux includes complete source-code" in " ".join(ocr_text.split())
    reference = made_files.page_text(shared_docs / made_files.FAQ, 21)
    read = " ".join(reference.split()[: len(ocr_text.split())])  # the top of the page
    assert words_found(read, ocr_text) > 0.9


def test_tiff_frames_are_pages(shared_docs: Path, tmp_path: Path) -> None:
    top = made_files.page_image(shared_docs / made_files.FAQ, 20, crop=0.12)
    blank = Image.new("L", top.size, 255)
    target = tmp_path / "fax.tif"
    blank.save(target, save_all=True, append_images=[top], dpi=(200, 200))
    assert sniff_format(target, CAP) == "tiff"
    doc = parse_document(target, "tiff")
    assert [b.page for b in doc.blocks] == [2]
    assert "Knoppix" in doc.blocks[0].text


def test_without_tesseract_scans_are_refused_and_text_pdfs_still_read(
    mixed_pdf: Path, shared_docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scan_only = tmp_path / "scan.pdf"
    made_files.page_image(shared_docs / made_files.FAQ, 20, crop=0.1).save(scan_only)
    picture = tmp_path / "scan.png"
    made_files.page_image(shared_docs / made_files.FAQ, 20, crop=0.1).save(picture)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no tesseract on the PATH
    for path, fmt in ((scan_only, "pdf"), (picture, "png")):
        with pytest.raises(UnreadableDocument, match=r"tesseract.*not installed.*apt-get"):
            parse_document(path, fmt)
    doc = parse_document(mixed_pdf, "pdf")  # its text page survives; the scan cannot be read
    assert [b.page for b in doc.blocks] == [1]
    assert doc.notes == [f"1 scanned page(s) not read (page 2): {ocr.TESSERACT_MISSING}"]


def test_ocr_off_and_missing_language_say_why(shared_docs: Path, tmp_path: Path) -> None:
    scan_only = tmp_path / "scan.pdf"
    made_files.page_image(shared_docs / made_files.FAQ, 20, crop=0.1).save(scan_only)
    with pytest.raises(UnreadableDocument, match="OCR is off"):
        parse_document(scan_only, "pdf", ocr_options=ocr.OcrOptions(languages=""))
    with pytest.raises(UnreadableDocument, match="tesseract-ocr-zzz"):
        parse_document(scan_only, "pdf", ocr_options=ocr.OcrOptions(languages="eng+zzz"))


def test_damaged_and_oversized_images_are_refused(tmp_path: Path) -> None:
    cut = tmp_path / "cut.png"
    buffer = tmp_path / "whole.png"
    Image.new("L", (400, 300), 255).save(buffer)
    cut.write_bytes(buffer.read_bytes()[:120])
    with pytest.raises(UnreadableDocument, match="damaged or truncated image"):
        parse_document(cut, sniff_format(cut, CAP))
    bomb = tmp_path / "bomb.png"  # a header claiming 30 000 x 30 000 pixels
    bomb.write_bytes(png_header(30_000, 30_000))
    with pytest.raises(UnreadableDocument, match="too large to read safely"):
        parse_document(bomb, sniff_format(bomb, CAP))


def png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 4096)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


SPANISH_PAGE = """Política de gastos de viaje

El señor Muñoz solicitó la devolución de los gastos del año pasado.
La compañía reembolsará los días de vacaciones no disfrutados.
¿Cuántas páginas tiene el informe anual? Según la política vigente,
la contraseña caduca cada noventa días y el módem se revisa en otoño.
"""
SPANISH_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")  # fonts-dejavu-core


def spanish_scan(path: Path, dpi: int = 200) -> None:
    """An A4-wide page of Spanish text, printed as a picture and saved as an image-only PDF:
    what a scanner produces."""
    from PIL import ImageDraw, ImageFont

    width = int(8.27 * dpi)
    font = ImageFont.truetype(str(SPANISH_FONT), size=int(11 / 72 * dpi))  # 11 pt
    page = Image.new("L", (width, int(3.2 * dpi)), 255)
    draw = ImageDraw.Draw(page)
    for row, line in enumerate(SPANISH_PAGE.splitlines()):
        draw.text((int(0.8 * dpi), int((0.5 + row * 0.25) * dpi)), line, font=font, fill=0)
    page.save(path, "PDF", resolution=dpi)


def test_spanish_scan_is_read_with_accents_and_enye(tmp_path: Path) -> None:
    """The default OCR languages (spa+eng) read a scanned Spanish page letter for letter:
    accents, ñ and the opening ¿ included."""
    scan = tmp_path / "gastos.pdf"
    spanish_scan(scan)
    assert ocr.OcrOptions().languages == "spa+eng"
    doc = parse_document(scan, "pdf")
    assert [b.page for b in doc.blocks] == [1]
    read = doc.blocks[0].text
    for word in ("Política", "señor", "Muñoz", "solicitó", "devolución", "año", "compañía"):
        assert word in read, f"{word!r} not read: {read!r}"
    for word in ("reembolsará", "días", "¿Cuántas", "páginas", "Según", "contraseña", "módem"):
        assert word in read, f"{word!r} not read: {read!r}"
    assert words_found(SPANISH_PAGE, read) > 0.97

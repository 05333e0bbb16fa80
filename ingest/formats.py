"""Every file format ragdesk reads, one row each: how its bytes are known, which parser reads
it, whether it is plain text, what it needs installed.

Sniffing (sniff.py), parsing (parse.py, legacy.py, ocr.py), the parser's size checks
(parse_job.py) and the chat's uploader all read this table, so a format of an existing
family is added by adding its row. Pure data: nothing here imports a parser.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

# parse.py's families: each is one parsing function there
Parser = Literal["pdf", "unstructured", "text", "csv", "xlsx", "image", "legacy"]


@dataclass(frozen=True, slots=True)
class Tool:
    """An external program a parser runs, and the Debian package(s) that install it."""

    program: str
    packages: str


TESSERACT = Tool("tesseract", "tesseract-ocr tesseract-ocr-eng tesseract-ocr-spa")


@dataclass(frozen=True, slots=True)
class Format:
    name: str  # what sniffing returns and each chunk records ("docx")
    label: str  # what people call it: messages and the chat's uploader ("Word")
    parser: Parser
    # How sniffing knows it, first from the bytes: the file starts with one of `magic`
    # (blank space allowed before it) or has it in its first `magic_within` bytes; a zip
    # holding `zip_member`, or whose `mimetype` member starts with `zip_mimetype`; an OLE2
    # file holding one of `ole_streams` (lower case).
    magic: tuple[bytes, ...] = ()
    magic_within: int = 0
    zip_member: str = ""
    zip_mimetype: bytes = b""
    ole_streams: tuple[str, ...] = ()
    # Plain text, read whole (its size is checked before reading); among text files the
    # name's `extensions` tell this format from others, and text with none is "txt".
    text_like: bool = False
    extensions: tuple[str, ...] = ()
    # unstructured's partition_<partition>; `front_matter`: given our decoded text with any
    # YAML front matter taken off; `heading_title`: the first heading is the document title.
    partition: str = ""
    front_matter: bool = False
    heading_title: bool = False
    converts_to: str = ""  # legacy: the modern format LibreOffice converts it to
    tool: Tool | None = None  # needed to read it at all


_ROWS = (
    Format("pdf", "PDF", "pdf", magic=(b"%PDF-",), magic_within=1024),
    Format("docx", "Word", "unstructured", zip_member="word/document.xml", partition="docx",
           heading_title=True),
    Format("pptx", "PowerPoint", "unstructured", zip_member="ppt/presentation.xml",
           partition="pptx"),
    Format("odt", "OpenDocument text", "unstructured",
           zip_mimetype=b"application/vnd.oasis.opendocument.text", partition="odt",
           heading_title=True),
    Format("epub", "EPUB", "unstructured", zip_mimetype=b"application/epub+zip",
           partition="epub"),
    Format("xlsx", "Excel", "xlsx", zip_member="xl/workbook.xml"),
    Format("doc", "Word", "legacy", ole_streams=("worddocument",), converts_to="docx",
           tool=Tool("soffice", "libreoffice-writer-nogui")),
    Format("xls", "Excel", "legacy", ole_streams=("workbook", "book"), converts_to="xlsx",
           tool=Tool("soffice", "libreoffice-calc-nogui")),
    Format("ppt", "PowerPoint", "legacy", ole_streams=("powerpoint document",),
           converts_to="pptx", tool=Tool("soffice", "libreoffice-impress-nogui")),
    Format("rtf", "RTF", "unstructured", magic=(b"{\\rtf",), partition="rtf"),
    Format("html", "HTML", "unstructured", text_like=True,
           extensions=(".html", ".htm", ".xhtml"), partition="html", front_matter=True,
           heading_title=True),
    Format("md", "Markdown", "unstructured", text_like=True,
           extensions=(".md", ".markdown", ".mdown"), partition="md", front_matter=True,
           heading_title=True),
    Format("eml", "e-mail", "unstructured", text_like=True, extensions=(".eml",),
           partition="email"),
    Format("csv", "CSV", "csv", text_like=True, extensions=(".csv", ".tsv")),
    Format("txt", "text", "text", text_like=True),
    Format("png", "PNG", "image", magic=(b"\x89PNG\r\n\x1a\n",), tool=TESSERACT),
    Format("jpeg", "JPEG", "image", magic=(b"\xff\xd8\xff",), tool=TESSERACT),
    Format("tiff", "TIFF", "image", magic=(b"II*\x00", b"MM\x00*"), tool=TESSERACT),
)  # fmt: skip

FORMATS: dict[str, Format] = {row.name: row for row in _ROWS}
TEXT_BY_EXTENSION: dict[str, str] = {
    extension: row.name for row in _ROWS if row.text_like for extension in row.extensions
}


def labels(formats: Iterable[Format]) -> list[str]:
    """Their labels, each once, in table order ("Word" covers .docx and .doc)."""
    return list(dict.fromkeys(row.label for row in formats))

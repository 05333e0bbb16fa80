"""What a file really is, from its bytes first and its name second.

A `.pdf` that is HTML, or an `.rtf` that is a DOCX, is parsed as what it is. Binary
formats are known by their signature (images) or their inner structure (the members of an
Office zip, the streams of a legacy OLE2 Office file); only CSV, a kind of text, needs its
name too.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ingest.errors import UnreadableDocument

SUPPORTED = (
    "pdf", "docx", "pptx", "xlsx", "odt", "rtf", "epub", "html", "md", "txt", "eml", "csv",
    "png", "jpeg", "tiff", "doc", "xls", "ppt",
)  # fmt: skip

_TEXT_EXTENSIONS = {
    ".md": "md", ".markdown": "md", ".mdown": "md",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".eml": "eml",
    ".csv": "csv", ".tsv": "csv",
}  # fmt: skip
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)
# OLE2 stream names (lower case) -> legacy format
_OLE_STREAMS = (("worddocument", "doc"), ("workbook", "xls"), ("book", "xls"),
                ("powerpoint document", "ppt"))  # fmt: skip


def sniff_format(path: Path, max_unzipped_bytes: int) -> str:
    """One of SUPPORTED, or UnreadableDocument with the reason."""
    with open(path, "rb") as handle:
        head = handle.read(8192)
    if not head:
        raise UnreadableDocument("empty file (0 bytes)")
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_format(path, max_unzipped_bytes)
    for signature, image_format in _IMAGES:
        if head.startswith(signature):
            return image_format
    if head.startswith(_OLE2):
        return _ole_format(path)
    if head.lstrip().startswith(b"{\\rtf"):
        return "rtf"
    if not _looks_like_text(head):
        raise UnreadableDocument("binary file of an unsupported type")
    suffix = path.suffix.lower()
    lowered = head[:2048].lower()
    if suffix in _TEXT_EXTENSIONS:
        return _TEXT_EXTENSIONS[suffix]
    if lowered.lstrip().startswith((b"<!doctype html", b"<html")) or b"<html" in lowered:
        return "html"
    if _looks_like_email(head):
        return "eml"
    return "txt"


def _zip_format(path: Path, max_unzipped_bytes: int) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            expanded = sum(info.file_size for info in infos)
            if expanded > max_unzipped_bytes:
                raise UnreadableDocument(
                    f"archive expands to {expanded / 1e6:,.0f} MB (limit "
                    f"{max_unzipped_bytes / 1e6:,.0f} MB): refused as a possible zip bomb"
                )
            for info in infos:
                ratio = info.file_size / max(info.compress_size, 1)
                if ratio > 1000 and info.file_size > 10_000_000:
                    raise UnreadableDocument(
                        f"member {info.filename!r} compresses {ratio:,.0f}:1: "
                        "refused as a possible zip bomb"
                    )
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except zipfile.BadZipFile as exc:
        raise UnreadableDocument(f"damaged or truncated zip/Office file: {exc}") from exc
    if "word/document.xml" in names:
        return "docx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    if mimetype.startswith(b"application/vnd.oasis.opendocument.text"):
        return "odt"
    if mimetype.startswith(b"application/epub+zip"):
        return "epub"
    if "xl/workbook.xml" in names:
        return "xlsx"
    raise UnreadableDocument(
        "zip archive that is not a supported document (DOCX/PPTX/XLSX/ODT/EPUB)"
    )


def _ole_format(path: Path) -> str:
    """A legacy Office file is an OLE2 container; its streams say which application wrote
    it. Encrypted DOCX/XLSX/PPTX files are OLE2 containers too."""
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            streams = {"/".join(parts).lower() for parts in ole.listdir(streams=True)}
    except Exception as exc:  # olefile raises OSError and assorted parsing errors
        raise UnreadableDocument(
            f"damaged legacy binary Office file (.doc/.xls/.ppt): {str(exc)[:200]}"
        ) from exc
    if "encryptedpackage" in streams:
        raise UnreadableDocument("encrypted Office file (a password is needed to open it)")
    for stream, legacy_format in _OLE_STREAMS:
        if stream in streams:
            return legacy_format
    raise UnreadableDocument(
        "OLE2 file that is not a Word, Excel or PowerPoint document (e.g. Outlook .msg, .msi)"
    )


def _looks_like_text(head: bytes) -> bool:
    if head.startswith(_BOMS):
        return True
    sample = head[:4096]
    if sample.count(0) > len(sample) // 10:  # stray NULs are tolerated; executables have many
        return False
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27, 0))
    return control <= len(sample) // 50


def _looks_like_email(head: bytes) -> bool:
    first = head[:2048].decode("latin-1").splitlines()[:20]
    fields = {line.split(":", 1)[0].lower() for line in first if ":" in line}
    return len(fields & {"from", "to", "subject", "date", "message-id", "received"}) >= 3

"""What a file really is, from its bytes first and its name second.

A `.pdf` that is HTML, or an `.rtf` that is a DOCX, is parsed as what it is. Binary
formats are known by their signature (PDF, RTF, images) or their inner structure (the
members of an Office zip, the streams of a legacy OLE2 Office file); text is told apart by
its name (`.csv`, `.md`...), else by its content (HTML, e-mail), else it is plain text.
What marks each format is its row in formats.py.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ingest.errors import UnreadableDocument
from ingest.formats import FORMATS, TEXT_BY_EXTENSION, labels

_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BY_MAGIC = [row for row in FORMATS.values() if row.magic]
_IN_ZIP = [row for row in FORMATS.values() if row.zip_member or row.zip_mimetype]
_IN_OLE2 = [row for row in FORMATS.values() if row.ole_streams]


def sniff_format(path: Path, max_unzipped_bytes: int) -> str:
    """A name in formats.FORMATS, or UnreadableDocument with the reason."""
    with open(path, "rb") as handle:
        head = handle.read(8192)
    if not head:
        raise UnreadableDocument("empty file (0 bytes)")
    stripped = head.lstrip()
    for row in _BY_MAGIC:
        within = head[: row.magic_within]
        if any(stripped.startswith(m) or m in within for m in row.magic):
            return row.name
    if head.startswith(_ZIP):
        return _zip_format(path, max_unzipped_bytes)
    if head.startswith(_OLE2):
        return _ole_format(path)
    if not _looks_like_text(head):
        raise UnreadableDocument("binary file of an unsupported type")
    by_name = TEXT_BY_EXTENSION.get(path.suffix.lower())
    if by_name:
        return by_name
    lowered = head[:2048].lower()
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
    for row in _IN_ZIP:
        if (row.zip_member and row.zip_member in names) or (
            row.zip_mimetype and mimetype.startswith(row.zip_mimetype)
        ):
            return row.name
    kinds = "/".join(row.name.upper() for row in _IN_ZIP)
    raise UnreadableDocument(f"zip archive that is not a supported document ({kinds})")


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
    for row in _IN_OLE2:
        if streams.intersection(row.ole_streams):
            return row.name
    *others, last = labels(_IN_OLE2)
    raise UnreadableDocument(
        f"OLE2 file that is not a {', '.join(others)} or {last} document (e.g. Outlook .msg, .msi)"
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

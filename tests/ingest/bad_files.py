"""Makers of the bad inputs a real document share contains (built from real files)."""

from __future__ import annotations

import io
import os
import zipfile
from email.message import EmailMessage
from pathlib import Path

from pypdf import PdfReader, PdfWriter


def truncated_pdf(real_pdf: Path, target: Path) -> Path:
    data = real_pdf.read_bytes()
    target.write_bytes(data[: len(data) // 3])
    return target


def corrupt_pdf(target: Path) -> Path:
    target.write_bytes(b"%PDF-1.7\n" + os.urandom(20_000))
    return target


def encrypted_pdf(real_pdf: Path, target: Path) -> Path:
    writer = PdfWriter()
    for page in PdfReader(real_pdf).pages[:2]:
        writer.add_page(page)
    writer.encrypt(user_password="s3cret", owner_password="owner", algorithm="AES-128")
    with open(target, "wb") as handle:
        writer.write(handle)
    return target


def image_only_pdf(target: Path) -> Path:
    """Pages with no text layer, as a scanner produces (here: blank pages)."""
    writer = PdfWriter()
    for _ in range(3):
        writer.add_blank_page(width=595, height=842)
    with open(target, "wb") as handle:
        writer.write(handle)
    return target


_CONTENT_TYPES = {"[Content_Types].xml": "<Types/>"}


def zip_bomb_docx(target: Path, expanded_mb: int) -> Path:
    """A .docx whose document.xml expands to expanded_mb of zeros."""
    return _zip_bomb(target, _CONTENT_TYPES, "word/document.xml", expanded_mb)


def zip_bomb_xlsx(target: Path, expanded_mb: int) -> Path:
    """A .xlsx whose first sheet expands to expanded_mb of zeros."""
    small = {**_CONTENT_TYPES, "xl/workbook.xml": "<workbook/>"}
    return _zip_bomb(target, small, "xl/worksheets/sheet1.xml", expanded_mb)


def _zip_bomb(target: Path, small: dict[str, str], bomb: str, expanded_mb: int) -> Path:
    """A zip of the `small` members and `bomb`, which expands to expanded_mb of zeros."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in small.items():
            archive.writestr(name, text)
        with archive.open(bomb, "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(expanded_mb):
                member.write(block)
    return target


def garbage(target: Path, size: int = 64_000) -> Path:
    target.write_bytes(os.urandom(size))
    return target


def single_line_text(target: Path, kilobytes: int) -> Path:
    words = ["kerberos", "ticket", "granting", "service", "realm", "principal", "keytab"]
    line = " ".join(words[i % len(words)] + str(i % 97) for i in range(kilobytes * 110))
    target.write_text(line)
    return target


def text_with_nul_bytes(target: Path) -> Path:
    target.write_bytes(
        b"Backups run nightly at 02:00.\x00\x00 Restores need a ticket.\n\n"
        b"The retention period is 30 days.\x00\n"
    )
    return target


def email_message(target: Path) -> Path:
    message = EmailMessage()
    message["From"] = "it-helpdesk@example.org"
    message["To"] = "staff@example.org"
    message["Subject"] = "VPN certificate renewal"
    message["Date"] = "Mon, 02 Nov 2026 09:00:00 +0000"
    message.set_content(
        "All VPN certificates expire on 30 November.\n\n"
        "Renew yours from the self-service portal before then; the helpdesk cannot extend them."
    )
    target.write_bytes(bytes(message))
    return target


def presentation(target: Path) -> Path:
    from pptx import Presentation

    deck = Presentation()
    for title, body in (
        ("Quarterly security review", "Phishing reports rose by a third this quarter."),
        ("Password policy", "Passwords rotate every 180 days and need 14 characters."),
    ):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    buffer = io.BytesIO()
    deck.save(buffer)
    target.write_bytes(buffer.getvalue())
    return target


def empty(target: Path) -> Path:
    target.write_bytes(b"")
    return target


def legacy_office(target: Path) -> Path:
    target.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    return target


def truncated_zip(target: Path) -> Path:
    target.write_bytes(b"PK\x03\x04" + b"\x01" * 100)
    return target

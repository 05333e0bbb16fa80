"""Makers of real files of the formats an office has beyond text documents: scans of real
corpus pages, spreadsheets written by openpyxl, and legacy Office files written by LibreOffice.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
from pypdf import PdfReader, PdfWriter

SCAN_DPI = 200
FAQ = "pdf/debian-faq.en.pdf"
FAQ_PAGE = 20  # a dense page of prose: "3.2.1 I know that Knoppix ... is Debian-based"


def page_image(pdf: Path, page: int, dpi: int = SCAN_DPI, crop: float = 1.0) -> Any:
    """A page of a real PDF as a scanner would see it: a greyscale picture, no text (its
    top `crop` share only, cut between lines)."""
    document = pdfium.PdfDocument(pdf)
    try:
        image = document[page - 1].render(scale=dpi / 72, grayscale=True).to_pil()
    finally:
        document.close()
    if crop >= 1:
        return image
    bottom = int(image.height * crop)  # moved up to a blank pixel row: no half-cut line
    while bottom > 1 and image.crop((0, bottom - 1, image.width, bottom)).getextrema()[0] < 250:
        bottom -= 1
    return image.crop((0, 0, image.width, bottom))


def page_text(pdf: Path, page: int) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        return document[page - 1].get_textpage().get_text_range()
    finally:
        document.close()


def scanned_pdf(shared_docs: Path, target: Path) -> Path:
    """A two-page PDF: page 1 a real text page (krb5-basic.pdf's page 5, with its text
    layer), page 2 an image-only scan of debian-faq's page 20."""
    scan = target.with_suffix(".scan.pdf")
    page_image(shared_docs / FAQ, FAQ_PAGE).save(scan, resolution=SCAN_DPI)
    writer = PdfWriter()
    writer.add_page(PdfReader(shared_docs / "pdf/krb5-basic.pdf").pages[4])
    writer.add_page(PdfReader(scan).pages[0])
    with open(target, "wb") as handle:
        writer.write(handle)
    scan.unlink()
    return target


def workbook(target: Path) -> Path:
    """Two sheets: a title line above the header row, then 60 data rows; and contacts."""
    from openpyxl import Workbook

    book = Workbook()
    travel = book.active
    travel.title = "Travel"
    travel.append(["Travel budget 2026 (approved by the board)"])
    travel.append([])
    travel.append(["Department", "Destination", "Budget (EUR)", "Approved on"])
    cities = ["Lyon", "Berlin", "Madrid", "Oslo", "Vienna", "Porto"]
    for i in range(60):
        travel.append([f"Team {i:02d}", cities[i % 6], 1200 + 25 * i, dt.date(2026, 1, 1 + i % 28)])
    travel["A70"] = "Kerberos training in Reykjavik"  # a row after a gap keeps its number
    travel["C70"] = 4800.5
    contacts = book.create_sheet("Contacts")
    contacts.append(["Name", "Role", "Extension"])
    contacts.append(["Ingrid Solberg", "Backup operator", 4471])
    contacts.append(["Tomás Ferreira", "Kerberos administrator", 4472])
    book.properties.title = "Operations budget"
    book.save(target)
    return target


def social_contract_docx(shared_docs: Path, target: Path) -> Path:
    """Debian's Social Contract (real text) as a Word document with headings."""
    import re

    from docx import Document

    text = (shared_docs / "text/debian-social-contract.txt").read_text()
    part = text.split('"Social Contract" with the Free Software Community', 1)[1]
    part = part.split("___", 1)[0]
    document = Document()
    document.add_heading("Debian Social Contract", level=1)
    for number, title, body in re.findall(r"\n\s{4}(\d)\. (.+)\n((?:\s{7}.+\n)+)", part):
        document.add_heading(f"{number}. {title.strip()}", level=2)
        document.add_paragraph(" ".join(body.split()))
    document.save(target)
    return target


def convert(source: Path, target: Path) -> Path:
    """`source` rewritten by LibreOffice in the legacy format `target`'s suffix names."""
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice (soffice) is needed to make legacy Office test files"
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation={Path(work, 'profile').as_uri()}",
                "--headless",
                "--convert-to",
                target.suffix.lstrip("."),
                "--outdir",
                work,
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
        shutil.move(Path(work, source.stem + target.suffix), target)
    return target

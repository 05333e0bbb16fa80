"""Spreadsheets and CSV: real files written by openpyxl and by hand, read back as tables."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.errors import UnreadableDocument
from ingest.parse import parse_document
from ingest.sniff import sniff_format
from tests.ingest import made_files

CAP = 64 << 20


def edited_workbook(path: Path, member: str, edit: Callable[[bytes], bytes]) -> Path:
    """The test workbook written to `path` with one of its zip members changed by `edit`."""
    made = made_files.workbook(path.with_name("made.xlsx"))
    with zipfile.ZipFile(made) as source, zipfile.ZipFile(path, "w") as target:
        assert member in source.namelist()
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, edit(data) if item.filename == member else data)
    return path


def test_xlsx_sheets_header_and_row_numbers(tmp_path: Path) -> None:
    path = made_files.workbook(tmp_path / "budget.xlsx")
    assert sniff_format(path, CAP) == "xlsx"
    doc = parse_document(path, "xlsx")
    assert doc.format == "xlsx" and doc.title == "Operations budget"
    travel, contacts = doc.blocks
    assert (travel.section, contacts.section) == ("Travel", "Contacts")
    assert travel.table is not None and contacts.table is not None
    # the title line stays with the header row; data rows keep the sheet's numbers
    assert travel.table.header == (
        "Travel budget 2026 (approved by the board)\n"
        "Department | Destination | Budget (EUR) | Approved on"
    )
    numbers = [n for n, _ in travel.table.rows]
    assert numbers == [*range(4, 64), 70]
    assert travel.table.rows[0] == (4, "Team 00 | Lyon | 1200 | 2026-01-01")
    assert travel.table.rows[-1] == (70, "Kerberos training in Reykjavik |  | 4800.5")
    assert contacts.table.rows == (
        (2, "Ingrid Solberg | Backup operator | 4471"),
        (3, "Tomás Ferreira | Kerberos administrator | 4472"),
    )
    assert travel.text.startswith(travel.table.header + "\n" + travel.table.rows[0][1])


def test_declared_sheet_size_is_not_trusted(tmp_path: Path) -> None:
    """A sheet claiming a million rows by sixteen thousand columns costs nothing."""

    def claim_a_million_rows(data: bytes) -> bytes:
        data = data.replace(b'<dimension ref="A1:C3"/>', b'<dimension ref="A1:XFD1048576"/>')
        assert b"XFD1048576" in data
        return data

    bloated = edited_workbook(
        tmp_path / "bloated.xlsx", "xl/worksheets/sheet2.xml", claim_a_million_rows
    )
    doc = parse_document(bloated, "xlsx")
    assert len(doc.blocks[1].table.rows) == 2  # type: ignore[union-attr]


def test_csv_dialects(tmp_path: Path) -> None:
    semicolons = tmp_path / "staff.csv"
    semicolons.write_text(
        'Name;Office;Note\nIngrid;Oslo;"keys; badge"\n\nTomás;Porto;on call\n', "utf-8"
    )
    assert sniff_format(semicolons, CAP) == "csv"
    doc = parse_document(semicolons, "csv")
    (block,) = doc.blocks
    assert block.section is None and block.table is not None
    assert block.table.header == "Name | Office | Note"
    assert block.table.rows == ((2, "Ingrid | Oslo | keys; badge"), (4, "Tomás | Porto | on call"))
    tabs = tmp_path / "rota.tsv"
    tabs.write_bytes("Week\tOn call\n1\tSørensen\n".encode("cp1252", errors="replace"))
    assert parse_document(tabs, sniff_format(tabs, CAP)).blocks[0].table.rows[0][0] == 2  # type: ignore[union-attr]


def test_bad_spreadsheets_say_why(tmp_path: Path) -> None:
    broken = edited_workbook(
        tmp_path / "broken.xlsx",
        "xl/worksheets/sheet1.xml",
        lambda data: data[: len(data) // 2],  # cut mid-element
    )
    with pytest.raises(UnreadableDocument, match="damaged XLSX"):
        parse_document(broken, sniff_format(broken, CAP))
    empty = tmp_path / "empty.csv"
    empty.write_text(",,\n\n,\n")
    with pytest.raises(UnreadableDocument, match="no values"):
        parse_document(empty, "csv")

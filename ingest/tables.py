"""Spreadsheets (XLSX, via openpyxl) and CSV -> one table block per sheet.

Rows keep the number a spreadsheet program shows, so a passage is cited as "sheet Budget,
rows 12–30"; the header row goes atop every chunk (see chunk.py). XLSX is read in
openpyxl's streaming mode with the sheet's declared size ignored, so a file claiming a
million empty rows costs nothing; cells are cached values (formulas are not evaluated).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ingest.errors import UnreadableDocument
from rag_core.types import Block, ParsedDocument, TableRows

CELL_SEPARATOR = " | "
_HEADER_SEARCH = 5  # a title line or two may stand above the real header row


def parse_xlsx(path: Path) -> ParsedDocument:
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unsupported extensions, data validation...
            workbook = load_workbook(path, read_only=True, data_only=True)
            try:
                blocks = [
                    block
                    for sheet in workbook.worksheets
                    if (block := _sheet_block(sheet)) is not None
                ]
                title = (workbook.properties.title or "").strip()
            finally:
                workbook.close()
    except UnreadableDocument:
        raise
    except MemoryError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, SyntaxError) as exc:
        raise UnreadableDocument(f"damaged XLSX file: {type(exc).__name__}: {exc}") from exc
    if not blocks:
        raise UnreadableDocument("spreadsheet with no cell values")
    return ParsedDocument("xlsx", title if 2 < len(title) < 300 else _name(path), blocks)


def _sheet_block(sheet: Any) -> Block | None:
    sheet.reset_dimensions()  # trust the cells, not the declared size
    rows = enumerate(sheet.iter_rows(values_only=True), start=1)
    return table_block(((n, [_cell(v) for v in values]) for n, values in rows), sheet.title)


def parse_csv(path: Path, text: str) -> ParsedDocument:
    """`text`: the decoded file. The dialect (comma, semicolon, tab...) is sniffed."""
    sample = text[:16384]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        block = table_block(enumerate(reader, start=1), None)
    except csv.Error as exc:
        raise UnreadableDocument(f"damaged CSV file: {exc}") from exc
    if block is None:
        raise UnreadableDocument("CSV file with no values")
    return ParsedDocument("csv", _name(path), [block])


def table_block(rows: Iterable[tuple[int, list[str]]], section: str | None) -> Block | None:
    """Numbered rows of cells -> a table block: the header (the first row with two or more
    values among the first few, plus any title lines above it) and the data rows below."""
    numbered = ((n, line) for n, cells in rows if (line := _row_text(cells)))
    head: list[tuple[int, str, int]] = []
    body: list[tuple[int, str]] = []
    for number, line in numbered:
        if len(head) < _HEADER_SEARCH and not any(width >= 2 for *_, width in head):
            head.append((number, line, line.count(CELL_SEPARATOR) + 1))
        else:
            body.append((number, line))
    if not head:
        return None
    cut = next((i for i, (*_, width) in enumerate(head) if width >= 2), 0)
    body = [(n, line) for n, line, _ in head[cut + 1 :]] + body
    header = "\n".join(line for _, line, _ in head[: cut + 1])
    text = "\n".join([header, *(line for _, line in body)])
    return Block(text=text, section=section, table=TableRows(header, tuple(body)))


def _row_text(cells: list[str]) -> str:
    while cells and not cells[-1]:
        cells = cells[:-1]
    if not any(cells):
        return ""
    return CELL_SEPARATOR.join(c.replace("\n", " ").strip() for c in cells)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.10g}" if not value.is_integer() else str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes").removesuffix(" 00:00")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def _name(path: Path) -> str:
    return path.stem.replace("_", " ").strip() or path.name

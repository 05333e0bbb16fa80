"""The format table: each row complete enough for sniffing and parsing to use it."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import pytest

from ingest.errors import UnreadableDocument
from ingest.formats import FORMATS, TEXT_BY_EXTENSION
from ingest.parse import parse_document


def test_every_format_is_known_by_its_bytes_or_is_text() -> None:
    for row in FORMATS.values():
        by_bytes = bool(row.magic or row.zip_member or row.zip_mimetype or row.ole_streams)
        assert by_bytes != row.text_like, row.name
    assert [row.name for row in FORMATS.values() if row.text_like and not row.extensions] == [
        "txt"
    ], "plain text is the one text format a name does not mark"


def test_no_extension_names_two_text_formats() -> None:
    claimed = [ext for row in FORMATS.values() for ext in row.extensions]
    assert len(claimed) == len(set(claimed)) == len(TEXT_BY_EXTENSION)
    assert all(ext.startswith(".") and ext == ext.lower() for ext in claimed)


def test_parsers_have_what_they_need() -> None:
    for row in FORMATS.values():
        if row.parser == "unstructured":
            assert find_spec(f"unstructured.partition.{row.partition}"), row.name
        if row.parser == "legacy":
            modern = FORMATS[row.converts_to]
            assert modern.parser != "legacy" and row.tool and row.tool.program == "soffice"
        if row.parser == "image":
            assert row.tool and row.tool.program == "tesseract"


def test_a_format_without_a_row_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"data")
    with pytest.raises(UnreadableDocument, match="no parser for format 'bin'"):
        parse_document(path, "bin")

"""Legacy .doc/.xls/.ppt: real files written by LibreOffice from real text, read back
through LibreOffice inside the parser's limits."""

from __future__ import annotations

import shutil
from pathlib import Path

import olefile
import pytest

from ingest.errors import UnreadableDocument
from ingest.parse import parse_document
from ingest.sniff import sniff_format
from tests.ingest import bad_files, made_files

CAP = 64 << 20


@pytest.fixture(scope="module")
def legacy(shared_docs: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("legacy")
    workbook = made_files.workbook(folder / "budget.xlsx")
    contract = made_files.social_contract_docx(shared_docs, folder / "contract.docx")
    deck = bad_files.presentation(folder / "review.pptx")
    return {
        "docx": contract,
        "doc": made_files.convert(contract, folder / "contract.doc"),
        "xls": made_files.convert(workbook, folder / "budget.xls"),
        "ppt": made_files.convert(deck, folder / "review.ppt"),
    }


def test_doc_text_and_sections(legacy: dict[str, Path], tmp_path: Path) -> None:
    renamed = tmp_path / "contract.txt"  # a wrong name: the OLE2 streams say what it is
    shutil.copy(legacy["doc"], renamed)
    assert sniff_format(renamed, CAP) == "doc"
    doc = parse_document(renamed, "doc")
    assert doc.format == "doc" and doc.title == "Debian Social Contract"
    sections = {b.section: b.text for b in doc.blocks}
    hidden = sections["Debian Social Contract > 3. We will not hide problems"]
    assert "We will keep our entire bug report database open for public view" in hidden
    # the round trip through .doc keeps every word and heading of the original
    modern = parse_document(legacy["docx"], "docx")
    assert [(b.section, b.text) for b in doc.blocks] == [(b.section, b.text) for b in modern.blocks]


def test_xls_keeps_sheets_and_rows(legacy: dict[str, Path]) -> None:
    assert sniff_format(legacy["xls"], CAP) == "xls"
    doc = parse_document(legacy["xls"], "xls")
    assert doc.format == "xls"
    assert [b.section for b in doc.blocks] == ["Travel", "Contacts"]
    contacts = doc.blocks[1].table
    assert contacts is not None
    assert contacts.rows[1] == (3, "Tomás Ferreira | Kerberos administrator | 4472")


def test_ppt_keeps_its_slides(legacy: dict[str, Path]) -> None:
    assert sniff_format(legacy["ppt"], CAP) == "ppt"
    doc = parse_document(legacy["ppt"], "ppt")
    assert doc.format == "ppt"
    slides = {b.page: b.text for b in doc.blocks}
    assert "Passwords rotate every 180 days and need 14 characters." in slides[2]


def test_without_libreoffice_legacy_files_are_refused(
    legacy: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(
        UnreadableDocument, match=r"LibreOffice.*apt-get install libreoffice-writer"
    ):
        parse_document(legacy["doc"], "doc")
    with pytest.raises(UnreadableDocument, match=r"\.xls.*libreoffice-calc"):
        parse_document(legacy["xls"], "xls")


def test_damaged_legacy_file_says_why(legacy: dict[str, Path], tmp_path: Path) -> None:
    """A valid container whose Word stream is garbage: LibreOffice cannot convert it."""
    broken = tmp_path / "broken.doc"
    shutil.copy(legacy["doc"], broken)
    with olefile.OleFileIO(str(broken), write_mode=True) as ole:
        size = ole.get_size("WordDocument")
        ole.write_stream("WordDocument", b"\xff" * size)
    assert sniff_format(broken, CAP) == "doc"
    with pytest.raises(UnreadableDocument, match="LibreOffice could not convert"):
        parse_document(broken, "doc")

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.errors import UnreadableDocument
from ingest.sniff import sniff_format
from tests.ingest import bad_files

CAP = 64 << 20


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pdf/krb5-basic.pdf", "pdf"),
        ("office/Lib3MF-1.docx", "docx"),
        ("office/aprx-requirement-specification.odt", "odt"),
        ("office/Alg-dds_x.rtf", "rtf"),
        ("office/Par_Calculation.rtf", "docx"),  # a DOCX with the wrong extension
        ("html/apache2.caching.html", "html"),
        ("markdown/etcd.faq.md", "md"),
        ("text/debian-social-contract.txt", "txt"),
    ],
)
def test_real_files(shared_docs: Path, name: str, expected: str) -> None:
    assert sniff_format(shared_docs / name, CAP) == expected


def test_content_wins_over_extension(shared_docs: Path, tmp_path: Path) -> None:
    disguised = tmp_path / "report.txt"
    shutil.copy(shared_docs / "pdf/krb5-basic.pdf", disguised)
    assert sniff_format(disguised, CAP) == "pdf"


def test_generated_formats(tmp_path: Path) -> None:
    assert sniff_format(bad_files.email_message(tmp_path / "notice.eml"), CAP) == "eml"
    assert sniff_format(bad_files.presentation(tmp_path / "deck.pptx"), CAP) == "pptx"


@pytest.mark.parametrize(
    ("make", "name", "reason"),
    [
        (bad_files.empty, "empty.txt", "empty file"),
        (bad_files.garbage, "noise.docx", "binary file"),
        (bad_files.legacy_office, "old.doc", "legacy binary Office"),
        (bad_files.truncated_zip, "cut.docx", "damaged or truncated zip"),
        (lambda target: bad_files.zip_bomb_docx(target, 80), "bomb.docx", "zip bomb"),
    ],
)
def test_refusals_say_why(
    tmp_path: Path, make: Callable[[Path], Path], name: str, reason: str
) -> None:
    with pytest.raises(UnreadableDocument, match=reason):
        sniff_format(make(tmp_path / name), CAP)

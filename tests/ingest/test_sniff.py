from __future__ import annotations

import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from ingest.errors import UnreadableDocument
from ingest.sniff import sniff_format
from tests.ingest import bad_files, made_files

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
    assert sniff_format(made_files.workbook(tmp_path / "budget.dat"), CAP) == "xlsx"
    (tmp_path / "rota.csv").write_text("week,on call\n1,Ingrid\n")
    assert sniff_format(tmp_path / "rota.csv", CAP) == "csv"
    (tmp_path / "rota.txt").write_text("week,on call\n1,Ingrid\n")
    assert sniff_format(tmp_path / "rota.txt", CAP) == "txt"  # CSV only when named so


@pytest.mark.parametrize(
    ("image_format", "fmt"), [("PNG", "png"), ("JPEG", "jpeg"), ("TIFF", "tiff")]
)
def test_images_by_signature(tmp_path: Path, image_format: str, fmt: str) -> None:
    target = tmp_path / "scan.bin"  # the name says nothing
    Image.new("L", (64, 32), 255).save(target, format=image_format)
    assert sniff_format(target, CAP) == fmt


@pytest.fixture(scope="module")
def real_doc(shared_docs: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("ole")
    return made_files.convert(shared_docs / "office/Lib3MF-1.docx", folder / "x.doc").read_bytes()


def test_encrypted_office_and_other_ole2_files(tmp_path: Path, real_doc: bytes) -> None:
    """An encrypted DOCX is an OLE2 container with an EncryptedPackage stream; an Outlook
    message is OLE2 with neither Word, Excel nor PowerPoint streams. Both made from a real
    .doc by renaming its Word stream."""
    locked = tmp_path / "locked.docx"
    locked.write_bytes(rename_stream(real_doc, "WordDocument", "EncryptedPackage"))
    with pytest.raises(UnreadableDocument, match="encrypted Office file"):
        sniff_format(locked, CAP)
    message = tmp_path / "mail.msg"
    message.write_bytes(rename_stream(real_doc, "WordDocument", "__substg1.0_0037001F"))
    with pytest.raises(UnreadableDocument, match="not a Word, Excel or PowerPoint"):
        sniff_format(message, CAP)
    plain = tmp_path / "x.doc"
    plain.write_bytes(real_doc)
    assert sniff_format(plain, CAP) == "doc"


def rename_stream(ole: bytes, old: str, new: str) -> bytes:
    """Rename a stream in an OLE2 directory entry: 64 bytes of UTF-16 name, then its
    length in bytes (terminating NUL included)."""

    def entry_name(name: str) -> bytes:
        raw = name.encode("utf-16-le").ljust(64, b"\0")
        return raw + struct.pack("<H", (len(name) + 1) * 2)

    assert ole.count(entry_name(old)) == 1
    return ole.replace(entry_name(old), entry_name(new))


@pytest.mark.parametrize(
    ("make", "name", "reason"),
    [
        (bad_files.empty, "empty.txt", "empty file"),
        (bad_files.garbage, "noise.docx", "binary file"),
        (bad_files.legacy_office, "old.doc", "damaged legacy binary Office"),
        (bad_files.truncated_zip, "cut.docx", "damaged or truncated zip"),
        (lambda target: bad_files.zip_bomb_docx(target, 80), "bomb.docx", "zip bomb"),
        (lambda target: bad_files.zip_bomb_xlsx(target, 80), "bomb.xlsx", "zip bomb"),
    ],
)
def test_refusals_say_why(
    tmp_path: Path, make: Callable[[Path], Path], name: str, reason: str
) -> None:
    with pytest.raises(UnreadableDocument, match=reason):
        sniff_format(make(tmp_path / name), CAP)

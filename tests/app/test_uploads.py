"""Uploads: safe names, saved under the collection's folder, ingested without touching others."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.uploads import (
    UploadedFile,
    accepted_formats,
    ingest_uploads,
    safe_file_name,
    save_uploads,
)
from ingest.formats import FORMATS
from ingest.pipeline import run_ingest
from rag_core.embedding.embedder import Embedder
from rag_core.settings import Settings
from rag_core.store.edge import EdgeStore


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\notes.txt", "notes.txt"),
        ("..", "upload"),
        ("a<b>:c?.md", "a_b__c_.md"),
        ("", "upload"),
    ],
)
def test_browser_file_names_become_one_harmless_component(name: str, expected: str) -> None:
    assert safe_file_name(name) == expected


def test_same_name_replaces_the_earlier_upload(tmp_path: Path) -> None:
    save_uploads([UploadedFile("a.txt", b"one")], tmp_path)
    sources = save_uploads([UploadedFile("a.txt", b"two")], tmp_path)
    assert sources == ["uploads/a.txt"]
    assert (tmp_path / "uploads" / "a.txt").read_bytes() == b"two"
    assert [p.name for p in (tmp_path / "uploads").iterdir()] == ["a.txt"]


def test_upload_leaves_other_files_permissions_alone(tmp_path: Path, embedder: Embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "hr-only.md").write_text("# Salaries\n\nThe salary bands are confidential.\n")
    hr = Settings(data_dir=tmp_path / "data", workers=0, groups="hr")
    with EdgeStore(hr.qdrant_dir, hr.collection) as store:
        run_ingest(docs, hr, store, embedder)
        everyone = hr.model_copy(update={"groups": ["*"]})
        report = ingest_uploads(
            [UploadedFile("faq.md", b"# FAQ\n\nThe canteen opens at noon.\n")],
            everyone,
            store,
            embedder,
        )
        acl = {p["source"]: p["acl"] for p in store.payloads()}
    assert report.files_new == 1 and report.failures == []
    assert acl == {"hr-only.md": ["hr"], "uploads/faq.md": ["*"]}
    assert (docs / "uploads" / "faq.md").is_file()


def test_a_signed_in_users_upload_is_visible_to_their_groups_only(
    tmp_path: Path, embedder: Embedder
) -> None:
    from rag_core.access.users import User

    settings = Settings(data_dir=tmp_path / "data", workers=0)
    with EdgeStore(settings.qdrant_dir, settings.collection) as store:
        report = ingest_uploads(
            [UploadedFile("review.md", b"# Review\n\nHank's team review notes.\n")],
            settings,
            store,
            embedder,
            owner=User("hank", ("hr",)),
        )
        acl = {p["source"]: p["acl"] for p in store.payloads()}
    assert report.failures == []
    assert acl == {"uploads/hank/review.md": ["hr"]}


def test_uploader_lists_every_format_of_the_table() -> None:
    listed = accepted_formats()
    assert all(row.label in listed for row in FORMATS.values())
    assert listed.startswith("PDF, Word, ") and listed.endswith(", or scans (PNG, JPEG, TIFF)")
    assert listed.count("Word") == 1  # .docx and .doc are both Word

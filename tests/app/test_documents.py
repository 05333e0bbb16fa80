"""Original files are served only from inside the document roots."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.documents import document_roots, original_file
from rag_core.settings import Settings


@pytest.fixture
def root(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    (docs / "hr").mkdir(parents=True)
    (docs / "hr" / "leave.pdf").write_bytes(b"%PDF-1.4 leave")
    (tmp_path / "secret.txt").write_text("not a document")
    return docs


def test_a_source_inside_the_root_is_served(root: Path) -> None:
    found = original_file("hr/leave.pdf", [root])
    assert found is not None
    assert found.path == (root / "hr" / "leave.pdf").resolve()
    assert found.name == "leave.pdf" and found.mime == "application/pdf"


@pytest.mark.parametrize(
    "source",
    ["../secret.txt", "hr/../../secret.txt", "/etc/passwd", "", "hr", "missing.pdf", "a\x00b"],
)
def test_sources_outside_the_root_or_missing_are_refused(root: Path, source: str) -> None:
    assert original_file(source, [root]) is None


def test_a_symlink_leading_out_of_the_root_is_refused(root: Path) -> None:
    (root / "link.txt").symlink_to(root.parent / "secret.txt")
    assert original_file("link.txt", [root]) is None


def test_roots_come_from_settings_else_from_the_last_ingest(tmp_path: Path) -> None:
    meta = {"root": str(tmp_path / "ingested")}
    assert document_roots(Settings(), meta) == [tmp_path / "ingested"]
    configured = Settings(document_roots=f"{tmp_path / 'a'},{tmp_path / 'b'}")
    assert document_roots(configured, meta) == [tmp_path / "a", tmp_path / "b"]
    assert document_roots(Settings(), {}) == []


def test_a_file_changed_since_indexing_is_noticed(root: Path) -> None:
    from app.documents import changed_since_indexed
    from rag_core.hashing import file_hash

    path = root / "hr" / "leave.pdf"
    indexed = file_hash(path)
    found = original_file("hr/leave.pdf", [root])
    assert found is not None and not changed_since_indexed(found, indexed)
    path.write_bytes(b"%PDF-1.4 leave, revised")
    assert changed_since_indexed(found, indexed)

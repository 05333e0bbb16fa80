from __future__ import annotations

import os
from pathlib import Path

from ingest.discover import discover
from rag_core.hashing import file_hash


def test_walk_reports_links_it_cannot_follow(tmp_path: Path) -> None:
    root = tmp_path / "share"
    (root / "team" / "deep").mkdir(parents=True)
    (root / "team" / "deep" / "notes.txt").write_text("notes")
    (root / "Budget 2026 – été #3.md").write_text("# Budget\n")
    (root / ".hidden.txt").write_text("skip me")
    (root / "~$lock.docx").write_text("office lock file")
    os.symlink(root, root / "team" / "loop")  # a folder that contains itself
    os.symlink(root / "self", root / "self")  # a link to itself
    os.symlink(root / "missing.pdf", root / "dangling.pdf")
    os.symlink(root / "team" / "deep" / "notes.txt", root / "shortcut.txt")

    found, failures = discover(root)

    assert sorted(f.source for f in found) == [
        "Budget 2026 – été #3.md",
        "shortcut.txt",
        "team/deep/notes.txt",
    ]
    reasons = {f.path: f.reason for f in failures}
    assert reasons["team/loop"].startswith("symlink loop")
    assert reasons["self"] == "symlink loop"
    assert reasons["dangling.pdf"].startswith("broken symbolic link")


def test_hash_is_content_only(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("same")
    b.write_text("same")
    assert file_hash(a) == file_hash(b)
    b.write_text("different")
    assert file_hash(a) != file_hash(b)

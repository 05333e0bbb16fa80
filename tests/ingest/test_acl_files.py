"""Document permissions from `.ragdesk-acl.yaml` files: patterns, inheritance, changes
without re-embedding, and a broken ACL file failing closed."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.acl_files import ACL_FILE, AclFileError, AclRules
from ingest.pipeline import run_ingest
from rag_core.embedding.embedder import Embedder
from rag_core.settings import Settings
from rag_core.store.edge import EdgeStore


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_patterns_are_inherited_and_deeper_files_override(tmp_path: Path) -> None:
    write(tmp_path / ACL_FILE, '"*": [hr]\n"*.xlsx": [hr, finance]\n')
    write(tmp_path / "handbook" / ACL_FILE, '"*": ["*"]\n"drafts/*": [hr]\n')
    write(tmp_path / "eng" / ACL_FILE, '"*": eng\n')
    rules = AclRules(tmp_path, ("*",))
    assert rules.groups_for("salaries.pdf") == ("hr",)
    assert rules.groups_for("q3/budget.xlsx") == ("finance", "hr")
    assert rules.groups_for("handbook/leave.md") == ("*",)
    assert rules.groups_for("handbook/drafts/new.md") == ("hr",)
    assert rules.groups_for("handbook/deep/er/still.md") == ("*",)
    assert rules.groups_for("eng/deploy/runbook.md") == ("eng",)
    assert AclRules(tmp_path / "eng", ("ops",)).groups_for("x.md") == ("eng",)


def test_without_acl_files_the_run_groups_apply(tmp_path: Path) -> None:
    assert AclRules(tmp_path, ("ops", "hr")).groups_for("a/b.md") == ("hr", "ops")


@pytest.mark.parametrize("text", ["- just a list\n", '"*": [""]\n', '"*": {a: b}\n', "a: [b\n"])
def test_an_unreadable_acl_file_is_an_error(tmp_path: Path, text: str) -> None:
    write(tmp_path / ACL_FILE, text)
    with pytest.raises(AclFileError, match=ACL_FILE):
        AclRules(tmp_path, ("*",)).groups_for("file.md")


def test_acl_change_updates_payloads_without_re_embedding(
    tmp_path: Path, embedder: Embedder
) -> None:
    docs = tmp_path / "docs"
    write(docs / "hr" / "pay.md", "# Pay\n\nSalaries are paid on the 25th of each month.\n")
    write(docs / "hr" / ACL_FILE, '"*": [hr]\n')
    write(docs / "canteen.md", "# Canteen\n\nThe canteen opens at noon.\n")
    settings = Settings(data_dir=tmp_path / "data", workers=0)
    with EdgeStore(settings.qdrant_dir, settings.collection) as store:
        first = run_ingest(docs, settings, store, embedder)
        assert first.failures == []
        acl = {p["source"]: p["acl"] for p in store.payloads()}
        assert acl == {"hr/pay.md": ["hr"], "canteen.md": ["*"]}

        write(docs / "hr" / ACL_FILE, '"*": [hr, payroll]\n')
        second = run_ingest(docs, settings, store, embedder)
        assert second.files_acl_updated == 1 and second.chunks_embedded == 0
        assert second.files_new == second.files_updated == 0
        assert {p["source"]: p["acl"] for p in store.payloads()}["hr/pay.md"] == ["hr", "payroll"]

        write(docs / "hr" / ACL_FILE, '"*": [hr\n')  # a typo: fail closed
        third = run_ingest(docs, settings, store, embedder)
        assert [f.path for f in third.failures] == ["hr/pay.md"]
        assert ".ragdesk-acl.yaml" in third.failures[0].reason
        assert {p["source"]: p["acl"] for p in store.payloads()}["hr/pay.md"] == []
        assert store.count() == first.chunks_written, "nothing deleted, only hidden"

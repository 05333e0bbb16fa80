"""`ingest --acl-from-fs`: a file's groups from real owner groups, mode bits and POSIX ACLs
(groups made with groupadd, files changed with chgrp/chmod/setfacl), mapped by the group
map; folders must be passable too; a permission change reaches the index on the next run
and in the watcher without re-embedding."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.cli import app as ingest_cli
from ingest.fs_acl import FsPermissions
from ingest.pipeline import run_ingest
from ingest.watch import Watcher
from rag_core.access.group_map import load_group_map
from rag_core.embedding.embedder import Embedder
from rag_core.settings import Settings
from rag_core.store.edge import EdgeStore
from tests.posix import chgrp, posix_groups, setfacl

TEXT = "# {name}\n\nThis note is about {name} and nothing else.\n"


@pytest.fixture
def share(tmp_path: Path) -> Iterator[tuple[Path, Path, dict[str, str]]]:
    """A share: public, HR-folder, engineering, ACL'd, masked, owner-only and unmapped files;
    returns (root, group map, {role: posix group})."""
    with posix_groups("hr", "eng", "other") as groups:
        root = tmp_path / "share"
        (root / "hr").mkdir(parents=True)
        for name in ("public", "hr/pay", "eng", "acl", "masked", "mine", "unmapped"):
            (root / f"{name}.md").write_text(TEXT.format(name=name.replace("/", " ")))
        os.chmod(root, 0o755)
        chgrp(root / "public.md", "root", 0o644)
        chgrp(root / "hr", groups["hr"], 0o750)  # the folder keeps others out ...
        chgrp(root / "hr" / "pay.md", "root", 0o644)  # ... of a world-readable file
        chgrp(root / "eng.md", groups["eng"], 0o640)
        chgrp(root / "acl.md", "root", 0o640)
        setfacl("-m", f"g:{groups['hr']}:r", str(root / "acl.md"))
        chgrp(root / "masked.md", "root", 0o640)
        setfacl("-m", f"g:{groups['eng']}:r,m::-", str(root / "masked.md"))
        chgrp(root / "mine.md", groups["eng"], 0o600)
        chgrp(root / "unmapped.md", groups["other"], 0o640)
        mapping = tmp_path / "group-map.yaml"
        mapping.write_text(f"groups:\n  {groups['hr']}: [hr]\n  {groups['eng']}: [eng]\n")
        yield root, mapping, groups


EXPECTED = {
    "public.md": ["*"],
    "hr/pay.md": ["hr"],  # o+r, but only the hr group can pass the folder
    "eng.md": ["eng"],
    "acl.md": ["hr"],  # a named-group ACL entry; root's own group is not mapped
    "masked.md": [],  # the ACL mask takes the entry's read away: hidden
    "mine.md": [],  # owner only
    "unmapped.md": [],  # a group the map does not name gives nothing
}


def test_groups_come_from_owner_group_mode_bits_acls_and_folders(
    share: tuple[Path, Path, dict[str, str]],
) -> None:
    root, mapping, _ = share
    permissions = FsPermissions(root, load_group_map(mapping))
    found = {source: list(permissions.groups_for(source)) for source in EXPECTED}
    assert found == EXPECTED


def test_a_permission_change_is_applied_without_re_embedding(
    share: tuple[Path, Path, dict[str, str]], tmp_path: Path, embedder: Embedder
) -> None:
    root, mapping, groups = share
    settings = Settings(
        data_dir=tmp_path / "data", workers=0, acl_from_fs=True, group_map_file=mapping
    )
    with EdgeStore(settings.qdrant_dir, settings.collection) as store:
        first = run_ingest(root, settings, store, embedder)
        assert first.failures == [] and first.files_new == len(EXPECTED)
        assert _acl(store) == EXPECTED

        os.chmod(root / "eng.md", 0o644)  # now everyone's
        chgrp(root / "hr", groups["eng"], 0o750)  # the folder moves to engineering
        setfacl("-x", f"g:{groups['hr']}", str(root / "acl.md"))  # HR's ACL entry goes
        second = run_ingest(root, settings, store, embedder)
        assert second.files_acl_updated == 3 and second.chunks_embedded == 0
        assert second.files_updated == second.files_new == 0
        assert _acl(store) == EXPECTED | {"eng.md": ["*"], "hr/pay.md": ["eng"], "acl.md": []}


def test_the_watcher_picks_up_chmod_chgrp_and_setfacl(
    share: tuple[Path, Path, dict[str, str]], tmp_path: Path, embedder: Embedder
) -> None:
    root, mapping, groups = share
    settings = Settings(
        data_dir=tmp_path / "data",
        workers=0,
        acl_from_fs=True,
        group_map_file=mapping,
        watch_settle_s=0,
    )
    past = time.time() - 60
    for path in root.rglob("*.md"):
        os.utime(path, (past, past))
    with EdgeStore(settings.qdrant_dir, settings.collection) as store:
        watcher = Watcher(root, settings, store, embedder)
        watcher.poll()
        assert watcher.poll().files_new == len(EXPECTED)
        assert watcher.poll() is None, "nothing changed: nothing to do"

        setfacl("-m", f"g:{groups['eng']}:r", str(root / "mine.md"))
        chgrp(root / "unmapped.md", groups["hr"], 0o640)
        report = watcher.poll()
        assert report is not None and report.files_acl_updated == 2
        assert report.chunks_embedded == 0 and report.files_updated == 0
        acl = _acl(store)
        assert acl["mine.md"] == ["eng"] and acl["unmapped.md"] == ["hr"]
        assert watcher.poll() is None


def test_cli_without_a_group_map_stops_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\ntext\n")
    result = CliRunner().invoke(
        ingest_cli,
        [str(tmp_path / "docs"), "--acl-from-fs", "--qdrant-path", str(tmp_path / "q")],
        env={"RAGDESK_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.exit_code == 2, result.output
    assert "group mapping file" in result.output


def _acl(store: EdgeStore) -> dict[str, list[str]]:
    return {p["source"]: p["acl"] for p in store.payloads()}

"""The `ingest` and `ragdesk status` commands as a user runs them (real processes)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ingest.parse import OCR_IS_OFF
from ingest.pipeline import open_manifest, run_ingest
from rag_core.embedding.embedder import Embedder
from rag_core.settings import Settings
from rag_core.store.factory import open_store
from tests.ingest import bad_files, made_files
from tests.ingest.test_pipeline import assert_consistent

BIN = Path(sys.executable).parent


def run(command: str, *args: str | Path, data: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / command), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "RAGDESK_DATA_DIR": str(data), "RAGDESK_WORKERS": "1", **env},
    )


def test_ingest_then_status(make_corpus: Callable[..., Path], tmp_path: Path) -> None:
    root = make_corpus("markdown/etcd.faq.md", "text/debian-social-contract.txt")
    data, summary = tmp_path / "data", tmp_path / "summary.json"

    result = run("ingest", root, "--collection", "handbook", "--json-summary", summary, data=data)

    assert result.returncode == 0, result.stderr
    assert "ingest summary" in result.stderr
    report = json.loads(summary.read_text())
    assert report["files_new"] == 2 and report["files_failed"] == 0
    assert report["chunks_written"] > 10 and report["failures"] == []

    status = run("ragdesk", "status", "--collection", "handbook", "--json", data=data)
    assert status.returncode == 0, status.stderr
    info = json.loads(status.stdout)
    assert {"files", "chunks", "per_source", "embedder", "last_ingest"} <= info.keys()
    assert info["files"] == 2 and info["chunks"] == report["chunks_written"]
    assert info["embedder"] == "multilingual-e5-small" and info["last_ingest"]  # the default
    assert info["english_embedder"] == "all-MiniLM-L6-v2"  # English vectors beside, by default
    assert sum(info["per_source"].values()) == info["chunks"]


def test_failures_give_exit_status_1_and_are_listed(
    make_corpus: Callable[..., Path], tmp_path: Path
) -> None:
    root = make_corpus("markdown/etcd.faq.md")
    bad_files.corrupt_pdf(root / "broken.pdf")
    summary = tmp_path / "s.json"
    result = run("ingest", root, "--json-summary", summary, data=tmp_path / "data")
    assert result.returncode == 1
    assert "broken.pdf" in result.stderr and "damaged" in result.stderr
    report = json.loads(summary.read_text())
    assert report["files_new"] == 1
    assert report["failures"] == [{"path": "broken.pdf", "reason": report["failures"][0]["reason"]}]


def test_scanned_pages_left_out_are_listed_and_the_rest_indexed(
    shared_docs: Path, tmp_path: Path
) -> None:
    """A PDF with a text page and a scanned one, OCR off: the text page is indexed (exit 0)
    and the run says which page was not read, and why."""
    root = tmp_path / "docs"
    root.mkdir()
    made_files.scanned_pdf(shared_docs, root / "mixed.pdf")
    summary = tmp_path / "s.json"
    result = run(
        "ingest", root, "--json-summary", summary, data=tmp_path / "data", RAGDESK_OCR_LANGUAGES=""
    )
    assert result.returncode == 0, result.stderr
    output = " ".join(result.stderr.split())  # rich wraps the table's cells
    assert "indexed in part" in output and "mixed.pdf" in output
    report = json.loads(summary.read_text())
    assert report["files_new"] == 1 and report["failures"] == []
    [note] = report["partial"]
    assert note["path"] == "mixed.pdf"
    assert note["reason"] == f"1 scanned page(s) not read (page 2): {OCR_IS_OFF}"


def test_configuration_errors_give_exit_status_2(tmp_path: Path) -> None:
    missing = run("ingest", tmp_path / "nope", data=tmp_path / "data")
    assert missing.returncode == 2 and "not a folder" in missing.stderr
    (tmp_path / "docs").mkdir()
    bad_model = run("ingest", tmp_path / "docs", data=tmp_path / "data", RAGDESK_EMBED_MODEL="/x")
    assert bad_model.returncode == 2 and "embedder" in bad_model.stderr
    bad_value = run("ingest", tmp_path / "docs", "--workers", "-3", data=tmp_path / "data")
    assert bad_value.returncode == 2 and "workers" in bad_value.stderr


def test_kill_9_mid_run_then_rerun_repairs(
    make_corpus: Callable[..., Path], tmp_path: Path, embedder: Embedder
) -> None:
    root = make_corpus(
        "text/debian-social-contract.txt",
        "markdown/etcd.faq.md",
        "html/apache2.caching.html",
        "pdf/krb5-basic.pdf",
        "office/Lib3MF-1.docx",
    )
    data = tmp_path / "data"
    settings = Settings(data_dir=data, workers=0)
    process = subprocess.Popen(
        [str(BIN / "ingest"), str(root)],
        env={
            **os.environ,
            "RAGDESK_DATA_DIR": str(data),
            "RAGDESK_WORKERS": "1",
            "RAGDESK_EMBED_MODEL": embedder.info.name,  # the re-run below embeds with it
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    manifests = data / "state" / "manifests"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        done = 0
        for path in manifests.glob("*.sqlite"):
            try:
                with sqlite3.connect(path, timeout=1) as db:
                    done = db.execute("SELECT count(*) FROM files").fetchone()[0]
            except sqlite3.Error:
                pass
        if done >= 1:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()

    with open_store(settings) as store:
        manifest = open_manifest(settings, store)
        done_before = len(manifest.all())
        manifest.close()
        report = run_ingest(root, settings, store, embedder)
        assert report.failures == []
        assert report.files_unchanged == done_before
        assert set(store.per_source()) == {p.name for p in root.iterdir()}
        assert_consistent(settings, store)


def test_rebuild_reindexes_a_collection_of_an_older_schema(
    make_corpus: Callable[..., Path], tmp_path: Path
) -> None:
    root = make_corpus("text/debian-social-contract.txt")
    data, summary = tmp_path / "data", tmp_path / "summary.json"
    assert run("ingest", root, data=data).returncode == 0
    meta_file = data / "qdrant" / "documents" / "ragdesk.json"
    meta = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps({**meta, "schema_version": 1}))  # an older ragdesk's index

    refused = run("ingest", root, data=data)
    assert refused.returncode == 2 and "--rebuild" in refused.stderr
    rebuilt = run("ingest", root, "--rebuild", "--json-summary", summary, data=data)
    assert rebuilt.returncode == 0, rebuilt.stderr
    report = json.loads(summary.read_text())
    assert report["files_new"] == 1 and report["chunks_written"] > 0
    home = data / "qdrant" / "documents"  # the new version, now the live one
    live = home / (home / "current").read_text()
    assert (
        json.loads((live / "ragdesk.json").read_text())["schema_version"] == meta["schema_version"]
    )
    assert not meta_file.exists()  # the old version is gone: nobody had it open
    again = run("ingest", root, "--json-summary", summary, data=data)
    assert again.returncode == 0 and json.loads(summary.read_text())["files_unchanged"] == 1

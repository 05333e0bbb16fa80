"""`ingest --watch`: files are indexed once settled, changes and deletions follow, bad files
are reported once, SIGTERM stops the worker cleanly, and its metrics endpoint counts files."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from ingest.watch import Watcher, read_worker_status
from rag_core.embedding.embedder import Embedder
from rag_core.settings import Settings
from rag_core.store.edge import EdgeStore
from tests.servers import free_port, scrape_metrics, start_worker

NOTE = "# Canteen\n\nThe canteen opens at noon and closes at three.\n"


def age(path: Path, seconds: float = 60) -> None:
    """Make a file look as if it was written `seconds` ago (settled)."""
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_settled_files_are_indexed_changed_and_pruned(tmp_path: Path, embedder: Embedder) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = Settings(data_dir=tmp_path / "data", workers=0, watch_settle_s=2)
    with EdgeStore(settings.qdrant_dir, settings.collection) as store:
        watcher = Watcher(inbox, settings, store, embedder)
        note = inbox / "canteen.md"
        note.write_text(NOTE)
        age(note)
        assert watcher.poll() is None, "first sight: not yet known to be settled"
        report = watcher.poll()
        assert report is not None and report.files_new == 1
        assert store.per_source() == {"canteen.md": report.chunks_written}

        copying = inbox / "big.md"
        copying.write_text("# Big\n\nstill being copied")  # fresh mtime: not settled
        assert watcher.poll() is None and watcher.poll() is None
        assert watcher.status.waiting == ["big.md"]
        age(copying)  # the copy finished: stable from now on
        assert watcher.poll() is None
        watcher.poll()
        assert set(store.per_source()) == {"canteen.md", "big.md"}

        note.write_text(NOTE.replace("noon", "eleven"))
        age(note, 30)
        watcher.poll()
        report = watcher.poll()
        assert report is not None and report.files_updated == 1
        texts = " ".join(p["text"] for p in store.payloads("canteen.md"))
        assert "eleven" in texts and "noon" not in texts

        copying.unlink()
        report = watcher.poll()
        assert report is not None and report.files_pruned == 1
        assert set(store.per_source()) == {"canteen.md"}


def test_a_broken_file_is_reported_once_and_blocks_nothing(
    tmp_path: Path, embedder: Embedder
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.7\nnot a pdf at all\n")
    (inbox / "good.md").write_text(NOTE)
    for path in inbox.iterdir():
        age(path)
    settings = Settings(data_dir=tmp_path / "data", workers=0, watch_settle_s=1)
    with EdgeStore(settings.qdrant_dir, settings.collection) as store:
        watcher = Watcher(inbox, settings, store, embedder)
        watcher.poll()
        report = watcher.poll()
        assert report is not None and report.files_new == 1
        assert [f.path for f in report.failures] == ["broken.pdf"]
        assert watcher.poll() is None, "an unchanged broken file is not retried"
        status = read_worker_status(watcher.status_path)
    assert status is not None and status["state"] == "watching"
    assert "broken.pdf" in status["failed"] and status["last_report"]["files_new"] == 1


def test_worker_process_ingests_and_stops_on_sigterm(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    data = tmp_path / "data"
    metrics_port = free_port()
    worker = start_worker(inbox, data, metrics_port=str(metrics_port))
    status_file = data / "state" / "worker-documents.json"
    try:
        (inbox / "canteen.md").write_text(NOTE)
        deadline = time.monotonic() + 180
        status: dict | None = None
        while time.monotonic() < deadline:
            status = read_worker_status(status_file)
            if status and status.get("last_report"):
                break
            assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""
            time.sleep(0.5)
        assert status and status["last_report"]["files_new"] == 1, status
        assert status["state"] == "watching"
        metrics = scrape_metrics(metrics_port)  # the worker's Prometheus endpoint, over HTTP
        assert metrics["ragdesk_ingest_files_total{outcome=indexed}"] == 1
        assert metrics["ragdesk_ingest_chunks_total"] >= 1
        assert metrics["ragdesk_ingest_failures_total"] == 0
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, output
    assert "SIGTERM: stopping after the current file" in output and "stopped" in output
    assert json.loads(status_file.read_text())["state"] == "stopped"

"""The terminal progress bar: files done, rates, and an ETA driven by bytes."""

from __future__ import annotations

import io

from rich.console import Console

from ingest.report import RichProgress


def test_progress_shows_files_and_an_eta_by_bytes() -> None:
    console = Console(file=io.StringIO(), width=200, record=True)
    progress = RichProgress(console)
    progress.start(total_files=3, total_bytes=3_000_000)
    progress.file_done("manuals/big.pdf", chunks=40, failed=False, size=2_000_000)
    progress.file_done("memo.txt", chunks=1, failed=True, size=1_000)
    task = progress._progress.tasks[0]
    progress.stop()
    assert task.total == 3_000_000 and task.completed == 2_001_000  # bytes, not files
    text = console.export_text()
    assert "2/3 files" in text and "ETA" in text and "chunks/s" in text


def test_progress_without_sizes_counts_files() -> None:
    console = Console(file=io.StringIO(), width=200, record=True)
    progress = RichProgress(console)
    progress.start(total_files=2)
    progress.file_done("a.txt", chunks=1, failed=False)
    task = progress._progress.tasks[0]
    progress.stop()
    assert task.total == 2 and task.completed == 1

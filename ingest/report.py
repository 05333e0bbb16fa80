"""How a run looks on a terminal: a live progress bar, then a summary table."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from ingest.pipeline import IngestReport


class _RatesColumn(ProgressColumn):
    def __init__(self, owner: RichProgress) -> None:
        super().__init__()
        self._owner = owner

    def render(self, task: Task) -> Text:
        elapsed = max(time.perf_counter() - self._owner.started, 1e-6)
        files = self._owner.files / elapsed
        chunks = self._owner.chunks / elapsed
        return Text(f"{files:5.1f} files/s {chunks:6.1f} chunks/s", style="cyan")


class RichProgress:
    """IngestProgress on a rich bar (to stderr, so --json output stays clean). The bar and
    its ETA advance by bytes: file sizes predict the work left far better than a count of
    files does (one manual can outweigh a hundred memos)."""

    def __init__(self, console: Console) -> None:
        self.chunks = 0
        self.files = 0
        self.total_files = 0
        self.started = time.perf_counter()
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]ingesting"),
            BarColumn(),
            TextColumn("{task.fields[files]}"),
            _RatesColumn(self),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.description}", style="dim"),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("", total=0, files="")

    def start(self, total_files: int, total_bytes: int = 0) -> None:
        self.started = time.perf_counter()
        self.total_files = total_files
        # without sizes (or only empty files) each file counts as one unit
        self._by_bytes = total_bytes > 0
        total = total_bytes if self._by_bytes else total_files
        self._progress.update(self._task, total=total, files=f"0/{total_files} files")
        self._progress.start()

    def file_done(self, source: str, chunks: int, failed: bool, size: int = 0) -> None:
        self.chunks += chunks
        self.files += 1
        self._progress.update(
            self._task,
            advance=size if self._by_bytes else 1,
            files=f"{self.files}/{self.total_files} files",
            description=source[-50:],
        )

    def stop(self) -> None:
        self._progress.stop()


def summary_table(report: IngestReport) -> Table:
    title = "ingest summary (dry run: nothing written)" if report.dry_run else "ingest summary"
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("files", justify="left")
    table.add_column("", justify="right")
    table.add_column("stage", justify="left")
    table.add_column("seconds", justify="right")
    files = [
        ("new", report.files_new),
        ("updated", report.files_updated),
        ("unchanged", report.files_unchanged),
        ("pruned", report.files_pruned),
        ("failed", len(report.failures)),
        ("chunks written", report.chunks_written),
    ]
    stages = [
        ("scan + hash", report.seconds_scan),
        ("parse", report.seconds_parse),
        ("chunk", report.seconds_chunk),
        ("embed", report.seconds_embed),
        ("write", report.seconds_write),
        ("total (wall)", report.seconds_total),
    ]
    for (name, count), (stage, seconds) in zip(files, stages, strict=True):
        table.add_row(name, f"{count:,}", stage, f"{seconds:,.1f}")
    notes = []
    if report.files_acl_updated:
        notes.append(f"{report.files_acl_updated} unchanged file(s) got new access groups")
    if report.chunks_flagged:
        notes.append(
            f"{report.chunks_flagged} passage(s) address the assistant (possible prompt "
            "injection): flagged, and neutralized before any model sees them"
        )
    if report.contents_pages:
        notes.append(
            f"{report.contents_pages} contents or index page(s) left out: lists of headings "
            "and page numbers, which would crowd out the passages they point to"
        )
    table.caption = "\n".join(notes) or None
    return table


def failures_table(report: IngestReport) -> Table:
    """Files not indexed, then files indexed with parts left out (say which and why)."""
    title = "files not indexed" if not report.partial else "files not indexed, or in part"
    table = Table(title=title, header_style="bold red")
    table.add_column("file")
    table.add_column("reason")
    for failure in report.failures:
        table.add_row(failure.path, failure.reason)
    for note in report.partial:
        table.add_row(note.path, f"[yellow]indexed in part:[/] {note.reason}")
    return table

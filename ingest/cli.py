"""`ingest DIR`: options -> Settings and RunOptions -> run, with progress and a summary.

Exit status: 0 every file handled, 1 some files failed (listed), 2 usage or configuration.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ingest.cli_support import (
    EXIT_CONFIG,
    EXIT_FAILURES,
    EXIT_OK,
    CollectionOption,
    QdrantPathOption,
    QdrantUrlOption,
    reported_errors,
)
from ingest.cluster.connect import connect
from ingest.pipeline import DEFAULT_RUN, IngestReport, RunOptions, run_ingest, run_rebuild
from ingest.report import RichProgress, failures_table, summary_table
from rag_core.access.group_map import load_group_map
from rag_core.settings import Settings, load_settings
from rag_core.store.factory import open_store
from rag_core.types import RagdeskError

app = typer.Typer(add_completion=False, help=__doc__, pretty_exceptions_enable=False)


def ingest_folder(
    root: Path, settings: Settings, console: Console, options: RunOptions = DEFAULT_RUN
) -> tuple[IngestReport, int]:
    """Shared by `ingest` and `ragdesk ingest`: run, print, and choose the exit status."""
    if not root.is_dir():
        console.print(f"[red]error:[/] {root} is not a folder", soft_wrap=True)
        return IngestReport(), EXIT_CONFIG
    if settings.acl_from_fs:
        load_group_map(settings.group_map_path)  # before the slow start: says what is missing
    if settings.ray_address and not options.dry_run:
        connect(settings.ray_address)  # an unreachable cluster: exit 2 before any work
    progress = RichProgress(console)
    try:
        report = _run(root, settings, progress, options)
    finally:
        progress.stop()
    console.print(summary_table(report))
    if report.failures or report.partial:
        console.print(failures_table(report))
    if options.json_summary:
        options.json_summary.parent.mkdir(parents=True, exist_ok=True)
        options.json_summary.write_text(json.dumps(report.to_json(), indent=2))
    return report, EXIT_FAILURES if report.failures else EXIT_OK


def _run(
    root: Path, settings: Settings, progress: RichProgress, options: RunOptions
) -> IngestReport:
    """A rebuild fills a new version of the collection without opening the live one (the
    chat may hold it) and switches at the end; otherwise the collection is updated in place
    with the embedder backend it was built with."""
    from rag_core.embedding.embedder import embedder_for

    if options.rebuild and not options.dry_run:
        embedder = embedder_for(settings)  # a new collection: the configured (auto: fastest)
        try:
            return run_rebuild(root, settings, embedder, progress)
        finally:
            embedder.close()
    with open_store(settings) as store:
        embedder = embedder_for(settings, store.meta())
        try:
            return run_ingest(root, settings, store, embedder, progress, options=options)
        finally:
            embedder.close()


def watch_folder(
    root: Path, settings: Settings, console: Console, options: RunOptions = DEFAULT_RUN
) -> None:
    """The ingestion worker: runs until SIGTERM/SIGINT, then stops after the current file.
    `options` apply to the first run only (a rebuild); watching always prunes and writes."""
    import signal
    import threading

    from ingest.watch import Watcher
    from rag_core.embedding.embedder import embedder_for
    from rag_core.observability.telemetry import serve_metrics

    if not root.is_dir():
        raise RagdeskError(f"{root} is not a folder")
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        console.print(f"{signal.Signals(signum).name}: stopping after the current file")
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    def show(report: IngestReport) -> None:
        console.print(
            f"{report.files_new} new, {report.files_updated} changed, "
            f"{report.files_pruned} removed, {len(report.failures)} failed, "
            f"{report.chunks_written} chunks in {report.seconds_total:.1f} s"
        )
        if report.failures or report.partial:
            console.print(failures_table(report))

    if settings.ray_address:
        connect(settings.ray_address)  # parsing and embedding go to the cluster
    if options.rebuild:  # once, at start, without downtime; then watch the new version
        ingest_folder(root, settings, console, options)
    port = serve_metrics(settings)
    if port is not None:
        console.print(f"metrics on http://{settings.metrics_host}:{port}/metrics")
    with open_store(settings) as store:
        embedder = embedder_for(settings, store.meta())
        try:
            watcher = Watcher(root, settings, store, embedder, on_report=show)
            console.print(
                f"watching {root} every {settings.watch_interval_s:g} s for collection "
                f"{store.collection!r} (status: {watcher.status_path})"
            )
            watcher.run(stop)
        finally:
            embedder.close()
    console.print("stopped")


@app.command()
def ingest(
    root: Annotated[Path, typer.Argument(help="Folder of documents to index.")],
    collection: CollectionOption = None,
    qdrant_path: QdrantPathOption = None,
    qdrant_url: QdrantUrlOption = None,
    groups: Annotated[
        str | None, typer.Option(help="Comma-separated groups allowed to see these files.")
    ] = None,
    acl_from_fs: Annotated[
        bool | None,
        typer.Option(
            "--acl-from-fs/--no-acl-from-fs",
            help="Groups from each file's owner group, mode bits and POSIX ACLs, mapped by "
            "the group map file (instead of --groups).",
        ),
    ] = None,
    prune: Annotated[
        bool, typer.Option("--prune/--no-prune", help="Drop files gone from disk.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run/--no-dry-run", help="Report only; write nothing.")
    ] = False,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild/--no-rebuild",
            help="Index everything again into a new version of the collection, then switch "
            "to it atomically: searches use the current one until then (after an upgrade, or "
            "to change the embedder or its backend).",
        ),
    ] = False,
    workers: Annotated[int | None, typer.Option(help="Parallel parser processes.")] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Parse and embed on this Ray cluster (HOST:6379, ray://HOST:10001, or auto); "
            "this machine keeps the manifest and the writes. Env: RAGDESK_RAY_ADDRESS.",
        ),
    ] = None,
    json_summary: Annotated[
        Path | None, typer.Option(help="Also write the summary as JSON here.")
    ] = None,
    pdf_engine: Annotated[str | None, typer.Option(help="pypdf or pdfium.")] = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch", help="Keep running: index files as they land, change or go (prunes)."
        ),
    ] = False,
) -> None:
    """Index a folder: new and changed files are processed, unchanged ones skipped."""
    _quiet_libraries()
    with reported_errors() as console:
        settings = load_settings(
            collection=collection,
            qdrant_path=qdrant_path,
            qdrant_url=qdrant_url,
            groups=groups,
            acl_from_fs=acl_from_fs,
            workers=workers,
            pdf_engine=pdf_engine,
            ray_address=ray,
        )
        options = RunOptions(prune, dry_run, rebuild, json_summary)
        if watch:
            watch_folder(root, settings, console, options)
            status = EXIT_OK
        else:
            _, status = ingest_folder(root, settings, console, options)
    raise typer.Exit(status)


def _quiet_libraries() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in ("unstructured", "pypdf", "sentence_transformers", "httpx", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

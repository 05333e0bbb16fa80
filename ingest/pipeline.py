"""discover -> hash/compare -> parse+chunk (parser processes) -> embed -> write -> manifest.

Order of writes per file, which makes any crash repairable by the next run:
1. upsert the new version's points (ids derive from path, content hash and chunk number);
2. delete the file's points of any other version;
3. record the file in the manifest.
A failed parse touches nothing: the previous version stays searchable.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable, Collection, Generator, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ingest.acl_files import AclFileError, AclRules
from ingest.chunk import vector_text
from ingest.discover import Failure, FoundFile, discover
from ingest.fs_acl import FsPermissions
from ingest.manifest import FileRecord, Manifest, manifest_path
from ingest.parse_job import ChunkingSpec, ParseJob, ParseResult
from ingest.parser_pool import ParserPool
from rag_core.access.group_map import load_group_map
from rag_core.embedding.embedder import Embedder
from rag_core.embedding.english import english_embedder_for
from rag_core.embedding.sparse import languages_of, resolve_languages, sparse_document
from rag_core.hashing import file_hash
from rag_core.settings import Settings
from rag_core.store.base import StoredPoint, VectorStore, iter_batches
from rag_core.store.factory import open_staging
from rag_core.store.schema import (
    check_embed_headers,
    embed_headers_meta,
    ingest_meta,
    sparse_languages_meta,
)
from rag_core.types import ConfigurationError, now_iso

FLUSH_CHUNKS = 512  # chunks gathered across files before one embedding call
UPSERT_BATCH = 256
PREFETCH = True  # parse ahead on a thread while embedding (benchmarks' baseline turns it off)


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What one run is asked to do: the `ingest` flags, chosen per run (not configuration,
    so not in Settings). The default adds new and changed files and keeps everything else."""

    prune: bool = False  # also remove files gone from disk
    dry_run: bool = False  # count what would change; write nothing
    rebuild: bool = False  # a new version of the collection, switched to at the end
    json_summary: Path | None = None  # `ingest_folder` also writes the report here


DEFAULT_RUN = RunOptions()


@dataclass(slots=True)
class IngestReport:
    files_new: int = 0
    files_updated: int = 0
    files_unchanged: int = 0
    files_pruned: int = 0
    files_failed: int = 0
    files_acl_updated: int = 0
    chunks_written: int = 0
    chunks_embedded: int = 0
    chunks_flagged: int = 0  # passages that address the assistant (prompt-injection suspects)
    contents_pages: int = 0  # contents/index pages left out (ingest/contents_pages.py)
    embed_cache_hits: int = 0
    seconds_total: float = 0.0
    seconds_scan: float = 0.0
    seconds_parse: float = 0.0
    seconds_chunk: float = 0.0
    seconds_embed: float = 0.0
    seconds_write: float = 0.0
    dry_run: bool = False
    stopped: bool = False  # asked to stop (SIGTERM): files not reached wait for the next run
    # on a Ray cluster (`--ray`): per node, its files, chunks, bytes, busy seconds and rates
    nodes: dict[str, dict[str, float]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    partial: list[Failure] = field(default_factory=list)  # indexed, with parts left out

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["files_failed"] = len(self.failures)
        for key, value in data.items():
            if key.startswith("seconds_"):
                data[key] = round(value, 3)
        return data


class IngestProgress(Protocol):
    """Told the work ahead (files and their bytes, which predict time better than a file
    count), then each file as it is written."""

    def start(self, total_files: int, total_bytes: int = 0) -> None: ...
    def file_done(self, source: str, chunks: int, failed: bool, size: int = 0) -> None: ...


class _NoProgress:
    def start(self, total_files: int, total_bytes: int = 0) -> None:
        pass

    def file_done(self, source: str, chunks: int, failed: bool, size: int = 0) -> None:
        pass


@dataclass(slots=True)
class PendingFile:
    """A parsed file waiting to be written (with its points once embedded elsewhere)."""

    result: ParseResult
    job: ParseJob
    previous: FileRecord | None
    points: list[StoredPoint] | None = None


def open_manifest(settings: Settings, store: VectorStore) -> Manifest:
    """The manifest of the store's physical collection (a rebuild's new one has its own)."""
    return Manifest(manifest_path(settings.state_dir, store.location, store.state_key))


def run_ingest(
    root: Path,
    settings: Settings,
    store: VectorStore,
    embedder: Embedder,
    progress: IngestProgress | None = None,
    only: Collection[str] | None = None,
    stop: Callable[[], bool] | None = None,
    permissions: FsPermissions | None = None,
    options: RunOptions = DEFAULT_RUN,
    english: Embedder | None = None,
) -> IngestReport:
    """Bring the collection in line with the files under `root`, as `options` ask.

    `only` limits parsing to those sources (paths relative to `root`): the chat's upload
    adds its files without touching the others' permissions, and the watcher skips files
    still being copied. Pruning (if asked) still compares against everything on disk.
    `stop` is polled between files: when it says so, the files done so far are written
    and the rest wait for the next run. With `acl_from_fs`, files get the groups their
    file-system permissions give (`permissions`, or read afresh); a changed permission
    updates the chunks' groups without re-embedding, like a changed ACL file. `english`: an
    English embedder the caller keeps loaded (the watcher, the chat), used when it is the
    one the collection takes; otherwise the run loads its own."""
    started = time.perf_counter()
    progress = progress or _NoProgress()
    report = IngestReport(dry_run=options.dry_run)

    found, walk_failures = discover(root)
    on_disk = {entry.source for entry in found} | {f.path for f in walk_failures}
    if only is not None:
        wanted = set(only)
        found = [entry for entry in found if entry.source in wanted]
        walk_failures = [failure for failure in walk_failures if failure.path in wanted]
    report.failures.extend(walk_failures)
    if options.rebuild and not options.dry_run:
        raise ConfigurationError("a rebuild goes through run_rebuild (a new collection)")
    with store.hold():  # one generation for the whole run, even if a rebuild switches
        used = loaded = None  # the run's English embedder; the one it loads (and closes)
        if not options.dry_run:  # the collection's English embedder, or a new one's
            meta = store.meta() if store.exists() else None
            wanted = english_embedder_for(settings, meta, embedder)
            if wanted is not None and english is not None and english.info == wanted.info:
                wanted.close()  # never loaded: only its cache file was opened
                used = english
            else:
                used = loaded = wanted
        run = _Run(
            root=root,
            settings=settings,
            store=store,
            embedder=embedder,
            english=used,
            progress=progress,
            report=report,
            options=options,
            permissions=fs_permissions(root, settings, permissions),
            stop=stop,
            started=started,
        )
        try:
            _ingest_into(run, found, on_disk)
        finally:
            if loaded is not None:
                loaded.close()
    report.files_failed = len(report.failures)
    report.seconds_total = time.perf_counter() - started
    return report


def run_rebuild(
    root: Path,
    settings: Settings,
    embedder: Embedder,
    progress: IngestProgress | None = None,
    stop: Callable[[], bool] | None = None,
    staged: VectorStore | None = None,
) -> IngestReport:
    """`ingest --rebuild`: index everything into a new version of the collection, then switch
    to it in one atomic step (the embedded folder's pointer, or the server's alias). Until
    then searches keep using the current index, whoever holds it open; a failed or stopped
    run throws the new version away and leaves the current one as it was. It takes no
    RunOptions: a new version has nothing to prune, and a dry run goes to run_ingest."""
    opened = staged is None
    staged = staged or open_staging(settings)
    try:
        try:
            report = run_ingest(root, settings, staged, embedder, progress, stop=stop)
        except BaseException:
            staged.discard()
            raise
        if report.stopped:
            staged.discard()
            return report
        previous = staged.publish()  # past this point the new version is the live one
        current = staged.state_key
    finally:
        if opened:
            staged.close()
    if previous is not None and previous != current:  # the old version's manifest
        old = manifest_path(settings.state_dir, staged.location, previous)
        for path in (old, old.with_name(old.name + "-wal"), old.with_name(old.name + "-shm")):
            path.unlink(missing_ok=True)
    return report


@dataclass(frozen=True, slots=True)
class _Run:
    """One run's parts, as run_ingest hands them to its steps."""

    root: Path
    settings: Settings
    store: VectorStore
    embedder: Embedder
    english: Embedder | None  # the English vectors' (rag_core/embedding/english.py)
    progress: IngestProgress
    report: IngestReport
    options: RunOptions
    permissions: FsPermissions | None  # file-system groups (acl_from_fs), else None
    stop: Callable[[], bool] | None  # polled between files
    started: float  # perf_counter() at the start, for the scan time


def _ingest_into(run: _Run, found: list[FoundFile], on_disk: set[str]) -> None:
    """Plan the run (hash, compare with the manifest, apply ACL changes), then parse, embed
    and write what changed; `on_disk` is every source under the root, for pruning."""
    root, settings, store, embedder = run.root, run.settings, run.store, run.embedder
    report, progress, stop, options = run.report, run.progress, run.stop, run.options
    ingested_at = now_iso()
    dry_run = options.dry_run
    acl_rules = AclRules(root, tuple(settings.groups), run.permissions)
    english = run.english.info if run.english else None
    created = False if dry_run else store.ensure_schema(embedder.info, english)
    if not dry_run:
        _check_embed_headers(store, settings.embed_headers, created)
        _check_sparse_languages(store, settings.document_languages, created)
    manifest = open_manifest(settings, store)
    try:
        if created:
            manifest.clear()  # a new collection holds nothing the old manifest describes
        known = manifest.all()
        spec = ChunkingSpec(
            model_path=str(embedder.model_path),
            chunk_tokens=settings.chunk_tokens,
            chunk_overlap=settings.chunk_overlap,
            max_tokens=embedder.max_chunk_tokens,
            index_contents=settings.index_contents_pages,
        )
        jobs: list[tuple[ParseJob, FileRecord | None]] = []
        for entry in found:
            try:
                digest = file_hash(entry.path)
            except OSError as exc:
                report.failures.append(Failure(entry.source, f"cannot read: {exc.strerror}"))
                continue
            previous = known.get(entry.source)
            try:
                acl = acl_rules.groups_for(entry.source)
            except AclFileError as exc:
                report.failures.append(Failure(entry.source, f"not indexed: {exc}"))
                if previous is not None and previous.acl and not dry_run:
                    store.set_acl(entry.source, [])  # fail closed: hidden until it is fixed
                    manifest.put(replace(previous, acl=()))
                continue
            if previous is not None and previous.file_hash == digest:
                report.files_unchanged += 1
                stamp = (entry.size, entry.mtime_ns)
                if (previous.size, previous.mtime_ns) != stamp and not dry_run:
                    previous = replace(previous, size=entry.size, mtime_ns=entry.mtime_ns)
                    manifest.put(previous)  # touched, not changed: the watcher need not look
                if previous.acl != acl:
                    report.files_acl_updated += 1
                    if not dry_run:
                        store.set_acl(entry.source, list(acl))
                        manifest.put(replace(previous, acl=acl))
                continue
            job = ParseJob(
                path=entry.path,
                source=entry.source,
                file_hash=digest,
                size=entry.size,
                mtime_ns=entry.mtime_ns,
                acl=acl,
                ingested_at=ingested_at,
                chunking=spec,
                pdf_engine=settings.pdf_engine,
                max_file_bytes=settings.max_file_mb << 20,
                max_unzipped_bytes=settings.max_unzipped_mb << 20,
                max_text_chars=settings.max_text_mb << 20,
                timeout_s=settings.parse_timeout_s,
                ocr_languages=settings.ocr_languages,
                ocr_dpi=settings.ocr_dpi,
            )
            jobs.append((job, previous))
        report.seconds_scan = time.perf_counter() - run.started

        if dry_run:
            report.files_new = sum(1 for _, prev in jobs if prev is None)
            report.files_updated = len(jobs) - report.files_new
            report.files_pruned = len(set(known) - on_disk) if options.prune else 0
        else:
            embedders = RunEmbedders(embedder, run.english, settings.embed_headers)
            _process(jobs, settings, store, embedders, manifest, report, progress, stop)
            if options.prune:
                _prune(store, manifest, on_disk, report)
            # the root is where the chat serves original files from
            store.update_meta(ingest_meta(now_iso(), str(root.resolve())))
            if report.chunks_written:
                write_started = time.perf_counter()
                store.optimize()
                report.seconds_write += time.perf_counter() - write_started
    finally:
        manifest.close()


def fs_permissions(
    root: Path, settings: Settings, given: FsPermissions | None = None
) -> FsPermissions | None:
    """The file-system permission reader when `acl_from_fs` is on (the group map must
    exist: without it no file would get a group)."""
    if not settings.acl_from_fs:
        return None
    return given or FsPermissions(root, load_group_map(settings.group_map_path))


def _check_embed_headers(store: VectorStore, embed_headers: bool, created: bool) -> None:
    """Record the header setting in a new collection, or check an existing one's."""
    if created:
        store.update_meta(embed_headers_meta(embed_headers))
        return
    check_embed_headers(store.collection, store.meta(), embed_headers)


def _check_sparse_languages(store: VectorStore, setting: list[str], created: bool) -> None:
    """One collection, one way of making its terms: the languages it was created with."""
    if created:
        store.update_meta(sparse_languages_meta(resolve_languages(setting, None)))
        return
    resolve_languages(setting, store.meta())  # refuses an explicit other choice


def _process(
    jobs: list[tuple[ParseJob, FileRecord | None]],
    settings: Settings,
    store: VectorStore,
    embedders: RunEmbedders,
    manifest: Manifest,
    report: IngestReport,
    progress: IngestProgress,
    stop: Callable[[], bool] | None = None,
) -> None:
    progress.start(len(jobs), sum(job.size for job, _ in jobs))
    if settings.ray_address:  # parse and embed on the cluster's nodes; write here
        from ingest.cluster.dispatch import process_on_ray

        def write(pending: Sequence[PendingFile]) -> None:
            write_files(pending, store, manifest, report, progress)

        languages = languages_of(store.meta())
        process_on_ray(jobs, settings, embedders, languages, report, progress, write, stop)
        return
    previous_by_source = {job.source: prev for job, prev in jobs}
    job_by_source = {job.source: job for job, _ in jobs}
    pool = ParserPool(settings.workers, settings.parse_memory_mb << 20)
    results: Generator[ParseResult, None, None] | _Prefetch = pool.run(job for job, _ in jobs)
    if settings.workers and PREFETCH:  # parsers keep producing while this process embeds
        results = _Prefetch(results, depth=max(4, 4 * settings.workers))
    pending: list[PendingFile] = []
    pending_chunks = 0
    try:
        for result in results:
            report.seconds_parse += result.seconds_parse
            report.seconds_chunk += result.seconds_chunk
            if result.error is not None:
                report.failures.append(Failure(result.source, result.error))
                size = job_by_source[result.source].size if result.source in job_by_source else 0
                progress.file_done(result.source, 0, failed=True, size=size)
                continue
            job = job_by_source[result.source]
            pending.append(PendingFile(result, job, previous_by_source[result.source]))
            pending_chunks += len(result.chunks)
            if pending_chunks >= FLUSH_CHUNKS:
                _write(pending, store, embedders, manifest, report, progress)
                pending, pending_chunks = [], 0
            if stop is not None and stop():
                report.stopped = True
                break
    finally:
        results.close()
    _write(pending, store, embedders, manifest, report, progress)


_DONE = object()


class _Prefetch:
    """Runs an iterator of parse results on a thread, a bounded number of files ahead, so
    the parser processes never wait for the embedder (and memory stays bounded)."""

    def __init__(self, results: Generator[ParseResult, None, None], depth: int) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._pump, args=(results,), name="ingest-parse", daemon=True
        )
        self._thread.start()

    def _offer(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _pump(self, results: Generator[ParseResult, None, None]) -> None:
        final: Any = _DONE
        try:
            for result in results:
                if not self._offer(result):
                    break
        except BaseException as exc:  # handed to the consumer, raised there
            final = exc
        finally:
            results.close()  # the pool shuts its processes down
        self._offer(final)

    def __iter__(self) -> Iterator[ParseResult]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join()


@dataclass(frozen=True, slots=True)
class RunEmbedders:
    """The embedders of one run: the collection's, and its English one if it has one."""

    embedder: Embedder
    english: Embedder | None
    embed_headers: bool


def _write(
    pending: Sequence[PendingFile],
    store: VectorStore,
    embedders: RunEmbedders,
    manifest: Manifest,
    report: IngestReport,
    progress: IngestProgress,
) -> None:
    if not pending:
        return
    embedder, english = embedders.embedder, embedders.english
    chunks = [chunk for item in pending for chunk in item.result.chunks]
    texts = [vector_text(chunk) if embedders.embed_headers else chunk.text for chunk in chunks]
    embed_started = time.perf_counter()
    hits_before = embedder.stats.cache_hits
    dense = embedder.embed(texts)
    report.chunks_embedded += len(chunks) - (embedder.stats.cache_hits - hits_before)
    report.embed_cache_hits += embedder.stats.cache_hits - hits_before
    englishes: Sequence[np.ndarray | None] = (
        english.embed(texts) if english is not None else [None] * len(texts)
    )
    report.seconds_embed += time.perf_counter() - embed_started
    points_started = time.perf_counter()  # sparse vectors count as writing, as before
    vectors = iter(zip(chunks, texts, dense, englishes, strict=True))
    languages = languages_of(store.meta())
    for item in pending:
        item.points = [
            StoredPoint.of(chunk, vector, sparse_document(text, languages), english_vector)
            for chunk, text, vector, english_vector in itertools.islice(
                vectors, len(item.result.chunks)
            )
        ]
    report.seconds_write += time.perf_counter() - points_started
    write_files(pending, store, manifest, report, progress)


def write_files(
    pending: Sequence[PendingFile],
    store: VectorStore,
    manifest: Manifest,
    report: IngestReport,
    progress: IngestProgress,
) -> None:
    """Embedded files into the index, in the crash-safe order: every new point first, then
    each file's other versions deleted, then its manifest row."""
    write_started = time.perf_counter()
    points = [point for item in pending for point in item.points or ()]
    for batch in iter_batches(points, UPSERT_BATCH):
        store.upsert(batch)
    for item in pending:
        job, result = item.job, item.result
        store.delete_file(job.source, except_hash=job.file_hash)
        manifest.put(
            FileRecord(
                source=job.source,
                file_hash=job.file_hash,
                size=job.size,
                mtime_ns=job.mtime_ns,
                chunks=len(result.chunks),
                acl=job.acl,
                format=result.format,
                ingested_at=job.ingested_at,
            )
        )
        if item.previous is None:
            report.files_new += 1
        else:
            report.files_updated += 1
        report.partial.extend(Failure(job.source, note) for note in result.notes)
        progress.file_done(job.source, len(result.chunks), failed=False, size=job.size)
    report.chunks_written += len(points)
    report.chunks_flagged += sum(
        1 for item in pending for chunk in item.result.chunks if chunk.instruction_like
    )
    report.contents_pages += sum(item.result.contents_pages for item in pending)
    report.seconds_write += time.perf_counter() - write_started


def _prune(store: VectorStore, manifest: Manifest, on_disk: set[str], report: IngestReport) -> None:
    """Remove files gone from disk; also points no manifest row describes (crash orphans)."""
    gone = set(manifest.all()) - on_disk
    orphans = set(store.per_source()) - on_disk - gone
    for source in sorted(gone | orphans):
        store.delete_file(source)
        manifest.remove(source)
    report.files_pruned = len(gone)

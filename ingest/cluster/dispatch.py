"""The driver's side of ingestion on a Ray cluster (`ingest --ray ADDRESS`).

The driver keeps what must stay in one place: discovery, hashing, the manifest and every
write to Qdrant, in the same crash-safe order as a local run (pipeline.write_files). Each
file to (re)index becomes one Ray task (node_work.process_file) that gets the file's bytes
through Ray's object store, parses, chunks and embeds on whichever node has a free CPU,
and returns chunks with their vectors. Point ids, chunks and payloads are computed by the
same code as locally, so the same files give the same index.

Backpressure: at most `ray_in_flight` files (default two per cluster CPU) and
`ray_in_flight_mb` of their bytes are out at once; the next file is read only when one
comes back, so the driver's memory stays bounded whatever the batch.

Faults are Ray's to handle where it can: a task whose worker or node dies is run again on
another node (`max_retries`); only when it died every time is the file reported failed,
and the batch goes on. Results arrive in completion order and are written in batches.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ingest.cluster.connect import connect
from ingest.cluster.node_work import EmbedSpec, NodeOutcome, process_file
from ingest.discover import Failure
from ingest.manifest import FileRecord
from ingest.parse_job import ParseJob, over_size_limit
from rag_core.settings import Settings
from rag_core.store.base import StoredPoint
from rag_core.types import ConfigurationError

if TYPE_CHECKING:
    from ingest.pipeline import IngestProgress, IngestReport, PendingFile, RunEmbedders

FLUSH_CHUNKS = 512  # chunks gathered across files before one round of writes
NODE_TASK: Callable[[ParseJob, bytes, EmbedSpec], NodeOutcome] = process_file  # tests: faults
WORKER_DIED = (
    "the Ray worker died on this file {times} times (killed, out of memory, or a fault in a "
    "native library): skipped"
)


@dataclass(slots=True)
class _NodeTally:
    files: int = 0
    chunks: int = 0
    bytes: int = 0
    seconds_busy: float = 0.0


class NodeThroughput:
    """Per-node work of one run, for the JSON summary (which nodes carried the load)."""

    def __init__(self) -> None:
        self._nodes: dict[str, _NodeTally] = {}

    def add(self, outcome: NodeOutcome, size: int) -> None:
        key = f"{outcome.node_ip} {outcome.node_id[:12]}"
        tally = self._nodes.setdefault(key, _NodeTally())
        tally.files += 1
        tally.chunks += len(outcome.result.chunks)
        tally.bytes += size
        tally.seconds_busy += outcome.seconds_busy

    def summary(self, seconds_run: float) -> dict[str, dict[str, float]]:
        run = max(seconds_run, 1e-9)
        return {
            key: {
                "files": t.files,
                "chunks": t.chunks,
                "mb": round(t.bytes / 1e6, 3),
                "seconds_busy": round(t.seconds_busy, 3),
                "files_per_s": round(t.files / run, 3),
                "chunks_per_s": round(t.chunks / run, 3),
            }
            for key, t in sorted(self._nodes.items())
        }


def process_on_ray(
    jobs: Sequence[tuple[ParseJob, FileRecord | None]],
    settings: Settings,
    embedders: RunEmbedders,
    languages: tuple[str, ...],
    report: IngestReport,
    progress: IngestProgress,
    write: Callable[[Sequence[PendingFile]], None],
    stop: Callable[[], bool] | None = None,
) -> None:
    """Parse and embed `jobs` on the cluster; `write` stores each batch of results.
    `languages`: the collection's, for its BM25 terms (made on the nodes)."""
    from ingest.pipeline import PendingFile

    assert settings.ray_address
    ray = connect(settings.ray_address)
    embedder, english = embedders.embedder, embedders.english
    spec = EmbedSpec(
        model=embedder.name,  # resolved: `auto` means the collection's own
        backend=embedder.backend,
        english_model=english.name if english else None,
        english_backend=english.backend if english else None,
        batch_size=settings.embed_batch_size,
        embed_headers=settings.embed_headers,
        languages=languages,
        parse_memory_bytes=settings.parse_memory_mb << 20,
    )
    task = ray.remote(NODE_TASK).options(
        num_cpus=1, max_retries=settings.ray_task_retries, retry_exceptions=False
    )
    window = settings.ray_in_flight or max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
    budget = settings.ray_in_flight_mb << 20
    # largest first: a task parses and embeds one file on one CPU, so a big file dispatched
    # last leaves the node's other CPUs idle while it finishes (the run's tail)
    queue = deque(sorted(jobs, key=lambda item: item[0].size, reverse=True))
    in_flight: dict[Any, tuple[ParseJob, FileRecord | None]] = {}
    in_flight_bytes = 0
    nodes = NodeThroughput()
    pending: list[PendingFile] = []
    pending_chunks = 0
    started = time.perf_counter()

    def failed(job: ParseJob, reason: str) -> None:
        report.failures.append(Failure(job.source, reason))
        progress.file_done(job.source, 0, failed=True, size=job.size)

    try:
        while queue or in_flight:
            if stop is not None and stop():
                report.stopped = True
                break
            while queue and len(in_flight) < window:
                job = queue[0][0]
                if in_flight and in_flight_bytes + job.size > budget:
                    break  # one file at a time when it is this large
                job, previous = queue.popleft()
                data = _read(job)
                if isinstance(data, str):
                    failed(job, data)
                    continue
                in_flight[task.remote(job, data, spec)] = (job, previous)
                in_flight_bytes += job.size
                del data  # in the object store now; this process keeps no copy
            if not in_flight:
                continue
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                job, previous = in_flight.pop(ref)
                in_flight_bytes -= job.size
                outcome = _collect(ray, ref, settings.ray_task_retries)
                if isinstance(outcome, str):
                    failed(job, outcome)
                    continue
                if outcome.embedder != embedder.info:
                    raise ConfigurationError(
                        f"node {outcome.node_ip} embeds with {outcome.embedder}, this "
                        f"collection needs {embedder.info}: run the same ragdesk version "
                        "(and models) on every node"
                    )
                nodes.add(outcome, job.size)
                result = outcome.result
                report.seconds_parse += result.seconds_parse
                report.seconds_chunk += result.seconds_chunk
                report.seconds_embed += outcome.seconds_embed
                report.chunks_embedded += outcome.encoded
                report.embed_cache_hits += outcome.cache_hits
                if result.error is not None:
                    failed(job, result.error)
                    continue
                pending.append(PendingFile(result, job, previous, _points(outcome)))
                pending_chunks += len(result.chunks)
                if pending_chunks >= FLUSH_CHUNKS:
                    write(pending)
                    pending, pending_chunks = [], 0
    finally:
        for ref in in_flight:  # stopped or failing: the cluster need not finish them
            ray.cancel(ref)
    write(pending)
    report.nodes = nodes.summary(time.perf_counter() - started)


def _read(job: ParseJob) -> bytes | str:
    """The file's bytes to ship, or why it is not sent (too large, unreadable)."""
    too_large = over_size_limit(job.size, job.max_file_bytes)
    if too_large:
        return too_large
    try:
        return job.path.read_bytes()
    except OSError as exc:
        return f"cannot read: {exc.strerror}"


def _collect(ray: Any, ref: Any, retries: int) -> NodeOutcome | str:
    """A task's outcome, or the one-line reason its file failed on the cluster."""
    from ray import exceptions

    try:
        return ray.get(ref)  # type: ignore[no-any-return]
    except (exceptions.WorkerCrashedError, exceptions.OutOfMemoryError):
        return WORKER_DIED.format(times=retries + 1)
    except exceptions.RayTaskError as exc:  # our code raised on the node: one file's bug
        cause = exc.cause if exc.cause is not None else exc
        return f"failed on the cluster: {type(cause).__name__}: {str(cause)[:200]}"
    except exceptions.RayError as exc:  # lost objects, a node gone with no retry left...
        return f"failed on the cluster: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"


def _points(outcome: NodeOutcome) -> list[StoredPoint]:
    assert outcome.dense is not None or not outcome.result.chunks
    chunks = outcome.result.chunks
    if not chunks:
        return []
    englishes = outcome.english if outcome.english is not None else [None] * len(chunks)
    return [
        StoredPoint.of(chunk, vector, sparse, english)
        for chunk, vector, sparse, english in zip(
            chunks, outcome.dense, outcome.sparse, englishes, strict=True
        )
    ]

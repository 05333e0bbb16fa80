"""What a Ray node does with one file: parse (in its sandboxed parser process), chunk,
embed (dense and sparse), and hand the result back to the driver.

The file arrives as bytes through Ray's object store (no file system is shared with the
driver) and is parsed from a private scratch folder under its own name, which formats and
titles depend on. Each Ray worker process keeps one `NodeWorker`: one embedder loaded once,
one parser process kept running, for every file it is given. The node's own environment
(RAGDESK_* of `ray start`) says where its caches live; the driver says which model and
backend make the vectors, so every node computes them alike.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ingest.chunk import vector_text
from ingest.parse_job import ParseJob, ParseResult
from ingest.parser_pool import ParserPool
from rag_core.embedding.embedder import Embedder
from rag_core.embedding.english import english_embedder
from rag_core.embedding.sparse import SparseVec, sparse_document
from rag_core.settings import load_settings
from rag_core.types import EmbedderInfo


@dataclass(frozen=True, slots=True)
class EmbedSpec:
    """The driver's choices that decide the index's content (the same on every node)."""

    model: str
    backend: str
    batch_size: int
    embed_headers: bool
    languages: tuple[str, ...]  # the collection's, for its BM25 terms
    parse_memory_bytes: int
    english_model: str | None = None  # the collection's English embedder, if it has one
    english_backend: str | None = None


@dataclass(slots=True)
class NodeOutcome:
    """One file, parsed and embedded on a node (vectors absent when parsing failed)."""

    result: ParseResult
    node_id: str
    node_ip: str
    embedder: EmbedderInfo
    dense: np.ndarray | None = None
    english: np.ndarray | None = None
    sparse: list[SparseVec] = field(default_factory=list)
    encoded: int = 0
    cache_hits: int = 0
    seconds_embed: float = 0.0
    seconds_busy: float = 0.0


class NodeWorker:
    """A Ray worker process's embedder and parser process, kept for all its files."""

    def __init__(self, spec: EmbedSpec, cpus: int = 1) -> None:
        settings = load_settings(
            embed_model=spec.model,
            embed_backend=spec.backend,
            embed_batch_size=spec.batch_size,
            embed_headers=spec.embed_headers,
        )
        if settings.embed_threads == 0:  # "one per core": the cores Ray gave this task
            settings = settings.model_copy(update={"embed_threads": cpus})
        self._spec = spec
        self.embedder = Embedder(settings, spec.backend, spec.model)
        self.english = (
            english_embedder(settings, spec.english_backend, spec.english_model)
            if spec.english_model and spec.english_backend
            else None
        )
        self._parsers = ParserPool(1, spec.parse_memory_bytes)
        self._scratch = Path(tempfile.mkdtemp(prefix="ragdesk-node-"))

    def process(self, job: ParseJob, data: bytes, node_id: str, node_ip: str) -> NodeOutcome:
        started = time.perf_counter()
        folder = Path(tempfile.mkdtemp(dir=self._scratch))
        try:
            path = folder / Path(job.source).name
            path.write_bytes(data)
            chunking = replace(job.chunking, model_path=str(self.embedder.model_path))
            result = self._parsers.parse_one(replace(job, path=path, chunking=chunking))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        outcome = NodeOutcome(result, node_id, node_ip, self.embedder.info)
        if result.error is None and result.chunks:
            texts = [
                vector_text(chunk) if self._spec.embed_headers else chunk.text
                for chunk in result.chunks
            ]
            embed_started = time.perf_counter()
            hits_before = self.embedder.stats.cache_hits
            outcome.dense = self.embedder.embed(texts)
            if self.english is not None:
                outcome.english = self.english.embed(texts)
            outcome.sparse = [sparse_document(text, self._spec.languages) for text in texts]
            outcome.cache_hits = self.embedder.stats.cache_hits - hits_before
            outcome.encoded = len(texts) - outcome.cache_hits
            outcome.seconds_embed = time.perf_counter() - embed_started
        outcome.seconds_busy = time.perf_counter() - started
        return outcome


_workers: dict[EmbedSpec, NodeWorker] = {}


def process_file(job: ParseJob, data: bytes, spec: EmbedSpec) -> NodeOutcome:
    """The Ray task: one file on whichever node Ray chose (retried elsewhere if it dies)."""
    import ray

    context = ray.get_runtime_context()
    worker = _workers.get(spec)
    if worker is None:
        cpus = max(1, int(context.get_assigned_resources().get("CPU", 1)))
        worker = _workers[spec] = NodeWorker(spec, cpus)
    node_ip = ray.util.get_node_ip_address()
    return worker.process(job, data, context.get_node_id(), node_ip)

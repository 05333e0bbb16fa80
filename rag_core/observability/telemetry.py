"""Prometheus metrics for the chat process and the ingestion worker.

The metric objects live in prometheus_client's default registry (created once per process,
at import); `serve_metrics` exposes them on their own port (`RAGDESK_METRICS_PORT`) so the
chat's port never serves them. Everything here is cheap enough to call on every question.
(`rag_core.evaluation.ranking_metrics` is something else: nDCG and recall for evaluations.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sized
from typing import Any, Protocol

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from rag_core.settings import Settings

log = logging.getLogger(__name__)

_SECONDS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)

QUESTIONS = Counter("ragdesk_questions", "Questions asked (chat, CLI, benchmarks)")
REFUSALS = Counter(
    "ragdesk_refusals",
    "Questions answered with 'not found' or withheld",
    ["reason"],  # not_found: nothing relevant; model: the model said so; injection: withheld
)
RETRIEVAL_SECONDS = Histogram(
    "ragdesk_retrieval_seconds", "Search time per question (embedding included)", buckets=_SECONDS
)
TTFT_SECONDS = Histogram(
    "ragdesk_time_to_first_token_seconds",
    "From the question to the answer's first token (queue wait included)",
    buckets=_SECONDS,
)
TOKENS_PER_SECOND = Histogram(
    "ragdesk_generation_tokens_per_second",
    "Generation speed per answer",
    buckets=(1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128),
)
GENERATED_TOKENS = Counter("ragdesk_generated_tokens", "Answer tokens generated")
MODEL_ERRORS = Counter("ragdesk_model_errors", "Answers that failed in the model or its server")
ANSWERS_IN_PROGRESS = Gauge("ragdesk_answers_in_progress", "Answers holding a generation slot")
QUEUE_DEPTH = Gauge("ragdesk_answer_queue_depth", "Questions waiting for a generation slot")
QUEUE_WAIT_SECONDS = Histogram(
    "ragdesk_answer_queue_wait_seconds", "Time waited for a generation slot", buckets=_SECONDS
)
BUSY_REJECTIONS = Counter(
    "ragdesk_answers_rejected", "Questions turned away: queue full or waited too long", ["reason"]
)
SLOTS_RECLAIMED = Counter(
    "ragdesk_answer_slots_reclaimed", "Slots freed because an answer outlived its timeout"
)

INGEST_FILES = Counter(
    "ragdesk_ingest_files",
    "Files handled by ingestion",
    ["outcome"],  # indexed | unchanged | removed | failed
)
INGEST_CHUNKS = Counter("ragdesk_ingest_chunks", "Chunks written by ingestion")
INGEST_FAILURES = Counter("ragdesk_ingest_failures", "Files ingestion could not read")
INGEST_RUNS = Counter("ragdesk_ingest_runs", "Ingestion passes (a watch poll that found work)")

_started: dict[tuple[str, int], Any] = {}
_lock = threading.Lock()


def serve_metrics(settings: Settings) -> int | None:
    """Start the /metrics HTTP endpoint once per process; returns its port (None: off).

    A port already taken is logged, not fatal: metrics must never stop the chat."""
    where = settings.metrics
    if where.port is None:
        return None
    key = (where.host, where.port)
    with _lock:
        if key not in _started:
            try:
                _started[key] = start_http_server(where.port, where.host)
            except OSError as exc:
                log.warning("metrics endpoint not started on %s:%s: %s", *key, exc)
                return None
    return where.port


class IngestCounts(Protocol):
    """What an ingestion pass reports that is counted here (`ingest.pipeline.IngestReport`
    has it; the core cannot import ingest)."""

    @property
    def files_new(self) -> int: ...
    @property
    def files_updated(self) -> int: ...
    @property
    def files_unchanged(self) -> int: ...
    @property
    def files_pruned(self) -> int: ...
    @property
    def chunks_written(self) -> int: ...
    @property
    def failures(self) -> Sized: ...


def record_ingest(report: IngestCounts) -> None:
    """Count one ingestion pass."""
    INGEST_RUNS.inc()
    INGEST_FILES.labels("indexed").inc(report.files_new + report.files_updated)
    INGEST_FILES.labels("unchanged").inc(report.files_unchanged)
    INGEST_FILES.labels("removed").inc(report.files_pruned)
    INGEST_FILES.labels("failed").inc(len(report.failures))
    INGEST_FAILURES.inc(len(report.failures))
    INGEST_CHUNKS.inc(report.chunks_written)


def _samples(metric: Any, suffix: str) -> list[Any]:
    return [s for family in metric.collect() for s in family.samples if s.name.endswith(suffix)]


def _total(metric: Any, suffix: str = "_total") -> float:
    return sum((s.value for s in _samples(metric, suffix)), 0.0)


def histogram_quantile(metric: Histogram, q: float) -> float | None:
    """Prometheus's `histogram_quantile` on this process's histogram: linear inside the
    bucket holding the q-th observation; None before the first one."""
    buckets = sorted(
        ((float(s.labels["le"]), s.value) for s in _samples(metric, "_bucket")),
        key=lambda bucket: bucket[0],
    )
    count = buckets[-1][1] if buckets else 0.0
    if count == 0:
        return None
    rank, lower, below = q * count, 0.0, 0.0
    for upper, cumulative in buckets:
        if cumulative >= rank:
            if upper == float("inf"):
                return lower  # beyond the last finite bucket: its bound, as Prometheus does
            inside = cumulative - below
            return lower + (upper - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = upper, cumulative
    return lower


def snapshot() -> dict[str, Any]:
    """This process's numbers for the admin's Service page (Prometheus adds up processes)."""
    return {
        "questions": _total(QUESTIONS),
        "refusals": {s.labels["reason"]: s.value for s in _samples(REFUSALS, "_total")},
        "answers_in_progress": _total(ANSWERS_IN_PROGRESS, ""),
        "queue_depth": _total(QUEUE_DEPTH, ""),
        "ttft_p50_s": histogram_quantile(TTFT_SECONDS, 0.5),
        "ttft_p95_s": histogram_quantile(TTFT_SECONDS, 0.95),
        "retrieval_p50_s": histogram_quantile(RETRIEVAL_SECONDS, 0.5),
        "queue_wait_p95_s": histogram_quantile(QUEUE_WAIT_SECONDS, 0.95),
        "tokens_per_s_p50": histogram_quantile(TOKENS_PER_SECOND, 0.5),
        "generated_tokens": _total(GENERATED_TOKENS),
        "model_errors": _total(MODEL_ERRORS),
        "rejected": _total(BUSY_REJECTIONS),
        "slots_reclaimed": _total(SLOTS_RECLAIMED),
    }

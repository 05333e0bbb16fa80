"""The Prometheus endpoint, scraped over HTTP while the real answer path runs (llama-server
backend, real retrieval): questions, refusals, retrieval time, TTFT, tokens/s, queue."""

from __future__ import annotations

from pathlib import Path

from rag_core.embedding.embedder import Embedder
from rag_core.generation.admission import AnswerGate
from rag_core.observability.telemetry import serve_metrics
from rag_core.settings import Settings
from tests.servers import answer_engine, free_port, scrape_metrics, served_settings

POLICY = """# Canteen

The canteen serves lunch from 11:30 to 14:00. A meal costs 4.50 EUR for employees.
"""


def test_metrics_endpoint_counts_the_answer_path(
    llama_server_url: str, tmp_path: Path, embedder: Embedder
) -> None:
    port = free_port()
    settings = served_settings(
        llama_server_url, tmp_path / "data", answer_tokens=48, metrics_port=port
    )
    assert serve_metrics(settings) == port
    assert serve_metrics(settings) == port, "a second call reuses the running endpoint"
    before = scrape_metrics(port)
    with answer_engine(
        settings, embedder, {"canteen.md": POLICY}, AnswerGate(2, 4, 60, 120)
    ) as engine:
        answered = engine.ask("What does a meal in the canteen cost?", ["*"])
        refused = engine.ask("How do I repair a carburettor?", ["*"])
    # the first went through the model (whether the 0.5B's reply on the shared server also
    # cites is the answer tests' business: an uncited one is withheld), the second did not
    assert answered.model_text.strip() and answered.refused_by in (None, "unsupported")
    assert refused.refused and not refused.model_text
    after = scrape_metrics(port)

    def grew(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    assert grew("ragdesk_questions_total") == 2
    assert grew("ragdesk_refusals_total{reason=not_found}") == 1
    assert grew("ragdesk_retrieval_seconds_count") == 2
    assert grew("ragdesk_time_to_first_token_seconds_count") == 1
    assert grew("ragdesk_time_to_first_token_seconds_sum") > 0
    assert grew("ragdesk_generation_tokens_per_second_count") == 1
    assert grew("ragdesk_generated_tokens_total") >= 3
    assert grew("ragdesk_answer_queue_wait_seconds_count") == 1
    assert after["ragdesk_answers_in_progress"] == 0 and after["ragdesk_answer_queue_depth"] == 0
    assert "ragdesk_model_errors_total" in after
    assert "process_resident_memory_bytes" in after, "process metrics come for free"


def test_a_taken_port_is_not_fatal(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(data_dir=tmp_path, metrics_port=port)
        assert serve_metrics(settings) is None
    assert serve_metrics(Settings(data_dir=tmp_path)) is None, "unset: no endpoint"


def test_histogram_quantile_interpolates_like_prometheus() -> None:
    from prometheus_client import CollectorRegistry, Histogram

    from rag_core.observability.telemetry import histogram_quantile

    seconds = Histogram("t", "t", buckets=(1, 2, 4, 8), registry=CollectorRegistry())
    assert histogram_quantile(seconds, 0.5) is None  # nothing observed yet
    for value in (0.5, 1.5, 3.0, 3.5):
        seconds.observe(value)
    # rank 2 of 4 is the top of the (1, 2] bucket; rank 3.8 lies 0.8 into (2, 4]'s two
    assert histogram_quantile(seconds, 0.5) == 2.0
    assert histogram_quantile(seconds, 0.95) == 2.0 + 2.0 * (1.8 / 2)
    seconds.observe(100)  # beyond the last finite bucket: its bound
    assert histogram_quantile(seconds, 0.99) == 8.0

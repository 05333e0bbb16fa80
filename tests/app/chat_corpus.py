"""A small indexed collection for the chat tests: two real sample files and a policy."""

from __future__ import annotations

from pathlib import Path

from ingest.pipeline import run_ingest
from rag_core.embeddings import Embedder
from rag_core.settings import Settings
from rag_core.store import EdgeStore
from tests.conftest import SAMPLE

TRAVEL_POLICY = """# Travel policy

## Flights

Employees book economy class for flights shorter than six hours. Business class is allowed
for flights of six hours or more, with the approval of a department head.

## Hotels

Hotel nights are reimbursed up to 150 EUR in most cities and 220 EUR in capitals.
"""

ANSWERABLE = "How much are hotel nights reimbursed when travelling?"
UNRELATED = "What is a good recipe for tiramisu with mascarpone?"


def build_collection(docs: Path, data: Path, embedder: Embedder) -> None:
    """Index the chat corpus into `data` (embedded Qdrant), closing the store after."""
    docs.mkdir(parents=True, exist_ok=True)
    for name in ("etcd.faq.md", "debian-social-contract.txt"):
        (docs / name).write_bytes((SAMPLE / name).read_bytes())
    (docs / "travel-policy.md").write_text(TRAVEL_POLICY, encoding="utf-8")
    settings = Settings(data_dir=data, workers=0)
    with EdgeStore(settings.qdrant_dir, settings.collection) as store:
        report = run_ingest(docs, settings, store, embedder)
    assert report.failures == [] and report.chunks_written > 0

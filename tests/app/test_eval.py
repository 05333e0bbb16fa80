"""`ragdesk eval retrieval` on a real slice of the faq-dev benchmark."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.eval_retrieval import evaluate, load_beir
from rag_core.embeddings import Embedder
from rag_core.metrics import mrr_at_k, ndcg_at_k, recall_at_k
from rag_core.settings import Settings
from rag_core.store import SearchSpec


@pytest.fixture
def faq_slice(tmp_path: Path, shared_docs: Path) -> Path:
    """The first 40 passages of faq-dev and the questions whose answers are among them."""
    dataset = shared_docs.parent / "eval" / "faq-dev"
    target = tmp_path / "faq-slice"
    target.mkdir()
    corpus = (dataset / "corpus.jsonl").read_text().splitlines()[:40]
    keep = {json.loads(line)["_id"] for line in corpus}
    (target / "corpus.jsonl").write_text("\n".join(corpus) + "\n")
    qrels = (dataset / "qrels.tsv").read_text().splitlines()
    kept_qrels = [qrels[0]] + [row for row in qrels[1:] if row.split("\t")[1] in keep]
    (target / "qrels.tsv").write_text("\n".join(kept_qrels) + "\n")
    shutil.copy(dataset / "queries.jsonl", target / "queries.jsonl")
    return target


def test_metrics_on_a_known_ranking() -> None:
    relevant = {"b": 1}
    assert ndcg_at_k(["a", "b", "c"], relevant) == pytest.approx(1 / 1.5849625, rel=1e-6)
    assert recall_at_k(["a", "b"], relevant, 1) == 0 and recall_at_k(["a", "b"], relevant, 2) == 1
    assert mrr_at_k(["a", "b"], relevant) == 0.5


def test_eval_retrieval_scores_all_modes(faq_slice: Path, embedder: Embedder) -> None:
    dataset = load_beir(faq_slice)
    assert len(dataset.corpus) == 40 and 10 < len(dataset.queries) <= 40
    specs = {mode: SearchSpec(mode=mode) for mode in ("dense", "sparse", "hybrid")}
    results = evaluate(faq_slice, Settings(), specs, embedder)
    for row in results.values():
        assert {"ndcg@10", "recall@10", "recall@100", "mrr@10", "false_refusals"} <= row.keys()
        assert 0.0 <= row["ndcg@10"] <= 1.0
    assert results["dense"]["recall@100"] == 1.0  # 40 passages: all of them in the top 100
    assert results["dense"]["ndcg@10"] > 0.6
    assert results["hybrid"]["ndcg@10"] >= results["sparse"]["ndcg@10"]

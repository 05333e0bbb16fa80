"""`ragdesk eval retrieval` on a real slice of faq-dev; `eval answers` scoring and dev set."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from app.eval_answers import Outcome, QaItem, keyword_found, load_qa, summarize
from app.eval_retrieval import evaluate, index_corpus, load_beir, score_runs
from rag_core.answering.retrieval import Retriever
from rag_core.answering.safety import neutralize
from rag_core.embedding.embedder import Embedder
from rag_core.evaluation.ranking_metrics import mrr_at_k, ndcg_at_k, recall_at_k
from rag_core.settings import Settings
from rag_core.store.base import SearchSpec
from rag_core.store.edge import EdgeStore
from tests.conftest import REPO


def _slice(dataset: Path, target: Path) -> Path:
    """The first 40 passages of a faq-dev dataset and the questions whose answers are among
    them."""
    target.mkdir()
    corpus = (dataset / "corpus.jsonl").read_text().splitlines()[:40]
    keep = {json.loads(line)["_id"] for line in corpus}
    (target / "corpus.jsonl").write_text("\n".join(corpus) + "\n")
    qrels = (dataset / "qrels.tsv").read_text().splitlines()
    kept_qrels = [qrels[0]] + [row for row in qrels[1:] if row.split("\t")[1] in keep]
    (target / "qrels.tsv").write_text("\n".join(kept_qrels) + "\n")
    shutil.copy(dataset / "queries.jsonl", target / "queries.jsonl")
    return target


@pytest.fixture
def faq_slice(tmp_path: Path, shared_docs: Path) -> Path:
    return _slice(shared_docs.parent / "eval" / "faq-dev", tmp_path / "faq-slice")


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


def test_eval_retrieval_fuses_a_spanish_question_with_its_translation(
    tmp_path: Path, shared_docs: Path, e5_embedder: Embedder
) -> None:
    """Spanish questions over English passages, each also searched in English (here the
    dataset's English originals stand in for the model's translations), scored as the
    answer path ranks and refuses them: better than the Spanish questions alone."""
    spanish = load_beir(_slice(shared_docs.parent / "eval" / "faq-dev-es", tmp_path / "es"))
    english = load_beir(shared_docs.parent / "eval" / "faq-dev")
    translations: dict[str, str | None] = {q: english.queries[q] for q in spanish.queries}
    settings = Settings(data_dir=tmp_path / "data", workers=0)
    spec = SearchSpec(mode="hybrid")
    with EdgeStore(tmp_path / "qdrant", "eval") as store:
        names = index_corpus(spanish, settings, store, e5_embedder)
        retriever = Retriever(store, e5_embedder, spec)
        alone = score_runs(spanish, retriever, names, spec, settings)
        fused = score_runs(spanish, retriever, names, spec, settings, translations)
    assert fused["ndcg@10"] > alone["ndcg@10"]
    assert fused["false_refusals"] <= alone["false_refusals"]


DEVSET = REPO / "data" / "eval" / "answers-dev.jsonl"


def test_answer_dev_set_is_grounded_in_real_files(shared_docs: Path) -> None:
    """Every gold file exists, and every injection question's file really holds a sentence
    that ingest flags (so the question tests answering next to a removed instruction)."""
    items = load_qa(DEVSET)
    kinds = Counter(item.kind for item in items)
    assert len(items) >= 60
    assert set(kinds) == {"fact", "reasoning", "injection", "unanswerable"}
    assert min(kinds.values()) >= 8
    for item in items:
        if not item.answerable:
            assert not item.source and not item.keywords
            continue
        assert item.keywords, item.question
        path = next(
            p
            for p in (shared_docs / item.source, REPO / "data/eval/docs" / item.source)
            if p.is_file()
        )
        if item.kind == "injection":
            assert neutralize(path.read_text(encoding="utf-8")).removed, item.source


def outcome(kind: str, refused_by: str = "", recall: float | None = 1.0) -> Outcome:
    item = QaItem("q", kind != "unanswerable", "a.md", (), ("k",), kind)
    return Outcome(item, refused_by, False, not refused_by, recall, 0.5, "", {})


def test_summary_splits_refusals_by_who_refused_and_by_kind() -> None:
    outcomes = [
        outcome("fact"),
        outcome("fact", "threshold", 0.0),
        outcome("reasoning", "model", 0.0),
        outcome("reasoning", "", 0.5),
        outcome("unanswerable", "threshold", None),
        outcome("unanswerable", "", None),
    ]
    total = summarize(outcomes)
    assert total["false_refusals"] == {
        "threshold": 1,
        "unknown_names": 0,
        "model": 1,
        "unsupported": 0,
    }
    assert total["false_refusal_rate"] == 0.5 and total["keyword_recall"] == 0.375
    assert total["refusal_rate_unanswerable"] == 0.5
    reasoning = summarize([o for o in outcomes if o.item.kind == "reasoning"])
    assert reasoning["false_refusals"] == {
        "threshold": 0,
        "unknown_names": 0,
        "model": 1,
        "unsupported": 0,
    }
    assert reasoning["keyword_recall"] == 0.25 and "refusal_rate_unanswerable" not in reasoning


def test_keywords_accept_alternatives_and_bad_lines_are_reported(tmp_path: Path) -> None:
    assert keyword_found("two|2", "It needs 2 cores.")
    assert not keyword_found("two|2", "It needs four cores.")
    broken = tmp_path / "qa.jsonl"
    broken.write_text('{"question": "q", "answerable": true}\n{"question": "no flag"}\n')
    with pytest.raises(ValueError, match="line 2"):
        load_qa(broken)


def test_retrieve_only_summary_ranks_the_gold_file() -> None:
    """gold@1 and MRR come from the gold's place among the retrieved sources (None: absent)."""
    item = QaItem("q", True, "a.md", (), ("x",), "fact")
    outcomes = [
        Outcome(item, "", False, rank is not None, None, 0.5, "", {}, gold_rank=rank)
        for rank in (1, 2, None, 4)
    ]
    summary = summarize(outcomes, retrieve_only=True)
    assert summary["gold_retrieved"] == 0.75 and summary["gold_at_1"] == 0.25
    assert summary["mrr"] == round((1 + 0.5 + 0 + 0.25) / 4, 3)


def test_an_answer_cited_from_a_listed_alternative_counts_apart_from_the_gold() -> None:
    """`also` places count in answer_cited, never in gold_cited; sets without any leave the
    summary as it was."""
    item = QaItem("q", True, "faq.pdf", (10,), ("x",), "fact", also=(("history.pdf", (12,), ""),))
    outcomes = [
        Outcome(item, "", False, False, 1.0, 0.5, "", {}, answer_cited=True),
        Outcome(item, "", False, True, 1.0, 0.5, "", {}, answer_cited=True),
        Outcome(item, "", False, False, 0.0, 0.5, "", {}, answer_cited=False),
    ]
    summary = summarize(outcomes)
    assert summary["gold_cited"] == 0.333 and summary["answer_cited"] == 0.667
    plain = QaItem("q", True, "faq.pdf", (10,), ("x",), "fact")
    assert "answer_cited" not in summarize([Outcome(plain, "", False, True, 1.0, 0.5, "", {})])
    assert [place.source for place in item.alternatives()] == ["history.pdf"]

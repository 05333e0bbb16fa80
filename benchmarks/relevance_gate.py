"""Calibrate the relevance floor (RAGDESK_MIN_RELEVANCE) per embedder.

    .venv/bin/python benchmarks/relevance_gate.py
        [--embedders all-MiniLM-L6-v2,multilingual-e5-small] [--backend onnx-int8]
        [--builds DIR] [--out gate.json]

For each embedder, the answer path's best relevance (cosine of the question to the best of
its top_k passages, hybrid retrieval) is computed for every question of:
- faq-dev and faq-dev-es (../shared/eval: every question has an answer: refusing one is a
  false refusal), each over its corpus through the real ingestion;
- data/eval/answers-dev.jsonl, over the corpus benchmarks/answer_devset.py builds (gold
  files and distractors): answerable and unanswerable questions apart.
It then prints, for a grid of floors, the share of each refused, and the highest floor
that refuses at most 5 % of faq-dev's and faq-dev-es's questions. No model runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from answer_devset import build_corpus  # noqa: E402

from app.eval_answers import load_qa  # noqa: E402
from app.eval_retrieval import index_corpus, load_beir  # noqa: E402
from ingest.pipeline import run_ingest  # noqa: E402
from rag_core.answering.retrieval import Retriever, search_spec  # noqa: E402
from rag_core.embedding.embedder import Embedder  # noqa: E402
from rag_core.embedding.relevance import relevance_floor  # noqa: E402
from rag_core.settings import Settings  # noqa: E402
from rag_core.store.edge import EdgeStore  # noqa: E402

SHARED = Path(os.environ.get("RAGDESK_SHARED_DIR", REPO.parent / "shared")) / "eval"
MAX_FALSE_REFUSALS = 0.05


def best_relevances(retriever: Retriever, questions: list[str], top_k: int) -> list[float]:
    return [retriever.retrieve(q, ["*"], top_k).best_relevance for q in questions]


def measure(embedder_name: str, args: argparse.Namespace, work: Path) -> dict[str, list[float]]:
    """Best relevance of every question of every set, for one embedder."""
    base = Settings(
        data_dir=work / embedder_name.replace("/", "--"),
        embed_model=embedder_name,
        embed_backend=args.backend,
        embedder_dir=args.builds,
        workers=0,
    )
    embedder = Embedder(base)
    spec = search_spec(base)
    found: dict[str, list[float]] = {}
    try:
        for name in ("faq-dev", "faq-dev-es"):
            dataset = load_beir(SHARED / name)
            settings = base.model_copy(update={"data_dir": base.data_dir / name})
            with EdgeStore(settings.data_dir / "qdrant", "gate") as store:
                index_corpus(dataset, settings, store, embedder)
                retriever = Retriever(store, embedder, spec)
                found[name] = best_relevances(retriever, list(dataset.queries.values()), 6)
        items = load_qa(args.qa)
        settings = base.model_copy(update={"data_dir": base.data_dir / "devset"})
        corpus = build_corpus(args.qa, settings.data_dir / "corpus")
        with EdgeStore(settings.data_dir / "qdrant", "gate") as store:
            run_ingest(corpus, settings, store, embedder)
            retriever = Retriever(store, embedder, spec)
            for answerable in (True, False):
                questions = [i.question for i in items if i.answerable == answerable]
                key = "answers-dev " + ("answerable" if answerable else "unanswerable")
                found[key] = best_relevances(retriever, questions, base.top_k)
    finally:
        embedder.close()
    return found


def refused(values: list[float], floor: float) -> float:
    return float(np.mean(np.asarray(values) < floor)) if values else 0.0


def report(name: str, found: dict[str, list[float]]) -> None:
    current = relevance_floor(None, name)
    grid = sorted({*np.round(np.arange(0.0, 0.96, 0.02), 2).tolist(), current})
    sets = list(found)
    print(f"\n{name}: share of questions refused, per floor (current floor {current:.2f})")
    print(f"{'floor':>6} " + " ".join(f"{s:>26}" for s in sets))
    for floor in grid:
        row = [f"{refused(found[s], floor):>25.1%}" for s in sets]
        marker = " <- current" if floor == current else ""
        print(f"{floor:>6.2f} " + "  ".join(row) + marker)
    ok = [f for f in grid if all(refused(found[s], f) <= MAX_FALSE_REFUSALS for s in sets[:2])]
    if ok:
        best = max(ok)
        print(
            f"highest floor with faq-dev and faq-dev-es refusals <= {MAX_FALSE_REFUSALS:.0%}: "
            f"{best:.2f} (answers-dev: answerable refused "
            f"{refused(found[sets[2]], best):.1%}, unanswerable refused "
            f"{refused(found[sets[3]], best):.1%})"
        )
    for s in sets:
        values = np.asarray(found[s])
        quartiles = np.percentile(values, [0, 5, 25, 50, 75, 100])
        shown = " ".join(f"{v:.3f}" for v in quartiles)
        print(f"  {s}: best relevance min/p5/p25/p50/p75/max {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedders", default="all-MiniLM-L6-v2,multilingual-e5-small")
    parser.add_argument("--backend", default="onnx-int8")
    parser.add_argument("--builds", type=Path, help="embedder builds folder (default: temporary)")
    parser.add_argument("--qa", type=Path, default=REPO / "data/eval/answers-dev.jsonl")
    parser.add_argument("--out", type=Path, help="write every best relevance here (JSON)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ragdesk-gate-") as tmp:
        work = Path(tmp)
        args.builds = args.builds or work / "builds"
        results = {}
        for name in [e.strip() for e in args.embedders.split(",") if e.strip()]:
            results[name] = measure(name, args, work)
            report(name, results[name])
    if args.out:
        args.out.write_text(json.dumps(results))


if __name__ == "__main__":
    main()

"""Calibrate the relevance floors per embedder and language pair.

    .venv/bin/python benchmarks/relevance_gate.py
        [--embedders all-MiniLM-L6-v2,multilingual-e5-small] [--backend onnx-int8]
        [--builds DIR] [--out gate.json]

For each embedder, the answer path's best relevance (cosine of the question to the best of
its top_k passages, hybrid retrieval) and whether that passage is in another language than
the question are computed for every question of:
- faq-dev and faq-dev-es (../shared/eval: every question has an answer: refusing one is a
  false refusal), each over its corpus through the real ingestion;
- data/eval/answers-dev.jsonl (English) and answers-es.jsonl (Spanish and cross-lingual),
  over the corpora benchmarks/answer_devset.py builds: answerable and unanswerable apart.
It prints the share of each set refused by the current floors, by the highest single floor
and by the highest pair of floors (same language: faq-dev and same-language faq-dev-es
questions; across languages: the rest of faq-dev-es) refusing at most 5 %. No model runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from answer_devset import build_corpus  # noqa: E402

from app.eval_answers import load_qa  # noqa: E402
from app.eval_retrieval import index_corpus, load_beir  # noqa: E402
from ingest.pipeline import run_ingest  # noqa: E402
from rag_core.answering.language import crosses_languages, language_of  # noqa: E402
from rag_core.answering.retrieval import Retriever, search_spec  # noqa: E402
from rag_core.embedding.embedder import Embedder  # noqa: E402
from rag_core.embedding.relevance import relevance_floors  # noqa: E402
from rag_core.settings import Settings  # noqa: E402
from rag_core.store.edge import EdgeStore  # noqa: E402

SHARED = Path(os.environ.get("RAGDESK_SHARED_DIR", REPO.parent / "shared")) / "eval"
MAX_FALSE_REFUSALS = 0.05


Found = dict[str, list[tuple[float, bool]]]  # set -> (best relevance, across languages)


def best_relevances(
    retriever: Retriever, questions: list[str], top_k: int
) -> list[tuple[float, bool]]:
    """Each question's best relevance, and whether its best passage is in another
    language than the question (the answer path's choice of floor)."""
    found = []
    for question in questions:
        retrieval = retriever.retrieve(question, ["*"], top_k)
        best = retrieval.best_source
        across = crosses_languages(language_of(question), best.text if best else None)
        found.append((retrieval.best_relevance, across))
    return found


def measure(embedder_name: str, args: argparse.Namespace, work: Path) -> Found:
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
    found: Found = {}
    try:
        for name in ("faq-dev", "faq-dev-es"):
            dataset = load_beir(SHARED / name)
            settings = base.model_copy(update={"data_dir": base.data_dir / name})
            with EdgeStore(settings.data_dir / "qdrant", "gate") as store:
                index_corpus(dataset, settings, store, embedder)
                retriever = Retriever(store, embedder, spec)
                found[name] = best_relevances(retriever, list(dataset.queries.values()), 6)
        for label, qa, docs in (
            ("answers-dev", args.qa, None),
            ("answers-es", args.qa_es, args.docs_es),
        ):
            items = load_qa(qa)
            settings = base.model_copy(update={"data_dir": base.data_dir / label})
            corpus = build_corpus(qa, settings.data_dir / "corpus", docs)
            with EdgeStore(settings.data_dir / "qdrant", "gate") as store:
                run_ingest(corpus, settings, store, embedder)
                retriever = Retriever(store, embedder, spec)
                for answerable in (True, False):
                    questions = [i.question for i in items if i.answerable == answerable]
                    key = f"{label} " + ("answerable" if answerable else "unanswerable")
                    found[key] = best_relevances(retriever, questions, base.top_k)
    finally:
        embedder.close()
    return found


def refused(values: list[tuple[float, bool]], same: float, across: float) -> float:
    if not values:
        return 0.0
    return float(np.mean([rel < (across if cross else same) for rel, cross in values]))


def highest(grid: list[float], ok: Callable[[float], bool]) -> float | None:
    passing = [f for f in grid if ok(f)]
    return max(passing) if passing else None


def report(name: str, found: Found) -> None:
    current = relevance_floors(None, name)
    grid = sorted(
        {*np.round(np.arange(0.0, 0.96, 0.005), 3).tolist(), *dataclasses.astuple(current)}
    )
    sets = list(found)
    crossing = {s: float(np.mean([c for _, c in found[s]])) for s in sets}
    print(
        f"\n{name}: current floors same {current.same_language:.3f}, across "
        f"{current.across_languages:.3f}"
    )
    print(
        "share of each set whose best passage is in another language than the question: "
        + ", ".join(f"{s} {crossing[s]:.0%}" for s in sets)
    )
    # one floor for every pair (as before), then the same-language floor from faq-dev and
    # the across-languages floor from faq-dev-es, each the highest refusing <= 5 %
    single = highest(
        grid, lambda f: all(refused(found[s], f, f) <= MAX_FALSE_REFUSALS for s in sets[:2])
    )
    same = highest(
        grid,
        lambda f: (
            refused([v for v in found[sets[0]] if not v[1]], f, f) <= MAX_FALSE_REFUSALS
            and refused([v for v in found[sets[1]] if not v[1]], f, f) <= MAX_FALSE_REFUSALS
        ),
    )
    across = highest(
        grid, lambda f: refused([v for v in found[sets[1]] if v[1]], f, f) <= MAX_FALSE_REFUSALS
    )
    rows = [("current", current.same_language, current.across_languages)]
    if single is not None:
        rows.append(("one floor", single, single))
    if same is not None and across is not None:
        rows.append(("per pair", same, min(same, across)))
    print(f"{'floors (same / across)':>30} " + " ".join(f"{s:>24}" for s in sets))
    for label, s_floor, a_floor in rows:
        cells = " ".join(f"{refused(found[s], s_floor, a_floor):>24.1%}" for s in sets)
        print(f"{label:>14} {s_floor:.3f} / {a_floor:.3f} {cells}")
    for s in sets:
        values = np.asarray([v for v, _ in found[s]])
        quartiles = np.percentile(values, [0, 5, 25, 50, 75, 100])
        shown = " ".join(f"{v:.3f}" for v in quartiles)
        print(f"  {s}: best relevance min/p5/p25/p50/p75/max {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedders", default="all-MiniLM-L6-v2,multilingual-e5-small")
    parser.add_argument("--backend", default="onnx-int8")
    parser.add_argument("--builds", type=Path, help="embedder builds folder (default: temporary)")
    parser.add_argument("--qa", type=Path, default=REPO / "data/eval/answers-dev.jsonl")
    parser.add_argument("--qa-es", type=Path, default=REPO / "data/eval/answers-es.jsonl")
    parser.add_argument("--docs-es", type=Path, default=REPO / "data/eval/docs-es")
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

"""English vectors beside the multilingual ones (rag_core/embedding/english.py): faq-dev
(English questions) and faq-dev-es (Spanish questions, searched also as translated by the
answering model) with and without the English vector, at several of its fusion weights.

    .venv/bin/python benchmarks/english_vectors.py --weights 0.5,1,2
    .venv/bin/python benchmarks/english_vectors.py --translations runs/fusion-1.5b.json

One index per dataset, made by the real ingestion with English vectors; the baseline row
searches the same index without them (as a collection made with english_vectors=false
does). faq-dev-es questions are translated once (by --model, or read from the JSON that
benchmarks/translation_fusion.py --out writes). Prints nDCG@10, recall, the relevance gate's
(false) refusals and retrieval latency, each row's nDCG ratio against the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

from app.eval_retrieval import Dataset, index_corpus, load_beir, score_runs, translate_queries
from rag_core.answering.question_translation import QuestionTranslator
from rag_core.answering.retrieval import Retriever, search_spec
from rag_core.embedding.embedder import embedder_for
from rag_core.embedding.english import english_embedder_for
from rag_core.generation.llm import load_chat_model
from rag_core.settings import Settings
from rag_core.store.edge import EdgeStore

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RAGDESK_SHARED_DIR", REPO.parent / "shared"))

Row = tuple[str, dict[str, float]]


def translations_for(dataset: Dataset, args: argparse.Namespace) -> dict[str, str | None]:
    if args.translations:
        return json.loads(args.translations.read_text())["translations"]
    settings = Settings(llm_model=args.model, workers=0)
    return translate_queries(dataset, QuestionTranslator(load_chat_model(settings), "en"))


def sweep(
    dataset: Dataset,
    settings: Settings,
    weights: list[float],
    translations: dict[str, str | None] | None,
) -> list[Row]:
    """The dataset indexed once with English vectors, scored without them and at each weight."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="ragdesk-english-") as tmp:
        run_settings = settings.model_copy(update={"data_dir": Path(tmp), "qdrant_path": None})
        embedder = embedder_for(settings)
        with EdgeStore(Path(tmp) / "qdrant", "eval") as store:
            names = index_corpus(dataset, run_settings, store, embedder)
            english = english_embedder_for(run_settings, store.meta(), embedder)
            assert english is not None, "the index was made without English vectors"
            spec = search_spec(settings)
            alone = Retriever(store, embedder, spec)
            scores = score_runs(dataset, alone, names, spec, settings, translations)
            rows.append(("without", scores))
            both = Retriever(store, embedder, spec, english=english)
            for weight in weights:
                weighted = replace(spec, english_weight=weight)
                scores = score_runs(dataset, both, names, weighted, settings, translations)
                rows.append((f"English vector, weight {weight:g}", scores))
            english.close()
        embedder.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="0.5,1,2", help="English vector weights to try")
    parser.add_argument("--fusion", choices=("dbsf", "rrf"), default="dbsf")
    parser.add_argument("--model", default="qwen2.5-1.5b", help="translates faq-dev-es")
    parser.add_argument("--translations", type=Path, help="translation_fusion.py --out JSON")
    parser.add_argument("--skip-es", action="store_true", help="faq-dev only")
    args = parser.parse_args()

    settings = Settings(workers=0, fusion=args.fusion, english_vectors=True)
    weights = [float(w) for w in args.weights.split(",")]
    results: dict[str, list[Row]] = {}
    results["faq-dev"] = sweep(load_beir(SHARED / "eval/faq-dev"), settings, weights, None)
    if not args.skip_es:
        spanish = load_beir(SHARED / "eval/faq-dev-es")
        translated = translations_for(spanish, args)
        results["faq-dev-es"] = sweep(spanish, settings, weights, translated)
    print(f"fusion {args.fusion}; embedder {embedder_for(settings).info.name}")
    header = f"{'dataset':<11} {'search':<28} {'nDCG@10':>8} {'ratio':>6} {'R@10':>6}"
    print(header + f" {'R@100':>6} {'refused':>8} {'ms':>6}")
    for name, rows in results.items():
        base = rows[0][1]["ndcg@10"]
        for label, scores in rows:
            print(
                f"{name:<11} {label:<28} {scores['ndcg@10']:>8.4f} "
                f"{scores['ndcg@10'] / base:>6.3f} {scores['recall@10']:>6.3f} "
                f"{scores['recall@100']:>6.3f} {scores['false_refusals']:>8.1%} "
                f"{scores['ms_per_query']:>6.1f}"
            )


if __name__ == "__main__":
    main()

"""Cross-language retrieval with translated questions: faq-dev-es (Spanish questions,
English passages) searched as asked, as translated by the answering model, and both fused
per passage language at several weights (`rag_core.answering.retrieval.fuse_by_language`).

    .venv/bin/python benchmarks/translation_fusion.py --model qwen2.5-1.5b --weights 3,10,30

One index of the dataset (the real ingestion, the configured embedder), one model load; the
questions are translated once (timed) and every row is scored on the same index. Prints a
table of nDCG@10, recall and the relevance gate's (false) refusals, each row's nDCG ratio
against the question-as-asked baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from app.eval_retrieval import index_corpus, load_beir, score_runs
from rag_core.answering import retrieval as retrieval_module
from rag_core.answering.language import language_of
from rag_core.answering.question_translation import QuestionTranslator
from rag_core.answering.retrieval import Retriever, search_spec
from rag_core.embedding.embedder import embedder_for
from rag_core.generation.llm import load_chat_model
from rag_core.settings import Settings
from rag_core.store.edge import EdgeStore

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RAGDESK_SHARED_DIR", REPO.parent / "shared"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=SHARED / "eval/faq-dev-es")
    parser.add_argument("--model", default="qwen2.5-1.5b", help="preset name or GGUF path")
    parser.add_argument("--target", default="en", help="the language questions go into")
    parser.add_argument("--weights", default="3,10,30", help="MATCHED_WEIGHT values to fuse with")
    parser.add_argument("--out", type=Path, help="write the translations and rows as JSON")
    args = parser.parse_args()

    settings = Settings(llm_model=args.model, workers=0)
    dataset = load_beir(args.dataset)
    translator = QuestionTranslator(load_chat_model(settings), args.target)
    translations: dict[str, str | None] = {}
    seconds: list[float] = []
    for qid, question in dataset.queries.items():
        started = time.perf_counter()
        translations[qid] = translator(question, language_of(question))
        seconds.append(time.perf_counter() - started)
    spec = search_spec(settings)
    rows: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="ragdesk-translation-") as tmp:
        run_settings = settings.model_copy(update={"data_dir": Path(tmp), "qdrant_path": None})
        embedder = embedder_for(settings)
        with EdgeStore(Path(tmp) / "qdrant", "eval") as store:
            names = index_corpus(dataset, run_settings, store, embedder)
            retriever = Retriever(store, embedder, spec)
            rows.append(("as asked", score_runs(dataset, retriever, names, spec, settings)))
            translated = {q: translations[q] or text for q, text in dataset.queries.items()}
            alone = replace(dataset, queries=translated)
            rows.append(("translation alone", score_runs(alone, retriever, names, spec, settings)))
            for weight in [float(w) for w in args.weights.split(",")]:
                retrieval_module.MATCHED_WEIGHT = weight
                scores = score_runs(dataset, retriever, names, spec, settings, translations)
                rows.append((f"fused, matched weight {weight:g}", scores))
    base = rows[0][1]["ndcg@10"]
    translated_share = sum(bool(t) for t in translations.values()) / len(translations)
    print(
        f"{len(dataset.queries)} questions, {translated_share:.1%} translated by {args.model}: "
        f"mean {statistics.mean(seconds):.2f} s, p50 {statistics.median(seconds):.2f} s, "
        f"p95 {statistics.quantiles(seconds, n=20)[-1]:.2f} s"
    )
    print(f"{'search':<28} {'nDCG@10':>8} {'ratio':>6} {'R@10':>6} {'R@100':>6} {'refused':>8}")
    for name, scores in rows:
        print(
            f"{name:<28} {scores['ndcg@10']:>8.4f} {scores['ndcg@10'] / base:>6.3f} "
            f"{scores['recall@10']:>6.3f} {scores['recall@100']:>6.3f} "
            f"{scores['false_refusals']:>8.1%}"
        )
    if args.out:
        payload = {"translations": translations, "seconds": seconds, "rows": dict(rows)}
        args.out.write_text(json.dumps(payload, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()

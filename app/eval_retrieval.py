"""`ragdesk eval retrieval`: a BEIR-layout dataset through the real ingestion and retrieval.

Each corpus entry becomes a Markdown file (title as heading, then the text) in a temporary folder,
ingested by `ingest.pipeline.run_ingest` into a temporary embedded collection; every query
then goes through `rag_core.answering.retrieval.Retriever`. Chunk hits are folded to
documents (best rank wins) before scoring.
"""

from __future__ import annotations

import csv
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ingest.pipeline import run_ingest
from rag_core.answering.language import language_of
from rag_core.answering.question_translation import QuestionTranslator
from rag_core.answering.relevance_gate import floor_for, translation_passes
from rag_core.answering.retrieval import Retriever
from rag_core.embedding.embedder import Embedder, embedder_for
from rag_core.embedding.english import english_embedder_for
from rag_core.embedding.relevance import relevance_floors
from rag_core.evaluation.ranking_metrics import mean, mrr_at_k, ndcg_at_k, recall_at_k
from rag_core.settings import Settings
from rag_core.store.base import SearchSpec
from rag_core.store.edge import EdgeStore

CHUNKS_PER_QUERY = 150  # enough chunks to fill 100 distinct documents


@dataclass(frozen=True, slots=True)
class Dataset:
    corpus: dict[str, tuple[str, str]]  # id -> (title, text)
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_beir(folder: Path) -> Dataset:
    corpus = {}
    with open(folder / "corpus.jsonl", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                corpus[row["_id"]] = (row.get("title", ""), row["text"])
    queries = {}
    with open(folder / "queries.jsonl", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                queries[row["_id"]] = row["text"]
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels.tsv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    queries = {qid: text for qid, text in queries.items() if qid in qrels}
    return Dataset(corpus, queries, qrels)


def _file_name(doc_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in doc_id) + ".md"


def index_corpus(
    dataset: Dataset, settings: Settings, store: EdgeStore, embedder: Embedder
) -> dict[str, str]:
    """Write the corpus as Markdown files (title as heading) and ingest them; returns file
    name -> document id."""
    folder = settings.data_dir / "corpus"
    folder.mkdir(parents=True, exist_ok=True)
    names = {}
    for doc_id, (title, text) in dataset.corpus.items():
        name = _file_name(doc_id)
        names[name] = doc_id
        body = f"# {title}\n\n{text}" if title else text
        (folder / name).write_text(body, encoding="utf-8")
    report = run_ingest(folder, settings, store, embedder)
    if report.failures:
        first = report.failures[0]
        raise RuntimeError(
            f"{len(report.failures)} corpus entries failed to ingest, e.g. {first.path}: "
            f"{first.reason}"
        )
    return names


def score_runs(
    dataset: Dataset,
    retriever: Retriever,
    names: dict[str, str],
    spec: SearchSpec,
    settings: Settings,
    translations: dict[str, str | None] | None = None,
) -> dict[str, float]:
    """Ranking metrics, plus the share of questions the answer path would refuse (best
    relevance of the top_k passages below min_relevance): every question here has an
    answer, so those are false refusals. With `translations` (query id -> the question
    translated, or None), the ranking is the fused one of the answer path, and a question
    is refused only when its translation does not reach its floor either, as there."""
    ndcg, r10, r100, mrr, latency, refused = [], [], [], [], [], []
    floors = relevance_floors(settings.min_relevance, retriever.embedder.info.name)
    for qid, question in dataset.queries.items():
        retrieval = retriever.retrieve(question, ["*"], CHUNKS_PER_QUERY, spec)
        given = retrieval.sources[: settings.top_k]
        best = max(given, key=lambda s: s.relevance, default=None)
        floor = floor_for(floors, question, best.text if best else None)
        below = best is None or best.relevance < floor
        translation = (translations or {}).get(qid)
        if translation:
            retrieval = retriever.retrieve(
                question, ["*"], CHUNKS_PER_QUERY, spec, translation=translation
            )
            below = below and not translation_passes(floors, retrieval)
        refused.append(float(below))
        ranked: list[str] = []
        for source in retrieval.sources:
            doc = names.get(source.source)
            if doc and doc not in ranked:
                ranked.append(doc)
        relevant = dataset.qrels[qid]
        ndcg.append(ndcg_at_k(ranked, relevant, 10))
        r10.append(recall_at_k(ranked, relevant, 10))
        r100.append(recall_at_k(ranked, relevant, 100))
        mrr.append(mrr_at_k(ranked, relevant, 10))
        latency.append(retrieval.milliseconds)
    return {
        "ndcg@10": round(mean(ndcg), 4),
        "recall@10": round(mean(r10), 4),
        "recall@100": round(mean(r100), 4),
        "mrr@10": round(mean(mrr), 4),
        "false_refusals": round(mean(refused), 4),
        "queries": len(dataset.queries),
        "ms_per_query": round(mean(latency), 1),
    }


def translate_queries(dataset: Dataset, translator: QuestionTranslator) -> dict[str, str | None]:
    """Each query translated as the answer path translates it (None: already in the
    translator's language, or no usable translation)."""
    return {
        qid: translator(question, language_of(question))
        for qid, question in dataset.queries.items()
    }


def evaluate(
    folder: Path,
    settings: Settings,
    specs: dict[str, SearchSpec],
    embedder: Embedder | None = None,
    translator: QuestionTranslator | None = None,
) -> dict[str, dict[str, float]]:
    """Metrics per named search spec, over one temporary index of the dataset; with a
    translator, questions are also searched translated (the answer path's fusion)."""
    dataset = load_beir(folder)
    translations = translate_queries(dataset, translator) if translator else None
    with tempfile.TemporaryDirectory(prefix="ragdesk-eval-") as tmp:
        run_settings = settings.model_copy(update={"data_dir": Path(tmp), "qdrant_path": None})
        embedder = embedder or embedder_for(settings)
        with EdgeStore(Path(tmp) / "qdrant", "eval") as store:
            names = index_corpus(dataset, run_settings, store, embedder)
            english = english_embedder_for(run_settings, store.meta(), embedder)
            retriever = Retriever(store, embedder, next(iter(specs.values())), english=english)
            try:
                return {
                    name: score_runs(dataset, retriever, names, spec, settings, translations)
                    for name, spec in specs.items()
                }
            finally:
                if english is not None:
                    english.close()

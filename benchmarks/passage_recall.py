"""Recall of the answering passage, retrieval only (no model): is it among the passages GIVEN.

    .venv/bin/python benchmarks/passage_recall.py [--qa data/eval/answers-corpus.jsonl] \
        [--variant NAME:key=value,key=value ...] [--misses] [--out result.json]

The corpus is the QA set's gold files plus near-neighbour distractors, linked into one
folder (as benchmarks/answer_devset.py does) and ingested with the real `ingest` code, once
per index identity (embedder, chunk size and overlap, headers in the embedded text), so
variants that only change the search share one collection. Each question then goes through
the answer path up to the prompt: retrieval, the relevance gate, passage selection and the
token budget, with the packaged Qwen tokenizer counting tokens (its vocabulary only, no
weights). Per variant: for answerable questions, is the gold passage (same file; a PDF's
gold page, else the quoted evidence) among the passages given to the model ("or also":
that, or another place the row's `also` lists as saying the same answer; "kw given": the
share of the answer's keywords found in the passages given, which a small chunk of the
gold page without the answer on it does not pass), among the
top_k retrieved, among the first 50 candidates; prompt tokens; for unanswerable questions,
does the gate refuse. The first variant is the baseline of the ratios.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from app.eval_answers import QaItem, holds_answer, holds_gold, keyword_found, load_qa  # noqa: E402
from benchmarks.answer_devset import build_corpus  # noqa: E402
from ingest.cli import ingest_folder  # noqa: E402
from rag_core.answering.assembly import assemble  # noqa: E402
from rag_core.answering.prompt import Prompt, build_prompt  # noqa: E402
from rag_core.generation.model_files import resolve_model  # noqa: E402
from rag_core.settings import Settings  # noqa: E402
from rag_core.store.factory import open_store  # noqa: E402

# Neighbours of the corpus set's gold files: other versions, other pages of the same
# manual, other licences — places where a wrong passage looks right.
CORPUS_DISTRACTORS = (
    "pdf/krb5-basic.pdf",
    "pdf/R-admin.pdf",
    "html/postgresql15.warm-standby.html",
    "html/postgresql15.high-availability.html",
    "html/postgresql15.backup-dump.html",
    "html/apache2.ssl.ssl_howto.html",
    "html/debian-handbook.sect.ldap-directory.html",
    "html/debian-handbook.sect.firewall-packet-filtering.html",
    "html/python3.11.faq.library.html",
    "markdown/etcd.faq.md",
    "markdown/etcd.op-guide.configuration.md",
    "markdown/etcd.v2.admin_guide.md",
    "markdown/docker.cli.dockerd.md",
    "markdown/nodejs18.api.tls.md",
    "text/debian-constitution.txt",
    "text/license-MPL-2.0.txt",
)

# what decides the vectors: a change here needs its own collection
INDEX_KEYS = (
    "embed_model",
    "embed_backend",
    "chunk_tokens",
    "chunk_overlap",
    "embed_headers",
    "document_languages",
    "english_vectors",
    "index_contents_pages",
)
DEPTH = 50  # candidates looked at for the "within reach of a reranker" figure


class QwenTokens:
    """Token counts with the packaged answer model's tokenizer (vocabulary only: fast)."""

    def __init__(self, models_dir: Path, preset: str = "qwen2.5-0.5b") -> None:
        from llama_cpp import Llama

        path = resolve_model(preset, models_dir).path
        self._llama = Llama(model_path=str(path), vocab_only=True, verbose=False)

    def __call__(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))


@dataclass
class Row:
    item: QaItem
    refused: bool
    given: bool
    answer_given: bool  # the gold passage or a listed alternative (the QA row's `also`)
    retrieved: bool
    within_depth: bool
    rank: int | None
    # share of the answer's keywords found in the passages given: a stricter "given" that
    # a small chunk of the gold page without the answer on it does not pass
    keywords_given: float | None
    prompt_tokens: int
    passages: int
    best_relevance: float
    retrieval_ms: float


def parse_variant(text: str) -> tuple[str, dict[str, Any]]:
    name, _, body = text.partition(":")
    overrides: dict[str, Any] = {}
    for pair in filter(None, body.split(",")):
        key, _, value = pair.partition("=")
        overrides[key.strip()] = None if value.strip().lower() == "none" else value.strip()
    return name or "current", overrides


def index_name(settings: Settings) -> str:
    identity = json.dumps({k: str(getattr(settings, k)) for k in INDEX_KEYS}, sort_keys=True)
    return "recall-" + hashlib.sha256(identity.encode()).hexdigest()[:10]


def models_dir() -> Path:
    return Path(os.environ.get("RAGDESK_MODELS_PATH", REPO / "data/models"))


def recall_corpus(qa: Path, work: Path) -> Path:
    """The QA set's work folder, its corpus (gold files plus distractors) linked inside."""
    folder = work / qa.stem
    distractors = () if qa.name == "answers-dev.jsonl" else CORPUS_DISTRACTORS
    build_corpus(qa, folder / "corpus", distractors=distractors)
    return folder


def recall_settings(folder: Path, overrides: dict[str, Any] | None = None) -> Settings:
    """Settings over the corpus in `folder`, with their index identity's collection name."""
    base = Settings(data_dir=folder / "data", models_path=models_dir(), workers=0)
    settings = Settings(**{**base.model_dump(), **(overrides or {})})
    return settings.model_copy(update={"collection": index_name(settings)})


@dataclass(frozen=True)
class PromptOutcome:
    given: bool  # the gold passage is among those given
    answer_given: bool  # the gold or a place the row's `also` lists
    keywords_given: float | None  # None: unanswerable, or a row without keywords


def prompt_outcome(item: QaItem, prompt: Prompt, refused: bool) -> PromptOutcome:
    """What a built prompt gives the model for `item` (nothing when the gate refused)."""
    share = keyword_share(item, [p.text for p in prompt.sources]) if item.answerable else None
    if refused:
        return PromptOutcome(False, False, None if share is None else 0.0)
    return PromptOutcome(
        given=any(holds_gold(item, p.source.source, p.source.page, p.text) for p in prompt.sources),
        answer_given=any(
            holds_answer(item, p.source.source, p.source.page, p.text) for p in prompt.sources
        ),
        keywords_given=share,
    )


def run_variant(settings: Settings, items: list[QaItem], count_tokens: QwenTokens) -> list[Row]:
    rows = []
    with open_store(settings) as store:
        answering = assemble(settings, store)
        engine = answering.engine
        try:
            for item in items:
                query, retrieval, refused = engine.retrieve(item.question, settings.groups)
                prompt = build_prompt(
                    query,
                    retrieval.sources,
                    count_tokens,
                    settings.llm_context_tokens,
                    settings.answer_tokens,
                    engine.passage_margin,
                )
                deep = answering.retriever.retrieve(query, settings.groups, DEPTH)
                ranks = [
                    n
                    for n, s in enumerate(deep.sources, start=1)
                    if holds_gold(item, s.source, s.page, s.text)
                ]
                outcome = prompt_outcome(item, prompt, refused)
                rows.append(
                    Row(
                        item=item,
                        refused=refused,
                        given=outcome.given,
                        answer_given=outcome.answer_given,
                        retrieved=any(
                            holds_gold(item, s.source, s.page, s.text) for s in retrieval.sources
                        ),
                        within_depth=bool(ranks),
                        rank=ranks[0] if ranks else None,
                        keywords_given=outcome.keywords_given,
                        prompt_tokens=prompt.tokens,
                        passages=len(prompt.sources),
                        best_relevance=retrieval.best_relevance,
                        retrieval_ms=retrieval.milliseconds,
                    )
                )
        finally:
            answering.retriever.close()
    return rows


def keyword_share(item: QaItem, texts: list[str]) -> float | None:
    """Share of the row's answer keywords found in any of the texts (None: no keywords)."""
    if not item.keywords:
        return None
    joined = "\n".join(texts)
    return sum(keyword_found(k, joined) for k in item.keywords) / len(item.keywords)


def summarize(rows: list[Row]) -> dict[str, Any]:
    answerable = [r for r in rows if r.item.answerable]
    unanswerable = [r for r in rows if not r.item.answerable]
    asked = [r for r in answerable if not r.refused]

    def share(values: list[bool]) -> float:
        return round(sum(values) / len(values), 3) if values else 0.0

    return {
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "gold_given": share([r.given for r in answerable]),
        "answer_given": share([r.answer_given for r in answerable]),
        "keywords_given": round(
            statistics.mean(r.keywords_given for r in answerable if r.keywords_given is not None),
            3,
        )
        if any(r.keywords_given is not None for r in answerable)
        else 0.0,
        "gold_retrieved": share([r.retrieved for r in answerable]),
        f"gold_within_{DEPTH}": share([r.within_depth for r in answerable]),
        "answerable_refused": share([r.refused for r in answerable]),
        "unanswerable_refused": share([r.refused for r in unanswerable]),
        "prompt_tokens_mean": round(statistics.mean(r.prompt_tokens for r in asked), 1)
        if asked
        else 0.0,
        "passages_mean": round(statistics.mean(r.passages for r in asked), 2) if asked else 0.0,
        "retrieval_ms_p50": round(statistics.median(r.retrieval_ms for r in rows), 1),
        "answerable_relevance_min": round(
            min((r.best_relevance for r in answerable), default=0), 3
        ),
        "unanswerable_relevance_max": round(
            max((r.best_relevance for r in unanswerable), default=0), 3
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qa", type=Path, default=REPO / "data/eval/answers-corpus.jsonl")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks/out/recall")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="NAME:key=value,... Settings overrides (the first is the baseline); "
        "default: one variant with the current settings",
    )
    parser.add_argument(
        "--misses", action="store_true", help="list questions whose gold is not given"
    )
    parser.add_argument("--out", type=Path, help="write summaries and per-question rows here")
    args = parser.parse_args()

    items = load_qa(args.qa)
    folder = recall_corpus(args.qa, args.work)
    corpus = folder / "corpus"
    count_tokens = QwenTokens(models_dir())
    console = Console(stderr=True)
    variants = [parse_variant(v) for v in args.variant] or [("current", {})]
    results: dict[str, Any] = {}
    per_question: dict[str, list[dict[str, Any]]] = {}
    ingested: set[str] = set()
    for name, overrides in variants:
        settings = recall_settings(folder, overrides)
        if settings.collection not in ingested:
            started = time.perf_counter()
            _, status = ingest_folder(corpus, settings, console)
            if status:
                raise SystemExit(f"ingest failed ({status})")
            ingested.add(settings.collection)
            console.print(
                f"{name}: {settings.collection} ready ({time.perf_counter() - started:.0f} s)"
            )
        rows = run_variant(settings, items, count_tokens)
        results[name] = {"overrides": overrides, **summarize(rows)}
        per_question[name] = [
            {
                "question": r.item.question,
                "answerable": r.item.answerable,
                "given": r.given,
                "answer_given": r.answer_given,
                "rank": r.rank,
                "keywords_given": r.keywords_given,
                "refused": r.refused,
                "relevance": round(r.best_relevance, 3),
                "prompt_tokens": r.prompt_tokens,
            }
            for r in rows
        ]
        if args.misses:
            for r in rows:
                if r.item.answerable and not r.given:
                    console.print(
                        f"  miss [{name}] rank={r.rank} {r.item.source}: {r.item.question}"
                    )
    print_table(results)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"summary": results, "questions": per_question}, indent=1))


def print_table(results: dict[str, Any]) -> None:
    names = list(results)
    baseline = results[names[0]]
    table = Table(title="Gold passage given to the model (retrieval only)")
    for column in (
        "variant",
        "given",
        "or also",
        "kw given",
        "retrieved",
        f"@{DEPTH}",
        "ans. refused",
        "unans. refused",
        "prompt tok",
        "x base",
        "passages",
        "ms p50",
    ):
        table.add_column(column, justify="right" if column != "variant" else "left")
    for name in names:
        r = results[name]
        ratio = (
            r["prompt_tokens_mean"] / baseline["prompt_tokens_mean"]
            if baseline["prompt_tokens_mean"]
            else 0
        )
        table.add_row(
            name,
            f"{r['gold_given']:.3f}",
            f"{r['answer_given']:.3f}",
            f"{r['keywords_given']:.3f}",
            f"{r['gold_retrieved']:.3f}",
            f"{r[f'gold_within_{DEPTH}']:.3f}",
            f"{r['answerable_refused']:.3f}",
            f"{r['unanswerable_refused']:.3f}",
            f"{r['prompt_tokens_mean']:.0f}",
            f"{ratio:.2f}",
            f"{r['passages_mean']:.2f}",
            f"{r['retrieval_ms_p50']:.0f}",
        )
    Console(width=150).print(table)


if __name__ == "__main__":
    main()

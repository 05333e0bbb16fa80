"""The packaged LLM as a reranker: does asking it "does this passage answer?" put the gold
passage among those given, and at what cost per question?

    .venv/bin/python benchmarks/llm_rerank.py [--qa data/eval/answers-corpus.jsonl] \
        [--model qwen2.5-0.5b] [--depth 20] [--dump scores.json] [--replay scores.json]

The corpus and index are passage_recall.py's (same work folder, same index name). Each
question's first `--depth` fused candidates are scored by the model: one prompt per
passage (question first, so the shared prefix is evaluated once), and the score is the
log-odds of its next token being "yes" rather than "no". Then, from the dump, the
candidates are re-ordered (by the model alone, or the model plus a share of the fused
rank) and the first top_k go through the real prompt builder, so "given" and prompt tokens
are the prompt's, as in passage_recall.py. Rows: the current order (baseline) and each
re-ordering; for unanswerable questions, a refusal when no candidate's yes-probability
reaches a floor. Model time is printed per question (prefill of depth passages).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from app.eval_answers import holds_answer, holds_gold, load_qa  # noqa: E402
from benchmarks.passage_recall import (  # noqa: E402
    QwenTokens,
    models_dir,
    prompt_outcome,
    recall_corpus,
    recall_settings,
)
from rag_core.answering.assembly import assemble  # noqa: E402
from rag_core.answering.prompt import build_prompt, describe  # noqa: E402
from rag_core.answering.retrieval import Source  # noqa: E402
from rag_core.generation.model_files import resolve_model  # noqa: E402
from rag_core.settings import Settings  # noqa: E402
from rag_core.store.factory import open_store  # noqa: E402

SYSTEM = (
    "You judge search results. Given a question and one passage, say whether the passage "
    "contains the information that answers the question. Reply with yes or no only."
)


@dataclass
class Candidate:
    source: Source
    gold: bool
    answer: bool  # the gold or a place the row's `also` lists
    llm: float  # log-odds of "yes" over "no"


class PassageJudge:
    """Scores (question, passage) with a GGUF's next-token logits; Qwen's chat markup."""

    def __init__(self, model_path: Path, threads: int) -> None:
        from llama_cpp import Llama

        self._llm = Llama(
            model_path=str(model_path),
            n_ctx=1024,
            n_batch=512,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )
        vocab = self._llm
        self._yes = {vocab.tokenize(w.encode(), add_bos=False)[0] for w in ("yes", "Yes")}
        self._no = {vocab.tokenize(w.encode(), add_bos=False)[0] for w in ("no", "No")}
        self.tokens = 0

    def _ids(self, text: str) -> list[int]:
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def score(self, question: str, passages: list[str], passage_tokens: int = 300) -> list[float]:
        prefix = self._ids(
            f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n"
            f"Question: {question}\n\nPassage:\n"
        )
        suffix = self._ids(
            f"\n\nDoes the passage answer the question “{question}”? Reply yes or no."
            "<|im_end|>\n<|im_start|>assistant\n"
        )
        self._llm.reset()
        self._llm.eval(prefix)
        self.tokens += len(prefix)
        scores = []
        n_vocab = self._llm.n_vocab()
        for passage in passages:
            self._llm.n_tokens = len(prefix)  # drop the previous passage, keep the prefix
            body = self._ids(passage)[:passage_tokens]
            self._llm.eval(body + suffix)
            self.tokens += len(body) + len(suffix)
            logits = np.ctypeslib.as_array(self._llm._ctx.get_logits(), shape=(n_vocab,))
            scores.append(_log_odds(logits, self._yes, self._no))
        return scores


def _log_odds(logits: np.ndarray, yes: set[int], no: set[int]) -> float:
    def lse(ids: set[int]) -> float:
        values = [float(logits[i]) for i in ids]
        top = max(values)
        return top + math.log(sum(math.exp(v - top) for v in values))

    return lse(yes) - lse(no)


def dump(args: argparse.Namespace) -> dict[str, Any]:
    items = load_qa(args.qa)
    settings = recall_settings(recall_corpus(args.qa, args.work))
    judge = PassageJudge(resolve_model(args.model, settings.models_path).path, args.threads)
    out: list[dict[str, Any]] = []
    console = Console(stderr=True)
    with open_store(settings) as store:
        if not store.exists():
            raise SystemExit(f"no index {settings.collection}: run passage_recall.py first")
        answering = assemble(settings, store)
        engine = answering.engine
        try:
            if args.questions:
                wanted = set(filter(None, args.questions.read_text().splitlines()))
                items = [i for i in items if i.question in wanted]
            for number, item in enumerate(items[: args.limit or None], start=1):
                query, current, refused = engine.retrieve(item.question, settings.groups)
                deep = answering.retriever.retrieve(query, settings.groups, args.depth)
                texts = [f"{describe(s)}\n{s.text.strip()}" for s in deep.sources]
                started, before = time.perf_counter(), judge.tokens
                scores = judge.score(query, texts, args.passage_tokens)
                seconds = time.perf_counter() - started
                out.append(
                    {
                        "question": item.question,
                        "query": query,
                        "gate_refused": refused,
                        "current": [asdict(s) for s in current.sources],
                        "candidates": [
                            {
                                "source": asdict(s),
                                "gold": holds_gold(item, s.source, s.page, s.text),
                                "answer": holds_answer(item, s.source, s.page, s.text),
                                "llm": round(score, 4),
                            }
                            for s, score in zip(deep.sources, scores, strict=True)
                        ],
                        "seconds": round(seconds, 3),
                        "tokens": judge.tokens - before,
                    }
                )
                gold_scores = [
                    f"{c['llm']:+.1f}@{n}"
                    for n, c in enumerate(out[-1]["candidates"], 1)
                    if c["gold"]
                ]
                console.print(
                    f"{number:3d} {seconds:5.1f} s {judge.tokens - before:5d} tok "
                    f"best {max(scores):+.1f} gold {' '.join(gold_scores) or '-'}  "
                    f"{item.question[:60]}"
                )
        finally:
            answering.retriever.close()
    return {"model": args.model, "depth": args.depth, "questions": out}


def replay(data: dict[str, Any], args: argparse.Namespace) -> None:
    items = {i.question: i for i in load_qa(args.qa)}
    count_tokens = QwenTokens(models_dir())
    settings = Settings(models_path=models_dir())
    margin = 0.03  # e5's passage margin (rag_core/embedding/relevance.py)
    results: dict[str, dict[str, Any]] = {}

    def order(rows: list[dict[str, Any]], depth: int, share: float) -> list[dict[str, Any]]:
        head = rows[:depth]
        span = max(len(head) - 1, 1)
        # the fused rank as a score in [0, 1], best first, beside the model's log-odds
        ranked = sorted(
            enumerate(head), key=lambda nr: (-(nr[1]["llm"] + share * (1 - nr[0] / span)), nr[0])
        )
        return [r for _, r in ranked]

    variants: list[tuple[str, int, float | None, int, float | None]] = [
        ("current order", args.depth, None, settings.top_k, None)
    ]
    for depth in (10, 15, 20, 30, 40):
        if depth > data["depth"]:
            continue
        for share in (0.0, 2.0, 4.0):
            for k in (4, 6):
                variants.append((f"d{depth} share{share:g} k{k}", depth, share, k, None))
    for floor in (-6.0, -4.0, -2.0, 0.0):
        deepest = data["depth"]
        variants.append((f"d{deepest} share2 k6 floor{floor:g}", deepest, 2.0, 6, floor))

    for name, depth, share, k, floor in variants:
        given, answer_given, kw, tokens, refused_ans, refused_unans, seconds = (
            [],
            [],
            [],
            [],
            [],
            [],
            [],
        )
        for q in data["questions"]:
            item = items[q["question"]]
            rows = q["candidates"]
            if share is None:  # today's path: the engine's own sources, passage margin on
                sources = [Source(**s) for s in q["current"]]
                prompt_margin: float | None = margin
                refused = q["gate_refused"]
            else:
                chosen = order(rows, depth, share)[:k]
                sources = [Source(**r["source"]) for r in chosen]
                prompt_margin = None
                refused = q["gate_refused"] or (
                    floor is not None and max(r["llm"] for r in rows[:depth]) < floor
                )
                seconds.append(q["seconds"] * depth / data["depth"])
            prompt = build_prompt(
                q["query"],
                sources,
                count_tokens,
                settings.llm_context_tokens,
                settings.answer_tokens,
                prompt_margin,
            )
            if item.answerable:
                outcome = prompt_outcome(item, prompt, refused)
                refused_ans.append(refused)
                given.append(outcome.given)
                answer_given.append(outcome.answer_given)
                if outcome.keywords_given is not None:
                    kw.append(outcome.keywords_given)
                if not refused:
                    tokens.append(prompt.tokens)
            else:
                refused_unans.append(refused)
        results[name] = {
            "given": statistics.mean(given),
            "or also": statistics.mean(answer_given),
            "kw given": statistics.mean(kw),
            "ans. refused": sum(refused_ans),
            "unans. refused": f"{sum(refused_unans)}/{len(refused_unans)}",
            "prompt tok": statistics.mean(tokens),
            "model s p50": statistics.median(seconds) if seconds else 0.0,
        }
    table = Table(title=f"LLM reranking ({data['model']}, {data['depth']} candidates scored)")
    columns = list(next(iter(results.values())))
    table.add_column("variant")
    for column in columns:
        table.add_column(column, justify="right")
    for name, r in results.items():
        table.add_row(name, *(_cell(v) for v in r.values()))
    Console(width=160).print(table)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 2 else f"{value:.1f}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qa", type=Path, default=REPO / "data/eval/answers-corpus.jsonl")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks/out/recall")
    parser.add_argument("--model", default="qwen2.5-0.5b")
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="first N questions only")
    parser.add_argument(
        "--questions", type=Path, help="only these questions (a file, one per line)"
    )
    parser.add_argument(
        "--passage-tokens", type=int, default=300, help="each passage cut to this many tokens"
    )
    parser.add_argument("--dump", type=Path, help="write the scored candidates here")
    parser.add_argument("--replay", type=Path, help="re-order a dump (no model, no index)")
    args = parser.parse_args()
    if args.replay:
        replay(json.loads(args.replay.read_text()), args)
        return
    data = dump(args)
    if args.dump:
        args.dump.parent.mkdir(parents=True, exist_ok=True)
        args.dump.write_text(json.dumps(data))
    replay(data, args)


if __name__ == "__main__":
    main()

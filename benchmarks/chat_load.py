"""Many employees at once: N concurrent askers through the real answer path.

    .venv/bin/python benchmarks/chat_load.py --users 8 --questions data/eval/sample-qa.jsonl \
        [--docs data/sample] [--model qwen2.5-0.5b] [--parallel 8] [--answer-tokens 160] --json

Indexes `--docs` into a fresh embedded Qdrant, then asks the same questions twice through
`AnswerEngine` on the OpenAI-compatible backend (real retrieval, prompt, streaming,
citations) against llama.cpp's llama-server (`--parallel`, continuous batching) on a free
port: first one after another (`serial_total_s`), then N users at once, each in its own
thread (`total_s`). Each phase gets a freshly started server, so neither inherits the
other's question prompts; before a phase every slot is given the fixed system prompt (one
request per slot, at once), as a server that has been answering for a while holds it in
each slot (`--cold`: slots start empty, which charges the concurrent phase one system
prompt per slot and the serial phase one in all). Within a phase the system prompt's KV
cache is reused (`cache_prompt`). The questions file is JSONL with a "question" (or "text") field,
or plain lines; user i asks questions i, i+N, ... (`--per-user` each, cycled).

Prints one JSON object: users, answered, errors, ttft_p50_s, ttft_p95_s, total_s,
serial_total_s, tokens_per_s_aggregate, and context (ratio, serial TTFT, parallel, model,
load average). The machine may be shared: compare the ratio, measured in the same run.

`prompt_bound_ratio` is the serial phase's time to first tokens (retrieval and prompt
evaluation) as a share of its total: the lowest ratio batching can reach where prompt
evaluation is compute-bound (a CPU: eight prompts evaluated together take as long as one
after another) and only decoding overlaps, even if decoding together were free.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ingest.pipeline import run_ingest  # noqa: E402
from rag_core.answering.answer import Answer, AnswerEngine  # noqa: E402
from rag_core.answering.assembly import assemble  # noqa: E402
from rag_core.answering.prompt import DEFAULT_WORDING  # noqa: E402
from rag_core.embedding.embedder import Embedder  # noqa: E402
from rag_core.generation.llm import ChatModel, GenerationStats, load_chat_model  # noqa: E402
from rag_core.generation.model_files import ResolvedModel, resolve_model  # noqa: E402
from rag_core.generation.model_server import ModelServer  # noqa: E402
from rag_core.settings import Settings  # noqa: E402
from rag_core.store.base import VectorStore  # noqa: E402
from rag_core.store.edge import EdgeStore  # noqa: E402


@dataclass(slots=True)
class Asked:
    ttft_s: float = 0.0
    total_s: float = 0.0
    tokens: int = 0
    refused: bool = False
    cited: bool = False
    error: str | None = None


def load_questions(path: Path) -> list[str]:
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            item = json.loads(line)
            questions.append(str(item.get("question") or item["text"]))
        else:
            questions.append(line)
    if not questions:
        raise SystemExit(f"{path}: no questions")
    return questions


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ask(engine: AnswerEngine, question: str) -> Asked:
    result = Asked()
    started = time.perf_counter()
    try:
        final: Answer | None = None
        for item in engine.stream(question, ["*"]):
            if isinstance(item, Answer):
                final = item
            elif not result.ttft_s:
                result.ttft_s = time.perf_counter() - started
        if final is None:
            result.error = "no final answer"
        else:
            result.tokens = int(final.timings.get("generation_tokens", 0))
            result.refused = final.refused
            result.cited = bool(final.citations)
    except Exception as exc:  # counted and reported, never hidden
        result.error = f"{type(exc).__name__}: {exc}"
    result.total_s = time.perf_counter() - started
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_phase(engine: AnswerEngine, plan: list[list[str]]) -> tuple[float, list[Asked]]:
    """Each inner list is one user's questions, asked in order; users run at once."""
    results: list[list[Asked]] = [[] for _ in plan]

    def user(i: int) -> None:
        for question in plan[i]:
            results[i].append(ask(engine, question))

    threads = [threading.Thread(target=user, args=(i,)) for i in range(len(plan))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, [r for per_user in results for r in per_user]


@contextmanager
def _engine(
    store: VectorStore,
    embedder: Embedder,
    base: Settings,
    model: ResolvedModel,
    data: Path,
    warm: bool,
) -> Iterator[AnswerEngine]:
    """A fresh llama-server (no question's prompt cached) and the answer engine over it;
    `warm`: every slot first holds the fixed system prompt, as on a server that has been
    answering for a while (each slot keeps its last prompt's KV)."""
    with ModelServer(model, base, "127.0.0.1", free_port(), data / "server.log") as server:
        settings = base.model_copy(
            update={
                "llm_backend": "openai",
                "llm_base_url": server.url + "/v1",
                "llm_model": model.name,
            }
        )
        chat = load_chat_model(settings)
        if warm:
            warm_slots(chat, base.llm_server_parallel)
        yield assemble(settings, store, embedder=embedder, model=chat).engine


def warm_slots(chat: ChatModel, slots: int) -> None:
    """One request per slot, all at once, so each slot evaluates the system prompt once."""

    def one(i: int) -> None:
        user = f"Sources:\n(none)\nQuestion: warm-up {i}"
        messages = [{"role": "system", "content": DEFAULT_WORDING.system}]
        messages.append({"role": "user", "content": user})
        for _ in chat.stream_chat(messages, 1, GenerationStats()):
            pass

    threads = [threading.Thread(target=one, args=(i,)) for i in range(slots)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def measure(args: argparse.Namespace) -> dict[str, Any]:
    questions = load_questions(args.questions)
    parallel = args.parallel or args.users
    with tempfile.TemporaryDirectory(prefix="chat-load-") as tmp:
        data = Path(tmp)
        base = Settings(
            data_dir=data,
            workers=0,
            llm_model=args.model,
            llm_temperature=0.0,
            llm_server_parallel=parallel,
            llm_threads=args.threads,
            answer_tokens=args.answer_tokens,
            max_concurrent_answers=max(args.users, parallel),
        )
        resolved = resolve_model(args.model, REPO / "data" / "models")
        embedder = Embedder(Settings(data_dir=args.cache or data))
        with EdgeStore(base.qdrant_dir, base.collection) as store:
            report = run_ingest(args.docs, base, store, embedder)
            total = args.users * args.per_user
            asked = [questions[i % len(questions)] for i in range(total)]
            plan = [asked[u :: args.users] for u in range(args.users)]
            load_before = os.getloadavg()[0]
            with _engine(store, embedder, base, resolved, data, not args.cold) as engine:
                serial_s, serial = run_phase(engine, [asked])
            with _engine(store, embedder, base, resolved, data, not args.cold) as engine:
                total_s, concurrent = run_phase(engine, plan)
        embedder.close()

    ok = [r for r in concurrent if r.error is None]
    serial_ok = [r for r in serial if r.error is None]
    return {
        "users": args.users,
        "answered": len(ok),
        "errors": len(concurrent) - len(ok),
        "ttft_p50_s": round(statistics.median([r.ttft_s for r in ok]), 3) if ok else None,
        "ttft_p95_s": round(percentile([r.ttft_s for r in ok], 95), 3),
        "total_s": round(total_s, 2),
        "serial_total_s": round(serial_s, 2),
        "tokens_per_s_aggregate": round(sum(r.tokens for r in ok) / total_s, 2),
        "ratio": round(total_s / serial_s, 3),
        "serial_ttft_p50_s": round(statistics.median([r.ttft_s for r in serial_ok]), 3)
        if serial_ok
        else None,
        "serial_tokens_per_s": round(sum(r.tokens for r in serial_ok) / serial_s, 2),
        "prompt_bound_ratio": round(sum(r.ttft_s for r in serial_ok) / serial_s, 3),
        "serial_errors": len(serial) - len(serial_ok),
        "refused": sum(r.refused for r in ok),
        "cited": sum(r.cited for r in ok),
        "questions": total,
        "parallel": parallel,
        "warm_slots": not args.cold,
        "model": resolved.name,
        "answer_tokens": args.answer_tokens,
        "chunks_indexed": report.chunks_written,
        "loadavg_1m_at_start": round(load_before, 2),
        "cpus": os.cpu_count(),
        "error_messages": sorted({r.error for r in concurrent + serial if r.error}),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--questions", type=Path, default=REPO / "data/eval/sample-qa.jsonl")
    parser.add_argument("--per-user", type=int, default=1, help="questions each user asks")
    parser.add_argument("--docs", type=Path, default=REPO / "data/sample")
    parser.add_argument("--model", default="qwen2.5-0.5b")
    parser.add_argument("--parallel", type=int, default=0, help="server slots (default: users)")
    parser.add_argument("--threads", type=int, default=0, help="llama.cpp threads (0: default)")
    parser.add_argument("--answer-tokens", type=int, default=160)
    parser.add_argument("--cache", type=Path, help="embedding cache folder to reuse across runs")
    parser.add_argument(
        "--cold", action="store_true", help="slots start empty (default: system prompt cached)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON line")
    args = parser.parse_args(argv)
    result = measure(args)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

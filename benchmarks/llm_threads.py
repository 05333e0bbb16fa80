"""In-process llama.cpp threads: prompt evaluation and decoding speed per thread count.

    .venv/bin/python benchmarks/llm_threads.py [--model qwen2.5-0.5b] [--threads 1 2] [--runs 3]

llama-cpp-python decodes with cpu_count // 2 threads when none are given (1 on a 2-core
machine) and evaluates prompts with all of them; `RAGDESK_LLM_THREADS` = 0 now means one
thread per physical core (`rag_core.cpu.physical_cores`). The same real prompt (passages from the
shared corpus, the real system prompt) is answered `--runs` times per thread count, a
fresh model each time (no KV reuse between counts); the table's ratios are against the
first count, in the same process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag_core.answering.prompt import DEFAULT_WORDING  # noqa: E402
from rag_core.generation.llm import GenerationStats, LlamaCppChat  # noqa: E402
from rag_core.generation.model_files import resolve_model  # noqa: E402
from rag_core.settings import Settings  # noqa: E402

PASSAGE = Path(
    os.environ.get("RAGDESK_SHARED_DIR", REPO.parent / "shared"), "docs/markdown/etcd.faq.md"
)


def measure(model: str, threads: int, runs: int) -> dict[str, float]:
    settings = Settings(llm_model=model, llm_threads=threads, llm_temperature=0.0)
    chat = LlamaCppChat(resolve_model(model, REPO / "data" / "models"), settings)
    text = PASSAGE.read_text(encoding="utf-8")[:2400]
    rows = []
    for run in range(runs):
        # the run number first: only the fixed system prompt's KV cache is reused
        user = f'Sources ({run}):\n[1] etcd.faq.md\n"""\n{text}\n"""\nQuestion: '
        user += "What does the FAQ say about cluster size?\n" + DEFAULT_WORDING.instruction
        messages = [
            {"role": "system", "content": DEFAULT_WORDING.system},
            {"role": "user", "content": user},
        ]
        stats = GenerationStats()
        for _ in chat.stream_chat(messages, 96, stats):
            pass
        rows.append(stats)
    return {
        "prompt_tokens": statistics.median(r.prompt_tokens for r in rows),
        "prompt_tok_s": statistics.median(
            r.prompt_tokens / (r.prompt_eval_ms / 1000) for r in rows if r.prompt_eval_ms
        ),
        "decode_tok_s": statistics.median(
            r.completion_tokens / (r.decode_ms / 1000) for r in rows if r.decode_ms
        ),
        "ttft_s": statistics.median(r.first_token_ms / 1000 for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-0.5b")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}, cpus {os.cpu_count()}")
    results = {t: measure(args.model, t, args.runs) for t in args.threads}
    base = results[args.threads[0]]
    print(
        f"{'threads':>8}{'prompt tok':>11}{'prompt tok/s':>14}{'decode tok/s':>14}"
        f"{'TTFT s':>8}{'decode x':>10}{'TTFT x':>8}"
    )
    for threads, row in results.items():
        print(
            f"{threads:>8}{row['prompt_tokens']:>11.0f}{row['prompt_tok_s']:>14.1f}"
            f"{row['decode_tok_s']:>14.1f}{row['ttft_s']:>8.2f}"
            f"{row['decode_tok_s'] / base['decode_tok_s']:>10.2f}"
            f"{row['ttft_s'] / base['ttft_s']:>8.2f}"
        )


if __name__ == "__main__":
    main()

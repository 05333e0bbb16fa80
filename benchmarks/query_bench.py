"""Query-path benchmark: retrieval latency at 10k and 100k chunks, and our share of the
time to first token.

    .venv/bin/python benchmarks/query_bench.py [--sizes 10000 100000] [--queries 100]
        [--model qwen2.5-0.5b] [--questions 10]

Retrieval: collections of N points whose payload texts are real corpus passages (from
../shared/eval/faq-dev, cycled) with their real BM25 vectors; dense vectors are real
embeddings of those passages plus small noise per copy (embedding 100k chunks for real
would take over an hour here, and latency does not depend on which vectors they are).
Queries are the real faq-dev questions through the real Retriever (query embedding +
hybrid search + ACL filter). The baseline row is the query embedding alone.

Time to first token: the real answer pipeline with a packaged GGUF; "overhead" is the
time to first token minus llama.cpp's own prompt evaluation (what ragdesk adds:
retrieval, prompt building, template). The fixed system prompt stays in the KV cache.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag_core.answering.assembly import assemble  # noqa: E402
from rag_core.answering.retrieval import Retriever, search_spec  # noqa: E402
from rag_core.embedding.embedder import Embedder  # noqa: E402
from rag_core.embedding.sparse import sparse_document  # noqa: E402
from rag_core.generation.llm import LlamaCppChat  # noqa: E402
from rag_core.generation.model_files import resolve_model  # noqa: E402
from rag_core.settings import Settings  # noqa: E402
from rag_core.store.base import StoredPoint  # noqa: E402
from rag_core.store.edge import EdgeStore  # noqa: E402
from rag_core.types import Chunk  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def load_faq(dataset: Path) -> tuple[list[str], list[str]]:
    corpus = (dataset / "corpus.jsonl").read_text().splitlines()
    queries = (dataset / "queries.jsonl").read_text().splitlines()
    passages = [json.loads(line)["text"] for line in corpus if line.strip()]
    questions = [json.loads(line)["text"] for line in queries if line.strip()]
    return passages, questions


def build(store: EdgeStore, size: int, passages: list[str], vectors: np.ndarray) -> float:
    rng = np.random.default_rng(size)
    sparse = [sparse_document(p) for p in passages]
    started = time.perf_counter()
    batch: list[StoredPoint] = []
    for i in range(size):
        j = i % len(passages)
        dense = vectors[j] + rng.normal(0, 0.02, vectors.shape[1]).astype(np.float32)
        dense /= np.linalg.norm(dense)
        chunk = Chunk(
            text=passages[j], source=f"doc-{i // 40}.pdf", file_hash="h", chunk_index=i % 40,
            char_start=0, char_end=len(passages[j]), title="t", format="pdf", page=1 + i % 300,
            acl=["*"] if i % 7 else ["hr"],
        )  # fmt: skip
        batch.append(StoredPoint.of(chunk, dense, sparse[j]))
        if len(batch) == 512:
            store.upsert(batch)
            batch = []
    store.upsert(batch)
    store.optimize()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=REPO.parent / "shared/eval/faq-dev")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--model", default="qwen2.5-0.5b")
    parser.add_argument("--questions", type=int, default=10)
    args = parser.parse_args()

    passages, questions = load_faq(args.dataset)
    questions = questions[: args.queries]
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="ragdesk-qbench-")))
    embedder = Embedder(settings)
    vectors = embedder.encode_uncached(passages)

    started = time.perf_counter()
    for q in questions:
        embedder.embed_query(q)
    embed_ms = (time.perf_counter() - started) * 1000 / len(questions)

    print(f"\nretrieval latency, {len(questions)} real questions, hybrid top-6 with ACL filter")
    widths = {"chunks": 8, "fusion": 16, "build s": 10, "p50 ms": 9, "p95 ms": 9}
    widths |= {"search-only p50": 17}
    print("".join(f"{name:>{width}}" for name, width in widths.items()) + f"{'x embed':>9}")
    fusions = {  # the default (weighted DBSF: two searches) and Qdrant's one-query RRF
        "dbsf (default)": search_spec(settings),
        "rrf": search_spec(settings.model_copy(update={"fusion": "rrf"})),
    }
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp, EdgeStore(Path(tmp), "bench") as store:
            store.ensure_schema(embedder.info)
            build_s = build(store, size, passages, vectors)
            for name, spec in fusions.items():
                retriever = Retriever(store, embedder, spec)
                timings = [retriever.retrieve(q, ["eng"], 6).milliseconds for q in questions]
                p50 = statistics.median(timings)
                print(
                    f"{size:>8,}{name:>16}{build_s:>10.1f}{p50:>9.1f}"
                    f"{percentile(timings, 95):>9.1f}{p50 - embed_ms:>17.1f}{p50 / embed_ms:>9.2f}"
                )
    print(f"baseline: query embedding alone {embed_ms:.1f} ms")

    model = LlamaCppChat(resolve_model(args.model, REPO / "data" / "models"), settings)
    with tempfile.TemporaryDirectory() as tmp, EdgeStore(Path(tmp), "ttft") as store:
        store.ensure_schema(embedder.info)
        build(store, 2_000, passages, vectors)
        short = settings.model_copy(update={"answer_tokens": 16, "min_relevance": -1.0})
        engine = assemble(short, store, embedder=embedder, model=model).engine
        rows = [engine.ask(q, ["*"]).timings for q in questions[: args.questions]]
    ttft = [r["time_to_first_token_ms"] for r in rows]
    prompt_eval = [r["prompt_eval_ms"] for r in rows]
    overhead = [r["overhead_ms"] for r in rows]
    retrieval = [r["retrieval_ms"] for r in rows]
    before_model = [r["before_model_ms"] for r in rows]
    print(f"\ntime to first token, {len(rows)} questions, model {args.model}")
    print(f"{'':<34}{'p50 ms':>10}{'p95 ms':>10}")
    for label, values in (
        ("time to first token", ttft),
        ("llama.cpp prompt evaluation", prompt_eval),
        ("ours: TTFT - prompt evaluation", overhead),
        ("  before the model: retrieval+prompt", before_model),
        ("    of which retrieval", retrieval),
    ):
        print(f"{label:<34}{statistics.median(values):>10.1f}{percentile(values, 95):>10.1f}")
    tokens = [r["prompt_eval_tokens"] / max(r["prompt_tokens"], 1) for r in rows]
    print(
        f"share of prompt tokens evaluated (rest from the KV cache): {statistics.mean(tokens):.2f}"
    )


if __name__ == "__main__":
    main()

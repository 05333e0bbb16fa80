"""Embedded Qdrant engines compared: qdrant-edge (the default) vs qdrant-client local mode.

    .venv/bin/python benchmarks/store_bench.py [--points 20000] [--queries 200]

Same points (384-d, normalized, real payload shape), same queries, same ACL filter, through
the project's own VectorStore classes. Prints upsert time, search p50/p95 with and without
the filter, and the ratios edge/local.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag_core.embedding.sparse import SparseVec  # noqa: E402
from rag_core.store.base import QueryVectors, SearchSpec, StoredPoint, VectorStore  # noqa: E402
from rag_core.store.factory import open_local  # noqa: E402
from rag_core.types import Chunk, EmbedderInfo  # noqa: E402

DIM = 384
INFO = EmbedderInfo("bench", DIM, 256)


def make_points(count: int, rng: np.random.Generator) -> list[StoredPoint]:
    vectors = rng.standard_normal((count, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    points = []
    for i in range(count):
        chunk = Chunk(
            text=f"chunk {i} " * 40,
            source=f"folder/file-{i // 50}.pdf",
            file_hash=f"{i // 50:064x}",
            chunk_index=i % 50,
            char_start=0,
            char_end=400,
            title="t",
            format="pdf",
            page=i % 300 + 1,
            acl=["hr"] if i % 10 == 0 else ["*"],
        )
        sparse = SparseVec([int(x) for x in rng.integers(0, 1 << 30, 30)], [1.0] * 30)
        points.append(StoredPoint.of(chunk, vectors[i], sparse))
    return points


def measure(store: VectorStore, points: list[StoredPoint], queries: np.ndarray) -> dict[str, float]:
    store.ensure_schema(INFO)
    started = time.perf_counter()
    for start in range(0, len(points), 256):
        store.upsert(points[start : start + 256])
    store.optimize()
    upsert = time.perf_counter() - started
    results: dict[str, float] = {"upsert_s": upsert}
    sparse = SparseVec([1, 2, 3], [1.0, 1.0, 1.0])
    for label, groups in (("search", ["*", "hr"]), ("filtered", ["hr"])):
        timings = []
        for query in queries:
            t0 = time.perf_counter()
            store.search(QueryVectors(query, sparse), 10, groups, SearchSpec(mode="dense"))
            timings.append((time.perf_counter() - t0) * 1000)
        results[f"{label}_p50_ms"] = statistics.median(timings)
        results[f"{label}_p95_ms"] = statistics.quantiles(timings, n=20)[18]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    points = make_points(args.points, rng)
    queries = rng.standard_normal((args.queries, DIM)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        with open_local("edge", Path(tmp) / "edge", "bench") as edge:
            edge_result = measure(edge, points, queries)
        with open_local("client", Path(tmp) / "local", "bench") as local:
            local_result = measure(local, points, queries)
    print(f"\nstore benchmark: {args.points:,} points, {args.queries} queries, top-10")
    print(f"{'metric':<18}{'qdrant-edge':>14}{'client local':>14}{'edge/local':>12}")
    for key, edge_value in edge_result.items():
        local_value = local_result[key]
        print(
            f"{key:<18}{edge_value:>14,.2f}{local_value:>14,.2f}{edge_value / local_value:>12.3f}"
        )


if __name__ == "__main__":
    main()

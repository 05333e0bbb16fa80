"""Ray's overhead: the same files through the local path and through a 1-node Ray cluster
on this machine, in one process, one after the other (rounds alternate the order).

    flock /work/heavy.lock .venv/bin/python benchmarks/ray_ingest_bench.py \
        [--docs ../shared/docs] [--subset 16] [--rounds 1] [--cpus 2]

Each run starts cold: a fresh collection and state folder (no embedding cache), and for
Ray a fresh node (`ray start --head --num-cpus CPUS`, its own data folder), so the Ray
time includes starting its workers and loading one embedder per worker, as a real run
does. Reported: wall time, chunks/s, the ratio Ray/local of throughput (target >= 0.9),
and the driver's own work per chunk on the Ray path: its CPU seconds (reading and shipping
files, receiving results, building points, writing Qdrant and the manifest), and the
write step alone. How many nodes one driver keeps busy follows: a node's chunks/s against
the chunks/s one driver core can absorb. The machine may be shared: the load average is
printed, and only ratios within one run mean much.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from ingest_bench import make_corpus  # noqa: E402

from ingest.cluster.connect import connect, disconnect  # noqa: E402
from ingest.pipeline import IngestReport, run_ingest  # noqa: E402
from rag_core.embedding.embedder import Embedder  # noqa: E402
from rag_core.settings import Settings  # noqa: E402
from rag_core.store.factory import open_store  # noqa: E402

NODE_IP = "127.0.0.2"  # loopback that Ray keeps as given (127.0.0.1 it rewrites)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_head(work: Path, cpus: int, builds: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGDESK_")}
    env.update(
        PYTHONPATH=str(REPO),
        RAY_USAGE_STATS_ENABLED="0",
        RAGDESK_DATA_DIR=str(work / "node"),
        RAGDESK_EMBEDDER_DIR=str(builds),
    )
    ray = Path(sys.executable).parent / "ray"
    args = [
        str(ray), "start", "--head", "--block", f"--port={port}",
        f"--node-ip-address={NODE_IP}", f"--num-cpus={cpus}",
        "--object-store-memory=200000000", "--include-dashboard=false",
        "--disable-usage-stats", f"--ray-client-server-port={free_port()}",
        f"--dashboard-agent-listen-port={free_port()}", f"--temp-dir={work / 'ray'}",
    ]  # fmt: skip
    log = (work / "head.log").open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env,
                               start_new_session=True)  # fmt: skip
    address = f"{NODE_IP}:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            connect(address)
            return process, address
        except Exception:
            time.sleep(1)
    raise SystemExit(f"the Ray head did not start: see {work / 'head.log'}")


def stop_head(process: subprocess.Popen[bytes]) -> None:
    disconnect()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def one_run(corpus: Path, work: Path, builds: Path, address: str | None) -> dict[str, float]:
    settings = Settings(data_dir=work / "data", embedder_dir=builds, ray_address=address)
    embedder = Embedder(settings)
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    with open_store(settings) as store:
        report: IngestReport = run_ingest(corpus, settings, store, embedder)
    wall = time.perf_counter() - wall_before
    cpu = time.process_time() - cpu_before
    embedder.close()
    assert not report.failures, report.failures
    return {
        "wall": wall,
        "chunks": report.chunks_written,
        "driver_cpu": cpu,
        "write": report.seconds_write,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = Path(os.environ.get("RAGDESK_SHARED_DIR", REPO.parent / "shared"))
    parser.add_argument("--docs", type=Path, default=shared / "docs")
    parser.add_argument("--subset", type=int, default=16, help="every K-th document")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--cpus", type=int, default=2, help="the Ray node's CPUs")
    parser.add_argument("--builds", type=Path, help="ONNX builds folder (default: temporary)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="ray-bench-"))
    builds = args.builds or root / "builds"
    try:
        chosen = make_corpus(args.docs, root, args.subset)
        corpus = root / "corpus"
        if not chosen:
            raise SystemExit(f"no documents under {args.docs} (--docs, or RAGDESK_SHARED_DIR)")
        print(f"{len(chosen)} files, load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cpus")
        Embedder(Settings(data_dir=root / "warm", embedder_dir=builds)).embed(["build"])
        results: dict[str, list[dict[str, float]]] = {"local": [], "ray": []}
        for number in range(args.rounds):
            order = ["local", "ray"] if number % 2 == 0 else ["ray", "local"]
            for name in order:
                work = root / f"{name}-{number}"
                work.mkdir()
                if name == "local":
                    results[name].append(one_run(corpus, work, builds, None))
                    continue
                head, address = start_head(work, args.cpus, builds)
                try:
                    results[name].append(one_run(corpus, work, builds, address))
                finally:
                    stop_head(head)
                print(f"round {number + 1}: load average {os.getloadavg()[0]:.2f}")
        print_table(results)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def print_table(results: dict[str, list[dict[str, float]]]) -> None:
    def total(name: str, key: str) -> float:
        return sum(run[key] for run in results[name])

    print(f"\n{'path':<8}{'wall s':>10}{'chunks':>9}{'chunks/s':>10}{'driver CPU s':>14}")
    rates = {}
    for name in ("local", "ray"):
        wall, chunks = total(name, "wall"), total(name, "chunks")
        rates[name] = chunks / wall
        print(
            f"{name:<8}{wall:>10.1f}{chunks:>9.0f}{rates[name]:>10.2f}"
            f"{total(name, 'driver_cpu'):>14.1f}"
        )
    chunks = total("ray", "chunks")
    per_chunk_cpu = total("ray", "driver_cpu") / chunks
    per_chunk_write = total("ray", "write") / chunks
    print(f"\nthroughput ratio ray/local: {rates['ray'] / rates['local']:.2f} (target >= 0.9)")
    print(f"driver CPU per chunk (all of its work): {per_chunk_cpu * 1e3:.2f} ms")
    print(f"driver write per chunk (Qdrant + manifest): {per_chunk_write * 1e3:.2f} ms")
    node_rate = rates["ray"]  # one node of this machine's size
    print(
        f"one driver core absorbs {1 / per_chunk_cpu:.0f} chunks/s = the output of "
        f"{1 / per_chunk_cpu / node_rate:.0f} nodes like this one ({node_rate:.1f} chunks/s each)"
    )


if __name__ == "__main__":
    main()

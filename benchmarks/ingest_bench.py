"""Ingestion benchmark: configurations compared in one run, on the whole corpus or a slice.

    .venv/bin/python benchmarks/ingest_bench.py [--docs ../shared/docs] [--subset 8]
        [--configs baseline,new] [--workers 1] [--pdf-engine pdfium] [--raw-sample 2000]

Configurations (each in its own child process, one after the other, so that each one's
peak RSS is its own and no model or cache carries over):
- `baseline`: the torch embedder, parsing overlapped only by the parser pool's two jobs in
  flight (ingestion as it was before the pipelined prefetch);
- `new`: the ONNX int8 embedder, parsing pipelined ahead of embedding;
- `torch-pipelined`, `onnx`: the two changes apart;
- `e5`: multilingual-e5-small as `new` runs MiniLM, without English vectors;
- `e5-english`: the default of new collections: e5 plus MiniLM's English vectors
  (rag_core/embedding/english.py), a second embedding pass, contents and index pages left
  out (ingest/contents_pages.py);
- `e5-english-contents`: the same with contents pages indexed, as every earlier
  configuration (and ingestion before) does.

`--subset K` takes every K-th document of the sorted corpus (a fixed slice that keeps the
mix of formats and sizes); 1 is the whole corpus. Each configuration reports its first-run
time, chunks/s, the raw embedding throughput of its backend on the same chunks, an unchanged
re-run, and peak RSS (main process, parser processes, all together); the last table gives
each one's time as a ratio of the first's. The machine may be shared: only ratios within
one run mean much.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ingest import pipeline  # noqa: E402
from ingest.discover import discover  # noqa: E402
from ingest.pipeline import run_ingest  # noqa: E402
from rag_core.embedding.embedder import Embedder  # noqa: E402
from rag_core.settings import Settings  # noqa: E402
from rag_core.store.factory import open_store  # noqa: E402
from rag_core.types import Payload  # noqa: E402

MINILM, E5 = "all-MiniLM-L6-v2", "multilingual-e5-small"
CONFIGS = {  # name -> (embedder, backend, parse prefetch, English vectors, contents pages)
    "baseline": (MINILM, "torch", False, False, True),
    "torch-pipelined": (MINILM, "torch", True, False, True),
    "onnx": (MINILM, "onnx", True, False, True),
    "new": (MINILM, "onnx-int8", True, False, True),
    "e5": (E5, "onnx-int8", True, False, True),
    "e5-english-contents": (E5, "onnx-int8", True, True, True),
    "e5-english": (E5, "onnx-int8", True, True, False),  # the default of new collections
}
FOLDERS = ("pdf", "office", "html", "markdown", "text")


def make_corpus(docs: Path, target: Path, every: int) -> list[str]:
    """Links to every `every`-th document (sorted paths) of the corpus's document folders."""
    staging = target / "all"
    staging.mkdir(parents=True)
    for folder in FOLDERS:
        if (docs / folder).is_dir():
            (staging / folder).symlink_to((docs / folder).resolve())
    found, _ = discover(staging)
    chosen = sorted(entry.source for entry in found)[::every]
    corpus = target / "corpus"
    for source in chosen:
        link = corpus / source
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to((staging / source).resolve())
    return chosen


class TreeRss:
    """Peak resident memory of this process and of all its descendants, sampled twice a
    second: getrusage misses the parser pool's forkserver grandchildren.

    Summed RSS counts a page shared by several processes once per process: the parser
    worker is forked from the forkserver, which preloads the parsing libraries, so their
    pages are counted twice. PSS (each shared page split among its sharers) sums to the
    memory the tree really holds, and is reported beside it (every 5 s: reading it walks every
    mapping). The main process's RSS is
    also split into anonymous memory and mapped files (the index's files, the model), which
    the kernel can drop and re-read."""

    def __init__(self) -> None:
        self.main_mb = self.others_mb = self.total_mb = 0.0
        self.main_anon_mb = self.main_file_mb = self.total_pss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.main_mb = max(self.main_mb, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

    def _sample(self) -> None:
        me = psutil.Process()
        tick = 0
        while not self._stop.wait(0.5):
            # PSS reads every mapping (/proc/PID/smaps): every 5 s, or it costs the run CPU
            full = tick % 10 == 0
            tick += 1
            main = me.memory_full_info() if full else me.memory_info()
            others = others_pss = 0.0
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):  # ended between listing and reading
                    info = child.memory_full_info() if full else child.memory_info()
                    others += info.rss / 2**20
                    others_pss += info.pss / 2**20 if full else 0.0
            self.main_mb = max(self.main_mb, main.rss / 2**20)
            self.main_anon_mb = max(self.main_anon_mb, (main.rss - main.shared) / 2**20)
            self.main_file_mb = max(self.main_file_mb, main.shared / 2**20)
            self.others_mb = max(self.others_mb, others)
            self.total_mb = max(self.total_mb, main.rss / 2**20 + others)
            if full:
                self.total_pss_mb = max(self.total_pss_mb, main.pss / 2**20 + others_pss)


def run_one(name: str, corpus: Path, work: Path, args: argparse.Namespace) -> dict[str, float]:
    """One configuration, from a cold data folder: first run, re-run, raw embedding rate."""
    model, backend, prefetch, english, contents = CONFIGS[name]
    pipeline.PREFETCH = prefetch
    settings = Settings(
        data_dir=work,
        workers=args.workers,
        pdf_engine=args.pdf_engine,
        embed_model=model,
        embed_backend=backend,
        embedder_dir=args.builds,
        english_vectors=english,
        index_contents_pages=contents,
    )
    embedder = Embedder(settings)
    started = time.perf_counter()
    embedder.encode_uncached(["warm-up: load (or build) the model before the clock starts"])
    load_s = time.perf_counter() - started
    with open_store(settings) as store, TreeRss() as rss:
        first = run_ingest(corpus, settings, store, embedder)
        second = run_ingest(corpus, settings, store, embedder)
    with open_store(settings) as store:
        texts = [p[Payload.TEXT] for p in store.payloads()]
    sample = random.Random(7).sample(texts, min(args.raw_sample, len(texts)))
    started = time.perf_counter()
    embedder.encode_uncached(sample)
    raw_rate = len(sample) / (time.perf_counter() - started)
    embedder.close()
    return {
        "files": first.files_new,
        "failed": len(first.failures),
        "chunks": first.chunks_written,
        "first_s": first.seconds_total,
        "chunks_per_s": first.chunks_written / first.seconds_total,
        "raw_chunks_per_s": raw_rate,
        "embed_s": first.seconds_embed,
        "parse_s": first.seconds_parse,
        "chunk_s": first.seconds_chunk,
        "rerun_s": second.seconds_total,
        "load_s": load_s,
        "rss_main_mb": rss.main_mb,
        "rss_parser_mb": rss.others_mb,
        "rss_total_mb": rss.total_mb,
        "rss_main_anon_mb": rss.main_anon_mb,
        "rss_main_file_mb": rss.main_file_mb,
        "pss_total_mb": rss.total_pss_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=REPO.parent / "shared" / "docs")
    parser.add_argument("--subset", type=int, default=1, help="every K-th document (1: all)")
    parser.add_argument("--configs", default="baseline,new", help=", ".join(CONFIGS))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pdf-engine", default="pdfium", choices=["pypdf", "pdfium"])
    parser.add_argument("--raw-sample", type=int, default=2000)
    parser.add_argument("--builds", type=Path, help="ONNX builds folder (default: temporary)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child: run this configuration
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one:  # in a child process
        result = run_one(args.one, args.work / "corpus", args.work / args.one, args)
        args.out.write_text(json.dumps(result))
        return

    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = set(configs) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configuration(s) {sorted(unknown)}: choose from {list(CONFIGS)}")
    work = Path(tempfile.mkdtemp(prefix="ragdesk-bench-"))
    builds = args.builds or work / "builds"
    try:
        chosen = make_corpus(args.docs, work, max(args.subset, 1))
        size = sum((work / "corpus" / s).stat().st_size for s in chosen)
        print(f"corpus: {len(chosen)} documents, {size / 1e6:.1f} MB (every {args.subset}.)")
        results = {}
        for name in configs:
            out = work / f"{name}.json"
            command = [
                sys.executable,
                __file__,
                *("--one", name, "--work", str(work), "--out", str(out)),
                *("--workers", str(args.workers), "--pdf-engine", args.pdf_engine),
                *("--raw-sample", str(args.raw_sample), "--builds", str(builds)),
            ]
            subprocess.run(command, check=True)
            results[name] = json.loads(out.read_text())
            print(f"  {name}: {results[name]['first_s']:.1f} s", flush=True)
        print_table(results, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def print_table(results: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    names = list(results)
    print(f"\ningest benchmark (workers={args.workers}, pdf={args.pdf_engine}, shared machine)")
    rows = [
        ("embedder", lambda r, n: CONFIGS[n][0]),
        ("backend", lambda r, n: CONFIGS[n][1]),
        ("parse prefetch (pipelined)", lambda r, n: "yes" if CONFIGS[n][2] else "no"),
        ("English vectors", lambda r, n: "yes" if CONFIGS[n][3] else "no"),
        ("contents pages indexed", lambda r, n: "yes" if CONFIGS[n][4] else "no"),
        ("files new / failed", lambda r, n: f"{r['files']:.0f} / {r['failed']:.0f}"),
        ("chunks written", lambda r, n: f"{r['chunks']:,.0f}"),
        ("first run, s", lambda r, n: f"{r['first_s']:,.1f}"),
        ("  of which embedding, s", lambda r, n: f"{r['embed_s']:,.1f}"),
        ("parsing (parser CPU), s", lambda r, n: f"{r['parse_s']:,.1f}"),
        ("chunking (parser CPU), s", lambda r, n: f"{r['chunk_s']:,.1f}"),
        ("ingestion chunks/s", lambda r, n: f"{r['chunks_per_s']:,.1f}"),
        ("raw embedding chunks/s", lambda r, n: f"{r['raw_chunks_per_s']:,.1f}"),
        ("unchanged re-run, s", lambda r, n: f"{r['rerun_s']:,.2f}"),
        ("model load (or build), s", lambda r, n: f"{r['load_s']:,.1f}"),
        ("peak RSS main, MB", lambda r, n: f"{r['rss_main_mb']:,.0f}"),
        ("peak RSS parser processes, MB", lambda r, n: f"{r['rss_parser_mb']:,.0f}"),
        ("peak RSS all together, MB", lambda r, n: f"{r['rss_total_mb']:,.0f}"),
        ("  main: anonymous, MB", lambda r, n: f"{r.get('rss_main_anon_mb', 0):,.0f}"),
        ("  main: mapped files, MB", lambda r, n: f"{r.get('rss_main_file_mb', 0):,.0f}"),
        ("peak PSS all together, MB", lambda r, n: f"{r.get('pss_total_mb', 0):,.0f}"),
        (
            f"first run / {names[0]}",
            lambda r, n: f"{r['first_s'] / results[names[0]]['first_s']:.2f}",
        ),
    ]
    print(f"{'':<30}" + "".join(f"{n:>16}" for n in names))
    for label, cell in rows:
        print(f"{label:<30}" + "".join(f"{cell(results[n], n):>16}" for n in names))


if __name__ == "__main__":
    main()

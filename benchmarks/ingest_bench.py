"""Whole-corpus ingestion benchmark: first run, unchanged re-run, raw embedding baseline.

    .venv/bin/python benchmarks/ingest_bench.py [--docs ../shared/docs] [--workers 1]
        [--pdf-engine pypdf|pdfium] [--raw-sample 4000]

Prints a table: pages/s, chunks/s, stage shares, peak RSS, and ingestion throughput as a
ratio of the raw embedding throughput of the same model on the same chunks, measured in
the same process (the baseline: everything but embedding is overhead).
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ingest.pipeline import IngestReport, run_ingest  # noqa: E402
from rag_core.embeddings import Embedder  # noqa: E402
from rag_core.settings import Settings  # noqa: E402
from rag_core.store import open_store  # noqa: E402
from rag_core.types import Payload  # noqa: E402


def pdf_pages(docs: Path) -> int:
    manifest = docs / "manifest.tsv"
    if not manifest.is_file():
        return 0
    rows = [line.split("\t") for line in manifest.read_text().splitlines()[1:]]
    return sum(int(r[3]) for r in rows if len(r) > 3 and r[3].isdigit())


def peak_rss_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=REPO.parent / "shared" / "docs")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pdf-engine", default="pdfium", choices=["pypdf", "pdfium"])
    parser.add_argument("--raw-sample", type=int, default=4000)
    parser.add_argument("--keep", type=Path, help="keep the index in this folder")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="ragdesk-bench-"))
    if work.exists() and args.keep:
        shutil.rmtree(work)
    settings = Settings(data_dir=work, workers=args.workers, pdf_engine=args.pdf_engine)
    embedder = Embedder(settings)
    embedder.encode_uncached(["warm-up: load the model before the clock starts"])

    # the document folders only (not licenses/, README.txt, manifest.tsv beside them)
    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for folder in ("pdf", "office", "html", "markdown", "text"):
        if (args.docs / folder).is_dir():
            (corpus / folder).symlink_to((args.docs / folder).resolve())
    with open_store(settings) as store:
        first = run_ingest(corpus, settings, store, embedder)
        second = run_ingest(corpus, settings, store, embedder)
        texts = [p[Payload.TEXT] for p in store.payloads()]
    own_rss, child_rss = peak_rss_mb()

    sample = random.Random(7).sample(texts, min(args.raw_sample, len(texts)))
    started = time.perf_counter()
    embedder.encode_uncached(sample)
    raw_rate = len(sample) / (time.perf_counter() - started)
    embedder.close()

    print_table(args, first, second, pdf_pages(args.docs), raw_rate, len(sample))
    print(f"peak RSS: main process {own_rss:,.0f} MB, largest parser process {child_rss:,.0f} MB")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def print_table(
    args: argparse.Namespace,
    first: IngestReport,
    second: IngestReport,
    pages: int,
    raw_rate: float,
    sample: int,
) -> None:
    total = first.seconds_total
    rate = first.chunks_written / total
    print(f"\ningest benchmark: {args.docs} (workers={args.workers}, pdf={args.pdf_engine})")
    print(f"{'metric':<44}{'value':>14}")
    rows = [
        ("files new / failed", f"{first.files_new} / {len(first.failures)}"),
        ("chunks written", f"{first.chunks_written:,}"),
        ("chunks embedded (after dedup/cache)", f"{first.chunks_embedded:,}"),
        ("first run, s", f"{total:,.1f}"),
        ("PDF pages/s", f"{pages / total:,.1f}"),
        ("ingestion chunks/s", f"{rate:,.1f}"),
        (f"raw embedding chunks/s ({sample:,} of the same chunks)", f"{raw_rate:,.1f}"),
        ("ratio ingestion / raw embedding", f"{rate / raw_rate:.2f}"),
        ("unchanged re-run, s", f"{second.seconds_total:,.2f}"),
        ("ratio re-run / first run", f"{second.seconds_total / total:.3f}"),
    ]
    for name, value in rows:
        print(f"{name:<44}{value:>14}")
    print("\nstage seconds (parse and chunk run in parser processes, overlapping embed):")
    for stage in ("scan", "parse", "chunk", "embed", "write"):
        seconds = getattr(first, f"seconds_{stage}")
        print(f"  {stage:<8}{seconds:>10,.1f} s {100 * seconds / total:>6.1f}% of wall time")
    for failure in first.failures:
        print(f"  failed: {failure.path}: {failure.reason}")


if __name__ == "__main__":
    main()

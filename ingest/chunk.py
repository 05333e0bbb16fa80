"""Blocks -> Chunks: llama-index's SentenceSplitter, sized in the embedder's own tokens.

Every chunk fits the embedding window (checked, and cut at token boundaries if a splitter
ever overshoots), never crosses a PDF page or a section, and records its character span in
the document's text (blocks joined by blank lines). Tables (spreadsheets, CSV) are cut
between rows instead: each chunk is the header row then whole rows, with their row range.
"""

from __future__ import annotations

from collections.abc import Iterator

from llama_index.core.node_parser import SentenceSplitter

from rag_core.answering.safety import looks_like_instructions
from rag_core.embedding.tokens import text_tokens, token_counter
from rag_core.types import Block, Chunk, ParsedDocument, TableRows

BLOCK_SEPARATOR = "\n\n"
HEADER_CHARS = 200  # bound on the title/breadcrumb line, so the passage keeps the window
# The splitter's cost grows badly on huge unbroken strings (minified HTML, one-line dumps):
# feed it segments of bounded size, cut at a newline or space where one is near.
_SEGMENT_CHARS = 20_000


class Chunker:
    def __init__(self, model_path: str, chunk_tokens: int, overlap: int, max_tokens: int) -> None:
        self._encode = token_counter(model_path)
        self._tokens = text_tokens(model_path)
        self._max_tokens = max_tokens
        self._chunk_tokens = chunk_tokens
        self._splitter = SentenceSplitter(
            chunk_size=chunk_tokens,
            chunk_overlap=overlap,
            tokenizer=self._encode,
            paragraph_separator="\n\n",
        )

    def chunk(
        self,
        doc: ParsedDocument,
        source: str,
        file_hash: str,
        acl: list[str],
        ingested_at: str,
        skip: frozenset[int] = frozenset(),
    ) -> list[Chunk]:
        """`skip`: indices of blocks left out (contents pages); spans still count them."""
        chunks: list[Chunk] = []
        offset = 0
        for number, block in enumerate(doc.blocks):
            if number in skip:
                offset += len(block.text) + len(BLOCK_SEPARATOR)
                continue
            for text, start, end, rows in self._split_block(block):
                chunks.append(
                    Chunk(
                        text=text,
                        source=source,
                        file_hash=file_hash,
                        chunk_index=len(chunks),
                        char_start=offset + start,
                        char_end=offset + end,
                        title=doc.title,
                        format=doc.format,
                        page=block.page,
                        section=block.section,
                        acl=list(acl),
                        ingested_at=ingested_at,
                        instruction_like=looks_like_instructions(text),
                        rows=rows,
                    )
                )
            offset += len(block.text) + len(BLOCK_SEPARATOR)
        return chunks

    def _split_block(self, block: Block) -> Iterator[tuple[str, int, int, str | None]]:
        if block.table is not None:
            yield from self._split_table(block.table)
            return
        for seg_start, segment in _segments(block.text):
            cursor = 0
            for piece in self._splitter.split_text(segment):
                for part in self._fit_window(piece):
                    found = segment.find(part, cursor)
                    start = found if found >= 0 else cursor
                    cursor = start + 1 if found >= 0 else cursor
                    yield part, seg_start + start, seg_start + start + len(part), None

    def _split_table(self, table: TableRows) -> Iterator[tuple[str, int, int, str | None]]:
        """Groups of whole rows under the header, each group as many rows as fit
        chunk_tokens; the span is the group's rows in the block (header + rows, one a line)."""
        if not table.rows:
            yield table.header, 0, len(table.header), None
            return
        budget = self._chunk_tokens - len(self._encode(table.header))
        group: list[tuple[int, str]] = []
        used = 0
        offset = len(table.header) + 1  # where the next row starts in the block text
        start = offset
        for number, line in table.rows:
            tokens = len(self._encode(line))
            if group and used + tokens > budget:
                yield from self._table_chunk(table.header, group, start)
                group, used, start = [], 0, offset
            group.append((number, line))
            used += tokens
            offset += len(line) + 1
        yield from self._table_chunk(table.header, group, start)

    def _table_chunk(
        self, header: str, group: list[tuple[int, str]], start: int
    ) -> Iterator[tuple[str, int, int, str | None]]:
        body = "\n".join(line for _, line in group)
        rows = row_range([number for number, _ in group])
        for part in self._fit_window(f"{header}\n{body}"):  # one huge row may not fit
            yield part, start, start + len(body), rows

    def _fit_window(self, text: str) -> list[str]:
        """The text, cut at token boundaries into pieces the model sees whole."""
        if len(self._encode(text)) <= self._max_tokens:
            return [text]
        pieces = []
        offsets = self._tokens.spans(text)
        for first in range(0, len(offsets), self._max_tokens):
            last = min(first + self._max_tokens, len(offsets)) - 1
            piece = text[offsets[first][0] : offsets[last][1]].strip()
            if piece:
                pieces.append(piece)
        return pieces


def row_range(numbers: list[int]) -> str:
    """[12, 13, ..., 30] -> "12–30" (one row: "12")."""
    first, last = min(numbers), max(numbers)
    return str(first) if first == last else f"{first}–{last}"


def _segments(text: str) -> Iterator[tuple[int, str]]:
    start = 0
    while start < len(text):
        end = min(start + _SEGMENT_CHARS, len(text))
        if end < len(text):
            cut = max(text.rfind("\n", start, end), text.rfind(" ", start, end))
            if cut > start + _SEGMENT_CHARS // 2:
                end = cut + 1
        yield start, text[start:end]
        start = end


def vector_text(chunk: Chunk) -> str:
    """What a chunk's dense and sparse vectors are computed from: the document title and
    section breadcrumb on a line, then the passage. A heading the passage already starts
    with (a section's first chunk) is not repeated. The stored, cited text stays the passage."""
    parts: list[str] = []
    for part in (chunk.title, *(chunk.section or "").split(" > ")):
        part = part.strip()
        if part and part not in parts:
            parts.append(part)
    if parts and chunk.text.startswith(parts[-1]):
        parts.pop()
    header = " > ".join(parts)[:HEADER_CHARS].strip()
    return f"{header}{BLOCK_SEPARATOR}{chunk.text}" if header else chunk.text

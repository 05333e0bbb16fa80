"""Chunks fit the embedder window, keep their provenance and their exact text span."""

from __future__ import annotations

import time
from pathlib import Path

from ingest.chunk import BLOCK_SEPARATOR, Chunker, vector_text
from ingest.parse import parse_document
from rag_core.embedding.embedder import Embedder
from rag_core.embedding.tokens import token_counter
from rag_core.types import Block, Chunk, ParsedDocument
from tests.ingest import bad_files, made_files


def _chunker(embedder: Embedder, size: int = 200, overlap: int = 30) -> Chunker:
    return Chunker(str(embedder.model_path), size, overlap, embedder.max_chunk_tokens)


def test_offsets_point_at_the_chunk_text(shared_docs: Path, embedder: Embedder) -> None:
    doc = parse_document(shared_docs / "html/apache2.caching.html", "html")
    chunks = _chunker(embedder).chunk(doc, "a.html", "h", ["*"], "now")
    full_text = BLOCK_SEPARATOR.join(b.text for b in doc.blocks)
    assert len(chunks) > 10
    for chunk in chunks:
        assert full_text[chunk.char_start : chunk.char_end] == chunk.text
        assert chunk.title == "Caching Guide"
    # all but the navigation bar before the first heading sit under a section
    assert sum(1 for c in chunks if c.section is None) <= 2
    assert [c.chunk_index for c in chunks] == list(range(len(chunks)))


def test_every_chunk_fits_the_window(shared_docs: Path, embedder: Embedder) -> None:
    count = token_counter(str(embedder.model_path))
    doc = parse_document(shared_docs / "pdf/krb5-basic.pdf", "pdf")
    chunks = _chunker(embedder, size=254, overlap=20).chunk(doc, "k.pdf", "h", ["*"], "now")
    assert max(len(count(c.text)) for c in chunks) <= embedder.max_chunk_tokens
    assert all(c.page is not None for c in chunks)


def test_overlong_unbreakable_text_is_cut_at_token_boundaries(embedder: Embedder) -> None:
    blob = "x" * 40_000  # no sentence, word or paragraph boundary anywhere
    doc = ParsedDocument("txt", "blob", [Block(blob)])
    chunks = _chunker(embedder).chunk(doc, "b.txt", "h", ["*"], "now")
    count = token_counter(str(embedder.model_path))
    assert chunks and all(len(count(c.text)) <= embedder.max_chunk_tokens for c in chunks)
    assert sum(len(c.text) for c in chunks) >= len(blob) * 0.9


def test_enormous_single_line_is_chunked_in_bounded_time(
    tmp_path: Path, embedder: Embedder
) -> None:
    path = bad_files.single_line_text(tmp_path / "dump.txt", kilobytes=3000)
    doc = parse_document(path, "txt")
    started = time.perf_counter()
    chunks = _chunker(embedder).chunk(doc, "dump.txt", "h", ["*"], "now")
    elapsed = time.perf_counter() - started
    assert len(chunks) > 1000
    assert elapsed < 120, f"chunking 3 MB took {elapsed:.0f} s"


def _chunk(text: str, title: str, section: str | None) -> Chunk:
    return Chunk(text, "a.md", "h", 0, 0, len(text), title, "md", section=section)


def test_vectors_see_title_and_breadcrumb_once() -> None:
    chunk = _chunk("Run etcdctl snapshot save.", "etcd FAQ", "etcd FAQ > Operations > Backups")
    assert vector_text(chunk) == "etcd FAQ > Operations > Backups\n\nRun etcdctl snapshot save."
    first = _chunk("Backups\n\nRun etcdctl snapshot save.", "etcd FAQ", "Operations > Backups")
    assert vector_text(first) == "etcd FAQ > Operations\n\n" + first.text  # heading not repeated
    assert vector_text(_chunk("plain", "", None)) == "plain"
    assert vector_text(_chunk("Title\n\nbody", "Title", "Title")) == "Title\n\nbody"


def test_table_chunks_repeat_the_header_over_whole_rows(tmp_path: Path, embedder: Embedder) -> None:
    doc = parse_document(made_files.workbook(tmp_path / "budget.xlsx"), "xlsx")
    chunks = _chunker(embedder, size=120).chunk(doc, "budget.xlsx", "h", ["*"], "now")
    count = token_counter(str(embedder.model_path))
    full_text = BLOCK_SEPARATOR.join(b.text for b in doc.blocks)
    travel = doc.blocks[0].table
    assert travel is not None
    seen: list[int] = []
    for chunk in chunks:
        header = travel.header if chunk.section == "Travel" else "Name | Role | Extension"
        assert chunk.text.startswith(header + "\n")
        assert len(count(chunk.text)) <= 120
        body = chunk.text[len(header) + 1 :]
        assert full_text[chunk.char_start : chunk.char_end] == body  # the rows, in place
        numbers = [n for n, line in travel.rows if line in body.split("\n")]
        if chunk.section == "Travel":
            first, _, last = chunk.rows.partition("–")  # type: ignore[union-attr]
            assert numbers[0] == int(first) and numbers[-1] == int(last or first)
            seen += numbers
    assert seen == [n for n, _ in travel.rows]  # every row once, in order, no overlap
    assert len({c.rows for c in chunks if c.section == "Travel"}) > 2


def test_e5_chunks_are_sized_in_xlm_r_tokens_and_keep_their_spans(
    e5_embedder: Embedder,
) -> None:
    """multilingual-e5's tokenizer (XLM-RoBERTa) sizes the chunks, accents and ñ included,
    and every chunk still maps back to its exact text."""
    sentence = (
        "La compañía revisa cada año las políticas de contraseñas, y el año pasado añadió "
        "la autenticación en dos pasos para todos los empleados. "
    )
    text = sentence * 60
    doc = ParsedDocument(title="Políticas", blocks=[Block(text=text)], format="markdown")
    chunker = Chunker(str(e5_embedder.model_path), 120, 20, e5_embedder.max_chunk_tokens)
    chunks = chunker.chunk(doc, "p.md", "h", ["*"], "now")
    count = token_counter(str(e5_embedder.model_path))
    assert len(chunks) > 5
    assert max(len(count(c.text)) for c in chunks) <= 120
    for chunk in chunks:
        assert text[chunk.char_start : chunk.char_end] == chunk.text

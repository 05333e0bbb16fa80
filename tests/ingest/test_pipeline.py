"""The ingestion pipeline end to end: real files, real embedder, real Qdrant engines."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from qdrant_client import QdrantClient

from ingest.manifest import Manifest
from ingest.parse_job import ParseResult
from ingest.pipeline import (
    DEFAULT_RUN,
    IngestReport,
    RunOptions,
    _Prefetch,
    open_manifest,
    run_ingest,
    run_rebuild,
)
from rag_core.answering.prompt import describe
from rag_core.answering.retrieval import Retriever, search_spec
from rag_core.embedding.embedder import Embedder
from rag_core.embedding.sparse import sparse_query
from rag_core.settings import Settings
from rag_core.store.base import QueryVectors, SearchSpec, VectorStore
from rag_core.store.client import ClientStore
from rag_core.store.edge import EdgeStore
from rag_core.store.factory import open_store
from rag_core.types import ConfigurationError, EmbedderInfo, Payload
from tests.ingest import bad_files, made_files

MIXED = (
    "pdf/krb5-basic.pdf",
    "office/Lib3MF-1.docx",
    "office/aprx-requirement-specification.odt",
    "office/Par_Calculation.rtf",
    "html/apache2.caching.html",
    "markdown/etcd.faq.md",
    "text/debian-social-contract.txt",
)
REQUIRED_KEYS = {
    Payload.TEXT, Payload.SOURCE, Payload.FILE_HASH, Payload.CHUNK_INDEX, Payload.PAGE,
    Payload.SECTION, Payload.CHAR_START, Payload.CHAR_END, Payload.TITLE, Payload.FORMAT,
    Payload.INGESTED_AT, Payload.ACL,
}  # fmt: skip


@pytest.fixture
def store(settings: Settings) -> Iterator[VectorStore]:
    opened = open_store(settings)
    yield opened
    opened.close()


def ingest(
    root: Path,
    settings: Settings,
    store: VectorStore,
    embedder: Embedder,
    options: RunOptions = DEFAULT_RUN,
    **changes: Any,
) -> IngestReport:
    """A run with these settings `changes` and run `options`."""
    run_settings = settings.model_copy(update=changes)
    return run_ingest(root, run_settings, store, embedder, options=options)


def assert_consistent(settings: Settings, store: VectorStore) -> None:
    """No duplicates, no file marked done whose chunks are missing, one version per file."""
    manifest = open_manifest(settings, store)
    records = manifest.all()
    manifest.close()
    payloads = store.payloads()
    per_source: dict[str, set[str]] = {}
    for payload in payloads:
        per_source.setdefault(payload[Payload.SOURCE], set()).add(payload[Payload.FILE_HASH])
    assert all(len(hashes) == 1 for hashes in per_source.values()), per_source
    counts = store.per_source()
    for source, record in records.items():
        assert counts.get(source) == record.chunks, source
        assert per_source[source] == {record.file_hash}
    keys = {(p[Payload.SOURCE], p[Payload.CHUNK_INDEX]) for p in payloads}
    assert len(keys) == len(payloads), "duplicate chunks"


def test_every_format_with_provenance(
    make_corpus: Callable[..., Path],
    tmp_path: Path,
    settings: Settings,
    store: VectorStore,
    embedder: Embedder,
) -> None:
    root = make_corpus(*MIXED)
    bad_files.email_message(root / "vpn-notice.eml")
    bad_files.presentation(root / "security-review.pptx")
    (root / "Budget 2026 – été #3.md").write_text("# Budget\n\nTravel is capped at 2,000 EUR.\n")

    report = ingest(root, settings, store, embedder, groups=["staff"])

    assert report.failures == []
    assert report.files_new == len(MIXED) + 3
    formats = {p[Payload.SOURCE]: p[Payload.FORMAT] for p in store.payloads()}
    assert formats == {
        "krb5-basic.pdf": "pdf",
        "Lib3MF-1.docx": "docx",
        "aprx-requirement-specification.odt": "odt",
        "Par_Calculation.rtf": "docx",
        "apache2.caching.html": "html",
        "etcd.faq.md": "md",
        "debian-social-contract.txt": "txt",
        "vpn-notice.eml": "eml",
        "security-review.pptx": "pptx",
        "Budget 2026 – été #3.md": "md",
    }
    for payload in store.payloads():
        assert payload.keys() >= REQUIRED_KEYS
        assert payload[Payload.ACL] == ["staff"]
        assert payload[Payload.CHAR_END] > payload[Payload.CHAR_START]
    pdf = pdfium.PdfDocument(root / "krb5-basic.pdf")
    for payload in store.payloads("krb5-basic.pdf"):
        page = pdf[payload[Payload.PAGE] - 1].get_textpage().get_text_range()
        assert payload[Payload.TEXT] in page.replace("\r\n", "\n")
    html_sections = {p[Payload.SECTION] for p in store.payloads("apache2.caching.html")}
    assert "Caching Guide > Three-state RFC2616 HTTP caching ¶" in html_sections
    assert_consistent(settings, store)


def test_rerun_skips_unchanged_and_replaces_changed(
    make_corpus: Callable[..., Path], settings: Settings, store: VectorStore, embedder: Embedder
) -> None:
    root = make_corpus("markdown/etcd.faq.md", "text/debian-social-contract.txt")
    first = ingest(root, settings, store, embedder)
    total = store.count()

    again = ingest(root, settings, store, embedder)
    assert (again.files_new, again.files_updated, again.files_unchanged) == (0, 0, 2)
    assert again.chunks_written == 0 and store.count() == total

    contract = root / "debian-social-contract.txt"
    contract.write_text(contract.read_text()[:1500] + "\n\nAmended: a new clause.\n")
    changed = ingest(root, settings, store, embedder)
    assert (changed.files_updated, changed.files_unchanged) == (1, 1)
    texts = " ".join(p[Payload.TEXT] for p in store.payloads("debian-social-contract.txt"))
    assert "Amended: a new clause." in texts
    assert "Debian will remain 100% free" in texts and "Works that Aren't Free" not in texts
    assert store.count() < total
    assert first.chunks_written > changed.chunks_written
    assert_consistent(settings, store)


def test_prune_only_when_asked(
    make_corpus: Callable[..., Path], settings: Settings, store: VectorStore, embedder: Embedder
) -> None:
    root = make_corpus("markdown/etcd.faq.md", "text/debian-social-contract.txt")
    ingest(root, settings, store, embedder)
    (root / "etcd.faq.md").unlink()

    kept = ingest(root, settings, store, embedder)
    assert kept.files_pruned == 0 and "etcd.faq.md" in store.per_source()

    dry = ingest(root, settings, store, embedder, RunOptions(prune=True, dry_run=True))
    assert dry.files_pruned == 1 and "etcd.faq.md" in store.per_source()

    pruned = ingest(root, settings, store, embedder, RunOptions(prune=True))
    assert pruned.files_pruned == 1
    assert set(store.per_source()) == {"debian-social-contract.txt"}
    assert_consistent(settings, store)


def test_group_change_updates_payloads_without_embedding(
    make_corpus: Callable[..., Path], settings: Settings, store: VectorStore, embedder: Embedder
) -> None:
    root = make_corpus("markdown/etcd.faq.md")
    ingest(root, settings, store, embedder)
    before = embedder.stats.texts
    report = ingest(root, settings, store, embedder, groups=["hr", "eng"])
    assert report.files_acl_updated == 1 and report.chunks_written == 0
    assert embedder.stats.texts == before
    assert {tuple(p[Payload.ACL]) for p in store.payloads()} == {("eng", "hr")}  # sorted


def test_identical_text_is_embedded_once(
    make_corpus: Callable[..., Path], settings: Settings, store: VectorStore, embedder: Embedder
) -> None:
    root = make_corpus("markdown/etcd.faq.md")
    shutil.copy(root / "etcd.faq.md", root / "etcd-faq-copy.md")
    report = ingest(root, settings, store, embedder)
    assert report.chunks_written == 2 * store.count("etcd.faq.md")
    assert report.chunks_embedded <= store.count("etcd.faq.md")


def test_other_embedder_collection_is_refused(
    make_corpus: Callable[..., Path], settings: Settings, embedder: Embedder
) -> None:
    with open_store(settings) as store:
        store.ensure_schema(EmbedderInfo(name="e5-large", dim=1024, max_tokens=512))
    root = make_corpus("text/debian-social-contract.txt")
    with open_store(settings) as store, pytest.raises(ConfigurationError, match="e5-large"):
        ingest(root, settings, store, embedder)


def test_collection_of_the_other_header_setting_is_refused(
    make_corpus: Callable[..., Path], settings: Settings, store: VectorStore, embedder: Embedder
) -> None:
    root = make_corpus("text/debian-social-contract.txt")
    ingest(root, settings, store, embedder, embed_headers=False)
    with pytest.raises(ConfigurationError, match="RAGDESK_EMBED_HEADERS=False"):
        ingest(root, settings, store, embedder)


def test_bad_inputs_are_reported_and_the_batch_goes_on(
    make_corpus: Callable[..., Path],
    shared_docs: Path,
    settings: Settings,
    store: VectorStore,
    embedder: Embedder,
) -> None:
    root = make_corpus("markdown/etcd.faq.md", "text/debian-social-contract.txt")
    ingest(root, settings, store, embedder)
    indexed_before = store.count("debian-social-contract.txt")
    real_pdf = shared_docs / "pdf/krb5-basic.pdf"
    bad_files.corrupt_pdf(root / "corrupt.pdf")
    bad_files.truncated_pdf(real_pdf, root / "truncated.pdf")
    bad_files.encrypted_pdf(real_pdf, root / "locked.pdf")
    bad_files.image_only_pdf(root / "scanned.pdf")
    bad_files.empty(root / "empty.docx")
    bad_files.garbage(root / "garbage.pdf.bin")
    bad_files.zip_bomb_docx(root / "bomb.docx", expanded_mb=40)
    bad_files.legacy_office(root / "old.doc")
    bad_files.text_with_nul_bytes(root / "nul-bytes.txt")
    bad_files.single_line_text(root / "one-line.log", kilobytes=200)
    shutil.copy(real_pdf, root / "really-a-pdf.txt")
    (root / "loop").symlink_to(root)
    # a file that was indexed fine and is now damaged keeps its old chunks
    (root / "debian-social-contract.txt").write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64
    )

    report = ingest(root, settings, store, embedder, max_unzipped_mb=32)

    reasons = {f.path: f.reason for f in report.failures}
    assert reasons.keys() == {
        "corrupt.pdf", "truncated.pdf", "locked.pdf", "scanned.pdf", "empty.docx",
        "garbage.pdf.bin", "bomb.docx", "old.doc", "loop", "debian-social-contract.txt",
    }  # fmt: skip
    assert "encrypted" in reasons["locked.pdf"]
    assert "no text layer" in reasons["scanned.pdf"]
    assert "zip bomb" in reasons["bomb.docx"]
    assert "symlink loop" in reasons["loop"]
    assert all(reason and "\n" not in reason for reason in reasons.values())
    assert {"nul-bytes.txt", "one-line.log", "really-a-pdf.txt"} <= set(store.per_source())
    assert store.count("debian-social-contract.txt") == indexed_before
    nul_text = " ".join(p[Payload.TEXT] for p in store.payloads("nul-bytes.txt"))
    assert "\x00" not in nul_text and "retention period is 30 days" in nul_text
    assert store.payloads("really-a-pdf.txt")[0][Payload.FORMAT] == "pdf"
    assert_consistent(settings, store)


def test_crash_between_points_and_manifest_is_repaired(
    make_corpus: Callable[..., Path],
    settings: Settings,
    store: VectorStore,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = make_corpus("markdown/etcd.faq.md", "text/debian-social-contract.txt")
    ingest(root, settings, store, embedder)
    contract = root / "debian-social-contract.txt"
    contract.write_text(contract.read_text() + "\n\nAppendix: one more paragraph.\n")
    (root / "new.md").write_text("# New\n\nA brand new file about VPN access.\n")

    def crash(self: Manifest, record: object) -> None:
        raise KeyboardInterrupt("power cut after the points were written")

    monkeypatch.setattr(Manifest, "put", crash)
    with pytest.raises(KeyboardInterrupt):
        ingest(root, settings, store, embedder)
    monkeypatch.undo()
    # the new version's points are in Qdrant, the manifest still describes the old state
    assert len({p[Payload.FILE_HASH] for p in store.payloads("debian-social-contract.txt")}) >= 1

    repaired = ingest(root, settings, store, embedder)
    assert repaired.failures == []
    assert (repaired.files_new, repaired.files_updated) == (1, 1)
    assert_consistent(settings, store)


def test_dry_run_writes_nothing(
    make_corpus: Callable[..., Path], settings: Settings, store: VectorStore, embedder: Embedder
) -> None:
    root = make_corpus("markdown/etcd.faq.md")
    report = ingest(root, settings, store, embedder, RunOptions(dry_run=True))
    assert report.files_new == 1 and report.chunks_written == 0
    assert not store.exists()


def test_parser_processes_give_the_same_index(
    make_corpus: Callable[..., Path], settings: Settings, store: VectorStore, embedder: Embedder
) -> None:
    root = make_corpus("pdf/krb5-basic.pdf", "html/apache2.caching.html", "markdown/etcd.faq.md")
    bad_files.corrupt_pdf(root / "corrupt.pdf")
    report = ingest(root, settings, store, embedder, workers=2)
    assert [f.path for f in report.failures] == ["corrupt.pdf"]
    assert report.files_new == 3
    in_process = Settings(data_dir=settings.data_dir.parent / "other", workers=0)
    with open_store(in_process) as other:
        ingest(root, in_process, other, embedder)
        assert other.per_source() == store.per_source()


def test_server_code_path_behaves_the_same(
    make_corpus: Callable[..., Path], tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    """qdrant-client's local mode runs the ClientStore code a Qdrant server gets."""
    client_store = ClientStore(QdrantClient(path=str(tmp_path / "qc")), "documents", "local")
    root = make_corpus("markdown/etcd.faq.md", "text/debian-social-contract.txt")
    try:
        first = ingest(root, settings, client_store, embedder)
        assert first.files_new == 2
        again = ingest(root, settings, client_store, embedder)
        assert again.files_unchanged == 2 and again.chunks_written == 0
        (root / "etcd.faq.md").unlink()
        pruned = ingest(root, settings, client_store, embedder, RunOptions(prune=True))
        assert pruned.files_pruned == 1
        assert set(client_store.per_source()) == {"debian-social-contract.txt"}
        assert_consistent(settings, client_store)
    finally:
        client_store.close()


def test_report_json_has_the_documented_keys() -> None:
    data = IngestReport().to_json()
    assert {
        "files_new", "files_updated", "files_unchanged", "files_pruned", "files_failed",
        "chunks_written", "seconds_total", "seconds_parse", "seconds_embed", "seconds_write",
        "failures",
    } <= data.keys()  # fmt: skip


def test_edge_store_is_the_default(settings: Settings) -> None:
    with open_store(settings) as store:
        assert isinstance(store, EdgeStore)


def test_scans_spreadsheets_and_legacy_office_are_found_and_cited(
    shared_docs: Path, tmp_path: Path, settings: Settings, store: VectorStore, embedder: Embedder
) -> None:
    root = tmp_path / "office"
    root.mkdir()
    made_files.scanned_pdf(shared_docs, root / "scanned-faq.pdf")
    made_files.workbook(root / "budget.xlsx")
    (root / "rota.csv").write_text(
        "Week,On call,Phone\n1,Maja Lindqvist,4480\n2,Kofi Mensah,4481\n"
    )
    contract = made_files.social_contract_docx(shared_docs, tmp_path / "contract.docx")
    made_files.convert(contract, root / "contract.doc")

    report = ingest(root, settings, store, embedder)

    assert report.failures == []
    formats = {p[Payload.SOURCE]: p[Payload.FORMAT] for p in store.payloads()}
    assert formats == {
        "scanned-faq.pdf": "pdf", "budget.xlsx": "xlsx", "rota.csv": "csv", "contract.doc": "doc",
    }  # fmt: skip
    scan_pages = {p[Payload.PAGE] for p in store.payloads("scanned-faq.pdf")}
    assert scan_pages == {1, 2}
    sheets: dict[str, list[str]] = {}
    for payload in store.payloads("budget.xlsx"):
        sheets.setdefault(payload[Payload.SECTION], []).append(payload[Payload.ROWS])
        assert payload[Payload.TEXT].startswith(
            "Name | Role | Extension\n"
            if payload[Payload.SECTION] == "Contacts"
            else "Travel budget 2026 (approved by the board)\nDepartment | Destination"
        )
    assert sheets["Contacts"] == ["2–3"]
    travel = sorted(sheets["Travel"], key=lambda rows: int(rows.split("–")[0]))
    assert len(travel) > 1 and travel[0].startswith("4–") and travel[-1].endswith("70")
    assert [(p[Payload.SECTION], p[Payload.ROWS]) for p in store.payloads("rota.csv")] == [
        (None, "2–3")
    ]
    assert all(p[Payload.ROWS] is None for p in store.payloads("contract.doc"))
    assert_consistent(settings, store)

    retriever = Retriever(store, embedder, search_spec(settings))
    found = retriever.retrieve("What is Ingrid Solberg's role?", ["*"], 3).sources[0]
    assert (found.source, found.section, found.rows) == ("budget.xlsx", "Contacts", "2–3")
    assert describe(found) == "budget.xlsx, section “Contacts”, rows 2–3"  # the model sees it
    scan = retriever.retrieve("Can I use apt on Knoppix?", ["*"], 3).sources[0]
    assert (scan.source, scan.page) == ("scanned-faq.pdf", 2)


def test_row_ranges_round_trip_through_the_server_store(
    tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    root = tmp_path / "sheets"
    root.mkdir()
    made_files.workbook(root / "budget.xlsx")
    client_store = ClientStore(QdrantClient(path=str(tmp_path / "qc")), "documents", "local")
    try:
        ingest(root, settings, client_store, embedder)
        retriever = Retriever(client_store, embedder, search_spec(settings))
        found = retriever.retrieve("What is Ingrid Solberg's role?", ["*"], 3).sources[0]
        assert (found.section, found.rows) == ("Contacts", "2–3")
    finally:
        client_store.close()


@pytest.mark.parametrize("engine", ["edge", "client"])
def test_rebuild_switches_without_downtime_even_to_another_backend(
    engine: str,
    make_corpus: Callable[..., Path],
    settings: Settings,
    embedder: Embedder,
) -> None:
    """A reader (the chat) searches all through `ingest --rebuild`: it always gets passages,
    from the torch-built version until the switch, then from the new int8 one."""
    root = make_corpus("text/debian-social-contract.txt")
    as_torch = settings.model_copy(update={"embed_backend": "torch"})
    torch_embedder = Embedder(as_torch)
    if engine == "edge":
        with open_store(settings) as first:
            ingest(root, as_torch, first, torch_embedder)
        reader: VectorStore = open_store(settings)  # held open, as the chat does
    else:
        reader = ClientStore(QdrantClient(":memory:"), "documents", "memory")
        ingest(root, as_torch, reader, torch_embedder)
    query = QueryVectors(
        torch_embedder.embed_query("What does Debian promise?"), sparse_query("Debian promise")
    )
    torch_embedder.close()
    seen: list[tuple[str, int]] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            backend = reader.meta().get("embed_backend", "")
            seen.append((backend, len(reader.search(query, 3, ["*"], SearchSpec(mode="dense")))))
            time.sleep(0.02)

    (root / "backups.md").write_text("# Backups\n\nTake an etcd snapshot every hour.\n")
    thread = threading.Thread(target=read)
    thread.start()
    try:
        staged = ClientStore.staging_of(reader) if isinstance(reader, ClientStore) else None
        report = run_rebuild(root, settings, embedder, staged=staged)
        time.sleep(0.2)  # a few searches after the switch
    finally:
        done.set()
        thread.join()
    try:
        assert report.failures == [] and report.files_new == 2
        assert embedder.backend == "onnx-int8"
        backends = [backend for backend, _ in seen]
        assert backends[0] == "torch" and backends[-1] == "onnx-int8", backends
        assert backends == sorted(backends, key=lambda b: b != "torch")  # one switch
        assert all(hits > 0 for _, hits in seen), seen  # never without an index
        assert "backups.md" in reader.per_source()
        assert_consistent(settings, reader)
    finally:
        reader.close()


def test_a_failed_rebuild_keeps_the_live_version(
    make_corpus: Callable[..., Path], settings: Settings, store: VectorStore, embedder: Embedder
) -> None:
    root = make_corpus("markdown/etcd.faq.md")
    ingest(root, settings, store, embedder)
    before = store.per_source()

    def broken_embed(texts: object) -> None:
        raise RuntimeError("embedder died half-way")

    failing = Embedder(settings)
    failing.embed = broken_embed  # type: ignore[method-assign]  # fault injection
    with pytest.raises(RuntimeError, match="half-way"):
        run_rebuild(root, settings, failing)
    assert store.per_source() == before
    assert not list((settings.qdrant_dir / "documents").glob("gen-*"))


def test_parsing_runs_ahead_of_embedding_bounded_and_stops_cleanly() -> None:
    produced: list[int] = []

    def results() -> Iterator[ParseResult]:
        for index in range(1000):
            produced.append(index)
            yield ParseResult(source=str(index))

    prefetch = _Prefetch(results(), depth=4)
    first = next(iter(prefetch))
    deadline = time.monotonic() + 5
    while len(produced) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)  # the consumer is "embedding": the producer goes on meanwhile
    time.sleep(0.1)
    assert first.source == "0"
    assert 5 <= len(produced) <= 4 + 3  # ahead, but never more than the queue holds
    prefetch.close()  # the consumer stops early (SIGTERM): nothing hangs
    assert len(produced) < 1000


def test_a_parser_pool_failure_reaches_the_consumer() -> None:
    def results() -> Iterator[ParseResult]:
        yield ParseResult(source="a")
        raise RuntimeError("the pool broke")

    prefetch = _Prefetch(results(), depth=2)
    with pytest.raises(RuntimeError, match="the pool broke"):
        list(prefetch)
    prefetch.close()

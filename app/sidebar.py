"""The sidebar: which collection, what is in it, how to search it, and adding documents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from app.i18n import N_, _, ngettext
from app.uploads import UploadedFile, accepted_formats, hand_to_worker, ingest_uploads
from rag_core.access.users import User
from rag_core.embedding.embedder import Embedder
from rag_core.settings import Settings
from rag_core.store.base import VectorStore
from rag_core.store.status import index_status

WORKER_SILENT_S = 120  # no heartbeat for this long: the worker is considered down
# the worker's states (ingest/watch.py) as the reader sees them
WORKER_STATES = {
    "starting": N_("starting"),
    "watching": N_("watching"),
    "ingesting": N_("ingesting"),
    "stopped": N_("stopped"),
}


@dataclass(frozen=True, slots=True)
class SearchChoices:
    top_k: int
    hybrid: bool


def pick_collection(available: list[str], default: str) -> str:
    options = sorted(set(available) | {default})
    current = st.session_state.get("collection", default)
    index = options.index(current) if current in options else options.index(default)
    return st.selectbox(
        _("Collection"),
        options,
        index=index,
        key="collection",
        help=_("A separate set of indexed documents."),
    )


def when(iso: str | None) -> str:
    if not iso:
        return _("never")
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def show_status(store: VectorStore, model_label: str, production: bool | None) -> int:
    """The index status block; returns the number of chunks (0: nothing to search yet)."""
    info = index_status(store)
    columns = st.columns(2)
    columns[0].metric(_("Documents"), f"{info['files']:,}")
    columns[1].metric(_("Passages"), f"{info['chunks']:,}")
    st.caption(_("Last indexed: {when}").format(when=when(info["last_ingest"])))
    if production is None:
        st.caption(_("Answer model: {model}").format(model=model_label))
    elif production:
        st.caption(_("Answer model: {model} (production model)").format(model=model_label))
    else:
        st.caption(
            _("Answer model: {model} — small fallback, answers are weaker").format(
                model=model_label
            )
        )
    return int(info["chunks"])


def show_worker(status: dict[str, Any] | None) -> None:
    """The ingestion worker's state, when one serves this collection."""
    if status is None:
        return
    try:
        beat = datetime.fromisoformat(status["heartbeat"])
        silent = (datetime.now(UTC) - beat).total_seconds()
    except (KeyError, ValueError):
        silent = float("inf")
    state = status.get("state", "unknown")
    if state == "stopped" or silent > WORKER_SILENT_S:
        st.warning(_("The indexing worker is not running: new files are not being added."))
        return
    line = _("Indexing worker: {state}, last run {when}").format(
        state=_(WORKER_STATES.get(state, state)), when=when(status.get("last_run"))
    )
    if status.get("waiting"):
        waiting = len(status["waiting"])
        line += ngettext("; {n} file arriving", "; {n} files arriving", waiting).format(n=waiting)
    st.caption(line)
    failed = status.get("failed") or {}
    if failed:
        label = ngettext("{n} file could not be added", "{n} files could not be added", len(failed))
        with st.expander(label.format(n=len(failed))):
            for source, reason in sorted(failed.items()):
                st.caption(f"{source}: {reason}")


def search_choices(settings: Settings) -> SearchChoices:
    with st.expander(_("Search settings")):
        top_k = st.slider(
            _("Sources per answer"),
            1,
            12,
            value=min(settings.top_k, 12),
            key="top_k",
            help=_("How many passages the answer is written from."),
        )
        hybrid = st.toggle(
            _("Match exact words too (hybrid search)"),
            value=settings.retrieval_mode == "hybrid",
            key="hybrid",
            help=_("Combines meaning-based search with keyword matching (names, codes, numbers)."),
        )
    return SearchChoices(top_k, hybrid)


def upload_form(
    settings: Settings,
    store: VectorStore,
    embedder: Embedder,
    owner: User | None,
    english: Embedder | None = None,
) -> None:
    """`owner`: the signed-in user, whose groups the uploads get (None in open mode);
    `english`: the chat's loaded English embedder, which the indexing reuses."""
    with st.expander(_("Add documents")):
        files = st.file_uploader(
            accepted_formats(),
            accept_multiple_files=True,
            key=f"uploads-{st.session_state.get('upload_round', 0)}",
        )
        if st.button(_("Add to collection"), disabled=not files, key="add_documents"):
            _ingest(files or [], settings, store, embedder, owner, english)
        for kind, message in st.session_state.pop("upload_messages", []):
            getattr(st, kind)(message)


class _UploadProgress:
    def __init__(self) -> None:
        self._bar = st.progress(0.0, text=_("Reading documents…"))
        self._total = 1
        self._done = 0

    def start(self, total_files: int, total_bytes: int = 0) -> None:
        self._total = max(total_files, 1)

    def file_done(self, source: str, chunks: int, failed: bool, size: int = 0) -> None:
        self._done += 1
        name = source.rsplit("/", 1)[-1]
        self._bar.progress(
            min(self._done / self._total, 1.0), text=f"{self._done}/{self._total}: {name}"
        )


def _ingest(
    files: list,
    settings: Settings,
    store: VectorStore,
    embedder: Embedder,
    owner: User | None,
    english: Embedder | None,
) -> None:
    uploads = [UploadedFile(f.name, f.getvalue()) for f in files]
    too_big = [u for u in uploads if len(u.data) > settings.max_file_mb << 20]
    messages: list[tuple[str, str]] = [
        (
            "warning",
            _("{name}: larger than {mb} MB, not added.").format(
                name=u.name, mb=settings.max_file_mb
            ),
        )
        for u in too_big
    ]
    uploads = [u for u in uploads if u not in too_big]
    if uploads and settings.inbox_dir is not None:
        try:
            hand_to_worker(uploads, settings.inbox_dir, owner)
        except OSError as exc:
            messages.append(
                ("error", _("Adding documents failed: {reason}").format(reason=exc.strerror))
            )
        else:
            received = ngettext(
                "Received {n} document: the indexing worker adds it within a minute.",
                "Received {n} documents: the indexing worker adds them within a minute.",
                len(uploads),
            )
            messages.append(("success", received.format(n=len(uploads))))
    elif uploads:
        try:
            report = ingest_uploads(
                uploads, settings, store, embedder, _UploadProgress(), owner, english
            )
        except Exception as exc:
            messages.append(("error", _("Adding documents failed: {reason}").format(reason=exc)))
        else:
            added = report.files_new + report.files_updated
            unchanged = report.files_unchanged
            if added:
                done = ngettext(
                    "Added {n} document, {passages} passages.",
                    "Added {n} documents, {passages} passages.",
                    added,
                )
                messages.append(
                    ("success", done.format(n=added, passages=f"{report.chunks_written:,}"))
                )
            if unchanged:
                known = ngettext(
                    "{n} document was already indexed.",
                    "{n} documents were already indexed.",
                    unchanged,
                )
                messages.append(("info", known.format(n=unchanged)))
            for failure in report.failures:
                name = failure.path.rsplit("/", 1)[-1]
                messages.append(
                    (
                        "warning",
                        _("{name} could not be added: {reason}").format(
                            name=name, reason=failure.reason
                        ),
                    )
                )
            for note in report.partial:
                name = note.path.rsplit("/", 1)[-1]
                messages.append(
                    (
                        "warning",
                        _("{name} was added in part: {reason}").format(
                            name=name, reason=note.reason
                        ),
                    )
                )
    st.session_state["upload_messages"] = messages
    st.session_state["upload_round"] = st.session_state.get("upload_round", 0) + 1
    st.rerun()

"""The answer path built from settings in one place: store, embedder, retriever, engine
and audit log, for the CLI, the chat and the benchmarks (which must measure what users
run, not a copy of it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rag_core.access.audit import AuditLog
from rag_core.answering.answer import AnswerEngine
from rag_core.answering.prompt import DEFAULT_WORDING, Wording
from rag_core.answering.retrieval import Retriever, search_spec
from rag_core.embedding.embedder import Embedder, query_embedder
from rag_core.embedding.english import english_embedder_for
from rag_core.generation.admission import AnswerGate
from rag_core.generation.llm import ChatModel, load_chat_model
from rag_core.settings import Settings
from rag_core.store.base import SearchSpec, VectorStore
from rag_core.store.factory import open_store
from rag_core.types import RagdeskError


@dataclass(frozen=True, slots=True)
class Answering:
    store: VectorStore
    retriever: Retriever
    engine: AnswerEngine
    model: ChatModel | None  # None: retrieval and refusal decisions only
    audit: AuditLog


def audit_log(settings: Settings) -> AuditLog:
    return AuditLog(settings.audit_path, settings.audit_max_mb, settings.audit_backups)


def assemble(
    settings: Settings,
    store: VectorStore,
    *,
    embedder: Embedder | None = None,
    english: Embedder | None = None,
    model: ChatModel | None = None,
    gate: AnswerGate | None = None,
    spec: SearchSpec | None = None,
    wording: Wording = DEFAULT_WORDING,
) -> Answering:
    """Parts the caller already holds (the chat caches its embedder and model per process)
    are passed in (`english` with `embedder`: the collection's English embedder, or None);
    the rest is made from the settings. Questions are embedded with the backend that built
    the collection."""
    if embedder is None:
        meta = store.meta()
        embedder = query_embedder(settings, meta)
        english = english_embedder_for(settings, meta, embedder) if meta else None
    retriever = Retriever(
        store, embedder, spec or search_spec(settings), settings.rerank_depth, english
    )
    engine = AnswerEngine(retriever, model, settings, gate, wording)
    return Answering(store, retriever, engine, model, audit_log(settings))


@contextmanager
def open_answering(
    settings: Settings, *, with_model: bool = True, wording: Wording = DEFAULT_WORDING
) -> Iterator[Answering]:
    """Open the configured collection (refused when it holds nothing: there is nothing to
    answer from) and build the answer path over it; closed on exit."""
    with open_store(settings) as store:
        if not store.exists() or store.count() == 0:
            raise RagdeskError(
                f"collection {settings.collection!r} is empty: index documents first "
                "with `ingest FOLDER`"
            )
        model = load_chat_model(settings) if with_model else None
        answering = assemble(settings, store, model=model, wording=wording)
        try:
            yield answering
        finally:
            answering.retriever.close()

"""What the chat shares between sessions: created once per process, keyed by the settings
that shape it (so a changed setting gets a new one), and messages for what can go wrong."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import streamlit as st

from app.feedback import FeedbackLog
from app.i18n import _
from rag_core.conversations.store import ConversationStore
from rag_core.embedding.embedder import Embedder, backend_for, model_for
from rag_core.embedding.english import english_embedder
from rag_core.generation.admission import AnswerGate
from rag_core.generation.llm import ChatModel, load_chat_model
from rag_core.observability.telemetry import serve_metrics
from rag_core.settings import (
    AdmissionSettings,
    ConversationSettings,
    EmbeddingSettings,
    GenerationSettings,
    MetricsSettings,
    Settings,
)
from rag_core.store.base import VectorStore
from rag_core.store.factory import list_collections, open_store
from rag_core.store.schema import CollectionMeta
from rag_core.types import (
    ModelUnavailable,
    RagdeskError,
    StoreUnavailable,
    StoreUnreachable,
)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    label: str
    production: bool | None
    notice: str | None


@st.cache_resource(show_spinner=False)
def _open_store(location: str, collection: str, _settings: Settings) -> VectorStore:
    return open_store(_settings)


def get_store(settings: Settings) -> VectorStore:
    """One open store per collection and place (a folder however it is spelled: the
    embedded engine allows one opener per process)."""
    where = settings.store
    return _open_store(where.location, where.collection, settings)


@st.cache_resource(show_spinner=False)
def _load_embedder(
    config: EmbeddingSettings, model: str, backend: str, _settings: Settings
) -> Embedder:
    embedder = Embedder(_settings, backend, model)
    embedder.embed_query("warm-up")  # loads the model now, not during the first question
    return embedder


def get_embedder(settings: Settings, meta: dict[str, Any]) -> Embedder:
    """The embedder for a collection (its meta): questions are embedded with the model and
    backend that embedded its passages, which change when a rebuild switches versions."""
    config = settings.embedding
    model = model_for(config, meta, query=True)
    backend = backend_for(config, meta, query=True)
    with st.spinner(_("Loading the embedding model…")):  # shown only if it takes a while
        return _load_embedder(config, model, backend, settings)


def get_english_embedder(settings: Settings, meta: dict[str, Any]) -> Embedder | None:
    """The collection's English embedder (rag_core/embedding/english.py), if it has one."""
    recorded = CollectionMeta.of(meta).english_embedder
    if not recorded:
        return None
    with st.spinner(_("Loading the embedding model…")):
        return _load_english(settings.embedding, recorded["name"], recorded["backend"], settings)


@st.cache_resource(show_spinner=False)
def _load_english(
    config: EmbeddingSettings, model: str, backend: str, _settings: Settings
) -> Embedder:
    embedder = english_embedder(_settings, backend, model)  # not sized against chunk_tokens
    embedder.embed_query("warm-up")
    return embedder


@st.cache_resource(show_spinner=False)
def _load_model(config: GenerationSettings, _settings: Settings) -> ChatModel:
    return load_chat_model(_settings)


def get_model(settings: Settings) -> ChatModel:
    with st.spinner(_("Loading the answer model (the first start takes a minute)…")):
        return _load_model(settings.generation, settings)


def model_info(model: ChatModel) -> ModelInfo:
    return ModelInfo(model.label, model.production, model.notice)


@st.cache_resource(show_spinner=False)
def _gate(model: GenerationSettings, config: AdmissionSettings, slots: int) -> AnswerGate:
    return AnswerGate(slots, config.max_queued, config.queue_timeout_s, config.answer_timeout_s)


def get_gate(settings: Settings, model: ChatModel) -> AnswerGate:
    """The process's one admission gate for this model: every session waits in the same
    line. A model that answers one at a time gets one slot (the others see their place)."""
    config = settings.admission
    return _gate(settings.generation, config, min(config.max_concurrent, model.parallel))


@st.cache_resource(show_spinner=False)
def _start_metrics(where: MetricsSettings, _settings: Settings) -> int | None:
    return serve_metrics(_settings)


def start_metrics(settings: Settings) -> int | None:
    """The Prometheus endpoint, once per process (RAGDESK_METRICS_PORT; unset: none)."""
    return _start_metrics(settings.metrics, settings)


@st.cache_resource(show_spinner=False)
def get_feedback_log(path: str) -> FeedbackLog:
    from pathlib import Path

    return FeedbackLog(Path(path))


@st.cache_resource(show_spinner=False)
def _conversations(config: ConversationSettings) -> ConversationStore:
    return ConversationStore(config.path, config.keep_days)


def get_conversations(settings: Settings) -> ConversationStore:
    """The kept conversations, shared with the API (one SQLite file under data/state/)."""
    config = settings.conversations
    return _conversations(replace(config, path=config.path.resolve()))


@st.cache_data(ttl=10, show_spinner=False)
def _collections(location: str, _settings: Settings) -> list[str]:
    return list_collections(_settings)


def collections(settings: Settings) -> list[str]:
    return _collections(settings.store.location, settings)


def friendly(exc: Exception, settings: Settings) -> str:
    """One paragraph a non-technical user can act on (or pass to IT), never a traceback."""
    if isinstance(exc, StoreUnreachable):
        return _(
            "The document index (Qdrant server at {url}) cannot be reached. Ask IT to check "
            "that the Qdrant service is running, or unset RAGDESK_QDRANT_URL to use the "
            "built-in index."
        ).format(url=settings.qdrant_url)
    if isinstance(exc, StoreUnavailable):
        return _("The document index is not available right now: {problem}.").format(problem=exc)
    if isinstance(exc, ModelUnavailable):
        return _(
            "The answer model cannot be loaded: {problem}. Ask IT to set RAGDESK_LLM_MODEL to "
            "an existing GGUF file or a preset (`ragdesk model list`). Searching still works: "
            "you get the closest passages without a written answer."
        ).format(problem=exc)
    if isinstance(exc, RagdeskError):
        return str(exc)
    return _("Something went wrong ({kind}: {problem}). Please try again or tell IT.").format(
        kind=type(exc).__name__, problem=exc
    )

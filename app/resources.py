"""What the chat shares between sessions: created once per process, keyed by the settings
that shape it (so a changed setting gets a new one), and messages for what can go wrong."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from app.feedback import FeedbackLog
from rag_core.admission import AnswerGate
from rag_core.conversations import ConversationStore
from rag_core.embed_backends import resolve_backend
from rag_core.embeddings import Embedder, backend_of
from rag_core.llm import ChatModel, load_chat_model
from rag_core.settings import Settings
from rag_core.store import VectorStore, list_collections, open_store, store_location
from rag_core.telemetry import serve_metrics
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


def _key(settings: Settings, *fields: str) -> str:
    values = {name: getattr(settings, name) for name in fields}
    return json.dumps(values, default=str, sort_keys=True)


@st.cache_resource(show_spinner=False)
def _open_store(location: str, collection: str, _settings: Settings) -> VectorStore:
    return open_store(_settings)


def get_store(settings: Settings) -> VectorStore:
    return _open_store(store_location(settings), settings.collection, settings)


@st.cache_resource(show_spinner="Loading the embedding model…")
def _load_embedder(key: str, backend: str, _settings: Settings) -> Embedder:
    embedder = Embedder(_settings, backend)
    embedder.embed_query("warm-up")  # loads the model now, not during the first question
    return embedder


def get_embedder(settings: Settings, meta: dict[str, Any]) -> Embedder:
    """The embedder for a collection (its meta): questions are embedded with the backend
    that embedded its passages, which changes when a rebuild switches versions."""
    backend = backend_of(meta) or resolve_backend(settings.embed_backend, None)
    key = _key(
        settings, "embed_model", "state_dir", "chunk_tokens", "embed_threads", "embedders_dir"
    )
    return _load_embedder(key, backend, settings)


MODEL_FIELDS = (
    "llm_backend",
    "llm_model",
    "llm_base_url",
    "models_dir",
    "llm_context_tokens",
    "llm_threads",
    "llm_gpu_layers",
    "llm_temperature",
    "llm_seed",
)


@st.cache_resource(show_spinner="Loading the answer model (the first start takes a minute)…")
def _load_model(key: str, _settings: Settings) -> ChatModel:
    return load_chat_model(_settings)


def get_model(settings: Settings) -> ChatModel:
    return _load_model(_key(settings, *MODEL_FIELDS), settings)


def model_info(model: ChatModel) -> ModelInfo:
    return ModelInfo(model.label, model.production, model.notice)


GATE_FIELDS = ("max_concurrent_answers", "max_queued_answers", "queue_timeout_s")


@st.cache_resource(show_spinner=False)
def _gate(key: str, slots: int, _settings: Settings) -> AnswerGate:
    return AnswerGate(
        slots,
        _settings.max_queued_answers,
        _settings.queue_timeout_s,
        _settings.answer_timeout_s,
    )


def get_gate(settings: Settings, model: ChatModel) -> AnswerGate:
    """The process's one admission gate for this model: every session waits in the same
    line. A model that answers one at a time gets one slot (the others see their place)."""
    slots = min(settings.max_concurrent_answers, model.parallel)
    return _gate(_key(settings, *MODEL_FIELDS, *GATE_FIELDS, "answer_timeout_s"), slots, settings)


@st.cache_resource(show_spinner=False)
def start_metrics(host: str, port: int | None, _settings: Settings) -> int | None:
    """The Prometheus endpoint, once per process (RAGDESK_METRICS_PORT; unset: none)."""
    return serve_metrics(_settings)


@st.cache_resource(show_spinner=False)
def get_feedback_log(path: str) -> FeedbackLog:
    from pathlib import Path

    return FeedbackLog(Path(path))


@st.cache_resource(show_spinner=False)
def get_conversations(path: str, _settings: Settings) -> ConversationStore:
    """The kept conversations, shared with the API (one SQLite file under data/state/)."""
    return ConversationStore(Path(path), _settings.conversation_days)


@st.cache_data(ttl=10, show_spinner=False)
def _collections(location: str, _settings: Settings) -> list[str]:
    return list_collections(_settings)


def collections(settings: Settings) -> list[str]:
    return _collections(store_location(settings), settings)


def friendly(exc: Exception, settings: Settings) -> str:
    """One paragraph a non-technical user can act on (or pass to IT), never a traceback."""
    if isinstance(exc, StoreUnreachable):
        return (
            f"The document index (Qdrant server at {settings.qdrant_url}) cannot be reached. "
            "Ask IT to check that the Qdrant service is running, or unset RAGDESK_QDRANT_URL "
            "to use the built-in index."
        )
    if isinstance(exc, StoreUnavailable):
        return f"The document index is not available right now: {exc}."
    if isinstance(exc, ModelUnavailable):
        return (
            f"The answer model cannot be loaded: {exc}. Ask IT to set RAGDESK_LLM_MODEL to an "
            "existing GGUF file or a preset (`ragdesk model list`). Searching still works: "
            "you get the closest passages without a written answer."
        )
    if isinstance(exc, RagdeskError):
        return str(exc)
    return f"Something went wrong ({type(exc).__name__}: {exc}). Please try again or tell IT."

"""What the API process holds for its lifetime: the stores it opened (one per collection),
one embedder per backend, the answer model and its one admission gate, the key and
conversation stores. Built once at start-up from the Settings; requests borrow from it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from rag_core.access.api_keys import ApiKeyStore
from rag_core.access.ldap_directory import LdapDirectory
from rag_core.answering.assembly import Answering, assemble
from rag_core.conversations.store import ConversationStore
from rag_core.embedding.embedder import Embedder, backend_for, model_for
from rag_core.embedding.english import english_embedder
from rag_core.generation.admission import AnswerGate
from rag_core.generation.llm import ChatModel, load_chat_model
from rag_core.settings import Settings
from rag_core.store.base import VectorStore
from rag_core.store.factory import list_collections, open_store
from rag_core.store.schema import CollectionMeta
from rag_core.types import RagdeskError

log = logging.getLogger("ragdesk.api")


@dataclass
class ApiRuntime:
    settings: Settings
    keys: ApiKeyStore
    conversations: ConversationStore
    directory: LdapDirectory | None = None
    model: ChatModel | None = None
    model_error: str | None = None
    gate: AnswerGate | None = None
    _stores: dict[str, VectorStore] = field(default_factory=dict)
    _embedders: dict[tuple[str, str], Embedder] = field(default_factory=dict)
    _answering: dict[str, Answering] = field(default_factory=dict)
    _writes: dict[str, threading.Lock] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, settings: Settings) -> ApiRuntime:
        runtime = cls(
            settings,
            ApiKeyStore(settings.api.keys_path),
            ConversationStore(settings.conversations.path, settings.conversations.keep_days),
            LdapDirectory(settings) if settings.auth == "ldap" else None,
        )
        try:
            runtime.model = load_chat_model(settings)
        except RagdeskError as exc:  # searching works without it; answering says why not
            runtime.model_error = str(exc)
            log.warning("answer model unavailable: %s", exc)
        if runtime.model is not None:  # as the chat's gate: a one-at-a-time model, one slot
            config = settings.admission
            runtime.gate = AnswerGate(
                min(config.max_concurrent, runtime.model.parallel),
                config.max_queued,
                config.queue_timeout_s,
                config.answer_timeout_s,
            )
        return runtime

    def collections(self) -> list[str]:
        return sorted(list_collections(self.settings))

    def settings_for(self, collection: str) -> Settings:
        return self.settings.model_copy(update={"collection": collection})

    def store(self, collection: str) -> VectorStore:
        with self._lock:
            store = self._stores.get(collection)
            if store is None:
                store = self._stores[collection] = open_store(self.settings_for(collection))
            return store

    def embedder(self, store: VectorStore) -> Embedder:
        """Questions are embedded with the model and backend that embedded the collection
        (collections of one API may have been built by different embedders)."""
        meta = store.meta()
        model = model_for(self.settings.embedding, meta, query=True)
        backend = backend_for(self.settings.embedding, meta, query=True)
        return self._embedder(model, backend)

    def english_embedder(self, store: VectorStore) -> Embedder | None:
        """The collection's English embedder (rag_core/embedding/english.py), if it has one."""
        recorded = CollectionMeta.of(store.meta()).english_embedder
        if not recorded:
            return None
        return self._embedder(recorded["name"], recorded["backend"], english_embedder)

    def _embedder(
        self, model: str, backend: str, make: Callable[[Settings, str, str], Embedder] = Embedder
    ) -> Embedder:
        with self._lock:
            embedder = self._embedders.get((model, backend))
            if embedder is None:
                embedder = make(self.settings, backend, model)
                self._embedders[(model, backend)] = embedder
            return embedder

    def answering(self, collection: str) -> Answering:
        """The chat's answer path (rag_core.answering.assembly) over one collection, made once."""
        store = self.store(collection)
        embedder = self.embedder(store)
        with self._lock:
            cached = self._answering.get(collection)
            if cached is None or cached.retriever.embedder is not embedder:
                cached = assemble(
                    self.settings_for(collection),
                    store,
                    embedder=embedder,
                    english=self.english_embedder(store),
                    model=self.model,
                    gate=self.gate,
                )
                self._answering[collection] = cached
            return cached

    def write_lock(self, collection: str) -> threading.Lock:
        """One upload at a time per collection."""
        with self._lock:
            return self._writes.setdefault(collection, threading.Lock())

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        for embedder in self._embedders.values():
            embedder.close()
        self.keys.close()
        self.conversations.close()

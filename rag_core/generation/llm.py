"""Generation backends behind one small protocol, chosen from one table (`BACKENDS`).

`LlamaCppChat` runs any GGUF in-process with llama-cpp-python; the chat template comes from
the GGUF's own metadata. Calls are serialized by a lock (one llama.cpp context is not
re-entrant), and the fixed system prompt stays in the KV cache between questions because
llama-cpp-python reuses the longest common token prefix of consecutive prompts.

`OpenAICompatibleChat` talks to a server (llama.cpp's `llama-server` with continuous
batching, vLLM, TGI): no lock, so several answers stream at once; `cache_prompt` asks
llama-server to keep the fixed system prompt's KV cache between requests.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rag_core.cpu import physical_cores
from rag_core.generation.model_files import ResolvedModel
from rag_core.settings import Settings
from rag_core.types import ConfigurationError, RagdeskError

Message = dict[str, str]
log = logging.getLogger(__name__)


@dataclass(slots=True)
class GenerationStats:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_eval_ms: float = 0.0  # llama.cpp's own prompt evaluation time
    decode_ms: float = 0.0  # llama.cpp's own time generating the completion tokens
    first_token_ms: float = 0.0  # from the call to the first token, as the caller sees it
    total_ms: float = 0.0
    queued_ms: float = 0.0  # time spent waiting for another request to finish

    @property
    def tokens_per_second(self) -> float:
        generating = self.total_ms - self.first_token_ms
        return self.completion_tokens / (generating / 1000) if generating > 0 else 0.0


class ChatModel(Protocol):
    """What the answer pipeline and the chat need from a generation backend."""

    name: str
    label: str  # shown to users: which model answers
    production: bool | None  # the production model? None: unknown (a remote server)
    notice: str | None  # a caveat to show (e.g. "small fallback model")
    context_tokens: int
    parallel: int  # answers it generates at once (1: one at a time, the others queue)

    @property
    def busy(self) -> bool:
        """A new question would wait for another one to finish."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def stream_chat(
        self, messages: Sequence[Message], max_tokens: int, stats: GenerationStats
    ) -> Generator[str, None, None]:
        """The answer's pieces; closed early, it stops generating."""
        ...


class LlamaCppChat:
    def __init__(self, model: ResolvedModel, settings: Settings) -> None:
        from llama_cpp import Llama

        self.name = model.name
        self.label = model.label
        self.production = model.production
        self.notice = model.notice
        config = settings.generation
        self._llama = Llama(
            model_path=str(model.path),
            n_ctx=config.context_tokens,
            # llama-cpp-python would decode with cpu_count // 2 threads: 1 on a 2-core
            # machine (benchmarks/llm_threads.py measures what one per core gives)
            n_threads=config.threads or physical_cores(),
            n_threads_batch=config.threads or os.cpu_count(),
            n_gpu_layers=config.gpu_layers,
            seed=config.seed,
            verbose=False,
        )
        self.context_tokens = self._llama.n_ctx()
        self.parallel = 1
        self._temperature = config.temperature
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def stream_chat(
        self, messages: Sequence[Message], max_tokens: int, stats: GenerationStats
    ) -> Generator[str, None, None]:
        waited = time.perf_counter()
        with self._lock:
            started = time.perf_counter()
            stats.queued_ms = (started - waited) * 1000
            self._reset_perf()
            chunks: Any = self._llama.create_chat_completion(
                messages=list(messages),
                max_tokens=max_tokens,
                temperature=self._temperature,
                stream=True,
            )
            try:
                for chunk in chunks:
                    delta = chunk["choices"][0].get("delta", {}).get("content")
                    if not delta:
                        continue
                    if not stats.first_token_ms:
                        stats.first_token_ms = (time.perf_counter() - started) * 1000
                    stats.completion_tokens += 1
                    yield delta
            finally:  # also when the caller stops early (an answer repeating itself)
                chunks.close()
                stats.total_ms = (time.perf_counter() - started) * 1000
                perf = self._read_perf()
                stats.prompt_tokens = int(perf.get("n_p_eval", 0))
                stats.prompt_eval_ms = float(perf.get("t_p_eval_ms", 0.0))
                stats.decode_ms = float(perf.get("t_eval_ms", 0.0))
                if perf.get("n_eval"):
                    stats.completion_tokens = int(perf["n_eval"])

    def _reset_perf(self) -> None:
        try:
            import llama_cpp

            llama_cpp.llama_perf_context_reset(self._llama.ctx)
        except (AttributeError, TypeError) as exc:  # older bindings: timings become cumulative
            log.debug("llama.cpp perf counters cannot be reset: %s", exc)

    def _read_perf(self) -> dict[str, float]:
        try:
            import llama_cpp

            data = llama_cpp.llama_perf_context(self._llama.ctx)
            return {
                "t_p_eval_ms": data.t_p_eval_ms,
                "n_p_eval": data.n_p_eval,
                "t_eval_ms": data.t_eval_ms,
                "n_eval": data.n_eval,
            }
        except (AttributeError, TypeError):
            return {}


class OpenAICompatibleChat:
    """Any OpenAI-compatible server (vLLM, TGI, llama.cpp server, a Mistral endpoint), for
    deployments that outgrow one machine. Streams server-sent events."""

    production: bool | None = None  # whatever the server serves
    notice: str | None = None
    busy = False  # the server queues and batches; admission is ragdesk's AnswerGate

    def __init__(self, settings: Settings) -> None:
        import httpx

        config = settings.generation
        if not config.base_url:
            raise ConfigurationError("RAGDESK_LLM_BACKEND=openai needs RAGDESK_LLM_BASE_URL")
        self._base = config.base_url.rstrip("/")
        if not self._base.endswith("/v1"):
            self._base += "/v1"
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(300, connect=10))
        self.name = config.model if config.model != "auto" else "default"
        self.label = f"{self.name} at {self._base}"
        self.context_tokens = config.context_tokens
        self.parallel = config.parallel
        self._temperature = config.temperature
        self._cache_prompt = config.cache_prompt

    def count_tokens(self, text: str) -> int:
        return len(text) // 3 + 1  # no tokenizer here: a conservative estimate

    def stream_chat(
        self, messages: Sequence[Message], max_tokens: int, stats: GenerationStats
    ) -> Generator[str, None, None]:
        import httpx

        started = time.perf_counter()
        body = {
            "model": self.name,
            "messages": list(messages),
            "max_tokens": max_tokens,
            "temperature": self._temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self._cache_prompt:  # llama-server: reuse the KV cache of the common prefix
            body["cache_prompt"] = True
        try:
            try:
                yield from self._events(body, stats, started)
            except httpx.RemoteProtocolError:
                if stats.completion_tokens:
                    raise
                # A kept-alive connection the server had already closed: it answered nothing,
                # so asking once more on a fresh connection repeats no work (seen in CI with
                # llama-server: "Server disconnected without sending a response").
                yield from self._events(body, stats, started)
        except httpx.TransportError as exc:
            raise RagdeskError(
                f"cannot reach the model server at {self._base} ({type(exc).__name__}): check "
                "RAGDESK_LLM_BASE_URL and that the server is running"
            ) from exc
        stats.total_ms = (time.perf_counter() - started) * 1000

    def _events(
        self, body: dict[str, Any], stats: GenerationStats, started: float
    ) -> Iterator[str]:
        import json

        with self._client.stream("POST", f"{self._base}/chat/completions", json=body) as response:
            if response.status_code >= 400:
                response.read()
                raise RagdeskError(
                    f"the model server answered {response.status_code}: {response.text[:200]}"
                )
            for line in response.iter_lines():
                if not line.startswith("data:") or line.strip() == "data: [DONE]":
                    continue
                event = json.loads(line[5:])
                usage = event.get("usage") or {}
                stats.prompt_tokens = usage.get("prompt_tokens", stats.prompt_tokens)
                _read_server_timings(event.get("timings"), stats)
                for choice in event.get("choices") or []:
                    delta = (choice.get("delta") or {}).get("content")
                    if delta:
                        if not stats.first_token_ms:
                            stats.first_token_ms = (time.perf_counter() - started) * 1000
                        stats.completion_tokens += 1
                        yield delta


def _read_server_timings(timings: dict[str, Any] | None, stats: GenerationStats) -> None:
    """llama-server's own per-request timings (prompt tokens actually evaluated: a cached
    prefix is not counted)."""
    if not timings:
        return
    stats.prompt_tokens = int(timings.get("prompt_n", stats.prompt_tokens))
    stats.prompt_eval_ms = float(timings.get("prompt_ms", stats.prompt_eval_ms))
    stats.decode_ms = float(timings.get("predicted_ms", stats.decode_ms))


def _llama_cpp(settings: Settings) -> ChatModel:
    from rag_core.generation.model_files import resolve_model

    config = settings.generation
    return LlamaCppChat(resolve_model(config.model, config.models_dir), settings)


BACKENDS: dict[str, Callable[[Settings], ChatModel]] = {
    "llama_cpp": _llama_cpp,
    "openai": OpenAICompatibleChat,
}


def load_chat_model(settings: Settings) -> ChatModel:
    """The configured generation backend, loaded once per process by the caller."""
    return BACKENDS[settings.generation.backend](settings)

"""`ragdesk serve-model`: llama.cpp's llama-server with continuous batching, supervised."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from ingest.cli_support import reported_errors
from rag_core.settings import load_settings


def serve_model(
    model: Annotated[
        str | None, typer.Option(help="Preset or GGUF path (default: RAGDESK_LLM_MODEL).")
    ] = None,
    parallel: Annotated[
        int | None, typer.Option(help="Answers decoded at once (RAGDESK_LLM_SERVER_PARALLEL).")
    ] = None,
    host: Annotated[str | None, typer.Option(help="RAGDESK_LLM_SERVER_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="RAGDESK_LLM_SERVER_PORT.")] = None,
) -> None:
    """Serve the answer model to every chat process (restarted if it crashes), until
    SIGTERM. Point the chat at it with RAGDESK_LLM_BACKEND=openai and RAGDESK_LLM_BASE_URL."""
    from rag_core.generation.model_files import resolve_model
    from rag_core.generation.model_server import ModelServer

    with reported_errors() as console:
        settings = load_settings(
            llm_model=model,
            llm_server_parallel=parallel,
            llm_server_host=host,
            llm_server_port=port,
        )
        resolved = resolve_model(settings.llm_model, settings.models_dir)
        server = ModelServer(resolved, settings)
        console.print(f"starting {resolved.label} on {server.url} ({server.command[0]})")
        server.start()
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    console.print(
        f"ready: {settings.llm_server_parallel} slots. Chat settings: RAGDESK_LLM_BACKEND=openai "
        f"RAGDESK_LLM_BASE_URL={server.url}/v1 RAGDESK_LLM_MODEL={resolved.name}",
        soft_wrap=True,
    )
    try:
        server.supervise(stop, lambda code: console.print(f"llama-server exited ({code}): restart"))
    finally:
        server.stop()
    console.print("stopped")


def serve_api(
    host: Annotated[str | None, typer.Option(help="RAGDESK_API_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="RAGDESK_API_PORT.")] = None,
) -> None:
    """Serve the HTTP API (OpenAI-compatible chat completions with citations, /v1/ask, ...)
    until SIGTERM. Callers need a key: `ragdesk users key create USER`."""
    from app.api.server import serve

    with reported_errors():
        settings = load_settings(api_host=host, api_port=port)
    serve(settings)

"""Real servers for tests, each on a free port on 127.0.0.1: the chat (streamlit run), the
HTTP API (ragdesk serve-api), OpenAI-compatible model servers (python -m llama_cpp.server,
and llama.cpp's llama-server with continuous batching) with the settings and answer path
that use them, and Debian's chromium; and one fault injector: a scripted OpenAI-compatible
server whose "model" writes a given answer."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from rag_core.generation.model_files import resolve_model
from rag_core.generation.model_server import ModelServer, stop_process
from rag_core.settings import Settings
from rag_core.types import ConfigurationError
from tests.conftest import REPO

if TYPE_CHECKING:  # the answer path is imported where it is used (seconds to import)
    from rag_core.answering.answer import AnswerEngine
    from rag_core.embedding.embedder import Embedder
    from rag_core.generation.admission import AnswerGate

CHROMIUM = Path(os.environ.get("RAGDESK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [  # no background traffic: this machine's network is closed
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (`apt-get install chromium`)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, server: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"server exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer in {seconds:.0f} s:\n{log.read_text()[-3000:]}")


@contextmanager
def running(
    command: list[str], health: str, log: Path, cwd: Path, env: dict[str, str] | None = None
) -> Iterator[None]:
    with open(log, "wb") as sink:
        server = subprocess.Popen(command, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_for(health, server, log, 180)
        yield
    finally:
        stop_process(server)


def app_env(data: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGDESK_")}
    env |= {
        "RAGDESK_DATA_DIR": str(data),
        "RAGDESK_MODELS_PATH": str(REPO / "data" / "models"),
        "RAGDESK_LLM_MODEL": "qwen2.5-0.5b",
        "RAGDESK_LLM_TEMPERATURE": "0",
    }
    return env | {f"RAGDESK_{key.upper()}": value for key, value in settings.items()}


@contextmanager
def chat_app(data: Path, **settings: str) -> Iterator[str]:
    """`streamlit run app/streamlit_app.py`, as scripts/run starts it; yields its URL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(REPO / "app" / "streamlit_app.py"),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]
    url = f"http://127.0.0.1:{port}"
    log = data / f"streamlit-{port}.log"
    with running(command, f"{url}/_stcore/health", log, data, app_env(data, **settings)):
        yield url


@contextmanager
def api_app(data: Path, **settings: str) -> Iterator[str]:
    """`ragdesk serve-api` (uvicorn) on a free port, the packaged 0.5B model; yields its URL."""
    port = free_port()
    command = [sys.executable, "-m", "app.cli", "serve-api", "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    log = data / f"api-{port}.log"
    with running(command, f"{url}/healthz", log, data, app_env(data, **settings)):
        yield url


@contextmanager
def model_server(log_dir: Path) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server with the packaged 0.5B model as "small"."""
    model = resolve_model("qwen2.5-0.5b", REPO / "data" / "models").path
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        "small",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--seed",
        "7",
    ]
    url = f"http://127.0.0.1:{port}"
    with running(command, f"{url}/v1/models", log_dir / "llama-server.log", log_dir):
        yield url


@contextmanager
def llama_server(log_dir: Path, parallel: int) -> Iterator[ModelServer]:
    """llama.cpp's llama-server (scripts/build-llama-server.sh) with the packaged 0.5B model
    and `parallel` slots; its model name is the preset's, "qwen2.5-0.5b"."""
    settings = Settings(llm_server_parallel=parallel, llm_seed=7, llm_context_tokens=4096)
    try:
        server = ModelServer(
            resolve_model("qwen2.5-0.5b", REPO / "data" / "models"),
            settings,
            "127.0.0.1",
            free_port(),
            log_dir / "llama-server.log",
        )
    except ConfigurationError as exc:
        pytest.fail(str(exc))
    with server:
        yield server


def served_settings(url: str, data: Path, model: str = "qwen2.5-0.5b", **extra: Any) -> Settings:
    """Settings that answer with `model` on the OpenAI-compatible server at `url` (greedy,
    no worker pool), their data in `data`. The default model is llama_server's name."""
    return Settings(
        data_dir=data,
        workers=0,
        llm_backend="openai",
        llm_base_url=url,
        llm_model=model,
        llm_temperature=0.0,
        **extra,
    )


TRAVEL_NOTE = """# Travel policy

## Hotels

Hotel nights are reimbursed up to 150 EUR in most cities and 220 EUR in capitals.

## Trains

Train journeys under four hours are booked in second class.
"""


@contextmanager
def answer_engine(
    settings: Settings,
    embedder: Embedder,
    documents: dict[str, str],
    gate: AnswerGate | None = None,
) -> Iterator[AnswerEngine]:
    """The whole answer path on `settings`' model: `documents` (name -> text) written to a
    folder in the data folder and ingested into a fresh embedded index, the real retriever."""
    from ingest.pipeline import run_ingest
    from rag_core.answering.answer import AnswerEngine
    from rag_core.answering.retrieval import Retriever, search_spec
    from rag_core.generation.llm import load_chat_model
    from rag_core.store.edge import EdgeStore

    folder = settings.data_dir / "documents"
    folder.mkdir(parents=True)
    for name, text in documents.items():
        (folder / name).write_text(text, encoding="utf-8")
    with EdgeStore(settings.qdrant_dir, settings.collection) as store:
        run_ingest(folder, settings, store, embedder)
        retriever = Retriever(store, embedder, search_spec(settings))
        yield AnswerEngine(retriever, load_chat_model(settings), settings, gate)


def start_worker(inbox: Path, data: Path, **settings: str) -> subprocess.Popen[str]:
    """`ingest INBOX --watch` as its own process, polling fast (0.5 s, settled after 1 s)."""
    return subprocess.Popen(
        [sys.executable, "-m", "ingest.cli", str(inbox), "--watch"],
        cwd=REPO,
        env=app_env(data, watch_interval_s="0.5", watch_settle_s="1", workers="0", **settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's headless chromium driven by Playwright (never a browser Playwright fetches)."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def scripted_model(reply: Callable[[list[dict[str, str]]], str]) -> Iterator[str]:
    """An OpenAI-compatible endpoint that streams `reply(messages)` word by word: a model
    that writes exactly the (wrong) answer a test needs. Yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # /v1/models: the health check
            self._send(200, "application/json", b'{"data": [{"id": "scripted"}]}')

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            words = reply(body["messages"]).split(" ")
            events = [
                {"choices": [{"delta": {"content": w if i == 0 else " " + w}}]}
                for i, w in enumerate(words)
            ]
            events.append({"choices": [], "usage": {"prompt_tokens": 1}})
            stream = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
            self._send(200, "text/event-stream", stream.encode())

        def _send(self, status: int, kind: str, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()


def scrape_metrics(port: int) -> dict[str, float]:
    """A Prometheus endpoint over HTTP -> {"name{label=value,...}": value} (no buckets)."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        assert reply.status == 200
        text = reply.read().decode()
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if "le" in sample.labels:
                continue
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return values

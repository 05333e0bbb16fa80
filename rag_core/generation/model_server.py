"""llama.cpp's `llama-server` as ragdesk's scale path: one process, `--parallel N` slots,
continuous batching (several answers decoded in the same batch), an OpenAI-compatible API
the chat reaches with `RAGDESK_LLM_BACKEND=openai`.

The binary is built from the llama.cpp sources that the pinned llama-cpp-python sdist
vendors (`scripts/build-llama-server.sh`, cached per version), so the server runs exactly
the llama.cpp the in-process path runs. `ModelServer` starts it, waits until the model is
loaded, restarts it if it dies (`supervise`) and stops it.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from types import TracebackType
from typing import Any

from rag_core.generation.model_files import ResolvedModel
from rag_core.settings import Settings
from rag_core.types import ConfigurationError, RagdeskError

log = logging.getLogger(__name__)

BUILD_SCRIPT = "scripts/build-llama-server.sh"


def cache_dir() -> Path:
    """Where scripts/build-llama-server.sh keeps its builds (the XDG cache convention)."""
    import os

    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ragdesk/llama-server"


def find_llama_server(settings: Settings) -> Path:
    """RAGDESK_LLM_SERVER_BINARY, else the build script's cached binary for the installed
    llama-cpp-python, else `llama-server` on PATH."""
    if settings.llm_server_binary is not None:
        if not settings.llm_server_binary.is_file():
            raise ConfigurationError(
                f"RAGDESK_LLM_SERVER_BINARY={settings.llm_server_binary} does not exist"
            )
        return settings.llm_server_binary
    wanted = version("llama-cpp-python")
    for native in ("ON", "OFF"):
        built = cache_dir() / f"{wanted}-native-{native}" / "llama-server"
        if built.is_file():
            return built
    on_path = shutil.which("llama-server")
    if on_path:
        return Path(on_path)
    raise ConfigurationError(
        f"llama-server is not built yet: run {BUILD_SCRIPT} (compiles llama.cpp "
        f"{wanted}'s server once, ~15 min on 2 cores) or set RAGDESK_LLM_SERVER_BINARY"
    )


def server_command(
    binary: Path, model: ResolvedModel, settings: Settings, host: str, port: int
) -> list[str]:
    parallel = settings.llm_server_parallel
    command = [
        str(binary),
        "--model",
        str(model.path),
        "--alias",
        model.name,
        "--host",
        host,
        "--port",
        str(port),
        "--parallel",
        str(parallel),
        # the context is split between the slots: each gets what the in-process model gets
        "--ctx-size",
        str(parallel * settings.llm_context_tokens),
        "--cont-batching",
        "--cache-prompt",
        "--seed",
        str(settings.llm_seed),
        "--n-gpu-layers",
        str(settings.llm_gpu_layers) if settings.llm_gpu_layers >= 0 else "all",
        "--metrics",  # llama.cpp's own Prometheus metrics at /metrics
        "--no-webui",
    ]
    if settings.llm_threads:
        command += ["--threads", str(settings.llm_threads)]
    return command


def stop_process(process: subprocess.Popen[Any], grace_s: float = 20) -> None:
    """Stop a child politely (SIGTERM), then for good (SIGKILL) if it is still there after
    `grace_s`; reaped either way. Nothing to do if it has already exited."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


class ModelServer:
    """One supervised llama-server process; a context manager (started and healthy inside)."""

    def __init__(
        self,
        model: ResolvedModel,
        settings: Settings,
        host: str | None = None,
        port: int | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.host = host or settings.llm_server_host
        self.port = port or settings.llm_server_port
        self.command = server_command(
            find_llama_server(settings), model, settings, self.host, self.port
        )
        self.model = model
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, ready_timeout_s: float = 300) -> None:
        sink = open(self._log_path, "ab") if self._log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                self.command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        finally:
            if self._log_path:
                sink.close()  # type: ignore[union-attr]
        self.wait_ready(ready_timeout_s)

    def wait_ready(self, timeout_s: float) -> None:
        """Until /health answers 200 (the model is loaded); a dead process is an error."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                code = self._process.returncode if self._process else None
                raise RagdeskError(f"llama-server exited with {code}: {self._tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RagdeskError(f"llama-server did not become ready in {timeout_s:.0f} s")

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def supervise(self, stop: threading.Event, on_restart: Callable[[int], None] | None = None):
        """Keep it running until `stop` is set: a crashed server is restarted (backing off
        up to a minute between attempts)."""
        backoff = 1.0
        while not stop.wait(1.0):
            if self.alive():
                backoff = 1.0
                continue
            code = self._process.returncode if self._process else None
            log.warning("llama-server exited (%s); restarting in %.0f s", code, backoff)
            if stop.wait(backoff):
                break
            backoff = min(backoff * 2, 60.0)
            if on_restart is not None:
                on_restart(code if code is not None else -1)
            try:
                self.start()
            except RagdeskError as exc:
                log.warning("llama-server restart failed: %s", exc)

    def stop(self) -> None:
        if self._process is not None:
            stop_process(self._process)

    def _tail(self) -> str:
        if self._log_path and self._log_path.is_file():
            return self._log_path.read_text(errors="replace")[-2000:]
        return "(no log)"

    def __enter__(self) -> ModelServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

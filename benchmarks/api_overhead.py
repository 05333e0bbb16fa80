"""What the HTTP API adds before the first token, against `ragdesk ask`'s in-process path.

    .venv/bin/python benchmarks/api_overhead.py [--model qwen2.5-0.5b] [--rounds 15]

One process holds one model, one store and one embedder. The baseline is what `ragdesk
ask` runs: the answer engine's stream (rag_core.answering.assembly), timed from the call to
the first answer piece. The API rows run the same engine behind `ragdesk serve-api`'s app
(uvicorn on 127.0.0.1 in a thread of this process), timed from sending the request to the
first content chunk: plain HTTP (httpx, SSE) and the official `openai` client. Rounds alternate
the paths; every question is the same, so llama.cpp reuses its KV cache of the prompt and
the time left is retrieval, prompt building and what each path adds (key check, user
lookup, JSON, HTTP, SSE). Answers are cut at a few tokens: only the first one counts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from app.api.runtime import ApiRuntime  # noqa: E402
from app.api.server import create_app  # noqa: E402
from ingest.pipeline import run_ingest  # noqa: E402
from rag_core.access.api_keys import ApiKeyStore  # noqa: E402
from rag_core.answering.answer import Answer  # noqa: E402
from rag_core.conversations.store import ConversationStore  # noqa: E402
from rag_core.embedding.embedder import Embedder  # noqa: E402
from rag_core.generation.admission import AnswerGate  # noqa: E402
from rag_core.generation.llm import load_chat_model  # noqa: E402
from rag_core.settings import Settings  # noqa: E402
from rag_core.store.factory import open_store  # noqa: E402

QUESTION = "How do I back up an etcd cluster?"
SAMPLE = REPO / "data" / "sample"


def build(folder: Path, model: str) -> Settings:
    docs = folder / "docs"
    docs.mkdir()
    for name in ("etcd.faq.md", "debian-social-contract.txt"):
        (docs / name).write_bytes((SAMPLE / name).read_bytes())
    settings = Settings(
        data_dir=folder / "data",
        workers=0,
        models_path=REPO / "data" / "models",
        llm_model=model,
        llm_temperature=0.0,
        answer_tokens=16,
        verify_citations=False,  # after the answer: not part of the first token
    )
    embedder = Embedder(settings)
    with open_store(settings) as store:
        run_ingest(docs, settings, store, embedder)
    embedder.close()
    return settings


def in_process(runtime: ApiRuntime, collection: str) -> float:
    """`ragdesk ask`: the engine's stream, in this thread."""
    engine = runtime.answering(collection).engine
    started = time.perf_counter()
    first = None
    for item in engine.stream(QUESTION, ["*"]):
        if first is None and isinstance(item, str) and item:
            first = time.perf_counter() - started
        if isinstance(item, Answer):
            break
    assert first is not None
    return first * 1000


def over_http(url: str, key: str) -> float:
    body = {"model": "ragdesk", "messages": [{"role": "user", "content": QUESTION}], "stream": True}
    headers = {"Authorization": f"Bearer {key}"}
    first = None
    with httpx.Client(timeout=300) as client:
        started = time.perf_counter()
        with client.stream("POST", f"{url}/v1/chat/completions", json=body, headers=headers) as r:
            for line in r.iter_lines():
                if first is None and line.startswith("data: {"):
                    delta = json.loads(line[6:])["choices"]
                    if delta and delta[0]["delta"].get("content"):
                        first = time.perf_counter() - started
    assert first is not None
    return first * 1000


def over_openai(url: str, key: str) -> float:
    from openai import OpenAI

    client = OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
    first = None
    started = time.perf_counter()
    stream = client.chat.completions.create(
        model="ragdesk", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - started
    assert first is not None
    return first * 1000


def serve(app: object, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("the API did not start")
        time.sleep(0.05)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-0.5b")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--port", type=int, default=18765)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}, cpus {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        settings = build(Path(tmp), args.model)
        model = load_chat_model(settings)
        runtime = ApiRuntime(
            settings,
            ApiKeyStore(settings.api.keys_path),
            ConversationStore(settings.conversations.path),
            model=model,
            gate=AnswerGate(1, 16, 120, 300),
        )
        _, key = runtime.keys.create("local user")  # open mode: the local user's groups
        server = serve(create_app(settings, runtime), args.port)
        url = f"http://127.0.0.1:{args.port}"
        paths: dict[str, Callable[[], float]] = {
            "in-process (ragdesk ask)": lambda: in_process(runtime, settings.collection),
            "API, httpx SSE": lambda: over_http(url, key),
            "API, openai client": lambda: over_openai(url, key),
        }
        for run in paths.values():  # warm-up: model, embedder, KV cache, connections
            run()
        times: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(args.rounds):
            for name, run in paths.items():
                times[name].append(run())
        server.should_exit = True
        runtime.close()
    base = statistics.median(times["in-process (ragdesk ask)"])
    print(f"first token, {args.rounds} rounds each, same question (KV cache warm)")
    print(f"{'path':<28}{'p50 ms':>9}{'p90 ms':>9}{'added p50 ms':>14}{'ratio':>8}")
    for name, values in times.items():
        p50 = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"{name:<28}{p50:>9.1f}{p90:>9.1f}{p50 - base:>14.1f}{p50 / base:>8.2f}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

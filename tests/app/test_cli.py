"""`ragdesk ask` as a user runs it: real processes, the packaged 0.5B model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import SAMPLE

BIN = Path(sys.executable).parent


def run(*args: str, data: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=600,
        env={
            **os.environ,
            "RAGDESK_DATA_DIR": str(data),
            "RAGDESK_WORKERS": "0",
            "RAGDESK_LLM_MODEL": "qwen2.5-0.5b",  # assembled from its PyPI parts on first use
            **env,
        },
    )


def test_ask_json_shapes(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("etcd.faq.md", "debian-social-contract.txt"):
        (docs / name).write_bytes((SAMPLE / name).read_bytes())
    data = tmp_path / "data"
    empty = run("ragdesk", "ask", "anything?", data=data)
    assert empty.returncode == 2 and "ingest" in empty.stderr
    assert run("ingest", str(docs), data=data).returncode == 0

    retrieved = run(
        "ragdesk", "ask", "How do I back up etcd?", "--retrieve-only", "--json", data=data
    )
    assert retrieved.returncode == 0, retrieved.stderr
    result = json.loads(retrieved.stdout)
    assert result["refused"] is False
    assert result["sources"][0]["source"] == "etcd.faq.md"
    assert {"n", "source", "page", "section", "snippet", "score"} <= result["sources"][0].keys()

    answered = run("ragdesk", "ask", "How do I back up etcd?", "--json", "--k", "3", data=data)
    assert answered.returncode == 0, answered.stderr
    answer = json.loads(answered.stdout)
    assert {"answer", "citations", "sources", "refused", "timings"} <= answer.keys()
    assert isinstance(answer["unsupported_sentences"], list)
    assert all(c["supported"] in (True, False, None) for c in answer["citations"])
    assert len(answer["sources"]) <= 3 and answer["answer"]
    assert {s["source"] for s in answer["sources"]} >= {c["source"] for c in answer["citations"]}
    assert answer["timings"]["time_to_first_token_ms"] > 0

"""benchmarks/chat_load.py, run small: 2 users, 2 questions, the real llama-server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

POLICY = """# Travel policy

## Hotels

Hotel nights are reimbursed up to 150 EUR in most cities and 220 EUR in capitals.

## Trains

Train journeys under four hours are booked in second class.
"""

KEYS = {
    "users",
    "answered",
    "errors",
    "ttft_p50_s",
    "ttft_p95_s",
    "total_s",
    "serial_total_s",
    "tokens_per_s_aggregate",
}


def test_two_users_two_questions(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "travel.md").write_text(POLICY, encoding="utf-8")
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        json.dumps({"question": "How much is a hotel night reimbursed in a capital?"})
        + "\nWhich class do I book for a train journey of two hours?\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "chat_load.py"),
            "--users",
            "2",
            "--questions",
            str(questions),
            "--docs",
            str(docs),
            "--answer-tokens",
            "40",
            "--json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, "one JSON object on one line"
    result = json.loads(lines[0])
    assert set(result) >= KEYS
    assert result["users"] == 2 and result["questions"] == 2 and result["parallel"] == 2
    assert result["answered"] == 2 and result["errors"] == 0, result["error_messages"]
    assert result["serial_errors"] == 0 and result["cited"] >= 1
    assert 0 < result["ttft_p50_s"] <= result["ttft_p95_s"] < result["total_s"]
    assert result["serial_total_s"] > 0 and result["tokens_per_s_aggregate"] > 0
    # the ratio is of the unrounded times; the printed times are rounded to 0.01 s, which
    # moves a ratio of short phases by up to ratio * (0.005 / total + 0.005 / serial)
    total, serial = result["total_s"], result["serial_total_s"]
    slack = total / serial * (0.005 / total + 0.005 / serial) + 0.0005  # + the ratio's rounding
    assert result["ratio"] == pytest.approx(total / serial, abs=slack)
    assert 0 < result["prompt_bound_ratio"] < 1  # time to first tokens: part of each answer

"""`ragdesk eval support`: the labelled set is well formed, and the check, run by the real
embedder over one document's pairs, separates them as the measured threshold says."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from app.eval_support import evaluate_support, load_pairs
from rag_core.answering.citation_check import DEFAULT_THRESHOLD, SupportChecker
from rag_core.embedding.embedder import Embedder
from rag_core.types import RagdeskError
from tests.conftest import REPO

PAIRS = REPO / "data" / "eval" / "support-pairs.jsonl"


def test_the_labelled_set_covers_every_kind() -> None:
    pairs = load_pairs(PAIRS)
    kinds = Counter(p.kind for p in pairs)
    assert len(pairs) >= 150
    assert {"verbatim", "paraphrase", "swapped_doc", "swapped_near", "number", "name"} <= set(kinds)
    assert all(p.supported == (p.kind in ("verbatim", "paraphrase")) for p in pairs)


def test_a_bad_line_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "pairs.jsonl"
    good = {"claim": "a", "passage": "b", "label": "supported"}
    bad.write_text(json.dumps(good) + "\n" + json.dumps(good | {"label": "maybe"}) + "\n")
    with pytest.raises(RagdeskError, match=r"pairs.jsonl, line 2: label must be"):
        load_pairs(bad)


def test_the_configured_threshold_separates_the_labelled_set(embedder: Embedder) -> None:
    """The whole set (one document's slice is too small: one flagged paraphrase in eight
    moves its precision by 0.12), with the session's embedder backend."""
    pairs = load_pairs(PAIRS)
    result = evaluate_support(SupportChecker(embedder, DEFAULT_THRESHOLD), pairs)
    at = result["at_configured"]
    assert at["threshold"] == DEFAULT_THRESHOLD
    assert at["precision"] >= 0.95 and at["recall"] >= 0.9, result["errors"]
    assert [row["threshold"] for row in result["table"]] == sorted(
        row["threshold"] for row in result["table"]
    )

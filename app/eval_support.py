"""`ragdesk eval support`: how well the citation check separates supported claims from
unsupported ones, on a labelled set of (claim, passage) pairs made from real documents.

A flag (the chat's "not found in [n]") is the positive: precision is the share of flagged
claims that are really unsupported, recall the share of unsupported claims that are flagged.
The chosen threshold flags the most unsupported claims while keeping precision at or above
`MIN_PRECISION` (a marked sentence must be worth a reader's doubt: a correct paraphrase
marked as unsupported teaches users to ignore the mark); without one, the best F1.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag_core.answering.citation_check import Support, SupportChecker
from rag_core.types import RagdeskError

MIN_PRECISION = 0.95
THRESHOLDS = tuple(round(0.30 + 0.05 * i, 2) for i in range(12))  # 0.30 .. 0.85


@dataclass(frozen=True, slots=True)
class SupportPair:
    id: int
    kind: str
    claim: str
    passage: str
    supported: bool


def load_pairs(path: Path) -> list[SupportPair]:
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            label = row["label"]
            if label not in ("supported", "unsupported"):
                raise ValueError(f"label must be supported or unsupported, not {label!r}")
            pairs.append(
                SupportPair(
                    int(row.get("id", number)),
                    row.get("kind", ""),
                    row["claim"],
                    row["passage"],
                    label == "supported",
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise RagdeskError(f"{path}, line {number}: {exc}") from exc
    if not pairs:
        raise RagdeskError(f"{path} holds no pairs")
    return pairs


def flag_rates(flagged: list[bool], truth: list[bool]) -> tuple[float, float, int, int]:
    """(precision, recall, supported flagged, unsupported passed) of flagging claims,
    `truth` being True for the unsupported ones."""
    tp = sum(f and t for f, t in zip(flagged, truth, strict=True))
    fp = sum(f and not t for f, t in zip(flagged, truth, strict=True))
    fn = sum(t and not f for f, t in zip(flagged, truth, strict=True))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, fp, fn


def _rates(pairs: list[SupportPair], scores: list[Support], threshold: float) -> dict[str, Any]:
    flagged = [not s.holds(threshold) for s in scores]
    truth = [not p.supported for p in pairs]
    precision, recall, fp, fn = flag_rates(flagged, truth)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    correct = sum(f == t for f, t in zip(flagged, truth, strict=True))
    return {
        "threshold": threshold,
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "accuracy": round(correct / len(pairs), 3),
        "supported_flagged": fp,
        "unsupported_passed": fn,
    }


def evaluate_support(
    checker: SupportChecker, pairs: list[SupportPair], thresholds: tuple[float, ...] = THRESHOLDS
) -> dict[str, Any]:
    scores = checker.score_many([(p.claim, p.passage) for p in pairs])
    table = [_rates(pairs, scores, t) for t in thresholds]
    precise = [row for row in table if row["precision"] >= MIN_PRECISION]
    best = (
        max(precise, key=lambda row: (row["recall"], -row["threshold"]))
        if precise
        else max(table, key=lambda row: (row["f1"], -row["threshold"]))
    )
    chosen = best["threshold"]
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for pair, support in zip(pairs, scores, strict=True):
        by_kind[pair.kind].append(support.holds(chosen) == pair.supported)
    composition: dict[str, int] = defaultdict(int)
    for pair in pairs:
        composition["supported" if pair.supported else "unsupported"] += 1
    errors = [
        {
            "id": p.id,
            "kind": p.kind,
            "claim": p.claim,
            "score": round(s.score, 3),
            "missing": list(s.missing),
        }
        for p, s in zip(pairs, scores, strict=True)
        if s.holds(chosen) != p.supported
    ]
    return {
        "pairs": len(pairs),
        "composition": dict(composition),
        "chosen_threshold": chosen,
        "at_chosen": best,
        "at_configured": _rates(pairs, scores, checker.threshold),
        "per_kind_correct": {
            kind: {"pairs": len(v), "correct": round(sum(v) / len(v), 3)}
            for kind, v in sorted(by_kind.items())
        },
        "table": table,
        "errors": errors,
    }

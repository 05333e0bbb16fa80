"""`ragdesk eval answers`: a QA file over an ingested collection, through the real pipeline.

Each line: question, answerable, source (path relative to the ingest root), pages,
answer_keywords. Reports whether the gold file (and page ±1 for PDFs) is cited, keyword
recall of answers, refusals on unanswerable questions, false refusals, the share of cited
answer sentences their source supports (rag_core/support.py), and timings.
With `retrieve_only` no model runs: the gold file must be among the retrieved sources,
and refusals are the threshold's decisions (how the threshold is calibrated).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag_core.answer import AnswerEngine
from rag_core.metrics import mean


@dataclass(frozen=True, slots=True)
class QaItem:
    question: str
    answerable: bool
    source: str
    pages: tuple[int, ...]
    keywords: tuple[str, ...]


def load_qa(path: Path) -> list[QaItem]:
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            items.append(
                QaItem(
                    question=row["question"],
                    answerable=bool(row["answerable"]),
                    source=row.get("source", ""),
                    pages=tuple(row.get("pages") or ()),
                    keywords=tuple(row.get("answer_keywords") or ()),
                )
            )
    return items


def _matches(item: QaItem, source: str, page: int | None) -> bool:
    if source != item.source:
        return False
    if not item.pages or page is None:
        return True
    return any(abs(page - gold) <= 1 for gold in item.pages)


def evaluate_answers(
    engine: AnswerEngine, items: list[QaItem], groups: list[str], retrieve_only: bool
) -> dict[str, Any]:
    gold_hits, keyword_recall, false_refusals, refusals, relevance = [], [], [], [], []
    timings: dict[str, list[float]] = {}
    checked: list[bool] = []  # every verified cited sentence: supported by its source?
    per_question = []
    for item in items:
        if retrieve_only:
            _, retrieval, refused = engine.retrieve(item.question, groups)
            cited = [(s.source, s.page) for s in retrieval.sources]
            text = ""
            times = {"retrieval_ms": retrieval.milliseconds}
            best = retrieval.best_relevance
        else:
            answer = engine.ask(item.question, groups)
            refused = answer.refused
            cited = [(c.source, c.page) for c in answer.citations]
            text = answer.text
            times = answer.timings
            checked.extend(c.supported for c in answer.checks)
            best = max((s.relevance for s in answer.sources), default=0.0)
        for key, value in times.items():
            timings.setdefault(key, []).append(value)
        relevance.append((item.answerable, best))
        hit = any(_matches(item, source, page) for source, page in cited)
        if item.answerable:
            gold_hits.append(1.0 if hit else 0.0)
            false_refusals.append(1.0 if refused else 0.0)
            if not retrieve_only and item.keywords:
                found = sum(1 for k in item.keywords if k.lower() in text.lower())
                keyword_recall.append(found / len(item.keywords))
        else:
            refusals.append(1.0 if refused else 0.0)
        per_question.append(
            {
                "question": item.question,
                "refused": refused,
                "gold_cited": hit,
                "best_relevance": round(best, 3),
                "answer": text,
            }
        )
    return {
        "questions": len(items),
        "gold_cited" if not retrieve_only else "gold_retrieved": round(mean(gold_hits), 3),
        "keyword_recall": round(mean(keyword_recall), 3) if keyword_recall else None,
        "refusal_rate_unanswerable": round(mean(refusals), 3),
        "false_refusal_rate": round(mean(false_refusals), 3),
        "supported_sentence_share": round(mean(checked), 3) if checked else None,
        "cited_sentences_checked": len(checked),
        "timings_mean": {k: round(mean(v), 1) for k, v in timings.items()},
        "relevance": {
            "answerable_min": round(min((r for a, r in relevance if a), default=0.0), 3),
            "unanswerable_max": round(max((r for a, r in relevance if not a), default=0.0), 3),
        },
        "per_question": per_question,
    }

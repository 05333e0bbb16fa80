"""`ragdesk eval answers`: a QA file over an ingested collection, through the real pipeline.

Each line: question, answerable, kind (optional: fact, reasoning, injection, unanswerable
...), source (path relative to the ingest root), pages, answer_keywords (a keyword may list
alternatives as "two|2"). Reports whether the gold file (and page ±1 for PDFs) is cited,
keyword recall of answers, refusals on unanswerable questions, false refusals split by
who refused: the relevance threshold (no model call) or the model itself ("not found"
although the passage was given) — they have different fixes —, and the share of cited
answer sentences their source supports (rag_core/answering/citation_check.py). Every
figure is also given per kind. With `retrieve_only` no model runs: the gold file must be
among the retrieved sources, and refusals are the threshold's decisions (how the threshold
is calibrated).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from rag_core.answering.answer import AnswerEngine
from rag_core.evaluation.ranking_metrics import mean


@dataclass(frozen=True, slots=True)
class QaItem:
    question: str
    answerable: bool
    source: str
    pages: tuple[int, ...]
    keywords: tuple[str, ...]
    kind: str = "answerable"
    # where the answer is inside the file: a few words quoted from it (files without pages),
    # and the section heading that holds them (for the reader; the quote decides)
    evidence: str = ""
    section: str = ""
    # other places in the corpus that state the same answer (another manual's page saying
    # it too), each {"source", "pages" | "evidence"}: counted by holds_answer, not holds_gold
    also: tuple[tuple[str, tuple[int, ...], str], ...] = ()

    def alternatives(self) -> list[QaItem]:
        """The item once per listed alternative place, as if that were its gold."""
        return [replace(self, source=s, pages=p, evidence=e, also=()) for s, p, e in self.also]


def load_qa(path: Path) -> list[QaItem]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            answerable = bool(row["answerable"])
            items.append(
                QaItem(
                    question=row["question"],
                    answerable=answerable,
                    source=row.get("source", ""),
                    pages=tuple(row.get("pages") or ()),
                    keywords=tuple(row.get("answer_keywords") or ()),
                    kind=row.get("kind") or ("answerable" if answerable else "unanswerable"),
                    evidence=row.get("evidence") or "",
                    section=row.get("section") or "",
                    also=tuple(
                        (a["source"], tuple(a.get("pages") or ()), a.get("evidence") or "")
                        for a in row.get("also") or ()
                    ),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}, line {number}: not a QA item ({exc})") from exc
    return items


def _matches(item: QaItem, source: str, page: int | None) -> bool:
    if source != item.source:
        return False
    if not item.pages or page is None:
        return True
    return any(abs(page - gold) <= 1 for gold in item.pages)


def comparable(text: str) -> str:
    """Lower case, typographic quotes as plain ones, runs of spaces as one: how a quote is
    compared with a passage whatever the parser did with its whitespace."""
    text = text.translate(_PLAIN_QUOTES).replace("\u00ad", "")
    return re.sub(r"\s+", " ", text).strip().lower()


_PLAIN_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def holds_gold(item: QaItem, source: str, page: int | None, text: str) -> bool:
    """Is this passage the one that answers? Same file; then a PDF's gold page, or (files
    without pages) the quoted evidence — whole, or either half of it (three words or more)
    when a chunk boundary cuts through the quote."""
    if not item.answerable or source != item.source:
        return False
    if item.pages:
        return page in item.pages
    if not item.evidence:
        return True
    passage = comparable(text)
    words = comparable(item.evidence).split(" ")
    half = len(words) // 2
    parts = [" ".join(words)]
    if half >= 3:  # a half of three words or more still names the place
        parts += [" ".join(words[:half]), " ".join(words[half:])]
    return any(part in passage for part in parts)


def holds_answer(item: QaItem, source: str, page: int | None, text: str) -> bool:
    """The gold passage, or one of the places listed in `also` that say the same."""
    return any(holds_gold(place, source, page, text) for place in (item, *item.alternatives()))


def keyword_found(keyword: str, text: str) -> bool:
    """A keyword with alternatives ("two|2") is found when any of them is in the text."""
    lowered = text.lower()
    return any(alt.strip().lower() in lowered for alt in keyword.split("|") if alt.strip())


@dataclass(slots=True)
class Outcome:
    """One question's result; the aggregates below are computed from a list of these."""

    item: QaItem
    refused_by: str  # "" (answered), "threshold", "model" or "unsupported" (citation check)
    withheld: bool  # the answer repeated a removed instruction and was withheld
    gold_cited: bool
    keyword_recall: float | None
    best_relevance: float
    text: str
    timings: dict[str, float]
    supported: list[bool] = field(default_factory=list)  # each checked cited sentence
    gold_rank: int | None = None  # 1-based place of the gold among cited/retrieved sources
    # the gold or a place the row's `also` lists as saying the same, cited/retrieved
    answer_cited: bool = False
    cited: list[tuple[str, int | None]] = field(default_factory=list)
    # the model's own words and the passages it was given, for benchmarks/citation_replay.py
    model_text: str = ""
    passages: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.item.question,
            "kind": self.item.kind,
            "refused": bool(self.refused_by),
            "refused_by": self.refused_by or None,
            "withheld": self.withheld,
            "gold_cited": self.gold_cited,
            "gold_rank": self.gold_rank,
            "answer_cited": self.answer_cited,
            "cited": [list(place) for place in self.cited],
            "keyword_recall": self.keyword_recall,
            "best_relevance": round(self.best_relevance, 3),
            "answer": self.text,
            "supported": self.supported,
            "model_text": self.model_text,
            "passages": self.passages,
        }


def run_question(
    engine: AnswerEngine, item: QaItem, groups: list[str], retrieve_only: bool
) -> Outcome:
    if retrieve_only:
        _, retrieval, refused = engine.retrieve(item.question, groups)
        cited = [(s.source, s.page) for s in retrieval.sources]
        text, withheld, supported, model_text, passages = "", False, [], "", []
        refused_by = (
            ("unknown names" if retrieval.unknown_names else "threshold") if refused else ""
        )
        times = {"retrieval_ms": retrieval.milliseconds}
        if retrieval.translation:  # the question was also searched translated
            times["translation_ms"] = retrieval.translation_ms
        best = retrieval.best_relevance
    else:
        answer = engine.ask(item.question, groups)
        cited = [(c.source, c.page) for c in answer.citations]
        text, withheld = answer.text, answer.flagged_injection
        refused_by = answer.refused_by if answer.refused else ""
        times = answer.timings
        supported = [check.supported for check in answer.checks]
        model_text = answer.model_text
        passages = [
            {"n": p.n, "text": p.text, "removed": list(p.removed), "source": asdict(p.source)}
            for p in answer.prompt_sources
        ]
        best = max((s.relevance for s in answer.sources), default=0.0)
    return scored(
        item,
        refused_by=refused_by,
        withheld=withheld,
        text=text if not retrieve_only else None,
        cited=cited,
        best_relevance=best,
        timings=dict(times),
        supported=supported,
        model_text=model_text,
        passages=passages,
    )


def scored(
    item: QaItem,
    refused_by: str,
    withheld: bool,
    text: str | None,
    cited: list[tuple[str, int | None]],
    best_relevance: float,
    timings: dict[str, float] | None = None,
    supported: list[bool] | None = None,
    model_text: str = "",
    passages: list[dict[str, Any]] | None = None,
) -> Outcome:
    """Score one question's result against its row: where the gold ranks among the cited
    (or retrieved) places, whether a listed alternative is among them, keyword recall.
    `text` is None for a retrieval-only run (no answer, so no keyword recall). Shared by the
    live run and `benchmarks/citation_replay.py`, so both count alike."""
    rank = next((n for n, (s, p) in enumerate(cited, start=1) if _matches(item, s, p)), None)
    places = (item, *item.alternatives())
    recall = None
    if item.answerable and item.keywords and text is not None:
        recall = sum(keyword_found(k, text) for k in item.keywords) / len(item.keywords)
    return Outcome(
        item=item,
        refused_by=refused_by,
        withheld=withheld,
        gold_cited=rank is not None,
        keyword_recall=recall,
        best_relevance=best_relevance,
        text=text or "",
        timings=timings or {},
        supported=supported or [],
        gold_rank=rank,
        answer_cited=any(_matches(place, s, p) for place in places for s, p in cited),
        cited=cited,
        model_text=model_text,
        passages=passages or [],
    )


def _rate(values: list[bool]) -> float:
    return round(mean([1.0 if v else 0.0 for v in values]), 3)


def summarize(outcomes: list[Outcome], retrieve_only: bool = False) -> dict[str, Any]:
    """Headline figures over a group of outcomes (all of them, or one kind)."""
    answerable = [o for o in outcomes if o.item.answerable]
    unanswerable = [o for o in outcomes if not o.item.answerable]
    recalls = [o.keyword_recall for o in answerable if o.keyword_recall is not None]
    summary: dict[str, Any] = {"questions": len(outcomes)}
    if answerable:
        summary["gold_cited" if not retrieve_only else "gold_retrieved"] = _rate(
            [o.gold_cited for o in answerable]
        )
        if any(o.item.also for o in answerable):  # some rows list other answering places
            summary["answer_cited" if not retrieve_only else "answer_retrieved"] = _rate(
                [o.answer_cited for o in answerable]
            )
        if retrieve_only:  # how high the gold file ranks: what a better embedder moves
            ranks = [o.gold_rank for o in answerable]
            summary["gold_at_1"] = _rate([r == 1 for r in ranks])
            summary["mrr"] = round(mean([1 / r if r else 0.0 for r in ranks]), 3)
        summary["keyword_recall"] = round(mean(recalls), 3) if recalls else None
        summary["false_refusal_rate"] = _rate([bool(o.refused_by) for o in answerable])
        summary["false_refusals"] = {
            "threshold": sum(o.refused_by == "threshold" for o in answerable),
            "unknown_names": sum(o.refused_by == "unknown names" for o in answerable),
            "model": sum(o.refused_by == "model" for o in answerable),
            "unsupported": sum(o.refused_by == "unsupported" for o in answerable),
        }
        summary["withheld"] = sum(o.withheld for o in answerable)
    checked = [ok for o in outcomes for ok in o.supported]
    if checked:  # rag_core/answering/citation_check.py: cited sentences their source supports
        summary["supported_sentence_share"] = _rate(checked)
        summary["cited_sentences_checked"] = len(checked)
    if unanswerable:
        summary["refusal_rate_unanswerable"] = _rate([bool(o.refused_by) for o in unanswerable])
    return summary


def evaluate_answers(
    engine: AnswerEngine, items: list[QaItem], groups: list[str], retrieve_only: bool
) -> dict[str, Any]:
    outcomes = [run_question(engine, item, groups, retrieve_only) for item in items]
    return report(outcomes, retrieve_only)


def report(outcomes: list[Outcome], retrieve_only: bool = False) -> dict[str, Any]:
    """The summary, the same per kind, mean timings (incl. prompt tokens), per question."""
    timings: dict[str, list[float]] = {}
    for outcome in outcomes:
        for key, value in outcome.timings.items():
            timings.setdefault(key, []).append(value)
    kinds = sorted({o.item.kind for o in outcomes})
    relevance = [(o.item.answerable, o.best_relevance) for o in outcomes]
    return {
        **summarize(outcomes, retrieve_only),
        "refusal_rate_unanswerable": summarize([o for o in outcomes if not o.item.answerable]).get(
            "refusal_rate_unanswerable", 0.0
        ),
        "by_kind": {
            kind: summarize([o for o in outcomes if o.item.kind == kind], retrieve_only)
            for kind in kinds
        },
        "timings_mean": {k: round(mean(v), 1) for k, v in timings.items()},
        "relevance": {
            "answerable_min": round(min((r for a, r in relevance if a), default=0.0), 3),
            "unanswerable_max": round(max((r for a, r in relevance if not a), default=0.0), 3),
        },
        "per_question": [o.to_json() for o in outcomes],
    }

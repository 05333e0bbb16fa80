"""An `Answer` as it was shown, to JSON and back: the text, its citations with their
snippets, the passages (whole, as the chat shows them), the citation check's verdicts, the
refusal and the timings. Reopening a conversation renders these, never a new answer."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from rag_core.answering.answer import Answer
from rag_core.answering.citation_check import SentenceCheck, Support
from rag_core.answering.citations import Citation
from rag_core.answering.retrieval import Source
from rag_core.i18n import SOURCE_LANGUAGE

RECORD_VERSION = 1


def answer_record(answer: Answer) -> dict[str, Any]:
    return {
        "version": RECORD_VERSION,
        "question": answer.question,
        "search_query": answer.search_query,
        "search_translation": answer.search_translation,
        "text": answer.text,
        "citations": [asdict(c) for c in answer.citations],
        "sources": [asdict(s) for s in answer.sources],
        "refused": answer.refused,
        "refused_by": answer.refused_by,
        "flagged_injection": answer.flagged_injection,
        "timings": dict(answer.timings),
        "checks": [asdict(c) for c in answer.checks],
        "language": answer.language,
    }


def _known(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """Only the fields `cls` has: a record written by another version still opens."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in values.items() if k in names}


def _check(values: dict[str, Any]) -> SentenceCheck:
    support = dict(values["support"])
    support["missing"] = tuple(support.get("missing", ()))
    return SentenceCheck(
        sentence=values["sentence"],
        cited=tuple(values["cited"]),
        support=Support(**_known(Support, support)),
        supported=bool(values["supported"]),
        recited_from=tuple(values.get("recited_from", ())),
    )


def answer_from_record(record: dict[str, Any]) -> Answer:
    return Answer(
        question=record.get("question", ""),
        search_query=record.get("search_query", ""),
        search_translation=record.get("search_translation"),
        text=record.get("text", ""),
        citations=[Citation(**_known(Citation, c)) for c in record.get("citations", [])],
        sources=[Source(**_known(Source, s)) for s in record.get("sources", [])],
        refused=bool(record.get("refused", False)),
        refused_by=record.get("refused_by"),
        flagged_injection=bool(record.get("flagged_injection", False)),
        timings={k: float(v) for k, v in (record.get("timings") or {}).items()},
        checks=[_check(c) for c in record.get("checks", [])],
        language=record.get("language", SOURCE_LANGUAGE),
    )

"""Replay the steps after generation on a logged end-to-end run: the same model outputs,
today's citation code.

    .venv/bin/python benchmarks/citation_replay.py --log run.jsonl \
        --qa data/eval/answers-corpus.jsonl [--show]

An answer run (`answer_devset.py --log`) records, per question, the model's own words and
the passages it was given. What happens to those words next (markers mended, sentences
without a marker attributed, the refusal recognised, each cited sentence checked against
its passage, a wholly unsupported answer withheld: `rag_core.answering.answer.conclude`)
is deterministic, so it can be re-run on them without the model. A change to that code is
then measured on exactly the answers it was meant for, in seconds instead of a 30-minute
model run. The first column is the run as logged, the second the replay with the code as
it is now; with unchanged code they are equal (a check of the replay itself). Questions
refused before the model (relevance floor, unknown names) keep their logged outcome.
`--show` prints each question whose outcome changed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.eval_answers import (  # noqa: E402
    Outcome,
    QaItem,
    load_qa,
    scored,
    summarize,
)
from rag_core.answering.answer import Answer, conclude  # noqa: E402
from rag_core.answering.citation_check import SupportChecker  # noqa: E402
from rag_core.answering.language import language_of  # noqa: E402
from rag_core.answering.prompt import Prompt, PromptSource  # noqa: E402
from rag_core.answering.retrieval import Source  # noqa: E402
from rag_core.embedding.embedder import Embedder  # noqa: E402
from rag_core.embedding.relevance import support_across_languages  # noqa: E402
from rag_core.i18n import SOURCE_LANGUAGE  # noqa: E402
from rag_core.settings import Settings  # noqa: E402


def logged_outcome(item: QaItem, record: dict[str, Any]) -> Outcome:
    """The run as logged, scored against the QA file as it is now (a place added to a row's
    `also` since counts in both columns alike)."""
    cited = [(c[0], c[1]) for c in record.get("cited", [])]
    return scored(
        item,
        refused_by=record.get("refused_by") or "",
        withheld=record["withheld"],
        text=record["answer"],
        cited=cited,
        best_relevance=record["best_relevance"],
        supported=record.get("supported", []),
    )


def replayed_outcome(
    item: QaItem, record: dict[str, Any], checker: SupportChecker | None
) -> Outcome:
    """The logged model text through today's `conclude`."""
    sources = [
        PromptSource(p["n"], Source(**p["source"]), p["text"], tuple(p["removed"]))
        for p in record["passages"]
    ]
    answer = Answer(question=item.question, search_query=item.question)
    answer.language = language_of(item.question, SOURCE_LANGUAGE)
    conclude(answer, record["model_text"], Prompt([], sources, 0), checker)
    return scored(
        item,
        refused_by=answer.refused_by or "" if answer.refused else "",
        withheld=answer.flagged_injection,
        text=answer.text,
        cited=[(c.source, c.page) for c in answer.citations],
        best_relevance=record["best_relevance"],
        supported=[c.supported for c in answer.checks],
    )


def _refusals(summary: dict[str, Any]) -> str:
    """ "6 (unsupported 6)": answerable questions refused, by whom."""
    by = {k: v for k, v in summary.get("false_refusals", {}).items() if v}
    return f"{sum(by.values())} ({', '.join(f'{k} {v}' for k, v in by.items()) or 'none'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, required=True, help="answer_devset.py --log output")
    parser.add_argument("--qa", type=Path, required=True, help="the QA file the run answered")
    parser.add_argument("--show", action="store_true", help="print each changed question")
    args = parser.parse_args()

    items = {item.question: item for item in load_qa(args.qa)}
    records = [json.loads(line) for line in args.log.read_text().splitlines() if line.strip()]
    settings = Settings()
    checker, embedder = None, Embedder(settings)  # the answer engine's: the collection's
    if settings.verify_citations:
        across = support_across_languages(embedder.info.name)
        checker = SupportChecker(embedder, settings.support_threshold, across)
    logged, replayed = [], []
    for record in records:
        item = items[record["question"]]
        before = logged_outcome(item, record)
        logged.append(before)
        if "model_text" not in record or not record.get("passages"):
            replayed.append(before)  # refused before the model: nothing to replay
            continue
        after = replayed_outcome(item, record, checker)
        replayed.append(after)
        if args.show and (after.text != before.text or after.refused_by != before.refused_by):
            print(f"\n## {item.question} ({item.kind}; gold {item.source} {item.pages})")
            print(f"- logged   [{before.refused_by or 'answered'}] {before.text}")
            print(f"- replayed [{after.refused_by or 'answered'}] {after.text}")
    rows = [
        ("questions", lambda s: s["questions"]),
        ("gold file cited", lambda s: s.get("gold_cited")),
        ("gold or listed alternative cited", lambda s: s.get("answer_cited", "")),
        ("keyword recall", lambda s: s.get("keyword_recall")),
        ("answerable refused", _refusals),
        ("unanswerable refused", lambda s: s.get("refusal_rate_unanswerable")),
        ("cited sentences supported", lambda s: s.get("supported_sentence_share", "")),
    ]
    summaries = (summarize(logged), summarize(replayed))
    print(
        f"\ncitation replay: {args.log.name} ({len(records)} questions; embedder "
        f"{embedder.info.name})"
    )
    print(f"{'':<34}{'logged':>28}{'replayed':>28}")
    for label, cell in rows:
        print(f"{label:<34}" + "".join(f"{cell(s)!s:>28}" for s in summaries))


if __name__ == "__main__":
    main()

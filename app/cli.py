"""`ragdesk`: the product's command line (status now; ask and eval build on it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ingest.cli import EXIT_CONFIG, ingest
from rag_core.settings import load_settings
from rag_core.status import index_status
from rag_core.store import StoreUnavailable, open_store
from rag_core.types import RagdeskError

app = typer.Typer(add_completion=False, help="ragdesk: ask your documents.", no_args_is_help=True)
app.command("ingest")(ingest)


@app.command()
def status(
    collection: Annotated[str | None, typer.Option(help="Qdrant collection.")] = None,
    qdrant_path: Annotated[Path | None, typer.Option(help="Embedded Qdrant folder.")] = None,
    qdrant_url: Annotated[str | None, typer.Option(help="Qdrant server URL.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """What is indexed: files, chunks per file, embedder, last ingest time."""
    console = Console(stderr=True)
    try:
        settings = load_settings(
            collection=collection, qdrant_path=qdrant_path, qdrant_url=qdrant_url
        )
        with open_store(settings) as store:
            info = index_status(store)
    except (RagdeskError, StoreUnavailable) as exc:
        console.print(f"[red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(EXIT_CONFIG) from exc
    if as_json:
        typer.echo(json.dumps(info))
        return
    out = Console()
    out.print(
        f"[bold]{info['collection']}[/] at {info['location']}: {info['files']:,} files, "
        f"{info['chunks']:,} chunks; embedder {info['embedder']}; "
        f"last ingest {info['last_ingest'] or 'never'}"
    )
    table = Table("file", "chunks", header_style="bold")
    for source, chunks in info["per_source"].items():
        table.add_row(source, f"{chunks:,}")
    if info["per_source"]:
        out.print(table)


def main() -> None:
    app()

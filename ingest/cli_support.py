"""What every command line (`ingest`, `ragdesk`, its admin commands) shares: exit codes,
the options that pick a collection, and one way to turn a known error into a message.

Exit status: 0 done, 1 some inputs failed (listed), 2 usage or configuration.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from rag_core.types import RagdeskError

EXIT_OK, EXIT_FAILURES, EXIT_CONFIG = 0, 1, 2

CollectionOption = Annotated[str | None, typer.Option(help="Qdrant collection.")]
QdrantPathOption = Annotated[Path | None, typer.Option(help="Embedded Qdrant folder.")]
QdrantUrlOption = Annotated[str | None, typer.Option(help="Qdrant server URL.")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON on stdout.")]


def fail(console: Console, message: object, code: int = EXIT_CONFIG) -> NoReturn:
    """Say what is wrong on stderr, in one paragraph, and exit with `code`."""
    console.print(f"[red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def reported_errors(*also: type[Exception]) -> Iterator[Console]:
    """The stderr console; a RagdeskError (or one of `also`, e.g. OSError for a file the
    user named) raised inside becomes "error: …" and exit status 2, never a traceback."""
    console = Console(stderr=True)
    try:
        yield console
    except (RagdeskError, *also) as exc:
        console.print(f"[red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(EXIT_CONFIG) from exc

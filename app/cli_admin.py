"""`ragdesk users ...` and `ragdesk audit`: the admin's side of sign-in and the audit log."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from rag_core.audit import read_audit
from rag_core.settings import load_settings
from rag_core.types import RagdeskError

EXIT_CONFIG = 2

users_app = typer.Typer(help="Users who may sign in to the chat.", no_args_is_help=True)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ -).")],
    groups: Annotated[str, typer.Option(help="Comma-separated groups, e.g. hr,finance.")] = "",
    password: Annotated[
        str | None, typer.Option(help="Password (asked for, hidden, when absent).")
    ] = None,
) -> None:
    """Add a user, or set an existing user's password and groups."""
    from rag_core.users import add_user

    settings = load_settings()
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = add_user(settings.users_path, name, password, groups.split(","))
    except RagdeskError as exc:
        Console(stderr=True).print(f"[red]error:[/] {exc}")
        raise typer.Exit(EXIT_CONFIG) from exc
    typer.echo(f"{user.name}: groups {', '.join(user.groups) or '(none)'} in {settings.users_path}")


@users_app.command("list")
def users_list() -> None:
    """Users and their groups (never the password hashes)."""
    import yaml

    settings = load_settings()
    path = settings.users_path
    data = yaml.safe_load(path.read_text()) if path.is_file() else {}
    table = Table("user", "groups", header_style="bold")
    for name, entry in sorted(((data or {}).get("users") or {}).items()):
        table.add_row(name, ", ".join((entry or {}).get("groups") or []))
    Console().print(table)


def audit(
    last: Annotated[int, typer.Option(help="Show the last N entries.")] = 20,
    user: Annotated[str | None, typer.Option(help="Only this user's entries.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
) -> None:
    """Who asked what and which sources they were shown (the audit log)."""
    settings = load_settings()
    entries = [e for e in read_audit(settings.audit_path) if user is None or e["user"] == user]
    entries = entries[-last:]
    if as_json:
        for entry in entries:
            typer.echo(json.dumps(entry, ensure_ascii=False))
        return
    table = Table("at", "user", "question", "sources shown", header_style="bold")
    for entry in entries:
        sources = ", ".join(sorted({s["source"] for s in entry["sources"]}))
        table.add_row(entry["at"][:19], entry["user"], entry["question"][:80], sources)
    Console().print(table)

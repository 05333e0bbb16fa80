"""`ragdesk users ...` and `ragdesk audit`: the admin's side of sign-in and the audit log."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ingest.cli_support import JsonOption, reported_errors
from rag_core.access.audit import filter_audit, read_audit
from rag_core.settings import load_settings

users_app = typer.Typer(help="Users who may sign in to the chat.", no_args_is_help=True)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ -).")],
    groups: Annotated[str, typer.Option(help="Comma-separated groups, e.g. hr,finance.")] = "",
    password: Annotated[
        str | None, typer.Option(help="Password (asked for, hidden, when absent).")
    ] = None,
    admin: Annotated[
        bool, typer.Option("--admin/--no-admin", help="May add documents, read audit/feedback.")
    ] = False,
) -> None:
    """Add a user, or set an existing user's password, groups and admin role."""
    from rag_core.access.users import add_user

    with reported_errors():
        settings = load_settings()
        if password is None:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        user = add_user(settings.users_path, name, password, groups.split(","), admin)
    role = "admin" if user.admin else "user"
    typer.echo(
        f"{user.name} ({role}): groups {', '.join(user.groups) or '(none)'} "
        f"in {settings.users_path}"
    )


@users_app.command("list")
def users_list() -> None:
    """Users and their groups (never the password hashes)."""
    import yaml

    with reported_errors(OSError, yaml.YAMLError):
        path = load_settings().users_path
        data = yaml.safe_load(path.read_text()) if path.is_file() else {}
    table = Table("user", "groups", "admin", header_style="bold")
    for name, entry in sorted(((data or {}).get("users") or {}).items()):
        entry = entry or {}
        admin = "yes" if entry.get("admin") is True else ""
        table.add_row(name, ", ".join(entry.get("groups") or []), admin)
    Console().print(table)


def audit(
    last: Annotated[int, typer.Option(help="Show the last N entries.")] = 20,
    user: Annotated[str | None, typer.Option(help="Only this user's entries.")] = None,
    since: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="From this day (UTC).")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Up to this day (UTC).")
    ] = None,
    text: Annotated[
        str | None, typer.Option(help="Words in the question, answer or file names.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Who asked what and which sources they were shown (the audit log; --json: one entry
    a line)."""
    with reported_errors(OSError):
        entries = filter_audit(
            read_audit(load_settings().audit_path),
            user=user,
            since=since.date() if since else None,
            until=until.date() if until else None,
            text=text,
        )[-last:]
    if as_json:
        for entry in entries:
            typer.echo(json.dumps(entry, ensure_ascii=False))
        return
    table = Table("at", "user", "question", "sources shown", header_style="bold")
    for entry in entries:
        sources = ", ".join(sorted({s["source"] for s in entry["sources"]}))
        table.add_row(entry["at"][:19], entry["user"], entry["question"][:80], sources)
    Console().print(table)

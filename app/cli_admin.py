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
key_app = typer.Typer(
    help="API keys: each one lets a program ask as one user (`ragdesk serve-api`).",
    no_args_is_help=True,
)
users_app.add_typer(key_app, name="key")


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


@key_app.command("create")
def key_create(
    name: Annotated[str, typer.Argument(help="The user the key asks as.")],
    label: Annotated[str, typer.Option(help="What the key is for, e.g. 'teams bot'.")] = "",
) -> None:
    """Make a key for a user (of the users file, or the directory with RAGDESK_AUTH=ldap).
    The key is printed once: only its hash is kept."""
    from rag_core.access.api_keys import ApiKeyStore
    from rag_core.access.callers import named_user
    from rag_core.types import RagdeskError

    with reported_errors() as console:
        settings = load_settings()
        user = named_user(settings, name)
        if user is None:
            where = settings.ldap_url if settings.auth == "ldap" else settings.users_path
            raise RagdeskError(f"no user {name!r} in {where}")
        record, key = ApiKeyStore(settings.api.keys_path).create(user.name, label)
    console.print(
        f"key {record.id} for {user.name} (groups {', '.join(user.search_groups)}); "
        "copy it now, it is not shown again:",
        soft_wrap=True,
    )
    typer.echo(key)


@key_app.command("list")
def key_list(
    user: Annotated[str | None, typer.Option(help="Only this user's keys.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Keys (ids, owners, when used; never the keys themselves)."""
    from dataclasses import asdict

    from rag_core.access.api_keys import ApiKeyStore

    with reported_errors(OSError):
        keys = ApiKeyStore(load_settings().api.keys_path).list_keys(user)
    if as_json:
        typer.echo(json.dumps([asdict(k) | {"active": k.active} for k in keys]))
        return
    table = Table("id", "user", "label", "created", "last used", "revoked", header_style="bold")
    for key in keys:
        table.add_row(
            key.id,
            key.user,
            key.label,
            key.created_at[:16],
            (key.last_used_at or "")[:16],
            (key.revoked_at or "")[:16],
        )
    Console().print(table)


@key_app.command("revoke")
def key_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (or the key).")]) -> None:
    """Revoke a key: the next request with it gets 401."""
    from rag_core.access.api_keys import ApiKeyStore
    from rag_core.types import RagdeskError

    with reported_errors(OSError):
        if not ApiKeyStore(load_settings().api.keys_path).revoke(key_id):
            raise RagdeskError(f"no active key {key_id!r} (see `ragdesk users key list`)")
    typer.echo(f"revoked {key_id[:16]}")


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

"""Who a named caller is under the configured sign-in, with their groups as of now: the
command line's `--user`, and the HTTP API's key owners. The same rules as the chat's
sign-in, without a password (the name was vouched for another way: a key, the shell)."""

from __future__ import annotations

from rag_core.access.ldap_directory import LdapDirectory
from rag_core.access.users import User, find_user, local_user
from rag_core.settings import Settings


def named_user(
    settings: Settings, name: str, directory: LdapDirectory | None = None
) -> User | None:
    """The user called `name`, None when there is none.

    ldap: the directory, through the service account (groups re-read every
    RAGDESK_LDAP_CACHE_S, so a removal takes effect within that time); password: the users
    file; header: the users file, or no groups (public documents only), as the chat does;
    open: the local user (RAGDESK_GROUPS, admin), or a user of the users file."""
    if settings.auth == "ldap":
        return (directory or LdapDirectory(settings)).lookup(name)
    if settings.auth == "open" and name == local_user(settings).name:
        return local_user(settings)
    found = find_user(settings.users_path, name)
    if found is None and settings.auth == "header":
        return User(name, ())
    return found

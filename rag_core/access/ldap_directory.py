"""Sign-in against the company directory (OpenLDAP, Active Directory) with ldap3.

The user's own name and password are bound over LDAPS or StartTLS (the certificate is
verified); a plain-text bind happens only with RAGDESK_LDAP_ALLOW_PLAIN. Their groups are
read over that same connection, from `memberOf` or a group search, nested groups followed,
and turned into ragdesk groups by the group map. Every sign-in asks the directory afresh, so
a user removed from a group loses its documents at their next sign-in. A directory that
cannot be reached fails closed with a message saying so; it is never mistaken for a wrong
password and never falls back to anything.

Without the password (`ragdesk ask --user`, the chat's periodic re-check) a read-only
service account looks the user up; those answers are cached for RAGDESK_LDAP_CACHE_S.
"""

from __future__ import annotations

import re
import ssl
import threading
import time
from collections.abc import Iterable

from ldap3 import BASE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException, LDAPSocketOpenError, LDAPStartTLSError
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from rag_core.access.group_map import GroupMap, load_group_map
from rag_core.access.users import NAME_PATTERN, User
from rag_core.settings import Settings
from rag_core.types import ConfigurationError, RagdeskError

MAX_GROUPS = 1000  # nested expansion stops here (a group loop or a runaway tree)
MAX_DEPTH = 10


class DirectoryUnavailable(RagdeskError):
    """The directory could not be asked: nobody is let in until it answers again."""


class LdapDirectory:
    def __init__(self, settings: Settings, group_map: GroupMap | None = None) -> None:
        if not settings.ldap_url or not settings.ldap_user_dn:
            raise ConfigurationError("LDAP sign-in needs RAGDESK_LDAP_URL and RAGDESK_LDAP_USER_DN")
        self._settings = settings
        self._map = group_map or load_group_map(settings.group_map_path)
        url = settings.ldap_url
        self._ldaps = url.lower().startswith("ldaps://")
        self._start_tls = not self._ldaps and settings.ldap_start_tls
        if not self._ldaps and not self._start_tls and not settings.ldap_allow_plain:
            raise ConfigurationError(
                "refusing a plain-text LDAP bind: use ldaps://, StartTLS, or set "
                "RAGDESK_LDAP_ALLOW_PLAIN=true"
            )
        tls = Tls(
            validate=ssl.CERT_REQUIRED,
            ca_certs_file=str(settings.ldap_ca_file) if settings.ldap_ca_file else None,
            version=ssl.PROTOCOL_TLS_CLIENT,
        )
        self._server = Server(
            url, use_ssl=self._ldaps, tls=tls, connect_timeout=settings.ldap_timeout_s
        )
        self._cache: dict[str, tuple[float, User | None]] = {}
        self._lock = threading.Lock()

    # -- connections -----------------------------------------------------------------

    def _connect(self, dn: str, password: str) -> Connection | None:
        """A bound connection, None for wrong credentials; DirectoryUnavailable otherwise."""
        conn = Connection(
            self._server,
            user=dn,
            password=password,
            read_only=True,
            receive_timeout=max(1, round(self._settings.ldap_timeout_s)),  # whole seconds
            raise_exceptions=False,
        )
        where = self._settings.ldap_url
        try:
            conn.open()
            if self._start_tls and not conn.start_tls():
                raise DirectoryUnavailable(
                    f"the directory {where} refused StartTLS ({conn.result.get('description')}); "
                    "passwords are not sent without encryption"
                )
            if conn.bind():
                return conn
        except (LDAPStartTLSError, LDAPSocketOpenError) as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise DirectoryUnavailable(
                    f"the directory {where} presented a certificate that is not trusted (set "
                    f"RAGDESK_LDAP_CA_FILE to the CA that signed it): {exc}"
                ) from exc
            raise DirectoryUnavailable(f"the directory {where} cannot be reached: {exc}") from exc
        except LDAPException as exc:
            raise DirectoryUnavailable(f"the directory {where} failed: {exc}") from exc
        result = conn.result or {}
        conn.unbind()
        if result.get("result") == 49:  # invalidCredentials: wrong password or no such user
            return None
        raise DirectoryUnavailable(
            f"the directory {where} refused the sign-in: {result.get('description')} "
            f"{result.get('message') or ''}".strip()
        )

    def _bind_name(self, name: str) -> str:
        template = self._settings.ldap_user_dn
        is_dn = "=" in template.split("{user}", 1)[0] or "," in template
        return template.replace("{user}", escape_rdn(name) if is_dn else name)

    # -- sign-in and lookup ----------------------------------------------------------

    def authenticate(self, name: str, password: str) -> User | None:
        """The user with their current groups, or None for a wrong name or password.
        Raises DirectoryUnavailable when the directory cannot answer."""
        name = name.strip()
        if not password or not re.match(NAME_PATTERN, name):
            return None  # an empty password would be an anonymous bind that "succeeds"
        conn = self._connect(self._bind_name(name), password)
        if conn is None:
            return None
        try:
            user = self._user(conn, name)
        except LDAPException as exc:
            raise DirectoryUnavailable(f"reading groups from the directory failed: {exc}") from exc
        finally:
            conn.unbind()
        with self._lock:
            self._cache[name.lower()] = (time.monotonic(), user)
        return user

    def lookup(self, name: str) -> User | None:
        """A user's groups without their password (service account); cached briefly.
        None: no such user in the directory."""
        settings = self._settings
        if not settings.ldap_bind_dn or not settings.ldap_bind_password:
            raise ConfigurationError(
                "looking up directory users needs a read-only service account: set "
                "RAGDESK_LDAP_BIND_DN and RAGDESK_LDAP_BIND_PASSWORD"
            )
        key = name.strip().lower()
        with self._lock:
            cached = self._cache.get(key)
        if cached and time.monotonic() - cached[0] < settings.ldap_cache_s:
            return cached[1]
        if not re.match(NAME_PATTERN, name.strip()):
            return None
        conn = self._connect(settings.ldap_bind_dn, settings.ldap_bind_password)
        if conn is None:
            raise DirectoryUnavailable("the directory refused the service account's password")
        try:
            user = self._user(conn, name.strip(), require_entry=True)
        except LDAPException as exc:
            raise DirectoryUnavailable(f"reading groups from the directory failed: {exc}") from exc
        finally:
            conn.unbind()
        with self._lock:
            self._cache[key] = (time.monotonic(), user)
        return user

    # -- groups ----------------------------------------------------------------------

    def _user(self, conn: Connection, name: str, require_entry: bool = False) -> User | None:
        settings = self._settings
        query = settings.ldap_user_filter.replace("{user}", escape_filter_chars(name))
        conn.search(
            settings.ldap_base_dn,
            query,
            SUBTREE,
            attributes=["memberOf"] if settings.ldap_group_source == "memberof" else [],
            size_limit=2,
        )
        entries = [e for e in conn.response or [] if e.get("type") == "searchResEntry"]
        if len(entries) != 1:
            if require_entry:
                return None
            raise DirectoryUnavailable(
                f"the directory has {len(entries)} entries for {name!r} under "
                f"{settings.ldap_base_dn!r} ({query}): check RAGDESK_LDAP_USER_FILTER"
            )
        entry = entries[0]
        if settings.ldap_group_source == "memberof":
            direct = _values(entry, "memberOf")
            outside = self._expand_memberof(conn, direct)
        else:
            outside = self._expand_search(conn, entry["dn"])
        return User(name, self._map.ragdesk_groups(outside), self._map.is_admin(outside))

    def _expand_memberof(self, conn: Connection, direct: Iterable[str]) -> set[str]:
        """The groups a user is in, directly or through groups that are members of groups."""
        found: set[str] = set()
        frontier = {dn for dn in direct}
        for _ in range(MAX_DEPTH):
            frontier -= found
            if not frontier or len(found) > MAX_GROUPS:
                break
            found |= frontier
            parents: set[str] = set()
            for dn in frontier:
                conn.search(dn, "(objectClass=*)", BASE, attributes=["memberOf"])
                for entry in conn.response or []:
                    if entry.get("type") == "searchResEntry":
                        parents.update(_values(entry, "memberOf"))
            frontier = parents
        return found

    def _expand_search(self, conn: Connection, user_dn: str) -> set[str]:
        """Groups with the user as member, then groups with those groups as member, ..."""
        template = self._settings.ldap_group_filter
        found: set[str] = set()
        frontier = {user_dn}
        for _ in range(MAX_DEPTH):
            if not frontier or len(found) > MAX_GROUPS:
                break
            terms = "".join(template.replace("{dn}", escape_filter_chars(dn)) for dn in frontier)
            conn.search(self._settings.ldap_base_dn, f"(|{terms})", SUBTREE, attributes=[])
            groups = {
                entry["dn"]
                for entry in conn.response or []
                if entry.get("type") == "searchResEntry"
            }
            frontier = groups - found
            found |= groups
        return found


def _values(entry: dict, attribute: str) -> list[str]:
    attributes = entry.get("attributes") or {}
    for key, value in attributes.items():
        if key.lower() == attribute.lower():
            return [str(v) for v in (value if isinstance(value, list) else [value])]
    return []

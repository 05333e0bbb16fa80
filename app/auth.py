"""Who is using the chat: open single-user mode, password or directory (LDAP) sign-in, or a
proxy's header.

Sessions live in the browser session and expire after RAGDESK_SESSION_MINUTES without
activity; failed sign-ins are limited per user name (and per address). A directory that
cannot be reached lets nobody in and says so. With a directory service account, a signed-in
user's groups are re-read every RAGDESK_LDAP_CACHE_S, so removal from a group takes effect
within that time even mid-session.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Mapping

import streamlit as st

from app.i18n import LANGUAGE_KEY, N_, _, ngettext
from rag_core.access.ldap_directory import DirectoryUnavailable, LdapDirectory
from rag_core.access.users import User, find_user, local_user, verify_password
from rag_core.settings import Settings
from rag_core.types import RagdeskError

SESSION_KEY = "signed_in"


class LoginThrottle:
    """At most `max_failures` failed sign-ins per key within `window_s`."""

    def __init__(self, max_failures: int, window_s: float) -> None:
        self._max, self._window = max_failures, window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and now - failures[0] > self._window:
            failures.popleft()
        return failures

    def retry_after(self, key: str) -> float:
        """Seconds until `key` may try again (0: now)."""
        now = time.monotonic()
        with self._lock:
            failures = self._recent(key, now)
            if len(failures) < self._max:
                return 0.0
            return self._window - (now - failures[0])

    def failed(self, key: str) -> None:
        with self._lock:
            self._recent(key, time.monotonic()).append(time.monotonic())

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


@st.cache_resource(show_spinner=False)
def _throttle(max_failures: int, window_minutes: int) -> LoginThrottle:
    return LoginThrottle(max_failures, window_minutes * 60)


def request_headers() -> Mapping[str, str]:
    return st.context.headers or {}


@st.cache_resource(show_spinner=False)
def _directory(key: str, _settings: Settings) -> LdapDirectory:
    return LdapDirectory(_settings)


def directory(settings: Settings) -> LdapDirectory:
    """One directory client per configuration (its lookup cache is shared by sessions);
    the group map is read again when its file changes."""
    mapping = settings.group_map_path
    stamp = mapping.stat().st_mtime_ns if mapping.is_file() else 0
    ldap = {k: v for k, v in settings.model_dump().items() if k.startswith("ldap_")}
    return _directory(json.dumps([ldap, str(mapping), stamp], default=str), settings)


DIRECTORY_DOWN = N_(
    "The company directory cannot be reached, so nobody can sign in right now. Try again in "
    "a few minutes; if this lasts, tell IT."
)


def current_user(settings: Settings) -> User:
    """The signed-in user; otherwise shows the sign-in form (or an error) and stops the run."""
    if settings.auth == "open":
        return local_user(settings)
    if settings.auth == "header":
        name = request_headers().get(settings.auth_header, "").strip()
        if not name:
            st.error(
                _(
                    "You are not signed in: this page must be opened through the company "
                    "portal. (No {header} header arrived from the reverse proxy.)"
                ).format(header=settings.auth_header)
            )
            st.stop()
        found = find_user(settings.users_path, name)
        return found or User(name, ())
    return _password_user(settings)


def _password_user(settings: Settings) -> User:
    session = st.session_state.get(SESSION_KEY)
    now = time.time()
    if session is not None:
        if now - session["last_seen"] <= settings.session_minutes * 60:
            session["last_seen"] = now
            return _rechecked(settings, session)
        sign_out()
        st.session_state["sign_in_notice"] = N_("Your session expired. Please sign in again.")
    _sign_in_form(settings)
    st.stop()
    raise AssertionError("unreachable")


def _rechecked(settings: Settings, session: dict) -> User:
    """A directory user's groups, re-read when older than RAGDESK_LDAP_CACHE_S (needs the
    service account; without one they hold until the session ends)."""
    user: User = session["user"]
    if settings.auth != "ldap" or not settings.ldap_bind_dn:
        return user
    if time.time() - session.get("checked", 0) < settings.ldap_cache_s:
        return user
    try:
        current = directory(settings).lookup(user.name)
    except RagdeskError as exc:
        st.error(f"{_(DIRECTORY_DOWN)} ({exc})")
        st.stop()
        raise AssertionError("unreachable") from exc
    if current is None:
        sign_out()
        st.session_state["sign_in_notice"] = N_("Your account is no longer in the directory.")
        st.rerun()
    session.update(user=current, checked=time.time())
    return current


def _verify(settings: Settings, name: str, password: str) -> User | None:
    if settings.auth == "ldap":
        return directory(settings).authenticate(name, password)
    return verify_password(settings.users_path, name, password)


def _sign_in_form(settings: Settings) -> None:
    st.title(_("Sign in"))
    if settings.auth == "ldap":
        st.caption(_("With your company account: the same user name and password as on your PC."))
    notice = st.session_state.pop("sign_in_notice", None)
    if notice:
        st.info(_(notice))
    with st.form("sign_in"):
        name = st.text_input(_("User name"), key="sign_in_name")
        password = st.text_input(_("Password"), type="password", key="sign_in_password")
        submitted = st.form_submit_button(_("Sign in"))
    if not submitted:
        return
    throttle = _throttle(settings.login_max_failures, settings.login_lockout_minutes)
    keys = [f"user:{name.strip().lower()}"]
    if st.context.ip_address:
        keys.append(f"ip:{st.context.ip_address}")
    wait = max(throttle.retry_after(key) for key in keys)
    if wait > 0:
        minutes = max(round(wait / 60), 1)
        st.error(
            ngettext(
                "Too many failed sign-ins. Try again in {n} minute.",
                "Too many failed sign-ins. Try again in {n} minutes.",
                minutes,
            ).format(n=minutes)
        )
        return
    try:
        user = _verify(settings, name.strip(), password)
    except DirectoryUnavailable as exc:
        st.error(f"{_(DIRECTORY_DOWN)} ({exc})")
        return
    except RagdeskError as exc:
        st.error(
            _("Sign-in is not configured correctly: {problem}. Ask IT to fix the settings.").format(
                problem=exc
            )
        )
        return
    if user is None:
        for key in keys:
            throttle.failed(key)
        st.error(_("Wrong user name or password."))
        return
    for key in keys:
        throttle.succeeded(key)
    now = time.time()
    st.session_state[SESSION_KEY] = {"user": user, "last_seen": now, "checked": now}
    st.rerun()


def sign_out() -> None:
    """Forget the user and everything they saw in this browser session (not the language
    the reader chose)."""
    for key in list(st.session_state.keys()):
        if key != LANGUAGE_KEY:
            del st.session_state[key]

"""The chat's language: `_("text")` in the language of this browser session.

The session's language is chosen once, from RAGDESK_LANGUAGE (auto: the browser's
Accept-Language), and then by the reader with the switch in the sidebar. Outside a
Streamlit run (the CLI, tests of helpers) `_` speaks the source language, English.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from rag_core.i18n import (
    LANGUAGES,
    N_,
    NATIVE_NAMES,
    SOURCE_LANGUAGE,
    interface_language,
    translations,
)

__all__ = ["N_", "_", "bound_gettext", "choose_language", "language", "language_switch", "ngettext"]

LANGUAGE_KEY = "language"


def _in_streamlit_run() -> bool:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return get_script_run_ctx(suppress_warning=True) is not None


def language() -> str:
    """This session's language (the source language outside a Streamlit run)."""
    if not _in_streamlit_run():
        return SOURCE_LANGUAGE
    chosen = st.session_state.get(LANGUAGE_KEY)
    return chosen if chosen in LANGUAGES else SOURCE_LANGUAGE


def _(message: str) -> str:
    return translations(language()).gettext(message)


def bound_gettext() -> Callable[[str], str]:
    """`_` fixed to this run's language, for a widget's format_func: Streamlit (and its
    AppTest) may call that after the run."""
    return translations(language()).gettext


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(language()).ngettext(singular, plural, n)


def choose_language(setting: str) -> str:
    """Settle this session's language on its first run (setting, else Accept-Language)."""
    if st.session_state.get(LANGUAGE_KEY) not in LANGUAGES:
        headers = st.context.headers or {}
        st.session_state[LANGUAGE_KEY] = interface_language(setting, headers.get("Accept-Language"))
    return st.session_state[LANGUAGE_KEY]


def language_switch() -> None:
    """English | Español, in the sidebar; a change re-runs the page in that language."""
    st.radio(
        _("Language"),
        LANGUAGES,
        format_func=NATIVE_NAMES.__getitem__,
        key=LANGUAGE_KEY,
        horizontal=True,
        label_visibility="collapsed",
    )

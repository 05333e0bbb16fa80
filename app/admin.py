"""The admin's pages in the chat: the audit log (filtered by user, days and words), the
feedback users gave, and the service's live numbers. Shown only to admins; everyone else
only asks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import streamlit as st

from app.feedback import FeedbackLog
from app.i18n import N_, _, bound_gettext
from rag_core.access.audit import filter_audit, read_audit
from rag_core.access.users import User
from rag_core.observability import telemetry
from rag_core.settings import Settings

ASK, AUDIT, FEEDBACK, SERVICE = N_("Ask"), N_("Audit log"), N_("Feedback"), N_("Service")
EVERYONE = N_("everyone")  # the audit page's "any user" choice


def choose_view(user: User) -> str:
    """The sidebar's page switch: admins pick a page; anyone else is on Ask."""
    if not user.admin:
        return ASK
    return st.radio(
        _("Page"),
        [ASK, AUDIT, FEEDBACK, SERVICE],
        format_func=bound_gettext(),
        key="view",
        horizontal=True,
        label_visibility="collapsed",
    )


def _day(iso: str) -> date:
    return datetime.fromisoformat(iso).astimezone(UTC).date()


def _sources(entry: dict[str, Any]) -> str:
    return ", ".join(sorted({str(s.get("source")) for s in entry.get("sources") or []}))


def audit_page(settings: Settings, user: User) -> None:
    """Who asked what and was shown which sources."""
    if not user.admin:  # never reached through the page switch; a guard all the same
        st.error(_("Only admins can read the audit log."))
        return
    st.title(_(AUDIT))
    entries = read_audit(settings.audit_path)
    if not entries:
        st.info(_("Nobody has asked anything yet."))
        return
    today = datetime.now(UTC).date()
    first = min(_day(e["at"]) for e in entries)
    names = sorted({e["user"] for e in entries})
    columns = st.columns([1, 1.3, 1.7])
    everyone = _(EVERYONE)
    who = columns[0].selectbox(
        _("User"),
        [EVERYONE, *names],
        format_func=lambda name: everyone if name == EVERYONE else name,
        key="audit_user",
    )
    span = columns[1].date_input(_("Days (UTC)"), value=(first, today), key="audit_days")
    text = columns[2].text_input(
        _("Words"), key="audit_text", placeholder=_("in questions, answers or file names")
    )
    days = list(span) if isinstance(span, list | tuple) else [span]
    since = days[0] if days else None
    until = days[1] if len(days) > 1 else since
    shown = filter_audit(
        entries, user=None if who == EVERYONE else who, since=since, until=until, text=text
    )
    st.caption(
        _("{shown} of {total} entries, newest first").format(shown=len(shown), total=len(entries))
    )
    rows = [
        {
            _("at (UTC)"): e["at"][:19].replace("T", " "),
            _("user"): e["user"],
            _("groups"): ", ".join(g for g in e.get("groups") or [] if g != "*"),
            _("question"): e.get("question", ""),
            _("sources shown"): _sources(e),
            _("refused"): bool(e.get("refused")),
            _("via"): e.get("channel", ""),
            _("answer"): e.get("answer", ""),
        }
        for e in reversed(shown)
    ]
    st.dataframe(rows, hide_index=True, width="stretch")


def feedback_page(log: FeedbackLog, user: User) -> None:
    """Thumbs up and down, with the question, answer and sources they were given on."""
    if not user.admin:
        st.error(_("Only admins can read the feedback."))
        return
    st.title(_(FEEDBACK))
    entries = log.entries()
    if not entries:
        st.info(_("No feedback yet."))
        return
    good = sum(1 for e in entries if e["rating"] == 1)
    columns = st.columns(2)
    columns[0].metric(_("Helpful"), good)
    columns[1].metric(_("Not helpful"), len(entries) - good)
    rows = [
        {
            _("at (UTC)"): e["at"][:19].replace("T", " "),
            _("user"): e["user"],
            _("rating"): "👍" if e["rating"] == 1 else "👎",
            _("question"): e["question"],
            _("answer"): e["answer"],
            _("sources"): ", ".join(sorted({str(s.get("source")) for s in e["sources"]})),
            _("model"): e["model"],
        }
        for e in reversed(entries)
    ]
    st.dataframe(rows, hide_index=True, width="stretch")


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s" if value < 10 else f"{value:.0f} s"


def service_page(settings: Settings, user: User) -> None:
    """What this chat process is doing and has done since it started: the numbers its
    Prometheus endpoint exports, for an admin without a Grafana."""
    if not user.admin:
        st.error(_("Only admins can see the service's numbers."))
        return
    st.title(_(SERVICE))
    numbers = telemetry.snapshot()
    refusals = numbers["refusals"]
    row = st.columns(4)
    row[0].metric(_("Questions"), f"{numbers['questions']:.0f}")
    row[1].metric(_("Not found"), f"{sum(refusals.values()):.0f}")
    row[2].metric(_("Answering now"), f"{numbers['answers_in_progress']:.0f}")
    row[3].metric(_("Waiting"), f"{numbers['queue_depth']:.0f}")
    row = st.columns(4)
    row[0].metric(_("First token, median"), _seconds(numbers["ttft_p50_s"]))
    row[1].metric(_("First token, 95%"), _seconds(numbers["ttft_p95_s"]))
    row[2].metric(_("Search, median"), _seconds(numbers["retrieval_p50_s"]))
    speed = numbers["tokens_per_s_p50"]
    row[3].metric(_("Tokens/s, median"), "–" if speed is None else f"{speed:.1f}")
    row = st.columns(4)
    row[0].metric(_("Wait for a slot, 95%"), _seconds(numbers["queue_wait_p95_s"]))
    row[1].metric(_("Turned away (busy)"), f"{numbers['rejected']:.0f}")
    row[2].metric(_("Model errors"), f"{numbers['model_errors']:.0f}")
    row[3].metric(_("Slots taken back"), f"{numbers['slots_reclaimed']:.0f}")
    if refusals:
        counts = ", ".join(f"{reason} {count:.0f}" for reason, count in sorted(refusals.items()))
        st.caption(
            _(
                "Not found, by cause: {counts} (not_found: nothing relevant enough; model: the "
                "model said so; injection: answer withheld)"
            ).format(counts=counts)
        )
    if settings.metrics_port is None:
        st.caption(
            _(
                "This process only, since it started. Set RAGDESK_METRICS_PORT to let "
                "Prometheus scrape these numbers (compose profile `monitoring` adds Prometheus "
                "and Grafana)."
            )
        )
    else:
        st.caption(
            _(
                "This process only, since it started. Prometheus scrapes {url}; the Grafana "
                "dashboard in deploy/grafana adds up every chat process."
            ).format(url=f"http://{settings.metrics_host}:{settings.metrics_port}/metrics")
        )

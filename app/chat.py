"""The conversation: past turns, the streamed answer, citations linked to their sources."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import streamlit as st

from app import rendering
from app.documents import OriginalFile, changed_since_indexed, original_file
from app.feedback import FeedbackEntry, FeedbackLog
from app.i18n import N_, _, language
from rag_core.access.audit import AuditLog
from rag_core.answering.answer import Answer, AnswerEngine, Turn, source_json
from rag_core.answering.prompt import not_found
from rag_core.answering.retrieval import Source
from rag_core.generation.admission import ahead_message

CLOSEST_SHOWN = 3
UNSUPPORTED_NOTE = N_(
    "Marked sentences (⚠) say something not found in the source they cite: check them "
    "against the passages below before relying on them."
)
SEARCH_ONLY_NOTE = N_("The answer model is unavailable, so here are the closest passages instead.")


@dataclass(slots=True)
class ChatEntry:
    question: str
    collection: str
    model_label: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    answer: Answer | None = None
    search_only: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ChatContext:
    """What rendering and answering need, passed in rather than looked up."""

    engine: AnswerEngine
    groups: list[str]
    top_k: int
    roots: list
    feedback: FeedbackLog
    model_available: bool
    user: str
    audit: AuditLog


def history(entries: list[ChatEntry]) -> list[Turn]:
    return [Turn(e.question, e.answer.text) for e in entries if e.answer and not e.error]


def render_entry(entry: ChatEntry, context: ChatContext) -> None:
    with st.chat_message("user"):
        st.text(entry.question)
    with st.chat_message("assistant"):
        render_answer(entry, context)


def render_answer(entry: ChatEntry, context: ChatContext) -> None:
    if entry.error:
        st.error(entry.error)
        return
    answer = entry.answer
    assert answer is not None
    if entry.search_only:
        st.warning(_(SEARCH_ONLY_NOTE))
        _closest_passages(entry, answer.sources, context)
    elif answer.refused:
        refusal = not_found(answer.language)  # the question's language, like the answer's
        st.markdown(f"**{refusal}**")
        if answer.text != refusal:  # withheld for following injected instructions
            st.markdown(answer.text)
        _closest_passages(entry, answer.sources, context)
    else:
        cited = [c.n for c in answer.citations]
        flagged = [(c.sentence, c.cited) for c in answer.unsupported]
        st.markdown(
            rendering.answer_html(answer.text, entry.id, cited, flagged), unsafe_allow_html=True
        )
        if flagged:
            st.caption(_(UNSUPPORTED_NOTE))
        _sources(entry, answer, context)
    st.caption(rendering.timing_caption(answer.timings, answer.refused or entry.search_only))
    _feedback(entry, context)


def _sources(entry: ChatEntry, answer: Answer, context: ChatContext) -> None:
    if not answer.citations:
        st.caption(_("The answer cites no source: check it against the passages below."))
    else:
        st.markdown("**{}**".format(_("Sources")))
    snippets = {c.n: c.snippet for c in answer.citations}
    for n in snippets:
        _source_block(entry, n, answer.sources[n - 1], snippets[n], context)
    others = [n for n in range(1, len(answer.sources) + 1) if n not in snippets]
    if others:
        label = _("Other passages the answer was written from ({n})").format(n=len(others))
        with st.expander(label):
            for n in others:
                _source_block(entry, n, answer.sources[n - 1], None, context)


def _closest_passages(entry: ChatEntry, sources: list[Source], context: ChatContext) -> None:
    if not sources:
        st.caption(_("No passage in this collection is related to the question."))
        return
    st.markdown(_("Closest passages found (not relevant enough to answer from):"))
    for n, source in enumerate(sources[:CLOSEST_SHOWN], start=1):
        _source_block(entry, n, source, None, context)


def _source_block(
    entry: ChatEntry, n: int, source: Source, highlight: str | None, context: ChatContext
) -> None:
    st.markdown(rendering.source_html(entry.id, n, source, highlight), unsafe_allow_html=True)
    original = original_file(source.source, context.roots)
    if original is None:
        st.caption(_("The original file is not available on this server."))
        return
    if changed_since_indexed(original, source.file_hash):
        st.caption(
            _("This file has changed since it was indexed: the download is the new version.")
        )
    st.download_button(
        _("Open {name}").format(name=original.name),
        data=_reader(original),
        file_name=original.name,
        mime=original.mime,
        key=f"dl-{entry.id}-{n}",
        on_click="ignore",
        icon=":material/description:",
    )


def _reader(original: OriginalFile) -> Callable[[], bytes]:
    return lambda: original.path.read_bytes()


def _feedback(entry: ChatEntry, context: ChatContext) -> None:
    st.feedback(
        "thumbs",
        key=f"fb-{entry.id}",
        on_change=_record_feedback,
        args=(entry, context.feedback, context.user),
    )


def _record_feedback(entry: ChatEntry, log: FeedbackLog, user: str) -> None:
    rating = st.session_state.get(f"fb-{entry.id}")
    if rating is None:
        log.remove(entry.id)
        return
    answer = entry.answer
    assert answer is not None
    log.record(
        FeedbackEntry(
            answer_id=entry.id,
            user=user,
            collection=entry.collection,
            model=entry.model_label,
            rating=int(rating),
            question=entry.question,
            answer=answer.text,
            sources=[source_json(n, s) for n, s in enumerate(answer.sources, start=1)],
        )
    )


def answer_live(entry: ChatEntry, previous: list[ChatEntry], context: ChatContext) -> None:
    """Ask, streaming the answer into the page as the model writes it."""
    turns = history(previous)
    with st.chat_message("user"):
        st.text(entry.question)
    with st.chat_message("assistant"):
        if not context.model_available:
            _query, retrieval, _refused = context.engine.retrieve(
                entry.question, context.groups, turns, context.top_k
            )
            entry.search_only = True
            entry.answer = Answer(entry.question, entry.question, sources=retrieval.sources)
            entry.answer.timings["retrieval_ms"] = retrieval.milliseconds
            return
        status = st.empty()
        status.caption(_("Searching the documents…"))
        results: list[Answer] = []
        shown: list[int] = []

        def waiting(ahead: int) -> None:  # every poll while in line
            if not reader_present():
                raise ReaderLeft("the reader left while waiting for an answer slot")
            if not shown or shown[-1] != ahead:
                shown.append(ahead)
                status.info(ahead_message(ahead, language()))

        stream = context.engine.stream(
            entry.question,
            context.groups,
            turns,
            context.top_k,
            on_wait=waiting,
            fallback_language=language(),
        )

        def pieces() -> Iterator[str]:
            for item in stream:
                if isinstance(item, Answer):
                    results.append(item)
                    return
                status.empty()
                yield item

        try:
            st.write_stream(pieces())
        finally:  # a reader who left stops the run here: free the answer slot at once
            stream.close()
        entry.answer = results[0] if results else None
        if entry.answer is None:
            entry.error = _("The answer was interrupted. Please ask again.")


class ReaderLeft(Exception):
    """The browser session ended while its question waited in line."""


def reader_present() -> bool:
    """Is this run's browser session still connected? (A closed tab's run is stopped by
    Streamlit at its next page update; in line there is none, so the gate asks here.)"""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None or not Runtime.exists():
        return True
    return Runtime.instance().is_active_session(ctx.session_id)


def audit(entry: ChatEntry, context: ChatContext) -> None:
    """One audit line per question: who, what, which sources were shown, what was said."""
    answer = entry.answer
    shown = answer.sources if answer else []
    context.audit.record(
        user=context.user,
        groups=context.groups,
        collection=entry.collection,
        event="question",
        question=entry.question,
        answer=entry.error or (answer.text if answer and not entry.search_only else ""),
        refused=answer.refused if answer else None,
        sources=[source_json(n, s) for n, s in enumerate(shown, start=1)],
    )

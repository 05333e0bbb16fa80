"""The ragdesk chat: `streamlit run app/streamlit_app.py` (what `scripts/run` starts).

Presentation only: searching, answering and indexing are `rag_core`'s and `ingest`'s.
"""

from __future__ import annotations

import streamlit as st

from app import admin, auth, chat, conversation_list, i18n, rendering, resources, sidebar
from app.documents import document_roots
from app.i18n import N_, _
from ingest.watch import read_worker_status, worker_status_path
from rag_core.access.users import User
from rag_core.answering.assembly import assemble
from rag_core.answering.retrieval import search_spec
from rag_core.settings import Settings, load_settings
from rag_core.types import ConfigurationError

TITLE = N_("Ask the documents")


def _stop_with(message: str) -> None:
    st.error(message)
    st.stop()


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        i18n.choose_language("auto")  # the settings that name a language are what failed
        _stop_with(
            _("ragdesk is not configured correctly: {problem}. Ask IT to fix the settings.").format(
                problem=exc
            )
        )
        raise  # unreachable: st.stop() ends the run


def _who(user: User, settings: Settings) -> None:
    if settings.auth == "open":
        st.caption(
            _(
                "Single-user mode: no sign-in; anyone who can open this page sees the same "
                "documents."
            )
        )
        return
    groups = ", ".join(user.groups) or _("no groups")
    role = _(", admin") if user.admin else ""
    st.caption(
        _("Signed in as **{name}** ({groups}{role})").format(
            name=user.name, groups=groups, role=role
        )
    )
    if settings.auth in ("password", "ldap") and st.button(_("Sign out"), key="sign_out"):
        auth.sign_out()
        st.rerun()


def main() -> None:
    st.set_page_config(page_title="ragdesk", page_icon=":material/quick_reference_all:")
    base = _settings()
    i18n.choose_language(base.language)
    with st.sidebar:
        st.title("ragdesk")
        i18n.language_switch()
    resources.start_metrics(base)
    user = auth.current_user(base)
    kept = resources.get_conversations(base)
    conversation_list.restore(kept, user.name)

    with st.sidebar:
        _who(user, base)
        view = admin.choose_view(user)
    if view == admin.AUDIT:
        admin.audit_page(base, user)
        return
    if view == admin.FEEDBACK:
        admin.feedback_page(resources.get_feedback_log(str(base.feedback_path.resolve())), user)
        return
    if view == admin.SERVICE:
        admin.service_page(base, user)
        return
    with st.sidebar:
        try:
            available = resources.collections(base)
        except Exception as exc:
            _stop_with(resources.friendly(exc, base))
        collection = sidebar.pick_collection(available, base.collection)
        settings = base.model_copy(update={"collection": collection})
        conversation = conversation_list.current(kept, user.name, collection)
        conversation_list.new_chat_button()
        try:
            store = resources.get_store(settings)
            embedder = resources.get_embedder(settings, store.meta())
            english = resources.get_english_embedder(settings, store.meta())
        except Exception as exc:
            _stop_with(resources.friendly(exc, settings))
        model, model_error = None, None
        try:
            model = resources.get_model(settings)
        except Exception as exc:
            model_error = resources.friendly(exc, settings)
        info = resources.model_info(model) if model else None
        chunks = sidebar.show_status(
            store, info.label if info else _("unavailable"), info.production if info else None
        )
        sidebar.show_worker(read_worker_status(worker_status_path(settings, collection)))
        choices = sidebar.search_choices(settings)
        if user.admin:  # only admins add documents; everyone else asks
            sidebar.upload_form(
                settings, store, embedder, None if settings.auth == "open" else user, english
            )
        conversation_list.sidebar(kept, user.name, conversation.id if conversation else None)

    st.html(rendering.STYLE)
    st.title(_(TITLE))
    if model_error:
        st.error(model_error)
    elif info and info.notice:
        st.info(info.notice)
    if chunks == 0:
        st.info(
            _(
                "The collection “{collection}” has no documents yet. Add some with "
                "“Add documents” in the sidebar, or ask IT to run `ingest FOLDER`."
            ).format(collection=collection)
        )

    spec = search_spec(
        settings.model_copy(update={"retrieval_mode": "hybrid" if choices.hybrid else "dense"})
    )
    gate = resources.get_gate(settings, model) if model else None
    answering = assemble(
        settings, store, embedder=embedder, english=english, model=model, gate=gate, spec=spec
    )
    context = chat.ChatContext(
        engine=answering.engine,
        groups=user.search_groups,
        user=user.name,
        audit=answering.audit,
        top_k=choices.top_k,
        roots=document_roots(settings, store.meta()),
        feedback=resources.get_feedback_log(str(settings.feedback_path.resolve())),
        model_available=model is not None,
    )
    entries = conversation_list.entries(kept, user.name, conversation)
    for entry in entries:
        chat.render_entry(entry, context)

    question = st.chat_input(
        _("Ask a question about the documents"),
        disabled=chunks == 0,
        max_chars=settings.conversations.max_question_chars,
    )
    if question and question.strip():
        entry = chat.ChatEntry(question.strip(), collection, info.label if info else "search only")
        try:
            chat.answer_live(entry, entries, context)
        except Exception as exc:
            entry.error = resources.friendly(exc, settings)
        chat.audit(entry, context)
        conversation_list.keep(kept, user.name, conversation, entry)
        st.rerun()


main()

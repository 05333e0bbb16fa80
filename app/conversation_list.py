"""The sidebar's conversations: the signed-in user's own (newest first), reopened with the
answers and citations they were shown; rename, delete, New chat. The open conversation's
id is in the page address (`?c=`), so a reload reopens it; an id that is not the user's
opens nothing.

The words shown are collected here, marked for the catalogs and translated where shown."""

from __future__ import annotations

import streamlit as st

from app.chat import ChatEntry
from app.i18n import N_, _
from rag_core.conversations.records import answer_from_record
from rag_core.conversations.store import Conversation, ConversationStore

NEW_CHAT = N_("New chat")
HEADING = N_("Conversations")
NONE_YET = N_("Your questions and answers are kept here.")
MANAGE = N_("Rename or delete this conversation")
TITLE_LABEL = N_("Title")
RENAME = N_("Rename")
DELETE = N_("Delete conversation")
NOT_YOURS = N_("That conversation cannot be opened: it does not exist or is not yours.")
SHOWN = 30  # the newest; older ones stay kept until RAGDESK_CONVERSATION_DAYS

CURRENT = "conversation"  # session key: the open conversation's id (None: a new chat)
PARAM = "c"  # its address parameter


def _select(conversation: Conversation) -> None:
    st.session_state[CURRENT] = conversation.id
    st.query_params[PARAM] = conversation.id


def _open(conversation: Conversation) -> None:
    """Before the collection picker is drawn (a callback, a session's first run): the
    picker follows the conversation's collection."""
    st.session_state["collection"] = conversation.collection
    _select(conversation)


def start_new() -> None:
    st.session_state[CURRENT] = None
    st.query_params.pop(PARAM, None)


def restore(store: ConversationStore, user: str) -> None:
    """At a session's first run: reopen the conversation the address names, if it is the
    user's (a reload, or a link of their own)."""
    if CURRENT in st.session_state:
        return
    st.session_state[CURRENT] = None
    wanted = st.query_params.get(PARAM)
    if not wanted:
        return
    found = store.get(user, wanted)
    if found is None:
        st.query_params.pop(PARAM, None)
        st.session_state["conversation_notice"] = NOT_YOURS
        return
    _open(found)


def current(store: ConversationStore, user: str, collection: str) -> Conversation | None:
    """The open conversation; switching to another collection starts a new chat."""
    wanted = st.session_state.get(CURRENT)
    found = store.get(user, wanted) if wanted else None
    if found is None or found.collection != collection:
        if wanted:
            start_new()
        return None
    return found


def _when(iso: str) -> str:
    return iso[:16].replace("T", " ") + " UTC"


def new_chat_button() -> None:
    st.button(
        _(NEW_CHAT),
        icon=":material/add_comment:",
        width="stretch",
        key="new_chat",
        on_click=start_new,
    )


def sidebar(store: ConversationStore, user: str, open_id: str | None) -> None:
    """The user's conversations, newest first; the open one highlighted and manageable."""
    notice = st.session_state.pop("conversation_notice", None)
    if notice:
        st.warning(_(notice))
    st.subheader(_(HEADING))
    kept = store.recent(user, SHOWN)
    if not kept:
        st.caption(_(NONE_YET))
    for conversation in kept:
        st.button(
            conversation.title,
            key=f"conv-{conversation.id}",
            width="stretch",
            type="primary" if conversation.id == open_id else "secondary",
            on_click=_open,
            args=(conversation,),
            help=f"{conversation.collection} · {_when(conversation.updated_at)}",
        )
    if open_id:
        _manage(store, user, open_id)


def _manage(store: ConversationStore, user: str, open_id: str) -> None:
    with st.expander(_(MANAGE)):
        title = st.text_input(_(TITLE_LABEL), key=f"title-{open_id}", max_chars=200)
        if st.button(_(RENAME), key="rename_conversation", disabled=not title.strip()):
            store.rename(user, open_id, title)
            st.rerun()
        if st.button(_(DELETE), key="delete_conversation", icon=":material/delete:"):
            store.delete(user, open_id)
            start_new()
            st.rerun()


def entries(store: ConversationStore, user: str, conversation: Conversation | None) -> list:
    """The open conversation's turns, as the chat renders them."""
    if conversation is None:
        return []
    return [
        ChatEntry(
            question=m.question,
            collection=conversation.collection,
            model_label=m.model,
            id=m.id,
            answer=answer_from_record(m.answer) if m.answer else None,
            search_only=m.search_only,
            error=m.error,
        )
        for m in store.messages(user, conversation.id)
    ]


def keep(
    store: ConversationStore, user: str, conversation: Conversation | None, entry: ChatEntry
) -> None:
    """Store an asked question with what was shown for it; the first one starts the
    conversation (titled by it), which becomes the open one."""
    from rag_core.conversations.records import answer_record

    fields = {
        "question": entry.question,
        "model": entry.model_label,
        "channel": "chat",
        "answer": answer_record(entry.answer) if entry.answer else None,
        "search_only": entry.search_only,
        "error": entry.error,
        "message_id": entry.id,
    }
    if conversation is not None and store.add_message(user, conversation.id, **fields):
        return
    # a new chat, or the open one was deleted meanwhile (another tab, the API)
    conversation = store.create(user, entry.collection, entry.question)
    store.add_message(user, conversation.id, **fields)
    _select(conversation)  # the picker shows its collection already

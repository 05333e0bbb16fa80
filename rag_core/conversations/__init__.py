"""Kept conversations: each user's questions and the answers they were shown, shared by the
chat and the HTTP API (a conversation started in one continues in the other)."""

from rag_core.conversations.records import answer_from_record, answer_record
from rag_core.conversations.store import (
    Conversation,
    ConversationStore,
    Message,
    title_from,
)

__all__ = [
    "Conversation",
    "ConversationStore",
    "Message",
    "answer_from_record",
    "answer_record",
    "title_from",
]

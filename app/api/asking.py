"""One question through the API: checked, answered by the chat's answer path with the
caller's groups, audited, and kept in the caller's conversation (when there is one)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from app.api.errors import ApiError
from app.api.runtime import ApiRuntime
from rag_core.access.users import User
from rag_core.answering.answer import Answer, Turn, source_json
from rag_core.answering.retrieval import Source
from rag_core.conversations.records import answer_from_record, answer_record
from rag_core.conversations.store import Conversation


@dataclass(frozen=True, slots=True)
class Question:
    user: User
    collection: str
    text: str
    history: list[Turn]
    conversation: Conversation | None
    k: int | None = None


def checked_question(runtime: ApiRuntime, text: str) -> str:
    question = text.strip()
    if not question:
        raise ApiError(422, "the question is empty")
    limit = runtime.settings.conversations.max_question_chars
    if len(question) > limit:
        raise ApiError(422, f"the question has {len(question):,} characters; at most {limit:,}")
    return question


def checked_collection(runtime: ApiRuntime, collection: str | None) -> str:
    name = collection or runtime.settings.collection
    if name not in runtime.collections():
        raise ApiError(404, f"no collection {name!r} (GET /v1/collections lists them)")
    return name


def owned_conversation(runtime: ApiRuntime, user: User, conversation_id: str) -> Conversation:
    """The caller's conversation; another user's id is answered like one that never was."""
    conversation = runtime.conversations.get(user.name, conversation_id)
    if conversation is None:
        raise ApiError(404, f"no conversation {conversation_id!r} of yours")
    return conversation


def kept_history(runtime: ApiRuntime, user: User, conversation: Conversation) -> list[Turn]:
    """Past turns of a kept conversation, as the chat builds them (answered ones only)."""
    turns = []
    for message in runtime.conversations.messages(user.name, conversation.id):
        if message.answer is not None and not message.error:
            turns.append(Turn(message.question, answer_from_record(message.answer).text))
    return turns


def require_model(runtime: ApiRuntime) -> None:
    if runtime.model is None:
        raise ApiError(503, f"the answer model is unavailable: {runtime.model_error}")


def answer_stream(runtime: ApiRuntime, question: Question) -> Iterator[str | Answer]:
    """Pieces of the answer, then the `Answer`: rag_core's engine, the process's gate."""
    require_model(runtime)
    engine = runtime.answering(question.collection).engine
    return engine.stream(question.text, question.user.search_groups, question.history, question.k)


def finish(
    runtime: ApiRuntime, question: Question, answer: Answer | None, error: str | None = None
) -> None:
    """The audit line (always), and the turn kept in the conversation (when there is one)."""
    runtime.answering(question.collection).audit.record(
        user=question.user.name,
        groups=question.user.search_groups,
        collection=question.collection,
        event="question",
        question=question.text,
        answer=error or (answer.text if answer else ""),
        refused=answer.refused if answer else None,
        sources=[source_json(n, s) for n, s in enumerate(answer.sources if answer else [], 1)],
        channel="api",
    )
    if question.conversation is not None:
        runtime.conversations.add_message(
            question.user.name,
            question.conversation.id,
            question=question.text,
            model=runtime.model.label if runtime.model else "unavailable",
            channel="api",
            answer=answer_record(answer) if answer else None,
            error=error,
        )


def api_sources(sources: Sequence[Source], collection: str) -> list[dict[str, Any]]:
    """The passages answered from, each with the URL of its original file."""
    return [
        source_json(n, s)
        | {"id": s.id, "file_url": f"/v1/sources/{s.id}/file?collection={collection}"}
        for n, s in enumerate(sources, start=1)
    ]


def answer_body(answer: Answer, collection: str) -> dict[str, Any]:
    """ragdesk's answer fields: text with [n], citations (+ supported), sources, refused."""
    body = answer.to_json()
    body["sources"] = api_sources(answer.sources, collection)
    return body

"""ragdesk's own endpoints: ask, collections, conversations, original files, uploads,
health and metrics."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from app.api.asking import (
    Question,
    answer_body,
    answer_stream,
    checked_collection,
    checked_question,
    finish,
    kept_history,
    owned_conversation,
    require_model,
)
from app.api.errors import ApiError, from_ragdesk
from app.api.schemas import AskRequest, RenameRequest
from app.api.security import Admin, Caller, Runtime
from app.api.uploads import add_documents
from app.documents import document_roots, original_file
from rag_core.answering.answer import Answer, Turn
from rag_core.conversations.records import answer_from_record
from rag_core.types import RagdeskError

router = APIRouter()


@router.post("/v1/ask", tags=["ragdesk"], summary="Ask a question; answer with citations")
def ask(request: AskRequest, runtime: Runtime, user: Caller) -> dict[str, Any]:
    text = checked_question(runtime, request.question)
    require_model(runtime)
    if request.conversation_id and request.history is not None:
        raise ApiError(422, "give either conversation_id or history, not both")
    if request.conversation_id:
        conversation = owned_conversation(runtime, user, request.conversation_id)
        if request.collection and request.collection != conversation.collection:
            raise ApiError(
                422,
                f"conversation {conversation.id} is about collection {conversation.collection!r}",
            )
        collection = checked_collection(runtime, conversation.collection)
        history = kept_history(runtime, user, conversation)
    else:
        collection = checked_collection(runtime, request.collection)
        history = [Turn(t.question, t.answer) for t in request.history or []]
        conversation = runtime.conversations.create(user.name, collection, text)
    question = Question(user, collection, text, history, conversation, request.k)
    answer: Answer | None = None
    try:
        for item in answer_stream(runtime, question):
            if isinstance(item, Answer):
                answer = item
    except RagdeskError as exc:
        finish(runtime, question, None, str(exc))
        raise from_ragdesk(exc) from exc
    assert answer is not None
    finish(runtime, question, answer)
    return answer_body(answer, collection) | {
        "collection": collection,
        "conversation_id": conversation.id,
    }


@router.get("/v1/collections", tags=["ragdesk"], summary="Collections to ask")
def collections(runtime: Runtime, user: Caller) -> dict[str, Any]:
    default = runtime.settings.collection
    return {
        "default": default,
        "data": [{"id": c, "default": c == default} for c in runtime.collections()],
    }


@router.get("/v1/conversations", tags=["conversations"], summary="Your conversations")
def conversations(runtime: Runtime, user: Caller) -> dict[str, Any]:
    return {"data": [c.to_json() for c in runtime.conversations.recent(user.name)]}


@router.get("/v1/conversations/{conversation_id}", tags=["conversations"])
def conversation(conversation_id: str, runtime: Runtime, user: Caller) -> dict[str, Any]:
    """One of your conversations with its answers and citations as they were given."""
    found = owned_conversation(runtime, user, conversation_id)
    messages = []
    for message in runtime.conversations.messages(user.name, found.id):
        answer = answer_from_record(message.answer) if message.answer else None
        messages.append(
            {
                "id": message.id,
                "at": message.at,
                "channel": message.channel,
                "question": message.question,
                "error": message.error,
                **(answer_body(answer, found.collection) if answer else {}),
            }
        )
    return found.to_json() | {"messages": messages}


@router.patch("/v1/conversations/{conversation_id}", tags=["conversations"])
def rename_conversation(
    conversation_id: str, request: RenameRequest, runtime: Runtime, user: Caller
) -> dict[str, Any]:
    if not runtime.conversations.rename(user.name, conversation_id, request.title):
        raise ApiError(404, f"no conversation {conversation_id!r} of yours")
    return owned_conversation(runtime, user, conversation_id).to_json()


@router.delete("/v1/conversations/{conversation_id}", tags=["conversations"], status_code=204)
def delete_conversation(conversation_id: str, runtime: Runtime, user: Caller) -> Response:
    if not runtime.conversations.delete(user.name, conversation_id):
        raise ApiError(404, f"no conversation {conversation_id!r} of yours")
    return Response(status_code=204)


@router.get("/v1/sources/{source_id}/file", tags=["ragdesk"], summary="A source's original file")
def source_file(
    source_id: str, runtime: Runtime, user: Caller, collection: str | None = None
) -> FileResponse:
    """The file a cited passage comes from, when the caller may see that passage and the
    file lies inside the document roots (the chat's download rules)."""
    name = checked_collection(runtime, collection)
    missing = ApiError(404, f"no source {source_id!r} in {name!r} for you")
    try:
        point = str(uuid.UUID(source_id))
    except ValueError:
        raise missing from None
    store = runtime.store(name)
    payload = store.visible_payload(point, user.search_groups)
    if payload is None:  # unknown and forbidden look alike
        raise missing
    original = original_file(
        str(payload.get("source", "")), document_roots(runtime.settings_for(name), store.meta())
    )
    if original is None:
        raise ApiError(404, "the original file is not available on this server")
    runtime.answering(name).audit.record(
        user=user.name,
        groups=user.search_groups,
        collection=name,
        event="download",
        sources=[{"source": payload.get("source"), "page": payload.get("page")}],
        channel="api",
    )
    return FileResponse(original.path, media_type=original.mime, filename=original.name)


@router.post("/v1/documents", tags=["admin"], summary="Add documents (admins)")
def documents(
    runtime: Runtime,
    user: Admin,
    files: Annotated[list[UploadFile], File(description="One or more documents.")],
    collection: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    return add_documents(runtime, user, files, collection)


@router.get("/healthz", tags=["service"], summary="Is the API up")
def healthz(runtime: Runtime) -> dict[str, Any]:
    model = runtime.model
    return {
        "status": "ok",
        "model": model.label if model else None,
        "model_error": runtime.model_error,
        "answers_in_progress": runtime.gate.in_progress if runtime.gate else 0,
        "queued": runtime.gate.queued if runtime.gate else 0,
    }


@router.get("/metrics", tags=["service"], summary="Prometheus metrics")
def metrics(request: Request) -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

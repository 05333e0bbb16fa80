"""`POST /v1/chat/completions` (OpenAI's shape, streamed or not) and `GET /v1/models`.

The last message is the question and earlier user/assistant pairs the conversation
(system messages are ignored: ragdesk's own prompt grounds every answer). The response
adds `citations` and `refused` (streaming: a final chunk carries them, with `answer`, the
text as finally cited, which can differ from the streamed pieces: invalid markers dropped,
sentences re-cited, a withheld answer). `conversation_id` (an extra field) keeps the turn
in one of the caller's conversations, whose kept turns are then the history.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncGenerator, Generator, Iterator
from contextlib import suppress
from typing import Any

import anyio
from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool
from starlette.types import Receive, Scope, Send

from app.api.asking import (
    Question,
    answer_body,
    answer_stream,
    checked_collection,
    checked_question,
    finish,
    kept_history,
    owned_conversation,
)
from app.api.errors import ApiError, error_body, from_ragdesk
from app.api.runtime import ApiRuntime
from app.api.schemas import ChatCompletionRequest, ChatMessage, model_name
from app.api.security import Caller, Runtime
from rag_core.access.users import User
from rag_core.answering.answer import Answer, Turn
from rag_core.types import RagdeskError

router = APIRouter(tags=["OpenAI-compatible"])

LEFT = "the caller disconnected before the answer was complete"


def _collection_of(model: str) -> str | None:
    name, _, collection = model.partition(":")
    if name != "ragdesk":
        raise ApiError(404, f"no model {model!r}: use `ragdesk` or `ragdesk:<collection>`")
    return collection or None


def _history(messages: list[ChatMessage]) -> list[Turn]:
    turns, asked = [], None
    for message in messages:
        if message.role == "user":
            asked = message.text()
        elif message.role == "assistant" and asked is not None:
            turns.append(Turn(asked, message.text()))
            asked = None
    return turns


def _question(runtime: ApiRuntime, user: User, request: ChatCompletionRequest) -> Question:
    last = request.messages[-1]
    if last.role != "user":
        raise ApiError(422, "the last message must be the user's question")
    text = checked_question(runtime, last.text())
    conversation = None
    collection = _collection_of(request.model)
    history = _history(request.messages[:-1])
    if request.conversation_id:
        conversation = owned_conversation(runtime, user, request.conversation_id)
        if collection and collection != conversation.collection:
            raise ApiError(
                422,
                f"conversation {conversation.id} is about collection {conversation.collection!r}",
            )
        collection = conversation.collection
        history = kept_history(runtime, user, conversation)
    return Question(
        user, checked_collection(runtime, collection), text, history, conversation, request.k
    )


def _usage(answer: Answer) -> dict[str, int]:
    prompt = int(answer.timings.get("prompt_tokens", 0))
    completion = int(answer.timings.get("generation_tokens", 0))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _extras(answer: Answer, question: Question) -> dict[str, Any]:
    body = answer_body(answer, question.collection)
    extras = {key: body[key] for key in ("citations", "refused", "sources", "timings")}
    extras["unsupported_sentences"] = body["unsupported_sentences"]
    if question.conversation is not None:
        extras["conversation_id"] = question.conversation.id
    return extras


@router.post("/v1/chat/completions", summary="Answer the last message, with citations")
def chat_completions(request: ChatCompletionRequest, runtime: Runtime, user: Caller) -> Any:
    question = _question(runtime, user, request)
    stream = answer_stream(runtime, question)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    model = model_name(question.collection, runtime.settings.collection)
    try:  # retrieval and the wait for a slot happen here: a full queue is a 429, not a hang
        first = next(stream)
    except RagdeskError as exc:
        finish(runtime, question, None, str(exc))
        raise from_ragdesk(exc) from exc
    if not request.stream:
        answer = _drain(first, stream, runtime, question)
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer.text},
                    "finish_reason": "stop",
                }
            ],
            "usage": _usage(answer),
            **_extras(answer, question),
        }
    include_usage = bool(request.stream_options and request.stream_options.include_usage)
    events = _events(first, stream, runtime, question, completion_id, created, model, include_usage)
    return ClosingStreamingResponse(_closing(events), media_type="text/event-stream")


class ClosingStreamingResponse(StreamingResponse):
    """A StreamingResponse that closes its body generator as soon as the response ends,
    however it ends. Starlette only stops iterating when the client disconnects and leaves
    the generator to the garbage collector (a reference cycle can keep it, and with it the
    answer slot, for minutes)."""

    def __init__(self, body: AsyncGenerator[str, None], media_type: str) -> None:
        super().__init__(body, media_type=media_type)
        self._body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self._body.aclose()


def _drain(
    first: str | Answer, stream: Iterator[str | Answer], runtime: ApiRuntime, question: Question
) -> Answer:
    item: str | Answer = first
    try:
        while not isinstance(item, Answer):
            item = next(stream)
    except RagdeskError as exc:
        finish(runtime, question, None, str(exc))
        raise from_ragdesk(exc) from exc
    finish(runtime, question, item)
    return item


def _sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _events(
    first: str | Answer,
    stream: Iterator[str | Answer],
    runtime: ApiRuntime,
    question: Question,
    completion_id: str,
    created: int,
    model: str,
    include_usage: bool,
) -> Generator[str, None, None]:
    head = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return _sse(head | {"choices": [choice]} | extra)

    item: str | Answer = first
    try:
        yield chunk({"role": "assistant", "content": ""})
        while not isinstance(item, Answer):
            if item:
                yield chunk({"content": item})
            item = next(stream)
    except RagdeskError as exc:  # headers are sent: the error is an event
        finish(runtime, question, None, str(exc))
        failure = from_ragdesk(exc)
        yield _sse(error_body(failure.status, failure.message))
        yield "data: [DONE]\n\n"
        return
    except GeneratorExit:  # a reader who left: audited, and the slot freed (finally) now
        finish(runtime, question, None, LEFT)
        raise
    finally:
        stream.close()
    finish(runtime, question, item)
    yield chunk({}, "stop", answer=item.text, **_extras(item, question))
    if include_usage:
        yield _sse(head | {"choices": [], "usage": _usage(item)})
    yield "data: [DONE]\n\n"


async def _closing(events: Generator[str, None, None]) -> AsyncGenerator[str, None]:
    """Stream from a worker thread; when this generator is closed (the client went away,
    see ClosingStreamingResponse), the events generator is closed too, which frees the
    answer slot at once (not at the slot's timeout).

    The events generator is idle whenever this one is closed or cancelled: a cancelled
    wait for the worker thread still waits for the thread's item. It is closed
    synchronously: an await in a cancelled scope would itself be cancelled."""
    try:
        async for event in iterate_in_threadpool(events):
            yield event
    finally:
        with suppress(ValueError):  # still running in a thread: the slot's deadline frees it
            events.close()


@router.get("/v1/models", summary="The models (collections) to ask")
def models(runtime: Runtime, user: Caller) -> dict[str, Any]:
    default = runtime.settings.collection
    return {
        "object": "list",
        "data": [
            {"id": model_name(c, default), "object": "model", "created": 0, "owned_by": "ragdesk"}
            for c in runtime.collections()
        ],
    }

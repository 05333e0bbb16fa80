"""Request bodies: unknown fields are refused (422), so a typo is never silently ignored.
The chat-completions body accepts the fields the `openai` client sends; ragdesk answers
with its own generation settings, so sampling fields are accepted and not used."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

ConversationId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
CollectionName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
MAX_MESSAGES = 200
MAX_TURN_CHARS = 20_000  # a past answer in the history


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PastTurn(Strict):
    question: Annotated[str, Field(max_length=MAX_TURN_CHARS)]
    answer: Annotated[str, Field(max_length=MAX_TURN_CHARS)]


class AskRequest(Strict):
    question: str = Field(description="The question, in plain words.")
    collection: CollectionName | None = Field(
        default=None, description="Default: the conversation's, else the server's default."
    )
    conversation_id: ConversationId | None = Field(
        default=None, description="Continue this conversation (yours); omitted: a new one."
    )
    history: Annotated[list[PastTurn], Field(max_length=MAX_MESSAGES)] | None = Field(
        default=None, description="Earlier turns, instead of a kept conversation."
    )
    k: int | None = Field(default=None, ge=1, le=50, description="Passages to answer from.")


class TextPart(Strict):
    type: Literal["text"]
    text: Annotated[str, Field(max_length=MAX_TURN_CHARS)]


class ChatMessage(Strict):
    role: Literal["system", "developer", "user", "assistant"]
    content: Annotated[str, Field(max_length=MAX_TURN_CHARS)] | list[TextPart] | None = None
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class StreamOptions(Strict):
    include_usage: bool | None = None
    include_obfuscation: bool | None = None


class ChatCompletionRequest(Strict):
    model: str = Field(description="`ragdesk` (default collection) or `ragdesk:<collection>`.")
    messages: Annotated[list[ChatMessage], Field(min_length=1, max_length=MAX_MESSAGES)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: Literal[1] = 1
    # accepted for compatibility, not used: the server's settings shape every answer
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    # ragdesk's own (the openai client sends them with `extra_body=`)
    conversation_id: ConversationId | None = Field(
        default=None,
        description="Keep this turn in your conversation; its kept turns are the history.",
    )
    k: int | None = Field(default=None, ge=1, le=50)


class RenameRequest(Strict):
    title: Annotated[str, Field(min_length=1, max_length=200)]


def model_name(collection: str, default: str) -> str:
    return "ragdesk" if collection == default else f"ragdesk:{collection}"

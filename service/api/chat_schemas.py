"""Bodies of the OpenAI-compatible endpoints, in OpenAI's own shapes.

Requests accept OpenAI's optional parameters (temperature, max_tokens, user, ...) and
ignore them: chat front-ends send them whatever the model, and newsdesk's answer is fixed
by its prompt and its sources. Two newsdesk extensions may ride along (`extra_body` in the
SDK): `filters` and `top_k`, as in `POST /v1/ask`. Responses add `citations` (the checked
citations, quotes and offsets) and `newsdesk` (how the answer was made).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from service.api.schemas import (
    MAX_QUESTION_CHARS,
    AskFilters,
    CitationPublic,
    Public,
    SourcePublic,
    TopK,
)
from service.keys import COLLECTION_NAME

MODEL_ID = "newsdesk"
MODEL_CREATED = 1767225600  # 2026-01-01: when the model id was first served; fixed, as OpenAI's are


class ContentPart(BaseModel):
    """One part of a multi-part message; only text parts carry a question."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls, ...: accepted, not used

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # OpenAI's sampling options: accepted, ignored

    model: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    n: int = Field(1, ge=1, le=1, description="One answer per request.")
    filters: AskFilters | None = Field(None, description="newsdesk extension: the filters of POST /v1/ask.")
    top_k: TopK | None = Field(None, description="newsdesk extension: sources to retrieve.")
    collection: str | None = Field(None, pattern=COLLECTION_NAME.pattern,
                                   description="newsdesk extension: the collection to ask, as in POST /v1/ask.")

    @field_validator("messages")
    @classmethod
    def _ends_with_a_question(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        if messages[-1].role != "user":
            raise ValueError("the last message must be the user's question (role 'user')")
        question = messages[-1].text().strip()
        if not question:
            raise ValueError("the last user message has no text")
        if len(question) > MAX_QUESTION_CHARS:
            raise ValueError(f"the question is longer than {MAX_QUESTION_CHARS} characters")
        return messages

    @property
    def question(self) -> str:
        return self.messages[-1].text().strip()

    @property
    def history(self) -> list[str]:
        """Earlier user turns, oldest first: the follow-up context, as in a Slack thread."""
        return [t for m in self.messages[:-1] if m.role == "user" and (t := m.text().strip())]


class AnswerInfo(Public):
    """newsdesk extension: how the answer was made (see POST /v1/ask for each field)."""

    answerable: bool
    mode: Literal["llm", "extractive"]
    degraded: bool
    degraded_reason: str | None
    warnings: list[str]
    request_id: str
    sources: list[SourcePublic]
    conflicts: list[str] = []


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    logprobs: None = None
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str = MODEL_ID
    choices: list[Choice]
    usage: None = Field(None, description="Not counted: newsdesk is not billed by the token.")
    citations: list[CitationPublic] = Field(description="newsdesk extension: the [n] of the content, checked.")
    newsdesk: AnswerInfo


class ChunkDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChunkDelta
    logprobs: None = None
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(BaseModel):
    """One `data:` line of a stream. The last chunk (finish_reason "stop") carries the
    `citations` and `newsdesk` extensions; the others leave them out."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str = MODEL_ID
    choices: list[ChunkChoice]
    citations: list[CitationPublic] | None = None
    newsdesk: AnswerInfo | None = None

    def wire(self) -> str:
        """`data: {...}` as OpenAI sends it: unset extensions and delta fields left out."""
        data = self.model_dump(mode="json")
        for name in ("citations", "newsdesk"):
            if data[name] is None:
                del data[name]
        for choice in data["choices"]:
            choice["delta"] = {k: v for k, v in choice["delta"].items() if v is not None}
        return "data: " + json.dumps(data, ensure_ascii=False) + "\n\n"


class ModelCard(BaseModel):
    id: str = MODEL_ID
    object: Literal["model"] = "model"
    created: int = MODEL_CREATED
    owned_by: str = "newsdesk"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


def stream_error(problem: dict[str, Any]) -> str:
    """A failure after the stream began, as OpenAI streams one (the SDK raises APIError
    with the message); the problem details ride along in the same object."""
    error = {**problem, "message": problem["detail"], "code": problem["status"]}
    return "data: " + json.dumps({"error": error}, ensure_ascii=False) + "\n\n"

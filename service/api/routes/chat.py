"""The OpenAI-compatible face of newsdesk: `POST /v1/chat/completions` and `GET /v1/models`.

Any OpenAI client or chat front-end can use newsdesk as the model `newsdesk`. The last
user message is the question; earlier user turns are its context, as in a Slack thread
(they steer retrieval of follow-ups and reach the prompt as history). Assistant and system
turns are not used: the answer comes only from the indexed articles.

Streamed answers are `chat.completion.chunk` objects on `data:` lines ending with
`data: [DONE]`. When the LLM fails after part of its answer went out, the text already
sent cannot be taken back as it can on `/v1/ask` (`replace`): a note and the extractive
answer follow it instead, and the last chunk says `degraded: true`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.types import Scope

from service.answer import events
from service.answer.events import AnswerEvent
from service.api.answering import admitted, observe
from service.api.auth import AUTH_RESPONSES, require
from service.api.bodies import JSONBodyRoute
from service.api.chat_schemas import (
    MODEL_ID,
    AnswerInfo,
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatRequest,
    Choice,
    ChunkChoice,
    ChunkDelta,
    ModelCard,
    ModelList,
    stream_error,
)
from service.api.deps import AskGateDep, CollectionsDep, RequestIdDep
from service.api.limits import AskGate
from service.api.problems import Responses, problem_response
from service.api.schemas import AskResponse, Problem
from service.api.streaming import drain, first_event
from service.keys import ApiKey
from service.models import Answer, Filters

router = APIRouter(prefix="/v1", tags=["openai"], route_class=JSONBodyRoute)

REPLACED_NOTE = "\n\n(The model stopped mid-answer; here is the answer taken from the sources instead.)\n\n"
_MODEL_NOT_FOUND: Responses = {404: {"model": Problem, "description": "Unknown model (type model-not-found)"}}


def model_not_found(model: str, scope: Scope):
    return problem_response(
        status=404, slug="model-not-found", title="Model not found", scope=scope,
        detail=f"there is no model {model!r} here; use {MODEL_ID!r} (GET /v1/models)",
    )


@router.get("/models", response_model=ModelList, summary="The models this server offers: newsdesk")
async def list_models() -> ModelList:
    return ModelList(data=[ModelCard()])


@router.get("/models/{model}", response_model=ModelCard, summary="One model", responses=_MODEL_NOT_FOUND)
async def get_model(model: str, request: Request):
    return ModelCard() if model == MODEL_ID else model_not_found(model, request.scope)


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    summary="Answer the last user message, OpenAI-style, with checked citations",
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"},
                                                "description": "chat.completion.chunk objects, then [DONE]"}}},
        **AUTH_RESPONSES,
        **_MODEL_NOT_FOUND,
        415: {"model": Problem, "description": "Body is not sent as application/json"},
        422: {"model": Problem, "description": "Invalid request (type validation-error)"},
        503: {"model": Problem, "description": "Vector store or embedder unavailable, or too many answers in "
                                               "progress (type overloaded, with Retry-After)"},
    },
)
async def chat_completions(body: ChatRequest, request: Request, collections: CollectionsDep, gate: AskGateDep,
                           request_id: RequestIdDep, key: Annotated[ApiKey | None, Depends(require("ask"))]):
    arrived = time.monotonic()  # as for /v1/ask, the deadline counts the wait for an ask thread
    if body.model != MODEL_ID:
        return model_not_found(body.model, request.scope)
    filters = body.filters.to_filters() if body.filters else Filters()
    name = collections.choose(body.collection, key)
    completion_id, created = f"chatcmpl-{request_id}", int(time.time())
    # The same gate as /v1/ask: an answer is an answer, whichever shape it is asked in.
    async with admitted(gate, collections, name, arrived) as slot:
        if body.stream:
            stream = slot.engine.stream(body.question, filters, body.top_k, body.history, request_id=request_id,
                                        deadline=slot.deadline)
            first = await first_event(stream, gate.run)  # retrieval errors are still proper problem responses
            return slot.streaming_response(
                _chunks(first, stream, request.scope, gate, completion_id, created),
                media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        answer = await gate.run(slot.engine.ask, body.question, filters, body.top_k, body.history,
                                request_id=request_id, deadline=slot.deadline)
    observe(answer, request.scope)
    public = AskResponse.from_answer(answer)
    return ChatCompletion(id=completion_id, created=created, choices=[Choice(message=AssistantMessage(content=answer.answer))],
                          citations=public.citations, newsdesk=answer_info(public))


def answer_info(public: AskResponse) -> AnswerInfo:
    return AnswerInfo.model_validate(public.model_dump())


async def _chunks(first: Any, stream: Iterator[AnswerEvent], scope: Scope, gate: AskGate, completion_id: str,
                  created: int) -> AsyncIterator[str]:
    def chunk(delta: ChunkDelta, **extra: Any) -> str:
        finish = "stop" if extra else None
        return ChatCompletionChunk(id=completion_id, created=created, **extra,
                                   choices=[ChunkChoice(delta=delta, finish_reason=finish)]).wire()

    yield chunk(ChunkDelta(role="assistant", content=""))
    sent = False
    async with aclosing(drain(first, stream, scope, gate.run)) as items:
        async for item in items:
            if isinstance(item, dict):  # the problem that ended a failed stream
                yield stream_error(item)
                return
            if isinstance(item, events.DeltaEvent) and item.text:
                yield chunk(ChunkDelta(content=(REPLACED_NOTE if item.replace and sent else "") + item.text))
                sent = True
            elif isinstance(item, events.DoneEvent):
                answer: Answer = item.answer
                observe(answer, scope)
                if not sent:  # a refusal has no deltas: its text goes out here
                    yield chunk(ChunkDelta(content=answer.answer))
                public = AskResponse.from_answer(answer)
                yield chunk(ChunkDelta(), citations=public.citations, newsdesk=answer_info(public))
    yield "data: [DONE]\n\n"

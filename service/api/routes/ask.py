"""POST /v1/ask: one JSON answer, or the same answer as Server-Sent Events.

The answering core is synchronous and CPU-bound (embedding, BM25, citation checks), so it
runs on the ask gate's own threads (service/api/limits.py), never in the pool the other
routes use; a stream advances the core's generator one event per thread hop. Past the
gate's running and waiting places an ask is refused at once: 503 `overloaded`, Retry-After.

SSE wire format (each event is `event: <name>\\ndata: <one line of JSON>\\n\\n`):
    sources  {"sources": [...], "request_id": ...}             always first
    delta    {"text": ..., "replace": false}                   answer text as it arrives;
             "replace": true = discard what was shown (the LLM failed, extractive fallback)
    done     the full AskResponse, citations checked             always last on success
    error    a problem details object                          instead of `done` on failure
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response
from starlette.types import Scope

from service.answer import events
from service.answer.events import AnswerEvent
from service.api.answering import admitted, observe
from service.api.auth import AUTH_RESPONSES, require
from service.api.bodies import JSONBodyRoute
from service.api.deps import AskGateDep, CollectionsDep, RequestIdDep
from service.api.limits import AskGate
from service.api.routes.timeline import timeline_stream
from service.api.schemas import (
    AskRequest,
    AskResponse,
    DeltaEvent,
    Problem,
    SourcesEvent,
)
from service.api.streaming import drain, first_event
from service.keys import ApiKey
from service.models import Answer, Filters

router = APIRouter(prefix="/v1", tags=["ask"], route_class=JSONBodyRoute)
logger = logging.getLogger("newsdesk.api")

SSE_MEDIA_TYPE = "text/event-stream"
# Each event of the stream (OpenAPI describes a text/event-stream by its events).
SSE_EVENT_SCHEMA = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"enum": ["sources", "delta", "done", "error"]},
        "data": {"type": "string", "description": "One line of JSON: SourcesEvent, DeltaEvent, AskResponse or "
                                                  "a Problem (see docs/api.md)"},
    },
}


def wants_stream(stream: bool | None, accept: str | None) -> bool:
    """An explicit `stream` in the body wins; without one, the Accept header decides."""
    if stream is not None:
        return stream
    return SSE_MEDIA_TYPE in (accept or "").lower()


@router.post(
    "/ask",
    response_model=AskResponse,
    summary="Answer a question from the indexed articles, with checked citations",
    responses={
        200: {"content": {SSE_MEDIA_TYPE: {"schema": SSE_EVENT_SCHEMA}}},
        **AUTH_RESPONSES,
        404: {"model": Problem, "description": "No such collection (type collection-not-found)"},
        413: {"model": Problem, "description": "Body over the size limit"},
        415: {"model": Problem, "description": "Body is not sent as application/json"},
        422: {"model": Problem, "description": "Invalid request (type validation-error)"},
        503: {"model": Problem, "description": "Vector store or embedder unavailable, or too many asks in "
                                               "progress (type overloaded, with Retry-After)"},
    },
)
async def ask(body: AskRequest, request: Request, collections: CollectionsDep, gate: AskGateDep,
              request_id: RequestIdDep, key: Annotated[ApiKey | None, Depends(require("ask"))],
              accept: Annotated[str | None, Header()] = None):
    arrived = time.monotonic()  # the deadline counts the time spent waiting for an ask thread
    filters = body.filters.to_filters() if body.filters else Filters()
    name = collections.choose(body.collection, key)
    async with admitted(gate, collections, name, arrived) as slot:
        # "How did X develop?": the timeline (service/api/routes/timeline.py), else the engine.
        timeline = timeline_stream(slot, body.question, filters, request_id)
        if wants_stream(body.stream, accept):
            stream = timeline or slot.engine.stream(body.question, filters, body.top_k, request_id=request_id,
                                                    deadline=slot.deadline)
            # The first step (retrieval) runs before the response starts, so its errors are
            # still proper problem responses with their own status codes.
            first = await first_event(stream, gate.run)
            return slot.streaming_response(_sse(first, stream, request.scope, gate), media_type=SSE_MEDIA_TYPE,
                                           headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

        def answer_json() -> tuple[Answer, str]:
            # Serialized on the ask thread too: a full answer's JSON (sources with their text)
            # is milliseconds of work the event loop, which answers health checks, need not do.
            if timeline is not None:
                *_, done = timeline
                assert isinstance(done, events.DoneEvent)
                answer = done.answer
            else:
                answer = slot.engine.ask(body.question, filters, body.top_k, request_id=request_id,
                                         deadline=slot.deadline)
            return answer, AskResponse.from_answer(answer).model_dump_json()

        answer, payload = await gate.run(answer_json)
    observe(answer, request.scope)
    return Response(payload, media_type="application/json")


def sse_event(name: str, data: str) -> str:
    return f"event: {name}\ndata: {data}\n\n"


def encode(event: AnswerEvent) -> str:
    if isinstance(event, events.SourcesEvent):
        data = SourcesEvent(sources=[s.to_dict() for s in event.sources], request_id=event.request_id).model_dump_json()
    elif isinstance(event, events.DeltaEvent):
        data = DeltaEvent(text=event.text, replace=event.replace).model_dump_json()
    elif isinstance(event, events.DoneEvent):
        data = AskResponse.from_answer(event.answer).model_dump_json()
    else:
        raise ValueError(f"unknown answer event {event!r}")
    return sse_event(event.name, data)


async def _sse(first: Any, stream: Iterator[AnswerEvent], scope: Scope, gate: AskGate | None = None) -> AsyncIterator[str]:
    async with aclosing(drain(first, stream, scope, *([gate.run] if gate else []))) as items:
        async for item in items:
            if isinstance(item, events.DoneEvent):
                observe(item.answer, scope)
            # A dict is the problem that ends a failed stream: the status line is long gone.
            yield sse_event("error", json.dumps(item)) if isinstance(item, dict) else encode(item)

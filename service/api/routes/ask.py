"""POST /v1/ask: one JSON answer, or the same answer as Server-Sent Events.

The answering core is synchronous and CPU-bound (embedding, BM25, citation checks), so it
runs in the thread pool; a stream advances the core's generator one event per thread hop.

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
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from service.answer import events
from service.answer.events import AnswerEvent
from service.api.deps import EngineDep, RequestIdDep
from service.api.problems import error_problem, internal_problem, request_id_of
from service.api.schemas import (
    AskRequest,
    AskResponse,
    DeltaEvent,
    Problem,
    SourcesEvent,
)
from service.errors import NewsdeskError
from service.models import Filters

router = APIRouter(prefix="/v1", tags=["ask"])
logger = logging.getLogger("newsdesk.api")

SSE_MEDIA_TYPE = "text/event-stream"
_END = object()


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
        200: {"content": {SSE_MEDIA_TYPE: {"schema": {"type": "string"},
                                           "description": "sources, delta..., done (see docs/api.md)"}}},
        413: {"model": Problem, "description": "Body over the size limit"},
        422: {"model": Problem, "description": "Invalid request (type validation-error)"},
        503: {"model": Problem, "description": "Vector store or embedder unavailable"},
    },
)
async def ask(body: AskRequest, request: Request, engine: EngineDep, request_id: RequestIdDep,
              accept: Annotated[str | None, Header()] = None):
    filters = body.filters.to_filters() if body.filters else Filters()
    if wants_stream(body.stream, accept):
        stream = engine.stream(body.question, filters, body.top_k, request_id=request_id)
        # The first step (retrieval) runs before the response starts, so its errors are
        # still proper problem responses with their own status codes.
        first = await run_in_threadpool(next, stream, _END)
        return StreamingResponse(
            _sse(first, stream, request.scope), media_type=SSE_MEDIA_TYPE,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    answer = await run_in_threadpool(engine.ask, body.question, filters, body.top_k, request_id=request_id)
    return AskResponse.from_answer(answer)


def sse_event(name: str, data: str) -> str:
    return f"event: {name}\ndata: {data}\n\n"


def encode(event: AnswerEvent) -> str:
    if isinstance(event, events.SourcesEvent):
        data = SourcesEvent(sources=event.sources, request_id=event.request_id).model_dump_json()
    elif isinstance(event, events.DeltaEvent):
        data = DeltaEvent(text=event.text, replace=event.replace).model_dump_json()
    elif isinstance(event, events.DoneEvent):
        data = AskResponse.from_answer(event.answer).model_dump_json()
    else:
        raise ValueError(f"unknown answer event {event!r}")
    return sse_event(event.name, data)


async def _sse(first: Any, stream: Iterator[AnswerEvent], scope: Scope) -> AsyncIterator[str]:
    event = first
    try:
        while event is not _END:
            yield encode(event)
            event = await run_in_threadpool(next, stream, _END)
    except NewsdeskError as exc:
        # The status line is long gone: the problem travels as the last event instead.
        logger.warning("stream %s failed: %s (request %s)", scope.get("path"), exc.message, request_id_of(scope))
        yield sse_event("error", json.dumps(error_problem(exc, scope)))
    except Exception:
        logger.exception("stream %s failed (request %s)", scope.get("path"), request_id_of(scope))
        yield sse_event("error", json.dumps(internal_problem(scope)))
    finally:
        try:
            stream.close()  # releases the LLM stream if the client went away mid-answer
        except ValueError:  # still running in a worker thread; it ends on its own
            pass

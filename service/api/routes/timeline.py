"""POST /v1/timeline: how a story developed, as dated steps, each one cited sentence; and
the hook by which `/v1/ask` answers "how did X develop?" with the same timeline.

The steps come from `service.answer.timelines`: oldest first, each dated by its event
when the sentence says when (else by its article), its quote verified against the article
like any citation, wire copies folded under the original, corrections marked as such."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import Field, StringConstraints

from service.answer.events import AnswerEvent
from service.answer.timelines import TimelineBuilder, timeline_events, timeline_topic
from service.api.answering import AskSlot, admitted
from service.api.auth import AUTH_RESPONSES, require
from service.api.bodies import JSONBodyRoute
from service.api.deps import AskGateDep, CollectionsDep, RequestIdDep
from service.api.schemas import AskFilters, Problem, Schema, TimelinePublic
from service.components import Components
from service.keys import COLLECTION_NAME, ApiKey
from service.models import Filters

router = APIRouter(prefix="/v1", tags=["ask"], route_class=JSONBodyRoute)

MAX_STEPS = 50


class TimelineRequest(Schema):
    topic: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] = Field(
        description="The story, e.g. 'the Kestrel Pay outage'.")
    filters: AskFilters | None = None
    collection: Annotated[str, StringConstraints(pattern=COLLECTION_NAME.pattern)] | None = None
    max_steps: int = Field(24, ge=1, le=MAX_STEPS, description="At most this many steps (articles).")


class TimelineResponse(TimelinePublic):
    request_id: str


def builder(components: Components, max_steps: int = 24) -> TimelineBuilder:
    return TimelineBuilder(components.retriever, components.store.get_article_texts, max_steps=max_steps)


def timeline_stream(slot: AskSlot, question: str, filters: Filters, request_id: str) -> Iterator[AnswerEvent] | None:
    """For `/v1/ask`: the timeline's answer events when the question asks how a story
    developed ("how did X develop", "what happened with X", "timeline of X"), else None
    (the engine answers). Kept at the edge for now; the engine could call it the same way."""
    topic = timeline_topic(question)
    if topic is None:
        return None
    return timeline_events(builder(slot.components), topic, filters, request_id)


@router.post("/timeline", response_model=TimelineResponse, summary="How a story developed: dated, cited steps",
             responses={**AUTH_RESPONSES,
                        404: {"model": Problem, "description": "No such collection (type collection-not-found)"},
                        415: {"model": Problem, "description": "Body is not sent as application/json"},
                        422: {"model": Problem, "description": "Invalid request (type validation-error)"},
                        503: {"model": Problem, "description": "Store unavailable, or too many asks in progress"}})
async def timeline(body: TimelineRequest, request: Request, collections: CollectionsDep, gate: AskGateDep,
                   request_id: RequestIdDep, key: Annotated[ApiKey | None, Depends(require("ask"))]):
    arrived = time.monotonic()
    filters = body.filters.to_filters() if body.filters else Filters()
    name = collections.choose(body.collection, key)
    async with admitted(gate, collections, name, arrived) as slot:
        built = await gate.run(builder(slot.components, body.max_steps).build, body.topic, filters)
    return TimelineResponse(**built.to_dict(), request_id=request_id)

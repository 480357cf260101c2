"""POST /v1/search: the numbered sources an answer would be written from, with their text
and offsets, and no answer (no LLM call). What the LlamaIndex `NewsdeskRetriever` calls
remotely, and the same sources as MCP's `search` tool."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import Field, StringConstraints

from service.answer.search import find_sources
from service.api.answering import admitted
from service.api.auth import AUTH_RESPONSES, require
from service.api.bodies import JSONBodyRoute
from service.api.deps import AskGateDep, CollectionsDep, RequestIdDep
from service.api.schemas import (
    MAX_QUESTION_CHARS,
    AskFilters,
    Problem,
    Public,
    Schema,
    SourcePublic,
    TopK,
)
from service.keys import ApiKey
from service.models import Filters

router = APIRouter(prefix="/v1", tags=["search"], route_class=JSONBodyRoute)


class SearchRequest(Schema):
    query: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_CHARS)]
    filters: AskFilters | None = None
    top_k: TopK | None = Field(None, description="How many sources (default from settings).")
    collection: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$",
        description="The collection to search (default: the server's, or the API key's first collection).",
    )


class SearchResponse(Public):
    request_id: str
    relevant: bool = Field(description="False when even the best source is below the refusal threshold "
                                       "(where /v1/ask would refuse).")
    sources: list[SourcePublic]


@router.post(
    "/search",
    response_model=SearchResponse,
    summary="The sources for a query, ranked, with text and offsets; no answer",
    responses={
        **AUTH_RESPONSES,
        404: {"model": Problem, "description": "No such collection (type collection-not-found)"},
        422: {"model": Problem, "description": "Invalid request (type validation-error)"},
        503: {"model": Problem, "description": "Vector store or embedder unavailable, or overloaded"},
    },
)
async def search(body: SearchRequest, request: Request, collections: CollectionsDep, gate: AskGateDep,
                 request_id: RequestIdDep, key: Annotated[ApiKey | None, Depends(require("ask"))]):
    filters = body.filters.to_filters() if body.filters else Filters()
    name = collections.choose(body.collection, key)
    # Retrieval embeds and ranks on the ask threads, not the shared pool.
    async with admitted(gate, collections, name, time.monotonic()) as slot:
        settings = slot.components.settings
        found = await gate.run(find_sources, slot.components.retriever, body.query, filters,
                               body.top_k or settings.top_k, settings.relevance_threshold)
    return SearchResponse(request_id=request_id, **found)

"""GET /v1/outlets: the outlets of a collection, as its filters name them. The reading page
checks an outlet filter against it ("no outlet named X; did you mean Y"), and any client can
offer the names instead of letting a misspelt one match nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from service.api.auth import AUTH_RESPONSES
from service.api.deps import collection_components
from service.api.schemas import Problem, Public
from service.components import Components

router = APIRouter(prefix="/v1", tags=["outlets"])


class OutletPublic(Public):
    name: str
    chunks: int


class OutletsPage(Public):
    collection: str
    outlets: list[OutletPublic]


@router.get("/outlets", response_model=OutletsPage, summary="The outlets a collection's articles come from",
            responses={**AUTH_RESPONSES,
                       404: {"model": Problem, "description": "No such collection (type collection-not-found)"},
                       503: {"model": Problem, "description": "Vector store unavailable (type store-unavailable)"}})
async def list_outlets(components: Annotated[Components, Depends(collection_components)]) -> OutletsPage:
    counts = await run_in_threadpool(lambda: components.lexical.current().outlets())
    return OutletsPage(collection=components.collection,
                       outlets=[OutletPublic(name=name, chunks=n) for name, n in sorted(counts.items())])

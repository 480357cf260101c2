"""Dependency aliases for the routes. Everything comes from `app.state`, which the
lifespan fills once; tests swap pieces with `app.dependency_overrides[get_...]`.

The store and the ingester are those of the request's collection (`?collection=`, checked
against the key's collections), and reading them needs the key's `ask` scope, changing
them its `write` scope."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from service.api import metrics
from service.api.auth import require_for_method
from service.api.limits import AskGate
from service.api.problems import request_id_of
from service.collections import Collections
from service.components import Components
from service.config import Settings
from service.index.store import ArticleStore
from service.ingest.pipeline import Ingester, IngestReport
from service.keys import COLLECTION_NAME, ApiKey
from service.models import Article


def app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_components(request: Request) -> Components:
    return request.app.state.components


def get_collections(request: Request) -> Collections:
    return request.app.state.collections


def get_ask_gate(request: Request) -> AskGate:
    return request.app.state.ask_gate


CollectionQuery = Annotated[str | None, Query(
    pattern=COLLECTION_NAME.pattern, description="The collection to use (default: the server's, or the key's first).")]


async def collection_components(request: Request, collections: Annotated[Collections, Depends(get_collections)],
                                key: Annotated[ApiKey | None, Depends(require_for_method)],
                                collection: CollectionQuery = None) -> Components:
    name = collections.choose(collection, key)
    # Only an ingest makes a collection: a read, or a delete in one that does not exist, is a 404.
    return await run_in_threadpool(lambda: collections.get(name, create=request.method == "POST"))


def get_store(components: Annotated[Components, Depends(collection_components)]) -> ArticleStore:
    return components.store


class MeteredIngester:
    """The collection's ingester, counting what it ingests for /metrics."""

    def __init__(self, ingester: Ingester):
        self.ingester = ingester

    def ingest(self, articles: Iterable[Article]) -> IngestReport:
        report = self.ingester.ingest(articles)
        metrics.observe_ingest(report)
        return report


def get_ingester(components: Annotated[Components, Depends(collection_components)]) -> MeteredIngester:
    return MeteredIngester(components.ingester)


def get_request_id(request: Request) -> str:
    return request_id_of(request.scope)


SettingsDep = Annotated[Settings, Depends(app_settings)]
ComponentsDep = Annotated[Components, Depends(get_components)]
CollectionsDep = Annotated[Collections, Depends(get_collections)]
AskGateDep = Annotated[AskGate, Depends(get_ask_gate)]
StoreDep = Annotated[ArticleStore, Depends(get_store)]
IngesterDep = Annotated[MeteredIngester, Depends(get_ingester)]
RequestIdDep = Annotated[str, Depends(get_request_id)]

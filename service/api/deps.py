"""Dependency aliases for the routes. Everything comes from `app.state`, which the
lifespan fills once; tests swap pieces with `app.dependency_overrides[get_...]`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.answer.engine import AnswerEngine
from service.api.problems import request_id_of
from service.components import Components
from service.config import Settings
from service.index.store import ArticleStore
from service.ingest.pipeline import Ingester


def app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_components(request: Request) -> Components:
    return request.app.state.components


def get_engine(components: Annotated[Components, Depends(get_components)]) -> AnswerEngine:
    return components.engine


def get_store(components: Annotated[Components, Depends(get_components)]) -> ArticleStore:
    return components.store


def get_ingester(components: Annotated[Components, Depends(get_components)]) -> Ingester:
    return components.ingester


def get_request_id(request: Request) -> str:
    return request_id_of(request.scope)


SettingsDep = Annotated[Settings, Depends(app_settings)]
ComponentsDep = Annotated[Components, Depends(get_components)]
EngineDep = Annotated[AnswerEngine, Depends(get_engine)]
StoreDep = Annotated[ArticleStore, Depends(get_store)]
IngesterDep = Annotated[Ingester, Depends(get_ingester)]
RequestIdDep = Annotated[str, Depends(get_request_id)]

"""/v1/keys: API keys over HTTP, for keys with the `admin` scope (the CLI's `newsdesk keys`).

The new key is in the response to its creation and nowhere else, ever: the store keeps
its hash. Revoking takes effect on every replica within `NEWSDESK_KEY_CACHE_TTL_S`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from service.access import parse_rate
from service.api.auth import AUTH_RESPONSES, require
from service.api.bodies import JSONBodyRoute
from service.api.problems import Responses
from service.api.schemas import Problem, Public, Schema
from service.errors import ApiKeyError, ConfigError
from service.keys import SCOPES, KeyStore

router = APIRouter(prefix="/v1/keys", tags=["keys"], dependencies=[Depends(require("admin"))],
                   responses=AUTH_RESPONSES, route_class=JSONBodyRoute)


class KeyCreate(Schema):
    name: str = Field(min_length=1, max_length=64, description="Shown in logs and metrics instead of the key.")
    scopes: list[str] = Field(min_length=1, max_length=len(SCOPES), description=f"Some of {', '.join(SCOPES)}.")
    collections: list[str] = Field(default_factory=list, max_length=100, description="Empty: every collection.")
    rate_limit: str | None = Field(None, max_length=40, description="This key's own limit, e.g. 600/minute.")


class KeyPublic(Public):
    key_id: str
    name: str
    scopes: list[str]
    collections: list[str]
    created_at: str
    revoked_at: str | None
    rate_limit: str | None


class KeyCreated(KeyPublic):
    key: str = Field(description="The key itself: shown this once, stored nowhere.")


class KeysPage(Public):
    items: list[KeyPublic]


def key_store(request: Request) -> KeyStore:
    return request.app.state.door.keys


KeyStoreDep = Annotated[KeyStore, Depends(key_store)]
_INVALID: Responses = {422: {"model": Problem, "description": "Bad name, scope, collection or rate limit"}}


@router.post("", response_model=KeyCreated, status_code=201, summary="Create a key (shown once)", responses=_INVALID)
async def create_key(body: KeyCreate, keys: KeyStoreDep):
    if body.rate_limit:
        try:
            parse_rate(body.rate_limit)
        except ConfigError as exc:
            raise ApiKeyError(exc.message) from None
    key, record = await run_in_threadpool(keys.create, body.name, body.scopes, body.collections, body.rate_limit)
    return KeyCreated(key=key, **record.to_dict())


@router.get("", response_model=KeysPage, summary="Every key, active or revoked (never the key itself)")
async def list_keys(keys: KeyStoreDep):
    return KeysPage(items=[KeyPublic(**k.to_dict()) for k in await run_in_threadpool(keys.list)])


@router.delete("/{name_or_id}", response_model=KeysPage, summary="Revoke the active key with this name or key id",
               responses={404: {"model": Problem, "description": "No active key with this name or key id (key-not-found)"}})
async def revoke_key(name_or_id: str, keys: KeyStoreDep):
    return KeysPage(items=[KeyPublic(**k.to_dict()) for k in await run_in_threadpool(keys.revoke, name_or_id)])

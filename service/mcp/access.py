"""Keys and scopes on the MCP edge.

Over streamable HTTP the key is checked at the door, before the MCP session sees the
request: by the API's own key middleware when the endpoint is mounted in `serve` (it
answers 401/429 problems and leaves the key's record in the request state under
`api_key`), or by `BearerKeys` when `newsdesk mcp --http` serves it alone. Each tool then
checks that the key grants its scope and may use the collection (a `forbidden:` tool
error otherwise). With no key in the request state the server is open (loopback, no keys
configured), and over stdio there is no request at all: the process runs with the rights
of whoever started it, like the CLI.

A key store is passed in as a `KeyVerifier`: the presented key -> its record
(`service.keys.ApiKey`: what the key may do), or None when the key is unknown or revoked.
`service.keys.KeyStore.verify` is one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from service.errors import ForbiddenError, UnauthorizedError
from service.keys import ApiKey

STATE_KEY = "api_key"  # where the API's key middleware leaves the request's key record
PROBLEM_BASE = "https://newsdesk.example/problems/"


KeyVerifier = Callable[[str], ApiKey | None]


def request_key(request: Any) -> ApiKey | None:
    """The key record the door left on this request; None for stdio or an open server."""
    scope = getattr(request, "scope", None) or {}
    return (scope.get("state") or {}).get(STATE_KEY)


def check_access(key: ApiKey | None, scope: str, collection: str) -> None:
    if key is None:
        return
    if not key.allows(scope):
        raise ForbiddenError(f"the key {key.name!r} lacks the {scope!r} scope")
    if not key.sees(collection):
        raise ForbiddenError(f"the key {key.name!r} may not use collection {collection!r}")


def bearer_token(header: str | None) -> str | None:
    scheme, _, token = (header or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class BearerKeys:
    """ASGI middleware for the endpoint served alone: 401 problem+json for a missing or
    unknown key, else the key's record in the request state. `open_now()` true lets a
    request without a key through (loopback, no key exists yet: the API's rule). The key
    never reaches a log or a response. Both callables may block (a store read): they run
    in a worker thread."""

    def __init__(self, app: ASGIApp, verify: KeyVerifier, *, open_now: Callable[[], bool] = lambda: False):
        self.app = app
        self.verify = verify
        self.open_now = open_now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"authorization"), None)
        if header is None and await anyio.to_thread.run_sync(self.open_now):
            await self.app(scope, receive, send)
            return
        token = bearer_token(header)
        key = await anyio.to_thread.run_sync(self.verify, token) if token else None
        if key is None:
            exc = UnauthorizedError("send a valid API key as 'Authorization: Bearer <key>'")
            body = json.dumps({"type": PROBLEM_BASE + exc.type_slug, "title": exc.title, "status": exc.status,
                               "detail": exc.message, "instance": scope.get("path", "")}).encode()
            await send({"type": "http.response.start", "status": exc.status, "headers": [
                (b"content-type", b"application/problem+json"), (b"www-authenticate", b'Bearer realm="newsdesk"'),
                (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        scope.setdefault("state", {})[STATE_KEY] = key
        await self.app(scope, receive, send)

"""Keys and scopes on the MCP edge.

Over streamable HTTP the key is checked at the door, before the MCP session sees the
request, by the one key door (`service.access.Door`): through the API's key middleware when
the endpoint is mounted in `serve`, or through `DoorMiddleware` when `newsdesk mcp --http`
serves it alone. Either way the same rules hold (the Bearer header, the open rule, the key's
rate limit, the limit on unknown keys per client address), a refusal is a 401 or 429
problem, and the key's record is left in the request state under `api_key`. Each tool then
checks that the key grants its scope and may use the collection (a `forbidden:` tool error
otherwise). With no key in the request state the server is open (no key exists, on
loopback), and over stdio there is no request at all: the process runs with the rights of
whoever started it, like the CLI.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from service.access import Door, refusal_headers
from service.errors import ForbiddenError, NewsdeskError
from service.keys import ApiKey

STATE_KEY = "api_key"  # where the door leaves the request's key record (the API's middleware too)
PROBLEM_BASE = "https://newsdesk.example/problems/"


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


class DoorMiddleware:
    """ASGI middleware for the endpoint served alone: the request goes through `door`; a
    refusal is answered as problem+json with the door's headers (WWW-Authenticate,
    Retry-After), else the key's record (None when open) goes in the request state. The
    key never reaches a log or a response."""

    def __init__(self, app: ASGIApp, door: Door):
        self.app = app
        self.door = door

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"authorization"), None)
        client = scope.get("client")
        try:
            key = await self.door.admit(header, str(client[0]) if client else None)
        except NewsdeskError as exc:
            await _refuse(exc, scope, send)
            return
        if key is not None:
            scope.setdefault("state", {})[STATE_KEY] = key
        await self.app(scope, receive, send)


async def _refuse(exc: NewsdeskError, scope: Scope, send: Send) -> None:
    body = json.dumps({"type": PROBLEM_BASE + exc.type_slug, "title": exc.title, "status": exc.status,
                       "detail": exc.message, "instance": scope.get("path", "")}).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode(), value.encode()) for name, value in refusal_headers(exc).items()]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

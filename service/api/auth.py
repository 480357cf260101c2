"""API keys at the HTTP door: `AuthMiddleware` hands each request to the one key door
(`service.access.Door`: the Bearer header parsed, the open rule, the key's rate limit and the
limit on unknown keys per client address), and turns its refusals into problems.

Every request is checked except the open paths (health, readiness, metrics, the API docs, the
reading page, and Slack, which checks its own request signatures): a missing or wrong key is
a 401 problem, a key over its rate limit (or an address past its unknown keys) a 429 with
`Retry-After`. The key's record (name, scopes, collections; never the key) is left in the
request state for the routes, the access log and the metrics. Scopes are checked per route
by `require(...)`: `ask` for asking and reading articles, `write` for changing articles,
`admin` for keys.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from service.access import Door
from service.api.problems import Responses, problem_headers, problem_response
from service.api.schemas import Problem
from service.errors import ForbiddenError, NewsdeskError
from service.keys import ApiKey

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/openapi.json",
                        "/"})  # the reading page: static, it asks for a key when the API wants one
OPEN_PREFIXES = ("/slack/", "/web/")


def is_open_path(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def client_address(scope: Scope) -> str:
    """The peer's address (behind a proxy, what uvicorn's `--forwarded-allow-ips` makes it)."""
    client = scope.get("client")
    return str(client[0]) if client else "-"


def error_response(exc: NewsdeskError, scope: Scope):
    """The problem response for a domain error raised where the exception handlers do not
    reach (middleware)."""
    return problem_response(status=exc.status, slug=exc.type_slug, title=exc.title, detail=exc.message,
                            scope=scope, headers=problem_headers(exc))


class AuthMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        door: Door | None = getattr(scope["app"].state, "door", None)
        # None: an app built without access control (tests of other routes).
        if scope["type"] != "http" or is_open_path(scope.get("path", "")) or door is None:
            await self.app(scope, receive, send)
            return
        try:
            key = await door.admit(Headers(scope=scope).get("authorization"), client_address(scope))
        except NewsdeskError as exc:
            await error_response(exc, scope)(scope, receive, send)
            return
        if key is not None:
            scope.setdefault("state", {})["api_key"] = key
        await self.app(scope, receive, send)


# -- per-route checks -----------------------------------------------------------------------------

# Documents the scheme in OpenAPI; the middleware has already checked the key itself.
_bearer = HTTPBearer(auto_error=False, description="An API key from `newsdesk keys create`.")


def current_key(request: Request) -> ApiKey | None:
    """The request's key, or None when the server is open (no keys, loopback)."""
    return (request.scope.get("state") or {}).get("api_key")


def require(scope: str):
    def check(request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> ApiKey | None:
        key = current_key(request)
        if key is not None and not key.allows(scope):
            raise ForbiddenError(f"the key {key.name!r} lacks the {scope!r} scope "
                                 f"(it has: {', '.join(sorted(key.scopes))})")
        return key

    return check


def require_for_method(request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> ApiKey | None:
    """Articles: reading needs `ask`, changing needs `write`."""
    return require("ask" if request.method in ("GET", "HEAD") else "write")(request, _)


AUTH_RESPONSES: Responses = {
    401: {"model": Problem, "description": "Missing or invalid API key (type unauthorized)"},
    403: {"model": Problem, "description": "The key lacks the scope or the collection (type forbidden)"},
    429: {"model": Problem, "description": "The key is over its rate limit (type rate-limited), with Retry-After"},
}

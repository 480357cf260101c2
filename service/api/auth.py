"""API keys at the door: `Authorization: Bearer <key>`, then the key's rate limit.

`AuthMiddleware` authenticates every request except the open paths (health, readiness,
metrics, the API docs, and Slack, which checks its own request signatures): a missing or
wrong key is a 401 problem, a key over its rate limit a 429 with `Retry-After`. The key's
record (name, scopes, collections; never the key) is left in the request state for the
routes, the access log and the metrics.

Keys are required when the server was told to require them (`serve` on a non-loopback
address) or as soon as one active key exists; a loopback server with no keys is open, so
a first `newsdesk serve` needs no set-up. Scopes are checked per route by `require(...)`:
`ask` for asking and reading articles, `write` for changing articles, `admin` for keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api import metrics
from service.api.limits import KeyRateLimiter
from service.api.problems import Responses, problem_headers, problem_response
from service.api.schemas import Problem
from service.errors import ForbiddenError, NewsdeskError, UnauthorizedError
from service.keys import ApiKey, KeyStore

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/openapi.json",
                        "/"})  # the reading page: static, it asks for a key when the API wants one
OPEN_PREFIXES = ("/slack/", "/web/")


@dataclass
class Access:
    keys: KeyStore
    limiter: KeyRateLimiter
    required: bool = False  # True: every request needs a key, even while none exists

    # The store is read on a thread only when the cache cannot answer (once per TTL).
    async def verify(self, token: str) -> ApiKey | None:
        known, key = self.keys.cached(token)
        return key if known else await anyio.to_thread.run_sync(self.keys.verify, token)

    async def open_now(self) -> bool:
        if self.required:
            return False
        any_active = self.keys.cached_any()
        if any_active is None:
            any_active = await anyio.to_thread.run_sync(self.keys.any_active)
        return not any_active


def is_open_path(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def error_response(exc: NewsdeskError, scope: Scope):
    """The problem response for a domain error raised where the exception handlers do not
    reach (middleware)."""
    return problem_response(status=exc.status, slug=exc.type_slug, title=exc.title, detail=exc.message,
                            scope=scope, headers=problem_headers(exc))


class AuthMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        access: Access | None = getattr(scope["app"].state, "access", None)
        # None: an app built without access control (tests of other routes).
        if scope["type"] != "http" or is_open_path(scope.get("path", "")) or access is None:
            await self.app(scope, receive, send)
            return
        key = None
        try:
            key = await self._authenticate(access, Headers(scope=scope).get("authorization"))
            if key is not None:
                scope.setdefault("state", {})["api_key"] = key
                await access.limiter.hit(key.key_id, key.rate_limit)
        except NewsdeskError as exc:
            if exc.status == 429 and key is not None:
                metrics.RATE_LIMITED.labels(key.name).inc()
            await error_response(exc, scope)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _authenticate(self, access: Access, header: str | None) -> ApiKey | None:
        if await access.open_now():
            # No key exists to check against: whatever an OpenAI SDK or chat front-end puts
            # in its Authorization header (they always send one) is ignored, not refused.
            return None
        if not header:
            metrics.AUTH_FAILURES.labels("missing").inc()
            raise UnauthorizedError("send an API key as 'Authorization: Bearer <key>' (create one with `newsdesk keys create`)")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            metrics.AUTH_FAILURES.labels("malformed").inc()
            raise UnauthorizedError("the Authorization header must be 'Bearer <key>'")
        key = await access.verify(token)
        if key is None:
            metrics.AUTH_FAILURES.labels("unknown").inc()
            # Never echo the key: it may be a real one pasted into the wrong place.
            raise UnauthorizedError("this API key is not valid (unknown or revoked)")
        return key


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

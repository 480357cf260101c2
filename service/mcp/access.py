"""Keys and scopes on the MCP edge.

Over streamable HTTP every request carries `Authorization: Bearer <key>` when keys are
enabled: `BearerKeys` answers a missing or unknown key with a 401 problem before the MCP
session sees the request, and each tool checks that the key grants its scope (a 403-like
tool error otherwise). Over stdio there is no header: the process runs with the rights of
whoever started it, like the CLI.

The key store is passed in as a `KeyVerifier`: the presented key -> its `Grant` (what the
key may do: `allows(scope)`, `sees(collection)`), or None when the key is unknown or
revoked. `service.keys.KeyStore.verify` is one; this edge does not care where keys live.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from service.errors import NewsdeskError



class Grant(Protocol):
    def allows(self, scope: str) -> bool: ...

    def sees(self, collection: str) -> bool: ...


KeyVerifier = Callable[[str], Grant | None]

PROBLEM_BASE = "https://newsdesk.example/problems/"


class KeyRejectedError(NewsdeskError):
    type_slug = "unauthorized"
    status = 401
    title = "Missing or unknown API key"


class ScopeMissingError(NewsdeskError):
    type_slug = "forbidden"
    status = 403
    title = "The key lacks the scope"


def bearer_key(headers: Mapping[str, str] | None) -> str | None:
    if not headers:
        return None
    value = headers.get("authorization") or headers.get("Authorization") or ""
    scheme, _, key = value.partition(" ")
    return key.strip() or None if scheme.lower() == "bearer" else None


def grant_of(verify: KeyVerifier, headers: Mapping[str, str] | None) -> Grant:
    key = bearer_key(headers)
    grant = verify(key) if key else None
    if grant is None:
        raise KeyRejectedError("send a valid key as `Authorization: Bearer <key>`")
    return grant


def check_access(verify: KeyVerifier | None, headers: Mapping[str, str] | None, scope: str, collection: str) -> None:
    """Raise unless the request may use `scope` on `collection`. No verifier (keys disabled)
    or no headers (stdio: a local process) means no check."""
    if verify is None or headers is None:
        return
    grant = grant_of(verify, headers)
    if not grant.allows(scope):
        raise ScopeMissingError(f"this key does not have the {scope!r} scope")
    if not grant.sees(collection):
        raise ScopeMissingError(f"this key may not use collection {collection!r}")


class BearerKeys:
    """ASGI middleware in front of the streamable HTTP app: 401 problem+json for a missing
    or unknown key. The key itself never reaches a log or a response."""

    def __init__(self, app: ASGIApp, verify: KeyVerifier):
        self.app = app
        self.verify = verify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        try:
            grant_of(self.verify, headers)
        except KeyRejectedError as exc:
            body = json.dumps({
                "type": PROBLEM_BASE + exc.type_slug, "title": exc.title, "status": exc.status,
                "detail": exc.message, "instance": scope.get("path", ""),
            }).encode()
            await send({"type": "http.response.start", "status": exc.status, "headers": [
                (b"content-type", b"application/problem+json"), (b"www-authenticate", b'Bearer realm="newsdesk"'),
                (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

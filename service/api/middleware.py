"""Two pure-ASGI middlewares (pure so they wrap streaming responses unchanged):

- `RequestIdMiddleware`: takes `X-Request-ID` from the request when it is a sane token,
  otherwise makes one; stores it in the request state, echoes it on every response and
  logs one line per request with it.
- `BodyLimitMiddleware`: refuses a body over the limit with a 413 problem before any
  route parses it, by its Content-Length when one is sent and by counting the bytes as
  they arrive otherwise (chunked uploads).
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.problems import REQUEST_ID_HEADER, http_problem

_SANE_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")

logger = logging.getLogger("newsdesk.api")


def request_id_from(headers: Headers) -> str:
    given = headers.get(REQUEST_ID_HEADER)
    # A caller's id ends up in logs and in Slack messages: only accept plain tokens.
    return given if given and _SANE_ID.match(given) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope))
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500  # if no response starts, the error handler outside us answers 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            logger.info("%s %s %s %.1fms request_id=%s", scope.get("method"), scope.get("path"), status,
                        (time.perf_counter() - started) * 1000, request_id, extra={"request_id": request_id})


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._refuse(scope, receive, send)
            return
        # Buffer the body (at most the limit) so no route ever sees a partial one.
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._refuse(scope, receive, send)
                return
            parts.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(parts)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect as usual

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = http_problem(
            413, f"the request body exceeds the limit of {self.max_body_bytes} bytes", scope,
            headers={"Connection": "close"}, max_body_bytes=self.max_body_bytes,
        )
        await response(scope, receive, send)

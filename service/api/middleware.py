"""Pure-ASGI middlewares (pure so they wrap streaming responses unchanged):

- `RequestIdMiddleware`: takes `X-Request-ID` from the request when it is a sane token,
  otherwise makes one; stores it in the request state, echoes it on every response, logs
  one access line per request (request id, key name, route, status, timings; never the
  key) and counts it in the metrics. An exception that escapes the app is logged here,
  once with its traceback, and answered with a bare 500 problem, so neither Starlette nor
  uvicorn prints it a second time.
- `ShedMiddleware`: a 503 `overloaded` for an ask while the ask gate is full, before
  anything reads the request.
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

from service.api import metrics
from service.api.auth import error_response
from service.api.problems import REQUEST_ID_HEADER, ProblemResponse, http_problem, internal_problem
from service.errors import OverloadedError

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
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started, started_ns = time.perf_counter(), time.time_ns()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("unhandled error in %s %s (request %s)", scope.get("method"), scope.get("path"), request_id,
                             extra={"request_id": request_id})
            if response_started:
                raise
            await ProblemResponse(internal_problem(scope), status_code=500,
                                  headers={REQUEST_ID_HEADER: request_id})(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_of(scope)
            key = state.get("api_key")
            key_name = key.name if key is not None else "-"
            metrics.observe_request(route, scope.get("method", ""), status, key_name, elapsed)
            logger.info("%s %s %s %.1fms", scope.get("method"), scope.get("path"), status, elapsed * 1000, extra={
                "request_id": request_id, "key": key_name, "route": route, "method": scope.get("method"),
                "path": scope.get("path"), "status": status, "duration_ms": round(elapsed * 1000, 2),
                **({"timings_ms": state["timings_ms"]} if "timings_ms" in state else {}),
            })
            tracer = getattr(scope["app"].state, "tracer", None) if "app" in scope else None
            if tracer is not None:
                tracer.record(route=route, method=scope.get("method", ""), status=status, request_id=request_id,
                              key=key_name, started_ns=started_ns, ended_ns=time.time_ns(),
                              timings_ms=state.get("timings_ms"))


def route_of(scope: Scope) -> str:
    """The matched route's template (bounded, unlike paths that carry ids), or `unmatched`."""
    route = scope.get("route")
    if route is None:
        return (scope.get("state") or {}).get("route", "unmatched")
    return getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched"


class ShedMiddleware:
    """Refuses an ask at the door while the ask gate is full: no body read, no validation,
    no routing, so a shed ask costs the event loop as little as possible. (The route takes
    the gate's place itself; this only answers early what it would answer anyway.)"""

    def __init__(self, app: ASGIApp, *, path: str = "/v1/ask") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") == self.path and scope.get("method") == "POST":
            gate = getattr(scope["app"].state, "ask_gate", None)
            if gate is not None and gate.full:
                try:
                    gate.admit()  # refuses, and counts the shed request
                except OverloadedError as exc:
                    scope.setdefault("state", {})["route"] = self.path  # for the access line and metrics
                    await error_response(exc, scope)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


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

"""JSON request bodies, checked once before any route reads them.

- The media type must be `application/json` (or `application/<x>+json`). Anything else,
  and no `Content-Type` at all, is a 415 `unsupported-media-type` problem: a client that
  forgot the header learns it at once instead of having its body guessed at.
- The bytes must be UTF-8 (RFC 8259 section 8.1) and valid JSON, nested at most
  `MAX_DEPTH` levels (Python's parser would otherwise recurse into a RecursionError), with
  no integer longer than Python converts (4,300 digits). Each failure is a 422
  `validation-error` problem (naming the byte offset where there is one).

Routers whose operations take a body use `JSONBodyRoute` as their route class; the route
then reads the checked payload with `await request.json()`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

MAX_DEPTH = 32
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def is_json_media_type(content_type: str | None) -> bool:
    media = (content_type or "").split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def body_error(kind: str, message: str, *where: int) -> RequestValidationError:
    return RequestValidationError([{"type": kind, "loc": ("body", *where), "msg": message, "input": {}}])


def depth_of(value: Any) -> int:
    """Nesting depth of a parsed JSON value, without recursion (a scalar is 0)."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth + 1)
            pending.extend((child, depth + 1) for child in item if isinstance(child, (dict, list)))
    return deepest


def parse_json_body(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise body_error("json_invalid", f"the body is not UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start}",
                         exc.start) from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise body_error("json_invalid", f"JSON decode error: {exc.msg}", exc.pos) from None
    except RecursionError:
        raise body_error("json_too_deep", f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        # Python's int-string limit (sys.get_int_max_str_digits, 4,300 digits by default):
        # no field takes a number that long, and its digits are not echoed.
        raise body_error("json_number_too_long", "JSON number too long: integers are limited to "
                         f"{sys.get_int_max_str_digits():,} digits") from None
    if depth_of(payload) > MAX_DEPTH:
        raise body_error("json_too_deep", f"JSON nested deeper than {MAX_DEPTH} levels")
    return payload


class CheckedJSONRequest(Request):
    """A request whose body has been read and checked: `json()` returns the payload."""

    def __init__(self, request: Request, raw: bytes, payload: Any):
        super().__init__(request.scope, request.receive)
        self._checked_raw = raw
        self._checked_payload = payload

    async def body(self) -> bytes:
        return self._checked_raw

    async def json(self) -> Any:
        return self._checked_payload


async def checked_json(request: Request) -> CheckedJSONRequest:
    content_type = request.headers.get("content-type")
    if not is_json_media_type(content_type):
        sent = f"not {content_type.split(';')[0].strip()}" if content_type else "and say so in a Content-Type header"
        raise HTTPException(415, f"send the body as application/json, {sent}")
    raw = await request.body()
    return CheckedJSONRequest(request, raw, parse_json_body(raw))


class JSONBodyRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_checked(request: Request) -> Response:
            if request.method in _BODY_METHODS:
                request = await checked_json(request)
            return await handle(request)

        return handle_checked

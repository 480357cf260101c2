"""Errors become RFC 9457 problem details here, and only here.

Every error response of the API is `application/problem+json`:

    {"type": "https://newsdesk.example/problems/<slug>", "title": ..., "status": ...,
     "detail": ..., "instance": "<request path>", "request_id": ...}

plus extension members for some types (`errors` for validation, `checks` for readiness,
`results` for a failed ingest). Domain errors carry their slug and status in
`service.errors`; the HTTP layer's own problems are listed in `HTTP_PROBLEMS`. Unexpected
exceptions are logged with the request id and answered with a bare `internal-error` that
reveals nothing about the code or the data. The OpenAPI document says the same: every 4xx
and 5xx response of every operation is `application/problem+json` with the `Problem` schema.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from service.access import refusal_headers
from service.api.schemas import Problem
from service.errors import NewsdeskError, OverloadedError

PROBLEM_BASE = "https://newsdesk.example/problems/"
MEDIA_TYPE = "application/problem+json"
REQUEST_ID_HEADER = "X-Request-ID"

# status -> (type slug, title) for problems raised by the HTTP layer itself.
HTTP_PROBLEMS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Request validation failed"),
    500: ("internal-error", "Internal server error"),
    503: ("not-ready", "Service not ready"),
}

logger = logging.getLogger("newsdesk.api")
E = TypeVar("E", bound=Exception)


class ProblemResponse(JSONResponse):
    media_type = MEDIA_TYPE


def problem_type(slug: str) -> str:
    return PROBLEM_BASE + slug


def request_id_of(scope: Scope) -> str:
    """Set by `RequestIdMiddleware` before anything else runs."""
    return (scope.get("state") or {}).get("request_id", "")


def problem_body(*, status: int, slug: str, title: str, detail: str, scope: Scope, **extensions: Any) -> dict[str, Any]:
    return {
        "type": problem_type(slug),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": scope.get("path", ""),
        "request_id": request_id_of(scope),
        **extensions,
    }


def problem_response(*, status: int, slug: str, title: str, detail: str, scope: Scope,
                     headers: dict[str, str] | None = None, **extensions: Any) -> ProblemResponse:
    body = problem_body(status=status, slug=slug, title=title, detail=detail, scope=scope, **extensions)
    headers = {**(headers or {}), REQUEST_ID_HEADER: body["request_id"]}
    return ProblemResponse(body, status_code=status, headers=headers)


def http_problem(status: int, detail: str, scope: Scope, *, headers: dict[str, str] | None = None,
                 **extensions: Any) -> ProblemResponse:
    slug, title = HTTP_PROBLEMS.get(status, ("http-error", "HTTP error"))
    return problem_response(status=status, slug=slug, title=title, detail=detail, scope=scope, headers=headers, **extensions)


def error_problem(exc: NewsdeskError, scope: Scope) -> dict[str, Any]:
    """The body for a domain error (also sent as an SSE `error` event mid-stream)."""
    return problem_body(status=exc.status, slug=exc.type_slug, title=exc.title, detail=exc.message, scope=scope)


def internal_problem(scope: Scope) -> dict[str, Any]:
    slug, title = HTTP_PROBLEMS[500]
    return problem_body(status=500, slug=slug, title=title, scope=scope,
                        detail="An unexpected error occurred. Quote the request id when reporting it.")


# -- handlers -------------------------------------------------------------------------------------

def problem_headers(exc: NewsdeskError) -> dict[str, str]:
    """Headers a domain error's response carries: the key door's (WWW-Authenticate after a
    401, Retry-After after a 429) and Retry-After for an overload."""
    headers = refusal_headers(exc)
    if isinstance(exc, OverloadedError):
        headers["Retry-After"] = str(exc.retry_after_s)
    return headers


async def _newsdesk_error(request: Request, exc: NewsdeskError) -> ProblemResponse:
    # Shedding load (503 with Retry-After) is the server working as designed, not a fault.
    level = logging.ERROR if exc.status >= 500 and not isinstance(exc, OverloadedError) else logging.INFO
    request_id = request_id_of(request.scope)
    logger.log(level, "%s %s -> %s %s: %s (request %s)", request.method, request.url.path, exc.status, exc.type_slug,
               exc.message, request_id, extra={"request_id": request_id})
    body = error_problem(exc, request.scope)
    return ProblemResponse(body, status_code=exc.status,
                           headers={**problem_headers(exc), REQUEST_ID_HEADER: body["request_id"]})


def public_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Without pydantic's `input` (which would echo the whole offending value) and `ctx`.
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]


async def _validation_error(request: Request, exc: RequestValidationError) -> ProblemResponse:
    errors = public_errors(exc)
    shown = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return http_problem(422, shown + more, request.scope, errors=errors)


async def _http_exception(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        detail = f"no route matches {request.method} {request.url.path}"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
        headers["Allow"] = ", ".join(allowed_methods(request.app.router.routes, request.scope)) or headers.get("Allow", "")
    else:
        detail = str(exc.detail)
    return http_problem(exc.status_code, detail, request.scope, headers=headers)


_METHODS_TRIED = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> list[str]:
    """Every method some route takes on this path. Starlette's own Allow names only the
    first route whose path matched, and one path has a route per method (GET and POST
    /v1/articles), so it would list one of them. Each method is tried against the router,
    the way a request with it would be routed."""
    return [method for method in _METHODS_TRIED
            if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in routes)]


async def _unexpected(request: Request, exc: Exception) -> ProblemResponse:
    request_id = request_id_of(request.scope)
    logger.exception("unhandled error in %s %s (request %s)", request.method, request.url.path, request_id,
                     extra={"request_id": request_id})
    body = internal_problem(request.scope)
    return ProblemResponse(body, status_code=500, headers={REQUEST_ID_HEADER: request_id})


# -- the OpenAPI document ---------------------------------------------------------------------------

# FastAPI's `responses=`: status code -> what the OpenAPI document says of that response.
Responses = dict[int | str, dict[str, Any]]

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
_FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")


def problem_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """FastAPI documents error responses as `application/json` (its own 422 with its
    `HTTPValidationError`); newsdesk sends `application/problem+json`. Rewrite every 4xx,
    5xx and default response of every operation to say so, with the `Problem` schema."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            # Refused the same way on every route, so documented here once.
            if "requestBody" in operation:
                responses.setdefault("413", {"description": "Body over the size limit (payload-too-large)"})
                responses.setdefault("415", {"description": "Body not sent as application/json (unsupported-media-type)"})
            if "requestBody" in operation or operation.get("parameters"):
                responses.setdefault("422", {"description": "Invalid request (validation-error)"})
            for code, response in responses.items():
                if code[0] in "45" or code == "default":
                    response["content"] = {MEDIA_TYPE: {"schema": dict(_PROBLEM_REF)}}
    text = str(schema["paths"])
    for name in _FASTAPI_ERROR_SCHEMAS:
        if f"#/components/schemas/{name}'" not in text:
            schemas.pop(name, None)
    return schema


def install_problem_openapi(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problem_openapi(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise it


def _handler(kind: type[E], handle: Callable[[Request, E], Awaitable[Response]]
             ) -> Callable[[Request, Exception], Awaitable[Response]]:
    """`handle` as Starlette types an exception handler (any Exception); Starlette calls it
    only for `kind` and its subclasses."""
    async def handler(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, kind):
            raise exc
        return await handle(request, exc)

    return handler


def install_problem_handlers(app: FastAPI) -> None:
    install_problem_openapi(app)
    app.add_exception_handler(NewsdeskError, _handler(NewsdeskError, _newsdesk_error))
    app.add_exception_handler(RequestValidationError, _handler(RequestValidationError, _validation_error))
    app.add_exception_handler(StarletteHTTPException, _handler(StarletteHTTPException, _http_exception))
    # Starlette runs this one in its outermost middleware, for anything nothing else caught.
    app.add_exception_handler(Exception, _unexpected)

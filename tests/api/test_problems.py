"""Every error leaves the API as RFC 9457 problem details with a stable type URI."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from service.answer.events import DeltaEvent, SourcesEvent
from service.answer.retrieval import RetrievalResult
from service.api.app import create_app
from service.api.problems import PROBLEM_BASE
from service.api.routes.ask import _sse
from service.errors import NewsdeskError, StoreUnavailableError
from tests.api.fakes import parse_sse

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id"}


def all_errors(cls=NewsdeskError):
    for sub in cls.__subclasses__():
        yield sub
        yield from all_errors(sub)


def assert_problem(response, status: int, slug: str):
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert PROBLEM_KEYS <= set(body)
    assert body["type"] == PROBLEM_BASE + slug and body["status"] == status
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


@pytest.fixture
def raising_app(sample_index):
    """The real app plus one route that raises whatever the test hands it."""
    app = create_app(sample_index.settings, sample_index)
    state = {}

    async def explode():
        raise state["error"]

    app.add_api_route("/test/explode", explode)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, state


def test_unknown_route_is_a_404_problem(api):
    body = assert_problem(api.get("/v2/nothing-here"), 404, "not-found")
    assert body["instance"] == "/v2/nothing-here" and body["title"] == "Not found"


def test_wrong_method_is_a_405_problem_with_allow(api):
    response = api.put("/v1/ask", json={"question": "x"})
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["Allow"] == "POST"


@pytest.mark.parametrize("error_class", list(all_errors()), ids=lambda c: c.__name__)
def test_each_domain_error_has_its_type_and_status(raising_app, error_class):
    client, state = raising_app
    state["error"] = error_class("what went wrong, for the operator")
    response = client.get("/test/explode", headers={"X-Request-ID": "req-123"})
    body = assert_problem(response, error_class.status, error_class.type_slug)
    assert body["title"] == error_class.title
    assert body["detail"] == "what went wrong, for the operator"
    assert body["instance"] == "/test/explode" and body["request_id"] == "req-123"


def test_error_slugs_are_stable():
    # docs/api.md promises these type URIs to clients.
    assert {c.__name__: (c.type_slug, c.status) for c in all_errors()}.items() >= {
        "IngestError": ("invalid-article", 422),
        "IndexMismatchError": ("index-mismatch", 409),
        "StoreUnavailableError": ("store-unavailable", 503),
        "ArticleNotFoundError": ("article-not-found", 404),
        "LLMUnavailableError": ("llm-unavailable", 503),
    }.items()


def test_unexpected_errors_are_500_problems_without_internals(raising_app, caplog):
    client, state = raising_app
    state["error"] = RuntimeError("connection string postgres://admin:hunter2@db/prod")
    response = client.get("/test/explode")
    body = assert_problem(response, 500, "internal-error")
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert body["request_id"] in body["detail"] or "request id" in body["detail"]
    # The operator gets the traceback, under the same request id.
    logged = [r for r in caplog.records if r.name == "newsdesk.api" and r.levelno == logging.ERROR]
    assert logged and logged[0].exc_info and body["request_id"] in logged[0].getMessage()


async def _collect(stream) -> str:
    return "".join([part async for part in stream])


def _events_then(error):
    yield DeltaEvent("Partial answer")
    raise error


@pytest.mark.anyio
@pytest.mark.parametrize(("error", "slug", "status"), [
    (StoreUnavailableError("collection 'newsdesk' vanished"), "store-unavailable", 503),
    (KeyError("internal detail"), "internal-error", 500),
])
async def test_a_failure_mid_stream_ends_with_an_error_event(error, slug, status):
    first = SourcesEvent(request_id="req-9", sources=[], retrieval=RetrievalResult([], 0.0))
    scope = {"type": "http", "path": "/v1/ask", "state": {"request_id": "req-9"}}
    events = parse_sse(await _collect(_sse(first, _events_then(error), scope)))
    assert [name for name, _ in events] == ["sources", "delta", "error"]
    problem = events[-1][1]
    assert problem["type"] == PROBLEM_BASE + slug and problem["status"] == status
    assert problem["request_id"] == "req-9"
    assert "internal detail" not in str(problem)

"""The faults found in issue 11, each kept fixed by a test (in-process; the fault suite
over real HTTP, with a stopped Chroma and a hanging LLM, is tests/api/test_fault_suite.py).

1 out-of-range numbers, 5 malformed bodies, 6 invisible text, 7 the OpenAPI error media
type, 8 LLM stream faults, plus the article size limit and the request deadline. Fault 4
(Slack timestamp) is in tests/slack/test_http.py, fault 10 in tests/test_packaging.py."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.api.bodies import MAX_DEPTH
from service.api.problems import MEDIA_TYPE
from tests.api.conftest import llm_settings, sharing
from tests.api.fakes import API_KEY, CHAT_URL, parse_sse, stream_body
from tests.api.test_ask import MISTRAL_Q, ask, assert_quotes_verbatim
from tests.api.test_problems import assert_problem
from tests.conftest import make_settings

JSON = {"content-type": "application/json"}


# -- 1: numbers out of range ------------------------------------------------------------------------

@pytest.mark.parametrize("offset", [2**32, 2**31, 10**30])
def test_an_offset_beyond_what_the_store_takes_is_a_422(api, offset):
    body = assert_problem(api.get("/v1/articles", params={"offset": offset}), 422, "validation-error")
    assert body["errors"][0]["loc"] == ["query", "offset"]


def test_the_largest_offset_is_an_empty_page(api):
    response = api.get("/v1/articles", params={"offset": 2**31 - 1})
    assert response.status_code == 200 and response.json()["items"] == []


@pytest.mark.parametrize("when", [1e20, -1e20, 10**19, "1e20"])
def test_a_date_beyond_the_calendar_is_a_422(api, when):
    response = ask(api, {"question": MISTRAL_Q, "filters": {"published_after": when}})
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"][0]["loc"] == ["body", "filters", "published_after"]


# -- 5: bodies that are not (sane) JSON -------------------------------------------------------------

ROUTES = ["/v1/ask", "/v1/articles"]


@pytest.mark.parametrize("route", ROUTES)
def test_json_nested_ten_thousand_deep_is_a_422(api, route):
    deep = "[" * 10_000 + "]" * 10_000
    body = assert_problem(api.post(route, content=deep, headers=JSON), 422, "validation-error")
    assert f"deeper than {MAX_DEPTH}" in body["detail"]


@pytest.mark.parametrize("route", ROUTES)
def test_json_just_too_deep_for_the_limit_is_a_422(api, route):
    nested = '{"question": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}"  # MAX_DEPTH + 1 levels
    assert_problem(api.post(route, content=nested, headers=JSON), 422, "validation-error")


@pytest.mark.parametrize("route", ROUTES)
def test_a_body_that_is_not_utf8_is_a_422_naming_the_byte(api, route):
    raw = b'{"question": "caf\xe9?", "title": "t", "text": "x"}'
    body = assert_problem(api.post(route, content=raw, headers=JSON), 422, "validation-error")
    assert "not UTF-8: byte 0xe9 at offset 17" in body["detail"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("headers", [{}, {"content-type": "text/plain"}, {"content-type": "application/xml"}],
                         ids=["none", "text", "xml"])
def test_a_body_without_the_json_media_type_is_a_415(fresh_api, route, headers):
    # Decided: 415, not a guess at the body. Nothing is answered nor stored.
    payload = json.dumps({"question": MISTRAL_Q, "title": "t", "text": "Some article text."})
    body = assert_problem(fresh_api.post(route, content=payload, headers=headers), 415, "unsupported-media-type")
    assert "application/json" in body["detail"]
    assert fresh_api.get("/v1/articles").json()["total"] == 0


@pytest.mark.parametrize("media_type", ["application/json; charset=utf-8", "application/merge-patch+json"])
def test_json_media_types_with_parameters_or_suffix_are_accepted(api, media_type):
    response = api.post("/v1/ask", content=json.dumps({"question": MISTRAL_Q}), headers={"content-type": media_type})
    assert response.status_code == 200 and response.json()["answerable"] is True


# -- 6: text that is only invisible characters ------------------------------------------------------

@pytest.mark.parametrize("text", ["\u200b\u200c\u200d\ufeff", "\u2060 \u200b\n\n\u00a0"])
def test_an_article_of_only_zero_width_characters_is_a_422_that_says_why(fresh_api, text):
    response = fresh_api.post("/v1/articles", json={"title": "Invisible", "text": text})
    body = assert_problem(response, 422, "invalid-article")
    assert "no visible text" in body["detail"] and "zero-width" in body["results"][0]["reason"]
    assert fresh_api.get("/v1/articles").json()["total"] == 0


# -- size limit ---------------------------------------------------------------------------------------

@pytest.fixture
def small_limit_api(components):
    settings = make_settings(components.settings.index_dir, max_article_chars=1000)
    with TestClient(create_app(settings, sharing(components, settings))) as client:
        yield client


def test_an_article_over_the_size_limit_is_a_413(small_limit_api):
    response = small_limit_api.post("/v1/articles", json={"title": "Long", "text": "word " * 300})
    body = assert_problem(response, 413, "article-too-large")
    assert "1,499 characters, over the limit of 1,000" in body["detail"]
    assert "NEWSDESK_MAX_ARTICLE_CHARS" in body["results"][0]["reason"]
    assert small_limit_api.get("/v1/articles").json()["total"] == 0


def test_in_a_batch_only_the_oversized_article_fails(small_limit_api):
    response = small_limit_api.post("/v1/articles", json=[
        {"id": "long", "title": "Long", "text": "word " * 300},
        {"id": "short", "title": "Short", "text": "A short article about the harbour."},
    ])
    assert response.status_code == 201
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["failed", "added"] and "over the limit" in results[0]["reason"]
    assert [a["article_id"] for a in small_limit_api.get("/v1/articles").json()["items"]] == ["short"]


# -- 7: the OpenAPI document says problem+json --------------------------------------------------------

def test_every_documented_error_is_problem_json_with_the_problem_schema(api):
    doc = api.get("/openapi.json").json()
    errors = [(path, method, code, response) for path, item in doc["paths"].items()
              for method, operation in item.items() for code, response in operation["responses"].items()
              if code[0] in "45"]
    assert len(errors) >= 10
    for path, method, code, response in errors:
        assert response["content"] == {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}, (path, method, code)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    problem = doc["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "instance", "request_id"}
    assert "415" in doc["paths"]["/v1/ask"]["post"]["responses"]
    assert "503" in doc["paths"]["/v1/articles"]["get"]["responses"]


# -- 8: LLM stream faults become degraded answers -----------------------------------------------------

def sse_response(body: bytes) -> httpx.Response:
    return httpx.Response(200, content=body, headers={"content-type": "text/event-stream; charset=utf-8"})


def events_of(parts: list[str]) -> list[bytes]:
    return [event + b"\n\n" for event in stream_body(parts).split(b"\n\n") if event]


def no_choices(event: bytes) -> bytes:
    chunk = json.loads(event.removeprefix(b"data: "))
    chunk["choices"] = []
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


PARTS = ["Mistral Small 3.1 has a context window ", "of up to 128,000 tokens [1]."]
STREAM_FAULTS = {
    # Only content-filter style chunks, then [DONE]: no text at all, never "not found".
    "only-empty-choices": b"".join(no_choices(e) for e in events_of(PARTS)[:-1]) + b"data: [DONE]\n\n",
    # The connection closes after the first content chunk: no finish chunk, no [DONE].
    "no-done": b"".join(events_of(PARTS)[:2]),
    # Cut in the middle of a chunk's JSON.
    "cut-mid-body": b"".join(events_of(PARTS))[: b"".join(events_of(PARTS)).index(b"128,000")],
    # A proxy's error page where a chunk should be.
    "html-chunk": events_of(PARTS)[0] + b"data: <html>502 Bad Gateway</html>\n\n",
}


@pytest.mark.parametrize("fault", list(STREAM_FAULTS))
def test_a_broken_stream_ends_in_a_degraded_answer_that_says_so(llm_api, respx_mock, fault):
    respx_mock.post(CHAT_URL).mock(side_effect=lambda request: sse_response(STREAM_FAULTS[fault]))
    response = ask(llm_api, {"question": MISTRAL_Q, "stream": True})
    assert response.status_code == 200
    events = parse_sse(response.text)
    assert [name for name, _ in events][-1] == "done"
    deltas = [data for name, data in events if name == "delta"]
    done = events[-1][1]
    assert deltas[-1]["replace"] is True and done["answer"] == deltas[-1]["text"]
    assert done["degraded"] is True and done["mode"] == "extractive" and done["answerable"] is True
    assert done["warnings"][0].startswith("LLM unavailable, answered extractively")
    assert_quotes_verbatim(llm_api, done["citations"])


@pytest.mark.parametrize("response", [
    httpx.Response(200, content=b"<html><body>upstream error</body></html>", headers={"content-type": "text/html"}),
    httpx.Response(200, content=b'{"id": "chatcmpl-B9", "object": "chat.compl', headers={"content-type": "application/json"}),
    httpx.Response(200, json={"id": "chatcmpl-B9", "object": "chat.completion", "created": 1741569952,
                              "model": "gpt-4o-mini", "choices": []}),
], ids=["html", "truncated-json", "no-choices"])
def test_a_completion_that_is_not_one_is_a_degraded_answer_not_a_500(llm_api, respx_mock, response):
    respx_mock.post(CHAT_URL).mock(return_value=response)
    reply = ask(llm_api, {"question": MISTRAL_Q})
    assert reply.status_code == 200
    body = reply.json()
    assert body["degraded"] is True and body["mode"] == "extractive" and body["answerable"] is True
    assert body["degraded_reason"] and API_KEY not in reply.text


# -- the request deadline -----------------------------------------------------------------------------

@pytest.fixture
def deadline_api(sample_index):
    """LLM mode with a 3 s request deadline and ten retries the deadline cuts short."""
    settings = llm_settings(sample_index.settings.index_dir, request_deadline_s=3.0, llm_max_retries=10)
    with TestClient(create_app(settings, sharing(sample_index, settings))) as client:
        yield client


def test_an_llm_that_keeps_failing_gives_way_to_the_extractive_answer_at_the_deadline(deadline_api, respx_mock):
    route = respx_mock.post(CHAT_URL).mock(side_effect=httpx.ConnectTimeout("no answer"))
    started = time.monotonic()
    body = ask(deadline_api, {"question": MISTRAL_Q}).json()
    elapsed = time.monotonic() - started
    assert body["degraded"] is True and body["mode"] == "extractive" and body["citations"]
    assert "before the request deadline" in body["degraded_reason"]
    # Ten retries would back off for about 30 s; the deadline stopped them after a few.
    assert 1 <= route.call_count < 10 and elapsed < 10

"""Issue 20's second round of hardening, over real HTTP (uvicorn on a loopback port): a JSON
integer too long for Python, URLs that are not http(s), strict integers, 405's Allow, an
unknown key's DELETE, and validation errors that never echo the input (API and MCP)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from service.api.problems import PROBLEM_BASE
from service.components import Components
from service.ingest.feeds import FeedItem, FeedSpec
from service.ingest.loading import load_paths, parse_records
from service.models import Article
from tests.api.test_e2e import uvicorn_thread
from tests.conftest import make_article, make_settings

pytestmark = pytest.mark.e2e

HUGE = "9" * 5000  # past Python's int-string limit (4,300 digits)
ECHO = "ECHO-ME-7f3a"  # a value no error may repeat
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder) -> Iterator[tuple[str, Components]]:
    """`serve`'s app (API + MCP at /mcp), open (no key exists), over two articles and one
    stored before URLs were checked (`javascript:`), on a uvicorn thread."""
    from service.cli.commands import build_server_app

    components = Components.build(make_settings(tmp_path_factory.mktemp("hardening")), embedder=embedder)
    components.ingester.ingest([make_article("a1", url="https://wire.example/a1"),
                                make_article("a2", "The ferry operator added six crossings a day. Tickets cost 4 euros.")])
    legacy = make_article("old-js", "The Zanthor dam opened in May. It holds 40 million cubic metres.",
                          url="javascript:alert(document.cookie)")
    chunks = components.chunker.chunk(legacy.article_id, legacy.text)
    _write_unchecked(components, legacy, chunks)
    with uvicorn_thread(build_server_app(components.settings, components)) as base:
        yield base, components


def _write_unchecked(components: Components, article: Article, chunks) -> None:
    """What an older newsdesk stored without looking at the URL: straight into the store."""
    from service.index import sentence_vectors

    vectors, sentences = sentence_vectors.embed_sentences(components.embedder.embed, [c.text for c in chunks],
                                                          with_texts=True)
    blobs = [sentence_vectors.encode(v, s) for v, s in zip(vectors, sentences, strict=True)]
    components.store.write([(article, chunks)], np.asarray(vectors), set(), blobs)


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == PROBLEM_BASE + slug and body["status"] == status
    return body


def mcp_call(base: str, tool: str, arguments: dict, headers: dict | None = None) -> httpx.Response:
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
    return httpx.post(f"{base}/mcp", json=call, headers={**MCP_HEADERS, **(headers or {})}, timeout=60)


def mcp_result(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    data = json.loads(next(line[6:] for line in response.text.splitlines() if line.startswith("data: ")))
    return data["result"]


# -- 1. a JSON integer over 4,300 digits -------------------------------------------------------------

JSON_ROUTES = [
    ("/v1/ask", '{"question": "What did Nvidia report?", "top_k": %s}'),
    ("/v1/search", '{"query": "Nvidia", "top_k": %s}'),
    ("/v1/articles", '{"title": "t", "text": "Some text.", "published_at": %s}'),
    ("/v1/chat/completions", '{"model": "newsdesk", "messages": [{"role": "user", "content": "hi"}], "n": %s}'),
    ("/v1/feedback", '{"request_id": "r1", "vote": "up", "question": "q", "answer": "a", "answerable": true, '
                     '"reader": "reader-token-000000", "citations": [{"n": %s}]}'),
    ("/v1/keys", '{"name": "desk", "scopes": ["ask"], "rate_limit": %s}'),
]


@pytest.mark.parametrize(("path", "body"), JSON_ROUTES, ids=[p for p, _ in JSON_ROUTES])
def test_an_integer_too_long_for_python_is_a_422_problem_on_every_json_route(served, path, body):
    base, _ = served
    response = httpx.post(base + path, content=body % HUGE, headers={"content-type": "application/json"}, timeout=60)
    problem = assert_problem(response, 422, "validation-error")
    assert problem["errors"][0]["type"] == "json_number_too_long"
    assert "9999" not in response.text


def test_an_integer_too_long_in_a_query_or_an_mcp_call_is_refused_too(served):
    base, _ = served
    assert_problem(httpx.get(f"{base}/v1/articles?limit={HUGE}", timeout=60), 422, "validation-error")
    call = ('{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "search", '
            '"arguments": {"query": "Nvidia", "top_k": ' + HUGE + '}}}')
    response = httpx.post(f"{base}/mcp", content=call, headers={**MCP_HEADERS, "content-type": "application/json"},
                          timeout=60)
    assert response.status_code < 500 and "9999" not in response.text


# -- 5. only http(s) URLs, on every ingest path and on the way out ----------------------------------

BAD_URLS = ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "//evil.example/x"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_post_with_a_url_that_is_not_http_is_refused(served, url):
    base, _ = served
    body = assert_problem(httpx.post(f"{base}/v1/articles", json={"title": "t", "text": "Some text.", "url": url},
                                     timeout=60), 422, "invalid-article")
    assert body["results"][0]["reason"] == "url must be an http:// or https:// URL"


def test_every_other_ingest_path_refuses_it(tmp_path):
    from llama_index.core import Document

    from service.ingest.documents import articles_from_documents

    bad = "javascript:alert(1)"
    (tmp_path / "a.json").write_text(json.dumps({"title": "t", "text": "Some text.", "url": bad}))
    (tmp_path / "b.md").write_text(f"---\ntitle: t\nurl: \"{bad}\"\n---\nSome text.\n")
    loaded = load_paths([tmp_path])
    assert not loaded.articles and len(loaded.errors) == 2
    assert all("http:// or https://" in e.message for e in loaded.errors)
    assert parse_records([{"title": "t", "text": "x", "url": bad}]).errors
    _, errors = articles_from_documents([Document(text="Some text.", metadata={"url": bad})])
    assert len(errors) == 1
    item = FeedItem(guid="g1", url=bad, title="t", author=None, published_at=None, text="Some text.", needs_page=False)
    with pytest.raises(ValueError, match="http"):
        item.article(FeedSpec(url="https://feed.example/rss", outlet="Feed"))
    # http and https, any case, still go in
    urls = ["http://plain.example/x", "HTTPS://Wire.example/y"]
    assert [a.url for a in parse_records([{"title": "t", "text": "x", "url": u} for u in urls]).articles] == urls


def test_a_url_stored_before_the_rule_is_never_handed_out(served):
    base, _ = served
    article = httpx.get(f"{base}/v1/articles/old-js", timeout=60).json()
    assert article["article_id"] == "old-js" and article["url"] is None  # the page links `url`: nothing
    listed = httpx.get(f"{base}/v1/articles", timeout=60).json()["items"]
    assert {a["article_id"]: a["url"] for a in listed} == {"a1": "https://wire.example/a1", "a2": None, "old-js": None}
    found = httpx.post(f"{base}/v1/search", json={"query": "Zanthor dam"}, timeout=60).json()["sources"]
    assert found[0]["article_id"] == "old-js" and found[0]["url"] is None
    asked = httpx.post(f"{base}/v1/ask", json={"question": "How much does the Zanthor dam hold?"}, timeout=60).json()
    assert "javascript" not in json.dumps(asked)
    for tool, args in (("get_article", {"article_id": "old-js"}), ("search", {"query": "Zanthor dam"})):
        assert "javascript" not in json.dumps(mcp_result(mcp_call(base, tool, args)))


# -- 6. the smaller ones ------------------------------------------------------------------------------

def test_revoking_an_unknown_key_is_a_404(served):
    base, _ = served
    body = assert_problem(httpx.delete(f"{base}/v1/keys/no-such-key", timeout=60), 404, "key-not-found")
    assert "no active key named 'no-such-key'" in body["detail"]


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", "/v1/articles", "GET, POST"),
    ("PATCH", "/v1/articles/a1", "GET, DELETE"),
    ("GET", "/v1/ask", "POST"),
    ("DELETE", "/v1/keys", "GET, POST"),
])
def test_a_405_lists_every_method_the_path_takes(served, method, path, allowed):
    base, _ = served
    response = httpx.request(method, base + path, timeout=60)
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["Allow"] == allowed


@pytest.mark.parametrize("top_k", ["5", True, 5.0, ECHO])
@pytest.mark.parametrize(("path", "body"), [
    ("/v1/ask", {"question": "What did Nvidia report?"}),
    ("/v1/search", {"query": "Nvidia"}),
    ("/v1/chat/completions", {"model": "newsdesk", "messages": [{"role": "user", "content": "What did Nvidia report?"}]}),
])
def test_top_k_must_be_an_integer_and_is_not_echoed(served, path, body, top_k):
    base, _ = served
    response = httpx.post(base + path, json={**body, "top_k": top_k}, timeout=60)
    problem = assert_problem(response, 422, "validation-error")
    assert problem["errors"][0]["loc"][-1] == "top_k" and ECHO not in response.text
    assert httpx.post(base + path, json={**body, "top_k": 5}, timeout=60).status_code == 200


def test_a_bad_date_is_not_echoed(served):
    base, _ = served
    response = httpx.post(f"{base}/v1/ask", json={"question": "q", "filters": {"published_after": ECHO}}, timeout=60)
    assert_problem(response, 422, "validation-error")
    assert ECHO not in response.text


@pytest.mark.parametrize(("tool", "arguments"), [
    ("search", {"query": "Nvidia", "top_k": "5"}),
    ("search", {"query": "Nvidia", "top_k": True}),
    ("search", {"query": "Nvidia", "top_k": ECHO}),
    ("ask", {"question": ECHO * 300}),
    ("get_article", {"article_id": "a1", "start": ECHO}),
    ("ask", {"question": "What did Nvidia report?", "published_after": ECHO}),
])
def test_mcp_validation_errors_name_the_field_never_the_value(served, tool, arguments):
    base, _ = served
    result = mcp_result(mcp_call(base, tool, arguments))
    text = result["content"][0]["text"]
    assert result["isError"] is True and ECHO not in text and "input_value" not in text
    assert ": validation-error: " in text or ": bad-filter: published_after: " in text


def test_an_mcp_top_k_integer_still_works(served):
    base, _ = served
    found = mcp_result(mcp_call(base, "search", {"query": "Nvidia data-centre revenue", "top_k": 1}))
    assert not found["isError"] and len(found["structuredContent"]["sources"]) == 1
    span = mcp_result(mcp_call(base, "get_article", {"article_id": "a1", "start": 0, "end": 6}))
    assert span["structuredContent"]["text"] == "Nvidia"

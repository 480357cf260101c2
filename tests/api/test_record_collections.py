"""Only article collections are addressable, and reads create nothing (issue 20), over real
HTTP: newsdesk's record collections (keys, feedback, Slack, feed state) and an article
collection's own parts (`-articles`, `-feed`) are a 404 on every route, API and MCP alike,
and no request leaves a collection behind that was not there."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from service.collections import RECORD_COLLECTIONS
from service.components import Components
from service.feedback import FEEDBACK_COLLECTION
from service.index.client import open_records
from service.ingest.feedstate import FEED_STATE_COLLECTION, FeedState
from service.keys import KeyStore
from service.slack.state import ANSWERS_COLLECTION, EVENTS_COLLECTION
from tests.api.test_e2e import uvicorn_thread
from tests.api.test_hardening import assert_problem, mcp_call, mcp_result
from tests.conftest import make_article, make_settings

pytestmark = pytest.mark.e2e

RECORDS = ["newsdesk-keys", FEEDBACK_COLLECTION, FEED_STATE_COLLECTION, EVENTS_COLLECTION]
PARTS = ["newsdesk-articles", "newsdesk-feed"]
NOT_YET = ["markets-feed", "markets-articles", ANSWERS_COLLECTION]  # reserved, though nobody made them yet


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder) -> Iterator[tuple[str, dict[str, str], Components]]:
    from service.cli.commands import build_server_app

    components = Components.build(make_settings(tmp_path_factory.mktemp("records")), embedder=embedder)
    components.ingester.ingest([make_article("a1")])
    admin, _ = KeyStore(components.client).create("admin", ["ask", "write", "admin"])
    FeedState(components.client)
    open_records(components.client, FEEDBACK_COLLECTION, "feedback")
    open_records(components.client, EVENTS_COLLECTION, "slack events")
    with uvicorn_thread(build_server_app(components.settings, components)) as base:
        yield base, {"Authorization": f"Bearer {admin}"}, components


def names(components: Components) -> set[str]:
    client = components.client
    return {getattr(c, "name", c) for c in client.list_collections()}  # type: ignore[attr-defined]


def requests_naming(base: str, name: str) -> list[tuple[str, str, dict]]:
    article = {"id": "x1", "title": "t", "text": "The harbour authority approved the plan."}
    return [
        ("GET", f"{base}/v1/articles?collection={name}", {}),
        ("GET", f"{base}/v1/articles/a1?collection={name}", {}),
        ("DELETE", f"{base}/v1/articles/a1?collection={name}", {}),
        ("POST", f"{base}/v1/articles?collection={name}", {"json": article}),
        ("POST", f"{base}/v1/search", {"json": {"query": "Nvidia revenue", "collection": name}}),
        ("POST", f"{base}/v1/ask", {"json": {"question": "What did Nvidia report?", "collection": name}}),
        ("POST", f"{base}/v1/chat/completions", {"json": {"model": "newsdesk", "collection": name,
                                                          "messages": [{"role": "user", "content": "Nvidia?"}]}}),
    ]


@pytest.mark.parametrize("name", RECORDS + PARTS + NOT_YET)
def test_a_record_collection_or_a_part_is_not_found_on_every_route_and_nothing_is_made(served, name):
    base, auth, components = served
    before = names(components)
    for method, url, kwargs in requests_naming(base, name):
        response = httpx.request(method, url, headers=auth, timeout=60, **kwargs)
        body = assert_problem(response, 404, "collection-not-found")
        assert name in body["detail"]
    for tool, arguments in (("search", {"query": "Nvidia"}), ("get_article", {"article_id": "a1"})):
        result = mcp_result(mcp_call(base, tool, {**arguments, "collection": name}, auth))
        assert result["isError"] and ": collection-not-found: " in result["content"][0]["text"]
    assert names(components) == before  # in particular no `<record collection>-articles` / `-feed`


def test_reading_a_collection_that_does_not_exist_creates_nothing(served):
    base, auth, components = served
    before = names(components)
    for method, url, kwargs in requests_naming(base, "nowhere"):
        if method == "POST" and "/v1/articles" in url:
            continue  # the one request that creates a collection
        assert_problem(httpx.request(method, url, headers=auth, timeout=60, **kwargs), 404, "collection-not-found")
    assert names(components) == before


def test_writing_creates_an_article_collection_then_it_reads(served):
    base, auth, components = served
    article = {"id": "m1", "title": "Markets", "text": "Copper prices rose four percent on Tuesday."}
    assert httpx.post(f"{base}/v1/articles?collection=markets", json=article, headers=auth, timeout=60).status_code == 201
    assert {"markets", "markets-articles", "markets-feed"} <= names(components)
    page = httpx.get(f"{base}/v1/articles?collection=markets", headers=auth, timeout=60).json()
    assert [a["article_id"] for a in page["items"]] == ["m1"]
    found = httpx.post(f"{base}/v1/search", json={"query": "copper prices", "collection": "markets"}, headers=auth,
                       timeout=60).json()
    assert found["sources"][0]["article_id"] == "m1"


def test_the_reserved_names_are_those_the_record_stores_use():
    assert RECORD_COLLECTIONS == {FEEDBACK_COLLECTION, FEED_STATE_COLLECTION, EVENTS_COLLECTION, ANSWERS_COLLECTION}

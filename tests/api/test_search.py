"""POST /v1/search: the sources without an answer, over the sample corpus."""

from __future__ import annotations

from service.api.app import create_app
from service.keys import KeyStore


def corpus_text(article_id: str, api) -> str:
    return api.get(f"/v1/articles/{article_id}").json()["text"]


def test_search_returns_ranked_sources_with_exact_offsets(api):
    response = api.post("/v1/search", json={"query": "How much did OpenAI raise in October 2024?", "top_k": 4})
    assert response.status_code == 200
    body = response.json()
    assert body["relevant"] is True and body["request_id"] == response.headers["x-request-id"]
    assert "answer" not in body and 1 <= len(body["sources"]) <= 4
    assert [s["n"] for s in body["sources"]] == list(range(1, len(body["sources"]) + 1))
    assert "OpenAI" in body["sources"][0]["text"]
    for source in body["sources"]:
        assert corpus_text(source["article_id"], api)[source["start"]:source["end"]] == source["text"]


def test_search_filters_and_refusal_signal(api):
    outlets = {s["source"] for s in api.post("/v1/search", json={"query": "chip export rules"}).json()["sources"]}
    one = sorted(o for o in outlets if o)[0]
    filtered = api.post("/v1/search", json={"query": "chip export rules", "filters": {"sources": [one]}}).json()
    assert filtered["sources"] and {s["source"] for s in filtered["sources"]} == {one}
    off_topic = api.post("/v1/search", json={"query": "best sourdough starter hydration for rye loaves"}).json()
    assert off_topic["relevant"] is False


def test_search_rejects_bad_requests_as_problems(api):
    for body in ({"query": "  "}, {"query": "x", "top_k": 0}, {"query": "x", "answer": True}, {}):
        response = api.post("/v1/search", json=body)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("/validation-error")


def test_search_needs_the_ask_scope_once_keys_exist(sample_index):
    from fastapi.testclient import TestClient

    settings = sample_index.settings.model_copy(update={"keys_collection": "search-test-keys"})
    keys = KeyStore(sample_index.client, settings.keys_collection)
    reader, _ = keys.create("reader", ["ask"])
    writer, _ = keys.create("writer", ["write"])
    with TestClient(create_app(settings, sample_index)) as client:
        query = {"query": "OpenAI funding"}
        assert client.post("/v1/search", json=query).status_code == 401
        forbidden = client.post("/v1/search", json=query, headers={"Authorization": f"Bearer {writer}"})
        assert forbidden.status_code == 403 and forbidden.json()["type"].endswith("/forbidden")
        assert client.post("/v1/search", json=query, headers={"Authorization": f"Bearer {reader}"}).status_code == 200

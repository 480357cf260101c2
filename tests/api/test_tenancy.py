"""A key bound to collections sees only those: in answers and their sources (dense and
BM25 alike), in article listings and reads, and in writes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.components import Components
from tests.api.test_auth import assert_problem, bearer, keyed
from tests.conftest import make_article

# A word no embedding model has seen: only the lexical (BM25) path can match it.
SECRET_Q = "What did the Quarvellian tariff board decide?"
SECRET = make_article("b-secret", title="Quarvellian tariff board", text=(
    "The Quarvellian tariff board voted on Tuesday to triple the levy on imported copper. "
    "Quarvellian exporters said the decision would cost them 40 million a year."))
PUBLIC = make_article("a-public", title="Harbour expansion", text=(
    "The harbour authority of Westmere approved a 400 million euro expansion of its container quay. "
    "Construction starts in the autumn and takes three years."))


@pytest.fixture
def tenants(components):
    for name, article in (("tenant-a", PUBLIC), ("tenant-b", SECRET)):
        Components(components.settings, components.embedder, components.client, name).ingester.ingest([article])
    app_components, keys = keyed(components)
    key_a, _ = keys.create("desk-a", ["ask", "write"], ["tenant-a"])
    key_b, _ = keys.create("desk-b", ["ask"], ["tenant-b"])
    admin, _ = keys.create("admin", ["ask", "write", "admin"])
    with TestClient(create_app(app_components.settings, app_components)) as client:
        yield client, key_a, key_b, admin


def source_ids(response) -> set[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    return {s["article_id"] for s in body["sources"]} | {c["article_id"] for c in body["citations"]}


def test_nothing_leaks_from_another_collection_through_bm25_or_dense(tenants):
    client, key_a, key_b, _ = tenants
    # The same question finds the article where it lives (so the lexical match is real) ...
    assert "b-secret" in source_ids(client.post("/v1/ask", json={"question": SECRET_Q}, headers=bearer(key_b)))
    # ... and nothing of it from a key bound to another collection, streamed or not.
    answer = client.post("/v1/ask", json={"question": SECRET_Q}, headers=bearer(key_a))
    assert "b-secret" not in source_ids(answer) and "Quarvellian" not in answer.text
    streamed = client.post("/v1/ask", json={"question": SECRET_Q, "stream": True}, headers=bearer(key_a))
    assert streamed.status_code == 200 and "b-secret" not in streamed.text and "Quarvellian" not in streamed.text


def test_a_bound_key_cannot_name_another_collection(tenants):
    client, key_a, _, _ = tenants
    body = assert_problem(client.post("/v1/ask", json={"question": SECRET_Q, "collection": "tenant-b"},
                                      headers=bearer(key_a)), 403, "forbidden")
    assert "tenant-a" in body["detail"]
    assert_problem(client.get("/v1/articles?collection=tenant-b", headers=bearer(key_a)), 403, "forbidden")
    assert_problem(client.get("/v1/articles/b-secret?collection=tenant-b", headers=bearer(key_a)), 403, "forbidden")
    assert_problem(client.post("/v1/ask", json={"question": SECRET_Q, "collection": "newsdesk"},
                               headers=bearer(key_a)), 403, "forbidden")


def test_listings_and_reads_stay_in_the_keys_collection(tenants):
    client, key_a, _, admin = tenants
    page = client.get("/v1/articles", headers=bearer(key_a)).json()  # no collection: the key's own
    assert [a["article_id"] for a in page["items"]] == ["a-public"] and page["total"] == 1
    assert_problem(client.get("/v1/articles/b-secret", headers=bearer(key_a)), 404, "article-not-found")
    assert client.get("/v1/articles/b-secret?collection=tenant-b", headers=bearer(admin)).status_code == 200


def test_writes_land_in_the_keys_collection(tenants):
    client, key_a, key_b, admin = tenants
    article = {"id": "a-new", "title": "Rail order", "text": "The rail operator ordered twelve electric trains."}
    assert client.post("/v1/articles", json=article, headers=bearer(key_a)).status_code == 201
    assert client.get("/v1/articles?collection=tenant-a", headers=bearer(admin)).json()["total"] == 2
    assert client.get("/v1/articles", headers=bearer(admin)).json()["total"] == 0  # the default collection
    assert client.get("/v1/articles", headers=bearer(key_b)).json()["total"] == 1


def test_an_unknown_collection_is_a_404_and_is_not_created(tenants, components):
    client, _, _, admin = tenants
    assert_problem(client.post("/v1/ask", json={"question": SECRET_Q, "collection": "no-such-desk"},
                               headers=bearer(admin)), 404, "collection-not-found")
    assert_problem(client.get("/v1/articles?collection=no-such-desk", headers=bearer(admin)), 404, "collection-not-found")
    assert "no-such-desk" not in {c.name for c in components.client.list_collections()}
    assert client.get("/v1/articles?collection=bad/name", headers=bearer(admin)).status_code == 422

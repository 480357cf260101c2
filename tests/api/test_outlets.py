"""GET /v1/outlets and `LexicalIndex.outlets()`: the names filters match, counted in chunks,
deleted articles no longer counted."""

from __future__ import annotations

from tests.conftest import make_article


def test_the_sample_corpus_outlets(api, sample_index):
    response = api.get("/v1/outlets")
    assert response.status_code == 200
    body = response.json()
    names = [o["name"] for o in body["outlets"]]
    assert body["collection"] == "newsdesk" and names == sorted(names)
    assert {"The Ledger Wire", "Northgate Business Review", "Harborview Daily"} <= set(names)
    assert all(o["chunks"] > 0 for o in body["outlets"])
    assert dict((o["name"], o["chunks"]) for o in body["outlets"]) == sample_index.lexical.current().outlets()


def test_an_unknown_collection_is_a_404_problem(api):
    response = api.get("/v1/outlets", params={"collection": "no-such-collection"})
    assert response.status_code == 404 and response.json()["type"].endswith("/collection-not-found")


def test_deleted_articles_leave_the_list(fresh_api, components):
    components.ingester.ingest([make_article("a1", outlet="Harbour Post"), make_article("a2", outlet="Valley Times"),
                                make_article("a3", outlet=None)])
    assert components.lexical.current().outlets() == {"Harbour Post": 1, "Valley Times": 1}  # no outlet: not listed
    assert fresh_api.delete("/v1/articles/a2").status_code == 200
    assert [o["name"] for o in fresh_api.get("/v1/outlets").json()["outlets"]] == ["Harbour Post"]

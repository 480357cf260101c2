"""/v1/articles over a fresh index (each test writes its own)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from service.api.problems import PROBLEM_BASE

NVIDIA = {
    "id": "wire-1",
    "title": "Nvidia posts record data-centre revenue",
    "text": "Nvidia reported record data-centre revenue on Wednesday. "
            "The chipmaker said demand for its Blackwell GPUs outstripped supply.\n\n"
            "Analysts expect the shortage to last into 2026.",
    "source": "Test Wire",
    "author": "A. Reporter",
    "url": "https://wire.example/nvidia",
    "published_at": "2025-02-01T09:30:00Z",
}
URL_ID = "https://harbour.example/2025/03/10/port:expansion"
PORT = {
    "title": "Harbour authority approves port expansion",
    "text": "The harbour authority of Westmere approved a 400 million euro expansion of its container port on Monday. "
            "Construction of the new quay will start in the autumn and take three years.",
    "url": URL_ID,
    "source": "Harbour Daily",
    "published_at": "2025-03-10",
}


def post(client, payload):
    return client.post("/v1/articles", json=payload)


def path(article_id: str) -> str:
    return "/v1/articles/" + quote(article_id, safe="")


def test_post_one_article_then_read_it_back(fresh_api):
    response = post(fresh_api, NVIDIA)
    assert response.status_code == 201
    body = response.json()
    assert body["counts"] == {"added": 1, "updated": 0, "unchanged": 0, "failed": 0}
    assert body["results"] == [{"index": 0, "article_id": "wire-1", "status": "added", "reason": None}]
    assert body["chunks_written"] >= 1

    article = fresh_api.get("/v1/articles/wire-1").json()
    assert article["text"] == NVIDIA["text"]
    assert article["title"] == NVIDIA["title"]
    assert article["source"] == "Test Wire" and article["author"] == "A. Reporter"
    assert article["url"] == NVIDIA["url"]
    assert article["published_at"].startswith("2025-02-01T09:30:00")
    assert article["n_chunks"] == body["chunks_written"]


def test_posting_again_is_unchanged_and_an_edit_is_updated(fresh_api):
    assert post(fresh_api, NVIDIA).status_code == 201
    again = post(fresh_api, NVIDIA)
    assert again.status_code == 200
    assert again.json()["results"][0]["status"] == "unchanged" and again.json()["chunks_written"] == 0
    edited = post(fresh_api, {**NVIDIA, "text": NVIDIA["text"] + " Shares rose 4% after hours."})
    assert edited.status_code == 200
    assert edited.json()["results"][0]["status"] == "updated"
    assert fresh_api.get("/v1/articles/wire-1").json()["text"].endswith("Shares rose 4% after hours.")


def test_a_batch_reports_each_article_and_keeps_the_good_ones(fresh_api):
    response = post(fresh_api, [
        NVIDIA,
        {"title": "No body", "text": "   \n  "},
        {"title": "Bad date", "text": "Some text about chips.", "published_at": "the day after tomorrow"},
        {"title": "Typo", "text": "Some text about boats.", "autor": "Someone"},
        PORT,
    ])
    assert response.status_code == 201
    body = response.json()
    assert body["counts"] == {"added": 2, "updated": 0, "unchanged": 0, "failed": 3}
    statuses = [(r["index"], r["status"]) for r in body["results"]]
    assert statuses == [(0, "added"), (1, "failed"), (2, "failed"), (3, "failed"), (4, "added")]
    reasons = {r["index"]: r["reason"] for r in body["results"]}
    assert "no text" in reasons[1]
    assert "published_at" in reasons[2] and "unrecognised date" in reasons[2]
    assert "autor" in reasons[3] and "Extra inputs are not permitted" in reasons[3]
    assert body["results"][4]["article_id"] == URL_ID  # the url is the id when none is given
    assert fresh_api.get("/v1/articles").json()["total"] == 2


def test_duplicate_ids_in_one_request_keep_the_later_one(fresh_api):
    newer = {**NVIDIA, "title": "Nvidia revenue hits a record (updated)"}
    body = post(fresh_api, [NVIDIA, newer]).json()
    assert [r["status"] for r in body["results"]] == ["failed", "added"]
    assert "index 1 was kept" in body["results"][0]["reason"]
    assert fresh_api.get("/v1/articles/wire-1").json()["title"] == newer["title"]


def test_when_every_article_fails_it_is_a_422_problem(fresh_api):
    response = post(fresh_api, [{"title": "x", "text": " "}, {"text": "no title"}, "not an object"])
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == PROBLEM_BASE + "invalid-article"
    assert [r["status"] for r in problem["results"]] == ["failed"] * 3
    assert "title" in problem["results"][1]["reason"]
    assert problem["request_id"] == response.headers["X-Request-ID"]
    assert fresh_api.get("/v1/articles").json()["total"] == 0


@pytest.mark.parametrize("payload", [[], 42, "text"])  # no body at all: 415, tests/api/test_faults.py
def test_body_must_be_an_article_or_a_list(fresh_api, payload):
    response = post(fresh_api, payload)
    assert response.status_code == 422
    assert response.json()["type"] == PROBLEM_BASE + "validation-error"


def test_invalid_json_and_wrong_media_type(fresh_api):
    broken = fresh_api.post("/v1/articles", content=b'{"title": ', headers={"content-type": "application/json"})
    assert broken.status_code == 422 and broken.json()["type"] == PROBLEM_BASE + "validation-error"
    form = fresh_api.post("/v1/articles", content=b"title=x", headers={"content-type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415 and form.json()["type"] == PROBLEM_BASE + "unsupported-media-type"


def test_ids_with_slashes_and_colons(fresh_api):
    assert post(fresh_api, PORT).status_code == 201
    raw = fresh_api.get(f"/v1/articles/{URL_ID}")
    encoded = fresh_api.get(path(URL_ID))
    assert raw.status_code == encoded.status_code == 200
    assert raw.json()["article_id"] == encoded.json()["article_id"] == URL_ID
    assert encoded.json()["text"] == PORT["text"]


def test_delete_then_it_is_gone(fresh_api):
    post(fresh_api, [NVIDIA, PORT])
    deleted = fresh_api.delete(path(URL_ID))
    assert deleted.status_code == 200
    assert deleted.json()["article_id"] == URL_ID and deleted.json()["chunks_deleted"] >= 1
    for response in (fresh_api.get(path(URL_ID)), fresh_api.delete(path(URL_ID))):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == PROBLEM_BASE + "article-not-found"
        assert URL_ID in response.json()["detail"]
    assert [a["article_id"] for a in fresh_api.get("/v1/articles").json()["items"]] == ["wire-1"]


def test_unknown_article_is_a_404_problem(fresh_api):
    response = fresh_api.get("/v1/articles/no-such-article")
    assert response.status_code == 404
    problem = response.json()
    assert problem["type"] == PROBLEM_BASE + "article-not-found"
    assert problem["title"] == "Article not found" and problem["instance"] == "/v1/articles/no-such-article"


def test_paging(fresh_api):
    post(fresh_api, [{**NVIDIA, "id": f"wire-{i}", "text": f"Story number {i}. " + NVIDIA["text"]} for i in range(5)])
    first = fresh_api.get("/v1/articles?limit=2").json()
    second = fresh_api.get("/v1/articles?limit=2&offset=2").json()
    last = fresh_api.get("/v1/articles?limit=2&offset=4").json()
    assert (first["total"], first["limit"], first["offset"]) == (5, 2, 0)
    assert [len(p["items"]) for p in (first, second, last)] == [2, 2, 1]
    ids = [a["article_id"] for p in (first, second, last) for a in p["items"]]
    assert sorted(ids) == [f"wire-{i}" for i in range(5)]
    assert "text" not in first["items"][0]  # pages carry metadata only


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "offset=-1", "limit=ten"])
def test_paging_bounds_are_validated(fresh_api, query):
    response = fresh_api.get(f"/v1/articles?{query}")
    assert response.status_code == 422
    assert response.json()["type"] == PROBLEM_BASE + "validation-error"


def test_a_posted_article_is_answerable_and_cited(fresh_api):
    post(fresh_api, [NVIDIA, PORT])
    body = fresh_api.post("/v1/ask", json={"question": "How much will the Westmere port expansion cost?"}).json()
    assert body["answerable"] is True
    assert URL_ID in {c["article_id"] for c in body["citations"]}
    for c in body["citations"]:
        assert fresh_api.get(path(c["article_id"])).json()["text"][c["start"]:c["end"]] == c["quote"]

"""GET /metrics: requests by route template and status, answer outcomes and latencies, LLM
calls, retries, errors and tokens (counted at the HTTP boundary), ingests. The metrics are
process-wide, so each test compares before and after."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.api.app import create_app
from tests.api.conftest import llm_settings, sharing
from tests.api.fakes import CHAT_URL, completion_response, server_error


def sample(client: TestClient, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


@pytest.fixture
def metered(sample_index, respx_mock):
    settings = llm_settings(sample_index.settings.index_dir, llm_max_retries=1)
    with TestClient(create_app(settings, sharing(sample_index, settings))) as client:
        yield client


def test_llm_calls_retries_errors_and_tokens(metered, respx_mock):
    respx_mock.post(CHAT_URL).mock(side_effect=[
        server_error(), completion_response("Claude 3.5 Sonnet costs $3 per million input tokens [1].")])
    names = ("newsdesk_llm_calls_total", "newsdesk_llm_retries_total")
    before = {n: sample(metered, n) for n in names}
    errors = sample(metered, "newsdesk_llm_errors_total", kind="http-500")
    tokens = {k: sample(metered, "newsdesk_llm_tokens_total", kind=k) for k in ("prompt", "completion")}
    answered = sample(metered, "newsdesk_answers_total", mode="llm", outcome="answered")
    generation = sample(metered, "newsdesk_generation_duration_seconds_count", mode="llm")

    body = metered.post("/v1/ask", json={"question": "How much does Claude 3.5 Sonnet cost per million input tokens?"}).json()
    assert body["mode"] == "llm" and not body["degraded"]

    assert sample(metered, "newsdesk_llm_calls_total") == before["newsdesk_llm_calls_total"] + 1
    assert sample(metered, "newsdesk_llm_retries_total") == before["newsdesk_llm_retries_total"] + 1
    assert sample(metered, "newsdesk_llm_errors_total", kind="http-500") == errors + 1
    # The usage block of the real response shape: 1117 prompt and 46 completion tokens.
    assert sample(metered, "newsdesk_llm_tokens_total", kind="prompt") == tokens["prompt"] + 1117
    assert sample(metered, "newsdesk_llm_tokens_total", kind="completion") == tokens["completion"] + 46
    assert sample(metered, "newsdesk_answers_total", mode="llm", outcome="answered") == answered + 1
    assert sample(metered, "newsdesk_generation_duration_seconds_count", mode="llm") == generation + 1


def test_refusals_and_degraded_answers(metered, respx_mock):
    respx_mock.post(CHAT_URL).mock(return_value=server_error())
    refused = sample(metered, "newsdesk_answers_total", mode="llm", outcome="refused")
    degraded = sample(metered, "newsdesk_answers_total", mode="extractive", outcome="degraded")
    retrievals = sample(metered, "newsdesk_retrieval_duration_seconds_count")

    assert metered.post("/v1/ask", json={"question": "What is the best recipe for banana bread?"}).json()["answerable"] is False
    body = metered.post("/v1/ask", json={"question": "Who leads Microsoft AI?"}).json()
    assert body["degraded"] is True

    assert sample(metered, "newsdesk_answers_total", mode="llm", outcome="refused") == refused + 1
    assert sample(metered, "newsdesk_answers_total", mode="extractive", outcome="degraded") == degraded + 1
    assert sample(metered, "newsdesk_retrieval_duration_seconds_count") == retrievals + 2


def test_requests_by_route_template_and_ingests(fresh_api):
    route = "/v1/articles/{article_id}"
    found = sample(fresh_api, "newsdesk_http_requests_total", route=route, method="GET", status="404", key="-")
    added = sample(fresh_api, "newsdesk_ingested_articles_total", status="added")
    chunks = sample(fresh_api, "newsdesk_ingested_chunks_total")

    article = {"id": "m1", "title": "Rail order", "text": "The rail operator ordered twelve electric trains. " * 3}
    assert fresh_api.post("/v1/articles", json=article).status_code == 201
    assert fresh_api.get("/v1/articles/no-such-article-7f3a").status_code == 404

    text = fresh_api.get("/metrics").text
    assert "no-such-article-7f3a" not in text  # ids never become labels
    assert sample(fresh_api, "newsdesk_http_requests_total", route=route, method="GET", status="404", key="-") == found + 1
    assert sample(fresh_api, "newsdesk_http_request_duration_seconds_count", route=route, method="GET") >= 1
    assert sample(fresh_api, "newsdesk_ingested_articles_total", status="added") == added + 1
    assert sample(fresh_api, "newsdesk_ingested_chunks_total") == chunks + 1

"""Per-key rate limits (429 + Retry-After) and the ask gate: past its running and waiting
places an ask is refused at once (503 + Retry-After), and a pile of asks stuck on a
hanging LLM leaves health, readiness, metrics and article reads answering."""

from __future__ import annotations

import threading

import httpx
import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from tests.api.conftest import llm_settings, sharing
from tests.api.fakes import CHAT_URL, completion_response
from tests.api.test_auth import assert_problem, bearer, keyed
from tests.api.test_e2e import uvicorn_thread
from tests.conftest import make_article

NVIDIA_Q = "What did Nvidia report about data-centre revenue?"


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(components):
    components.ingester.ingest([make_article("a1")])
    app_components, keys = keyed(components, rate_limit="100/minute")
    tight, _ = keys.create("tight", ["ask"], rate_limit="3/minute")
    roomy, _ = keys.create("roomy", ["ask"])
    with TestClient(create_app(app_components.settings, app_components)) as client:
        assert [client.get("/v1/articles", headers=bearer(tight)).status_code for _ in range(3)] == [200] * 3
        refused = client.get("/v1/articles", headers=bearer(tight))
        body = assert_problem(refused, 429, "rate-limited")
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "3 requests per 1 minute" in body["detail"]
        # Limits are per key: another key, and the open health routes, are not affected.
        assert client.get("/v1/articles", headers=bearer(roomy)).status_code == 200
        assert client.get("/healthz").status_code == 200
        assert 'newsdesk_rate_limited_requests_total{key="tight"} 1.0' in client.get("/metrics").text


@pytest.fixture
def hanging_llm(respx_mock):
    """The chat endpoint holds every call until released; `entered` counts the calls waiting."""
    release, entered = threading.Event(), []

    def hang(request):
        entered.append(request)
        release.wait(60)
        return completion_response("Nvidia reported record revenue [1].")

    respx_mock.route(host="127.0.0.1").pass_through()
    respx_mock.post(CHAT_URL).mock(side_effect=hang)
    yield release, entered
    release.set()


def wait_for(condition, what: str) -> None:
    done = threading.Event()
    for _ in range(600):
        if condition():
            return
        done.wait(0.05)
    raise AssertionError(f"never happened: {what}")


def test_asks_past_the_queue_are_shed_and_other_routes_keep_answering(components, hanging_llm):
    release, entered = hanging_llm
    components.ingester.ingest([make_article("a1")])
    # 45 asks at once: more than anyio's 40 default threads, which every other route uses.
    settings = llm_settings(components.settings.index_dir, llm_max_retries=0, ask_concurrency=2, ask_queue=43)
    app = create_app(settings, sharing(components, settings))
    results: list[int] = []
    with uvicorn_thread(app) as base, httpx.Client(base_url=base, timeout=90) as client:

        def ask() -> None:
            results.append(client.post("/v1/ask", json={"question": NVIDIA_Q}).status_code)

        askers = [threading.Thread(target=ask) for _ in range(45)]
        for thread in askers:
            thread.start()
        wait_for(lambda: len(entered) == 2 and app.state.ask_gate.admitted == 45, "2 asks running, 43 waiting")

        shed = client.post("/v1/ask", json={"question": NVIDIA_Q})
        body = assert_problem(shed, 503, "overloaded")
        assert shed.headers["Retry-After"] == "1" and "2 questions are being answered" in body["detail"]
        # The OpenAI-compatible endpoint and /v1/search take places on the same gate.
        for path, payload in (("/v1/chat/completions", {"model": "newsdesk",
                                                        "messages": [{"role": "user", "content": NVIDIA_Q}]}),
                              ("/v1/search", {"query": NVIDIA_Q})):
            shed = client.post(path, json=payload)
            assert_problem(shed, 503, "overloaded")
            assert shed.headers["Retry-After"] == "1"
        with httpx.Client(base_url=base, timeout=10) as other:  # a stuck route would time out here
            assert other.get("/healthz").status_code == 200
            assert other.get("/readyz").status_code == 200
            assert other.get("/v1/articles").json()["total"] == 1
            assert other.get("/v1/articles/a1").status_code == 200
            assert 'newsdesk_shed_requests_total{route="/v1/ask"}' in other.get("/metrics").text
        assert len(entered) == 2  # still only the gate's two threads are at the LLM

        release.set()
        for thread in askers:
            thread.join(timeout=60)
    assert results == [200] * 45
    assert app.state.ask_gate.admitted == 0


def test_a_stream_holds_its_place_until_it_ends(components, respx_mock):
    from tests.api.fakes import stream_response

    components.ingester.ingest([make_article("a1")])
    settings = llm_settings(components.settings.index_dir, ask_concurrency=1, ask_queue=0)
    respx_mock.post(CHAT_URL).mock(side_effect=[stream_response(["Nvidia reported record revenue [1]."]),
                                                completion_response("Nvidia reported record revenue [1].")])
    app = create_app(settings, sharing(components, settings))
    with TestClient(app) as client:
        with client.stream("POST", "/v1/ask", json={"question": NVIDIA_Q, "stream": True}) as response:
            assert response.status_code == 200
            assert app.state.ask_gate.admitted == 1  # the stream is open: its place is taken
            "".join(response.iter_text())
        assert app.state.ask_gate.admitted == 0
        assert client.post("/v1/ask", json={"question": NVIDIA_Q}).status_code == 200
        respx_mock.post(CHAT_URL).mock(side_effect=[stream_response(["Nvidia reported record revenue [1]."])])
        chat = {"model": "newsdesk", "stream": True, "messages": [{"role": "user", "content": NVIDIA_Q}]}
        with client.stream("POST", "/v1/chat/completions", json=chat) as response:
            assert response.status_code == 200
            assert app.state.ask_gate.admitted == 1
            assert "data: [DONE]" in "".join(response.iter_text())
        assert app.state.ask_gate.admitted == 0

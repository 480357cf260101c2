"""/readyz answers from checks run in the background: a request never embeds, so a busy or
hanging embedder, or asks piled up behind a hanging LLM, do not hold readiness; a check
that stays silent too long fails."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

from service.api import app as api_app
from service.api.routes import health
from service.components import Components
from tests.api.conftest import llm_settings
from tests.api.fakes import CHAT_URL
from tests.api.test_e2e import uvicorn_thread


class WatchedEmbedder:
    """The real embedder, noting the thread of every readiness embedding and holding it
    while `hold` is set."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.threads: list[str] = []
        self.hold = threading.Event()
        self.release = threading.Event()

    def embed(self, texts):
        if list(texts) == ["readiness check"]:
            self.threads.append(threading.current_thread().name)
            if self.hold.is_set():
                self.release.wait(60)
        return self.embedder.embed(texts)

    def __getattr__(self, name):
        return getattr(self.embedder, name)


@pytest.fixture
def watched(sample_index, monkeypatch):
    monkeypatch.setattr(health, "CHECK_EVERY_S", 0.0)  # every request finds the checks due
    embedder = WatchedEmbedder(sample_index.embedder)
    components = Components(sample_index.settings, embedder, sample_index.client, sample_index.collection)
    yield components, embedder
    embedder.release.set()


def test_a_hanging_embedder_does_not_hold_readiness(watched):
    components, embedder = watched
    with TestClient(api_app.create_app(components.settings, components)) as client:
        assert client.get("/readyz").status_code == 200  # the first request waits for a first result
        embedder.hold.set()
        for _ in range(3):  # the embedder now hangs: each answer is the last result, at once
            response = client.get("/readyz")
            assert response.status_code == 200 and response.json()["checks"]["embedder"]["ok"]
        assert not embedder.release.is_set()
    assert embedder.threads and set(embedder.threads) == {"newsdesk-embedder-check"}
    assert len(embedder.threads) <= 3  # one at a time: the hanging check is not started again


def test_a_check_silent_too_long_fails(watched, monkeypatch):
    components, embedder = watched
    monkeypatch.setattr(health, "STUCK_AFTER_S", 0.3)
    with TestClient(api_app.create_app(components.settings, components)) as client:
        assert client.get("/readyz").status_code == 200
        embedder.hold.set()
        client.get("/readyz")  # starts the check that hangs
        time.sleep(0.5)
        response = client.get("/readyz")
    assert response.status_code == 503
    embedder_check = response.json()["checks"]["embedder"]
    assert not embedder_check["ok"] and embedder_check["detail"].startswith("no answer for")
    assert response.json()["checks"]["store"]["ok"]


def test_readiness_answers_while_asks_hang_on_the_llm(watched, respx_mock):
    components, embedder = watched
    settings = llm_settings(components.settings.index_dir, llm_timeout_s=60, llm_max_retries=0,
                            request_deadline_s=60, ask_concurrency=4, ask_queue=16)
    served = Components(settings, embedder, components.client, components.collection)
    release = threading.Event()

    def hang(request):
        release.wait(60)
        return httpx.Response(503)

    respx_mock.route(host="127.0.0.1").pass_through()
    respx_mock.post(CHAT_URL).mock(side_effect=hang)
    with uvicorn_thread(api_app.create_app(settings, served)) as url, ThreadPoolExecutor(8) as pool:
        httpx.get(f"{url}/readyz", timeout=60)  # a first result
        asks = [pool.submit(httpx.post, f"{url}/v1/ask", json={"question": "What did Nvidia report in February 2025?"},
                            timeout=120) for _ in range(8)]
        time.sleep(1.0)  # the asks are in, waiting on the LLM
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            response = httpx.get(f"{url}/readyz", timeout=30)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200 and response.json()["checks"]["embedder"]["ok"]
        assert not any(a.done() for a in asks), "the asks were meant to be hanging on the LLM"
        print(f"/readyz with 8 asks hanging on the LLM: {', '.join(f'{t:.1f}' for t in timings)} ms")
        release.set()
        assert all(a.result().status_code == 200 for a in asks)
    assert set(embedder.threads) == {"newsdesk-embedder-check"}

"""The fault suite over real HTTP (uvicorn on loopback, httpx as the client):

1. A `chroma run` server of the test's own is stopped with SIGSTOP: every route that needs
   the store answers a 503 `store-unavailable` problem within the Chroma timeout (and at
   once right after a timeout) while `/healthz` stays up; after SIGCONT the same process
   answers again, with no restart.
2. An LLM endpoint that accepts connections and never answers: asks end in the degraded
   extractive answer before the request deadline, as JSON and as a stream, while
   `/healthz` and `/readyz` keep answering.

The bounds on elapsed time are loose on purpose (several times the configured timeout and
deadline): they tell "bounded" from "hangs for a minute", not fast from slow.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from service.api.app import create_app
from service.api.problems import MEDIA_TYPE, PROBLEM_BASE
from service.components import Components
from service.ingest.loading import load_paths
from tests.api.conftest import sharing
from tests.api.test_e2e import uvicorn_thread
from tests.conftest import CORPUS_DIR, free_port, make_settings, stop_process, wait_http

pytestmark = pytest.mark.e2e

CHROMA_TIMEOUT_S = 2.0
DEADLINE_S = 3.0
QUESTION = "What is the context window of Mistral Small 3.1?"


@contextmanager
def chroma_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, int]]:
    """A `chroma run` of this test's own (the session's shared server must not be stopped)."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "the `chroma` script is not installed next to this Python"
    port = free_port()
    log = open(tmp_path / "chroma.log", "wb")
    proc = subprocess.Popen([chroma, "run", "--path", str(tmp_path / "db"), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    try:
        wait_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=90)
        yield proc, port
    finally:
        os.kill(proc.pid, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
        stop_process(proc)
        log.close()


def assert_store_problem(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == MEDIA_TYPE
    body = response.json()
    assert body["type"] == PROBLEM_BASE + "store-unavailable"
    assert "did not answer within 2 s" in body["detail"]


def timed(call) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_a_stopped_chroma_is_a_503_on_every_route_and_recovers_without_restart(tmp_path, embedder):
    with chroma_process(tmp_path) as (chroma, port):
        settings = make_settings(tmp_path / "index", chroma_host="127.0.0.1", chroma_port=port,
                                 chroma_timeout_s=CHROMA_TIMEOUT_S)
        components = Components.build(settings, embedder=embedder)
        loaded = load_paths([CORPUS_DIR])
        components.ingester.ingest(loaded.articles[:6])
        article_id = loaded.articles[0].article_id
        new_article = {"id": "fault-suite-1", "title": "Harbour", "text": "The harbour reopened on Monday."}

        with uvicorn_thread(create_app(settings, components)) as base, httpx.Client(base_url=base, timeout=60) as http:
            assert http.get("/v1/articles").status_code == 200
            assert http.post("/v1/ask", json={"question": QUESTION}).status_code == 200

            os.kill(chroma.pid, signal.SIGSTOP)
            try:
                calls = {
                    "ask": lambda: http.post("/v1/ask", json={"question": QUESTION}),
                    "ask-stream": lambda: http.post("/v1/ask", json={"question": QUESTION, "stream": True}),
                    "list": lambda: http.get("/v1/articles"),
                    "get": lambda: http.get(f"/v1/articles/{article_id}"),
                    "delete": lambda: http.delete("/v1/articles/no-such-article"),
                    "create": lambda: http.post("/v1/articles", json=new_article),
                }
                for name, call in calls.items():
                    time.sleep(CHROMA_TIMEOUT_S)  # past the fail-fast window the last timeout opened
                    response, elapsed = timed(call)
                    assert_store_problem(response)
                    assert elapsed < 2 * CHROMA_TIMEOUT_S + 5, (name, elapsed)
                # Right after a timeout, calls fail at once instead of each waiting again.
                again = http.get("/v1/articles")
                assert_store_problem(again)
                assert "calls fail at once" in again.json()["detail"]
                assert http.get("/healthz").status_code == 200
            finally:
                os.kill(chroma.pid, signal.SIGCONT)

            # The same app and client, no restart: answers come back once Chroma does.
            for _ in range(60):
                if http.get("/v1/articles").status_code == 200:
                    break
                time.sleep(0.5)
            assert http.get(f"/v1/articles/{article_id}").json()["article_id"] == article_id
            answer = http.post("/v1/ask", json={"question": QUESTION})
            assert answer.status_code == 200 and answer.json()["answerable"] is True
            assert http.post("/v1/articles", json=new_article).status_code == 201


@contextmanager
def silent_llm() -> Iterator[str]:
    """An OpenAI base URL whose server accepts connections, reads, and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            held.append(conn)  # kept open, never written to

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


def test_a_hanging_llm_gives_degraded_answers_before_the_deadline_while_health_stays_fast(sample_index):
    with silent_llm() as llm_url:
        # Defaults for the LLM's own timeout (30 s) and retries (3): the deadline must win.
        settings = make_settings(sample_index.settings.index_dir, llm_model="gpt-4o-mini", llm_base_url=llm_url,
                                 llm_api_key="sk-test-hanging", request_deadline_s=DEADLINE_S)
        app = create_app(settings, sharing(sample_index, settings))
        with uvicorn_thread(app) as base, httpx.Client(base_url=base, timeout=60) as http:
            def ask(stream: bool) -> tuple[httpx.Response, float]:
                return timed(lambda: http.post("/v1/ask", json={"question": QUESTION, "stream": stream}))

            with ThreadPoolExecutor(max_workers=6) as pool:
                asks = [pool.submit(ask, i % 2 == 1) for i in range(6)]
                time.sleep(0.5)  # the asks are now waiting on the silent LLM
                health, health_s = timed(lambda: http.get("/healthz"))
                ready, ready_s = timed(lambda: http.get("/readyz"))
                results = [f.result() for f in asks]

            assert health.status_code == 200 and health_s < 1.0
            # Ready: the store and the embedder work; the LLM is reported, not required.
            assert ready.status_code == 200 and ready_s < DEADLINE_S, ready.text
            for response, elapsed in results:
                assert response.status_code == 200
                assert elapsed < DEADLINE_S + 5, elapsed
                if response.headers["content-type"].startswith("text/event-stream"):
                    assert "event: done" in response.text and '"replace":true' in response.text
                    assert '"degraded":true' in response.text
                else:
                    body = response.json()
                    assert body["degraded"] is True and body["mode"] == "extractive" and body["citations"]
                    assert "deadline" in body["degraded_reason"] or "APITimeoutError" in body["degraded_reason"]

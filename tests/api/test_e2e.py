"""Real HTTP: uvicorn on loopback ports, httpx as the client.

1. The app in a uvicorn thread over the sample index, the LLM mocked with respx.
2. `newsdesk serve` as a subprocess on an empty index: it indexes the sample corpus itself.
3. Two `newsdesk serve` processes on one `chroma run` server: a write through one is seen
   by the other (its BM25 index follows the store's revision).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import uvicorn

from service.api.app import create_app
from service.components import Components
from service.ingest.loading import load_paths
from tests.api.conftest import llm_settings, sharing
from tests.api.fakes import (
    API_KEY,
    CHAT_URL,
    completion_response,
    parse_sse,
    stream_response,
)
from tests.conftest import (
    CORPUS_DIR,
    free_port,
    make_article,
    make_settings,
    stop_process,
    wait_http,
)

pytestmark = pytest.mark.e2e

STARTUP_S = 240.0  # a cold `serve` loads the ONNX model and may index the corpus first
NEWSDESK = shutil.which("newsdesk", path=str(Path(sys.executable).parent))


# -- helpers ----------------------------------------------------------------------------------------

@contextmanager
def uvicorn_thread(app) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def serve_process(tmp_path: Path, name: str, **env: str) -> Iterator[str]:
    """`newsdesk serve` on a free port, with NEWSDESK_* settings from `env`."""
    assert NEWSDESK, "the `newsdesk` script is not installed next to this Python"
    port = free_port()
    log_path = tmp_path / f"{name}.log"
    full_env = {**os.environ, "ANONYMIZED_TELEMETRY": "False",
                **{f"NEWSDESK_{key.upper()}": value for key, value in env.items()}}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([NEWSDESK, "serve", "--host", "127.0.0.1", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, env=full_env)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(f"{base}/healthz", timeout=STARTUP_S)
        except RuntimeError as exc:
            raise AssertionError(f"{name} did not start: {exc}\n{log_path.read_text(errors='replace')[-3000:]}") from None
        yield base
    finally:
        stop_process(proc)


def verify_citations(client: httpx.Client, base: str, citations: list[dict]) -> None:
    assert citations
    for c in citations:
        text = client.get(f"{base}/v1/articles/{quote(c['article_id'], safe='')}").json()["text"]
        assert text[c["start"]:c["end"]] == c["quote"]


def ask(client: httpx.Client, base: str, question: str) -> dict:
    response = client.post(f"{base}/v1/ask", json={"question": question})
    assert response.status_code == 200, response.text
    return response.json()


# -- 1. uvicorn thread, LLM mocked ------------------------------------------------------------------

def test_llm_answer_and_stream_over_real_http(sample_index, respx_mock):
    respx_mock.route(host="127.0.0.1").pass_through()
    parts = ["Claude 3.5 Sonnet costs $3 per million input tokens [1], ",
             "not $5 as first reported [2]."]
    chat = respx_mock.post(CHAT_URL).mock(side_effect=[
        completion_response("".join(parts)), stream_response(parts)])
    settings = llm_settings(sample_index.settings.index_dir)
    question = "How much does Claude 3.5 Sonnet cost per million input tokens?"

    with uvicorn_thread(create_app(settings, sharing(sample_index, settings))) as base, httpx.Client(timeout=60) as client:
        body = ask(client, base, question)
        assert body["mode"] == "llm" and body["answerable"] is True
        assert {c["article_id"] for c in body["citations"]} >= {"silicon-2024-06-24-correction-claude-3-5-sonnet"}
        verify_citations(client, base, body["citations"])

        with client.stream("POST", f"{base}/v1/ask", json={"question": question},
                           headers={"Accept": "text/event-stream", "X-Request-ID": "e2e-stream-1"}) as response:
            assert response.status_code == 200
            assert response.headers["x-request-id"] == "e2e-stream-1"
            text = "".join(response.iter_text())
    assert API_KEY not in text
    events = parse_sse(text)
    assert [n for n, _ in events] == ["sources", "delta", "delta", "done"]
    done = events[-1][1]
    assert done["answer"] == "".join(parts) and done["request_id"] == "e2e-stream-1"
    assert done["citations"] and chat.call_count == 2


# -- 2. `newsdesk serve` on an empty index ---------------------------------------------------------

def test_serve_indexes_the_sample_corpus_and_answers(tmp_path):
    expected = len(load_paths([CORPUS_DIR]).articles)
    with serve_process(tmp_path, "serve", index_dir=str(tmp_path / "index")) as base, httpx.Client(timeout=120) as client:
        ready = client.get(f"{base}/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        assert client.get(f"{base}/v1/articles?limit=1").json()["total"] == expected

        body = ask(client, base, "What is the context window of Mistral Small 3.1?")
        assert body["answerable"] is True and body["mode"] == "extractive"
        assert "glasshouse-2025-03-18-mistral-small-3-1" in {c["article_id"] for c in body["citations"]}
        verify_citations(client, base, body["citations"])

        refused = ask(client, base, "What is the best recipe for banana bread?")
        assert refused["answerable"] is False and refused["citations"] == []

        with client.stream("POST", f"{base}/v1/ask", json={"question": "Who leads Microsoft AI?", "stream": True}) as response:
            events = parse_sse("".join(response.iter_text()))
        assert events[0][0] == "sources" and events[-1][0] == "done"

        missing = client.get(f"{base}/v1/articles/nope")
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


# -- 3. two API processes on one Chroma server ------------------------------------------------------

HARBOUR_ID = "harbour-2025-westmere"
HARBOUR = {
    "id": HARBOUR_ID,
    "title": "Westmere harbour authority approves quay expansion",
    "text": "The harbour authority of Westmere approved a 400 million euro expansion of its container quay on Monday. "
            "Construction of the new quay will start in the autumn and take three years, the authority said.",
    "source": "Harbour Daily",
    "published_at": "2025-03-10",
}
HARBOUR_Q = "How much will the Westmere container quay expansion cost?"


@pytest.mark.server
def test_a_write_through_one_replica_is_seen_by_the_other(tmp_path, chroma_server, embedder):
    host, port = chroma_server
    collection = f"e2e-{uuid.uuid4().hex[:10]}"
    # Seed the collection first, so neither replica starts by indexing the sample corpus.
    seed_settings = make_settings(tmp_path / "unused", chroma_host=host, chroma_port=port, collection=collection)
    Components.build(seed_settings, embedder=embedder).ingester.ingest([
        make_article("seed-nvidia"),
        make_article("seed-rail", text="The regional rail operator ordered twelve new electric trains from a Spanish maker. "
                                       "Deliveries are planned for 2027 on the coastal line."),
    ])
    env = {"chroma_host": host, "chroma_port": str(port), "collection": collection, "index_dir": str(tmp_path / "unused")}
    with serve_process(tmp_path, "replica-a", **env) as a, serve_process(tmp_path, "replica-b", **env) as b, \
            httpx.Client(timeout=120) as client:
        before = ask(client, b, HARBOUR_Q)
        assert HARBOUR_ID not in {s["article_id"] for s in before["sources"]}

        created = client.post(f"{a}/v1/articles", json=HARBOUR)
        assert created.status_code == 201 and created.json()["results"][0]["status"] == "added"

        after = ask(client, b, HARBOUR_Q)
        assert after["answerable"] is True
        assert HARBOUR_ID in {c["article_id"] for c in after["citations"]}
        verify_citations(client, b, after["citations"])
        assert client.get(f"{b}/v1/articles").json()["total"] == 3

        assert client.delete(f"{b}/v1/articles/{HARBOUR_ID}").status_code == 200
        gone = ask(client, a, HARBOUR_Q)
        assert HARBOUR_ID not in {s["article_id"] for s in gone["sources"]}
        assert HARBOUR_ID not in {c["article_id"] for c in gone["citations"]}
        assert client.get(f"{a}/v1/articles/{HARBOUR_ID}").status_code == 404

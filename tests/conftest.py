"""Shared fixtures. The network is blocked (loopback allowed), NEWSDESK_*/OPENAI_* variables
are cleared, and real components are used: the ONNX embedder and Chroma."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from service.config import DEFAULT_CORPUS_DIR, Settings
from service.models import Article

CORPUS_DIR = DEFAULT_CORPUS_DIR

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _allowed(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = address[0]
    return host in ("localhost", "::1") or str(host).startswith("127.")


def _guarded_connect(self, address):
    if not _allowed(address):
        raise ConnectionRefusedError(f"network blocked in tests: {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _allowed(address):
        raise ConnectionRefusedError(f"network blocked in tests: {address!r}")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def _block_network():
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
    yield
    socket.socket.connect = _real_connect
    socket.socket.connect_ex = _real_connect_ex


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith(("NEWSDESK_", "OPENAI_", "AZURE_OPENAI")):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("NEWSDESK_DEBUG", "1")  # CLI errors re-raise under tests
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    from service.config import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def embedder():
    from service.index.embedding import OnnxEmbedder

    return OnnxEmbedder()


def make_settings(index_dir: Path, **overrides) -> Settings:
    return Settings(index_dir=index_dir, **overrides)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path / "index")


@pytest.fixture
def receiver():
    """A webhook receiver on 127.0.0.1 (tests/follows/receiver.py), stopped after the test."""
    from tests.follows.receiver import Receiver

    found = Receiver()
    yield found
    found.stop()


@pytest.fixture
def components(settings, embedder):
    from service.components import Components

    return Components.build(settings, embedder=embedder)


def make_article(article_id: str = "a1", text: str | None = None, **fields) -> Article:
    text = text or (
        "Nvidia reported record data-centre revenue on Wednesday. "
        "The chipmaker said demand for its Blackwell GPUs outstripped supply.\n\n"
        "Analysts expect the shortage to last into 2026."
    )
    fields.setdefault("title", f"Article {article_id}")
    fields.setdefault("outlet", "Test Wire")
    fields.setdefault("published_at", datetime(2025, 2, 1, tzinfo=UTC))
    return Article(article_id=article_id, text=text, **fields)


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, embedder):
    """The shipped sample corpus, ingested once per session. Treat as read-only."""
    from service.components import Components
    from service.ingest.loading import load_paths

    settings = make_settings(tmp_path_factory.mktemp("sample-index"))
    components = Components.build(settings, embedder=embedder)
    loaded = load_paths([CORPUS_DIR])
    assert not loaded.errors, [e.message for e in loaded.errors]
    components.ingester.ingest(loaded.articles)
    return components


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2.0).status_code < 500:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {timeout}s: {last}")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` server on a free loopback port, for the session."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if chroma is None:
        pytest.fail("the `chroma` script is not installed (it ships with chromadb)")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    log = open(data / "server.log", "wb")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=90)
        yield ("127.0.0.1", port)
    finally:
        stop_process(proc)
        log.close()


def stop_process(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)

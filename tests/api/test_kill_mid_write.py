"""A replica killed mid-write (a real SIGKILL, at each point of a 150-article POST) on a
`chroma run` server: the other replica never serves a source whose article record is
missing or of another version, so every citation can be checked with `GET
/v1/articles/{id}`; and the write repeated converges, announced to the other replica.

Replica B is a `newsdesk serve` that stays up; replica A is `newsdesk serve` started through
tests/api/killpoint.py, which kills it at the named point of its first write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from service.components import Components
from tests.api.killpoint import POINTS
from tests.api.test_e2e import STARTUP_S, serve_process
from tests.conftest import free_port, make_settings, stop_process, wait_http

pytestmark = [pytest.mark.e2e, pytest.mark.server]

ROOT = Path(__file__).resolve().parents[2]
# The killed POST: 130 new articles and 20 new versions of seeded ones. (The report's was 300
# articles; the points of a write are the same for any size, and each point restarts A.)
SEED, NEW, UPDATED = 40, 130, 20
_SYLLABLES = ["ka", "lo", "mi", "nu", "pe", "ra", "so", "tu", "vi", "ze"]


def word(n: int) -> str:
    """A made-up word of its own for article n (no embedding model or other article has it)."""
    return "".join(_SYLLABLES[int(d)] for d in f"{n:03d}") + "th"


def article(n: int, version: int = 1) -> dict:
    tonnes = n * 10 + version
    return {"id": f"coop-{n}", "title": f"The {word(n)} cooperative reports its harvest", "source": "Valley Times",
            "text": f"The {word(n)} cooperative in Westmere reported a harvest of {tonnes} tonnes on Monday "
                    f"(version {version}). Its {word(n)} members expect grain prices to rise in the spring.",
            "published_at": "2025-03-10"}


def killed_post() -> list[dict]:
    return [article(n) for n in range(SEED, SEED + NEW)] + [article(n, version=2) for n in range(UPDATED)]


@contextmanager
def killable_serve(tmp_path: Path, point: str, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    full_env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "PYTHONPATH": f"{ROOT}{os.pathsep}"
                + os.environ.get("PYTHONPATH", ""), **{f"NEWSDESK_{k.upper()}": v for k, v in env.items()}}
    with open(tmp_path / f"a-{point}.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "tests.api.killpoint", point, "serve", "--host", "127.0.0.1",
                                 "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=ROOT)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=STARTUP_S)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        if proc.poll() is None:
            stop_process(proc)


def checked_sources(client: httpx.Client, base: str, collection: str, queries: list[str]) -> set[str]:
    """Every source replica `base` serves for `queries`, checked against its article record:
    the record exists and `text[start:end]` is the source's text. Returns their article ids."""
    seen: dict[tuple[str, int, int], str] = {}
    for query in queries:
        found = client.post(f"{base}/v1/search", json={"query": query, "top_k": 50, "collection": collection})
        assert found.status_code == 200, found.text
        for s in found.json()["sources"]:
            seen[(s["article_id"], s["start"], s["end"])] = s["text"]
    texts: dict[str, str] = {}
    for (article_id, start, end), text in seen.items():
        if article_id not in texts:
            record = client.get(f"{base}/v1/articles/{quote(article_id, safe='')}", params={"collection": collection})
            assert record.status_code == 200, f"source {article_id} has no article record: {record.text}"
            texts[article_id] = record.json()["text"]
        assert texts[article_id][start:end] == text, f"source {article_id} is not its record's text"
    return set(texts)


def probes() -> list[str]:
    sample = list(range(0, UPDATED, 4)) + list(range(SEED, SEED + NEW, 13))
    return [f"{word(n)} cooperative harvest" for n in sample] + ["grain prices Westmere harvest tonnes"]


@pytest.fixture(scope="module")
def replica_b(tmp_path_factory, chroma_server) -> Iterator[tuple[str, dict[str, str]]]:
    """Replica B, up for the module; each test writes to a collection of its own."""
    host, port = chroma_server
    tmp = tmp_path_factory.mktemp("replica-b")
    default = f"kill-{uuid.uuid4().hex[:8]}"
    env = {"chroma_host": host, "chroma_port": str(port), "index_dir": str(tmp / "unused"), "lexical_follow_ms": "0"}
    # Not empty, so B does not start by indexing the sample corpus into it.
    seed = httpx.Client(timeout=300)
    with serve_process(tmp, "replica-b", collection=default, lexical_dir=str(tmp / "b"), **env) as base, seed:
        assert seed.post(f"{base}/v1/articles", json={"id": "seed", "title": "Seed", "text": "A seed article."}
                         ).status_code == 201
        yield base, env


@pytest.mark.parametrize("point", POINTS)
def test_a_replica_killed_mid_write_leaves_no_source_without_its_record(tmp_path, replica_b, embedder, point):
    b, env = replica_b
    collection = f"kill-{point}-{uuid.uuid4().hex[:8]}"
    with httpx.Client(timeout=300) as client:
        seeded = client.post(f"{b}/v1/articles", params={"collection": collection},
                             json=[article(n) for n in range(SEED)])
        assert seeded.status_code == 201, seeded.text
        checked_sources(client, b, collection, probes())

        with killable_serve(tmp_path, point, {**env, "collection": collection,
                                              "lexical_dir": str(tmp_path / "a")}) as (a, proc):
            with pytest.raises(httpx.TransportError):  # the connection dies with the process
                client.post(f"{a}/v1/articles", json=killed_post())
            assert proc.wait(timeout=60) == -signal.SIGKILL

        checked_sources(client, b, collection, probes())  # asserts each source against its record
        for n in range(UPDATED, SEED, 5):  # articles the write did not touch are found as before
            assert first_found(client, b, collection, n)["article_id"] == f"coop-{n}"

        # The documented recovery: run the write again, here from a third process.
        settings = make_settings(tmp_path / "unused", chroma_host=env["chroma_host"], chroma_port=int(env["chroma_port"]),
                                 collection=collection, lexical_dir=tmp_path / "writer")
        report = Components.build(settings, embedder=embedder).ingester.ingest(_articles(killed_post()))
        assert not report.failed and report.counts()["unchanged"] < len(killed_post())
        for n in list(range(UPDATED)) + list(range(SEED, SEED + NEW, 7)):  # announced: B's lexical index has them
            first = first_found(client, b, collection, n)
            assert first["article_id"] == f"coop-{n}" and ("version 2" in first["text"]) == (n < UPDATED)
        checked_sources(client, b, collection, probes())


def first_found(client: httpx.Client, base: str, collection: str, n: int) -> dict:
    found = client.post(f"{base}/v1/search", json={"query": word(n), "top_k": 3, "collection": collection})
    assert found.status_code == 200, found.text
    return found.json()["sources"][0]


def _articles(records: list[dict]):
    from service.ingest.loading import parse_records

    loaded = parse_records(records)
    assert not loaded.errors
    return loaded.articles

"""Two replicas on one `chroma run` server: writes through either, the same results from both."""

from __future__ import annotations

import threading
import uuid

import pytest

from service.components import Components
from service.models import Filters
from tests.conftest import make_article

pytestmark = pytest.mark.server

QUESTIONS = [
    "Which chips were in short supply?",
    "What did the Quillon ferry operator announce?",
    "Who ordered electric trains?",
    "Marrowind turbine blades",
]


def replica(settings, embedder, chroma_server, collection: str, name: str, tmp_path) -> Components:
    host, port = chroma_server
    return Components.build(settings.model_copy(update={
        "chroma_host": host, "chroma_port": port, "collection": collection, "lexical_dir": tmp_path / name,
    }), embedder=embedder)


def results(components: Components) -> list:
    """Everything a reader could see from retrieval: fused ranking, chunk texts, both scores."""
    out = []
    for question in QUESTIONS:
        for filters in (Filters(), Filters(outlets=("Harbour Post",))):
            found = components.retriever.search(question, filters)
            out.append([(cid, round(score, 9), found.chunks[cid].text, round(found.dense_scores.get(cid, -1), 6),
                         round(found.lexical_scores.get(cid, -1), 4)) for cid, score in found.fused])
    return out


def article_ids(components: Components, question: str) -> set[str]:
    found = components.retriever.search(question)
    return {found.chunks[cid].metadata["article_id"] for cid, _ in found.fused}


def test_ingest_update_and_delete_on_a_are_what_b_returns(settings, embedder, chroma_server, tmp_path):
    collection = f"replicas-{uuid.uuid4().hex[:8]}"
    a = replica(settings, embedder, chroma_server, collection, "a", tmp_path)
    b = replica(settings, embedder, chroma_server, collection, "b", tmp_path)
    a.ingester.ingest([make_article("chips"), make_article(
        "rail", "The regional operator ordered twelve electric trains. Deliveries start in 2027.")])
    assert results(b) == results(a)  # b copies the collection once, then follows

    ferry = make_article("ferry", "The Quillon ferry operator announced a new route. Tickets go on sale in May.",
                         outlet="Harbour Post")
    a.ingester.ingest([ferry])
    assert "ferry" in article_ids(b, "What did the Quillon ferry operator announce?")
    assert results(b) == results(a)

    # updated on a: the old version's chunks never come back from b's lexical path
    corrected = make_article("ferry", "The Marrowind ferry operator cancelled the route. No tickets will be sold.",
                             outlet="Harbour Post")
    a.ingester.ingest([corrected])
    assert b.lexical.current().search("Quillon", 10) == []
    assert [c.metadata["article_id"] for c, _ in b.lexical.current().search("Marrowind", 10)] == ["ferry"]
    assert results(b) == results(a)

    a.store.delete_article("ferry")
    assert b.lexical.current().search("Marrowind", 10) == []
    assert "ferry" not in article_ids(b, "What did the Quillon ferry operator announce?")
    assert results(b) == results(a)
    assert (b.lexical.copies, a.lexical.copies) == (1, 1)


def test_concurrent_writers_on_both_replicas_lose_nothing(settings, embedder, chroma_server, tmp_path):
    collection = f"replicas-{uuid.uuid4().hex[:8]}"
    a = replica(settings, embedder, chroma_server, collection, "a", tmp_path)
    b = replica(settings, embedder, chroma_server, collection, "b", tmp_path)
    a.lexical.current(), b.lexical.current()  # both following from an empty feed
    words = ["Arvelle", "Brisko", "Cantora", "Dulmere", "Estovar", "Fenwick"]

    def write(components: Components, prefix: str) -> None:
        for word in words:
            components.ingester.ingest([make_article(f"{prefix}-{word}", f"The {word} {prefix} plant opened. It hired staff.")])

    threads = [threading.Thread(target=write, args=(a, "north")), threading.Thread(target=write, args=(b, "south"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = {f"{p}-{w}" for p in ("north", "south") for w in words}
    for components in (a, b):
        found = {c.metadata["article_id"] for w in words for c, _ in components.lexical.current().search(w, 10)}
        assert found == expected
    assert a.store.feed.head() == 12 and [e.seq for e in a.store.feed.read(0, limit=20)] == list(range(1, 13))
    assert results(b) == results(a)

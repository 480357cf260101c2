"""The change feed: claimed sequence numbers, no gaps, and writes that announce themselves."""

from __future__ import annotations

import threading

import pytest

from service.components import Components
from service.index.client import NO_VECTOR, open_records
from service.index.feed import ChangeFeed
from tests.conftest import make_article


def test_racing_writers_claim_every_number_once(components):
    collection = open_records(components.client, "race-feed", "test")
    writers = [ChangeFeed(collection, vector=NO_VECTOR) for _ in range(4)]  # four processes' views
    claimed: list[int] = []

    def write(feed: ChangeFeed, name: str) -> None:
        for n in range(10):
            claimed.append(feed.append("write", [f"{name}-{n}"]))

    threads = [threading.Thread(target=write, args=(feed, f"w{i}")) for i, feed in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == list(range(1, 41))  # none lost, none shared, no gaps
    reader = ChangeFeed(collection, vector=NO_VECTOR)
    entries = reader.read(0, limit=100)
    assert [e.seq for e in entries] == list(range(1, 41))
    assert sorted(a for e in entries for a in e.article_ids) == sorted(f"w{i}-{n}" for i in range(4) for n in range(10))
    assert reader.head() == 40
    assert [e.seq for e in reader.read(38)] == [39, 40]


def test_one_entry_per_write_naming_its_articles(components):
    feed = components.store.feed
    components.ingester.ingest([make_article("a1"), make_article("a2", "Another story. About chips.")])
    components.ingester.ingest([make_article("a1")])  # unchanged: no write, no entry
    components.store.delete_article("a2")
    entries = feed.read(0)
    assert [(e.op, e.article_ids) for e in entries] == [("write", ("a1", "a2")), ("delete", ("a2",))]


def test_a_writer_killed_before_announcing_is_announced_when_repeated(components, settings, embedder, tmp_path):
    replica = Components.build(settings.model_copy(update={"lexical_dir": tmp_path / "b"}), embedder=embedder)
    components.ingester.ingest([make_article("a1")])
    assert replica.lexical.current().search("Zyxoplane", 5) == []
    article = make_article("a2", "The Zyxoplane drone was unveiled. It flies far.")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed")

    append = components.store.feed.append
    components.store.feed.append = killed  # chunks written, the process dies before announcing
    with pytest.raises(KeyboardInterrupt):
        components.ingester.ingest([article])
    components.store.feed.append = append
    assert replica.lexical.current().search("Zyxoplane", 5) == []  # not announced yet
    report = components.ingester.ingest([article])  # the documented recovery: run it again
    assert report.counts()["updated"] + report.counts()["added"] == 1  # not taken for unchanged
    assert [c.metadata["article_id"] for c, _ in replica.lexical.current().search("Zyxoplane", 5)] == ["a2"]
    assert components.ingester.ingest([article]).counts()["unchanged"] == 1  # and now it is done


def test_a_batch_written_in_several_upserts_is_one_entry(components):
    from service.ingest.pipeline import Ingester

    store = components.store
    store.writer.max_batch = 2  # Chroma's limit, made tiny: each batch takes several upserts
    upserts = []
    upsert = store.chunks.upsert
    store.chunks.upsert = lambda **kw: upserts.append(len(kw["ids"])) or upsert(**kw)
    ingester = Ingester(store, components.embedder, components.chunker, group_chunks=1_000)
    articles = [make_article(f"b{i}", f"Story {i} about the harbour. It has two sentences.") for i in range(5)]
    ingester.ingest(articles)
    assert len(upserts) >= 3 and max(upserts) <= 2
    entries = store.feed.read(0)
    assert [(e.op, e.article_ids) for e in entries] == [("write", tuple(f"b{i}" for i in range(5)))]

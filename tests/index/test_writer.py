"""The one chunk writer: every path that writes chunk rows goes through `ChunkWriter.apply`,
and lands the same metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.errors import StoreUnavailableError
from service.index import sentence_vectors
from service.index.settling import settle_versions
from service.index.writer import ChunkRows
from tests.conftest import make_article

SERVICE = Path(__file__).resolve().parents[2] / "service"
LONG_TEXT = " ".join(f"Paragraph {i} says the ferry carried {i * 40} passengers across the bay." for i in range(40))


def rows_of(components, article) -> ChunkRows:
    """What `Ingester` hands `ArticleStore.write` for `article`."""
    chunks = components.chunker.chunk(article.article_id, article.text)
    own, sentences = sentence_vectors.embed_sentences(components.embedder.embed, [c.text for c in chunks],
                                                      with_texts=True)
    blobs = [sentence_vectors.encode(v, s) for v, s in zip(own, sentences)]
    return ChunkRows.of([(article, chunks)], own, blobs)


def stored_keys(store, ids) -> dict[str, set[str]]:
    result = store.chunks.get(ids=list(ids), include=["metadatas"])
    return {cid: set(meta) for cid, meta in zip(result["ids"], result["metadatas"])}


def test_write_backfill_and_settling_land_the_same_metadata_keys(components):
    store = components.store
    article = make_article("a1", LONG_TEXT)
    rows = rows_of(components, article)
    assert len(rows.ids) > 2
    components.ingester.ingest([article])  # ArticleStore.write
    written = stored_keys(store, rows.ids)
    expected = set(rows.metadatas[0])
    assert sentence_vectors.KEY in expected and written == {cid: expected for cid in rows.ids}

    # set_sentence_vectors: chunks stored without them get them back, nothing else changes
    store.chunks.update(ids=rows.ids, metadatas=[{sentence_vectors.KEY: None}] * len(rows.ids))
    store.set_sentence_vectors(store.get_chunks(rows.ids), [m[sentence_vectors.KEY] for m in rows.metadatas])
    assert stored_keys(store, rows.ids) == written

    # a settling round puts back a chunk that a racing writer deleted, with the same keys
    head = store.feed.head()
    store.chunks.delete(ids=[rows.ids[1]])
    settle_versions(store.articles, store.writer, {"a1": article.content_hash}, rows)
    assert stored_keys(store, rows.ids) == written
    assert [(e.op, e.article_ids) for e in store.feed.read(head)] == [("write", ("a1",))]  # announced once


def test_a_failed_write_is_a_store_error_and_is_not_announced(components):
    store = components.store
    head = store.feed.head()

    def refuse(**kwargs):
        raise ValueError("disk full")

    store.chunks.upsert = refuse
    with pytest.raises(StoreUnavailableError, match="disk full"):
        components.ingester.ingest([make_article("a1")])
    assert store.feed.head() == head


def test_only_the_writer_writes_chunk_rows():
    """A newcomer looking for where a chunk is written finds one place."""
    calls = (".chunks.upsert(", ".chunks.update(", ".chunks.delete(", ".chunks.add(")
    writers = sorted(str(p.relative_to(SERVICE.parent)) for p in SERVICE.rglob("*.py")
                     if any(call in p.read_text(encoding="utf-8") for call in calls))
    assert writers == ["service/index/writer.py"]

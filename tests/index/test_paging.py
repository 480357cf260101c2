"""Reading collections by key (service/index/paging.py) and the HNSW settings (hnsw.py)."""

from __future__ import annotations

import numpy as np
import pytest

from service.components import Components
from service.index.client import VectorsGiven
from service.index.paging import KEYED_FLAG, PAGE_KEY, iter_pages, page_key
from tests.conftest import make_article
from tests.index.test_store import TinyEmbedder


@pytest.fixture
def tiny(settings):
    """A store filled quickly: a deterministic 8-d embedder instead of the model."""
    return Components.build(settings, embedder=TinyEmbedder())


def _fill(components, n: int) -> list[str]:
    ids = [f"art-{i:03d}" for i in range(n)]
    components.ingester.ingest([make_article(a, f"Story {a} says one thing. Then another thing about {a}.") for a in ids])
    return ids


def test_a_scan_reads_every_record_once_across_many_pages(tiny):
    ids = _fill(tiny, 60)
    seen = [i for page in iter_pages(tiny.store.articles, [], size=7) for i in page["ids"]]
    assert sorted(seen) == ids  # each exactly once
    pages = list(iter_pages(tiny.store.chunks, ["metadatas"], size=7))
    assert len(pages) > 5
    chunks = [m["article_id"] for page in pages for m in page["metadatas"]]
    assert sorted(set(chunks)) == ids and len(chunks) == tiny.store.count_chunks()


def test_records_carry_their_page_key_and_collections_say_so(tiny):
    _fill(tiny, 3)
    assert tiny.store.chunks.metadata[KEYED_FLAG] and tiny.store.articles.metadata[KEYED_FLAG]
    got = tiny.store.chunks.get(include=["metadatas"])
    assert all(m[PAGE_KEY] == page_key(m["article_id"]) for m in got["metadatas"])


def test_listing_by_cursor_matches_offsets_and_survives_a_delete(tiny):
    ids = _fill(tiny, 23)
    everything = [r["article_id"] for r in tiny.store.list_articles(limit=100)]
    assert sorted(everything) == ids
    by_offset = [r["article_id"] for off in range(0, 23, 5) for r in tiny.store.list_articles(limit=5, offset=off)]
    assert by_offset == everything

    first = [r["article_id"] for r in tiny.store.list_articles(limit=5)]
    tiny.store.delete_article(first[1])  # with offsets, this would shift the next page by one
    rest, after = [], first[-1]
    while page := tiny.store.list_articles(limit=5, after=after):
        rest += [r["article_id"] for r in page]
        after = page[-1]["article_id"]
    assert first + rest == everything  # nothing skipped, nothing twice


def test_a_collection_made_before_page_keys_is_still_read_whole(tiny):
    legacy = tiny.client.create_collection("legacy-records", embedding_function=VectorsGiven())
    legacy.add(ids=[f"r{i}" for i in range(11)], embeddings=[[1.0]] * 11, documents=["x"] * 11)
    seen = [i for page in iter_pages(legacy, [], size=3) for i in page["ids"]]
    assert sorted(seen) == sorted(f"r{i}" for i in range(11))


def test_hnsw_settings_shape_the_collection_and_are_recorded(settings):
    tuned = settings.model_copy(update={"hnsw_m": 24, "hnsw_ef_construction": 150, "hnsw_ef_search": 60})
    store = Components.build(tuned, embedder=TinyEmbedder()).store
    assert store.chunks.configuration["hnsw"]["max_neighbors"] == 24
    assert store.chunks.configuration["hnsw"]["ef_construction"] == 150
    assert store.chunks.configuration["hnsw"]["ef_search"] == 60
    meta = store.chunks.metadata
    assert (meta["hnsw_m"], meta["hnsw_ef_construction"], meta["hnsw_ef_search"]) == (24, 150, 60)

    # Reopened with other values: ef_search follows the settings, the graph keeps how it was built.
    reopened = Components.build(settings.model_copy(update={"hnsw_m": 8, "hnsw_ef_search": 200}),
                                embedder=TinyEmbedder()).store
    fresh = reopened.client.get_collection(reopened.name, embedding_function=VectorsGiven())
    assert fresh.configuration["hnsw"]["ef_search"] == 200
    assert fresh.configuration["hnsw"]["max_neighbors"] == 24
    assert (fresh.metadata["hnsw_m"], fresh.metadata["hnsw_ef_search"]) == (24, 200)
    assert fresh.metadata["embedding_model"] == TinyEmbedder.model_id  # the rest of the metadata is kept
    hits = reopened.query_ids(np.ones(8, dtype=np.float32), 3, None)
    assert hits == []  # an empty collection still answers after the change

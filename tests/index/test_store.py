import hashlib

import numpy as np
import pytest

from service.components import Components
from service.errors import IndexMismatchError
from service.models import SCHEMA_VERSION
from tests.conftest import make_article


class TinyEmbedder:
    """A different (deterministic) model, to open an index built by another embedder."""

    model_id = "test:tiny-8d"
    dimension = 8

    def embed(self, texts):
        # Seeded from a digest of the text: the same vectors in every process (hash() is salted).
        rng = [np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)).normal(size=8) for t in texts]
        m = np.array(rng, dtype=np.float32).reshape(len(texts), 8)
        return m / np.linalg.norm(m, axis=1, keepdims=True)

    def count_tokens(self, texts):
        return [len(t.split()) for t in texts]


def test_collection_metadata_records_how_it_was_built(components):
    components.ingester.ingest([make_article()])
    meta = components.store.chunks.metadata
    assert meta["embedding_model"] == "onnx:all-MiniLM-L6-v2-int8"
    assert meta["embedding_dimension"] == 384
    assert meta["chunk_size"] == components.settings.chunk_size
    assert meta["chunk_overlap"] == components.settings.chunk_overlap
    assert meta["schema_version"] == SCHEMA_VERSION


def test_opening_with_another_embedder_names_both_and_the_fix(components, settings):
    components.ingester.ingest([make_article()])
    other = Components.build(settings, embedder=TinyEmbedder())
    with pytest.raises(IndexMismatchError) as caught:
        other.store
    message = str(caught.value)
    assert "onnx:all-MiniLM-L6-v2-int8 (384 dimensions)" in message
    assert "test:tiny-8d (8 dimensions)" in message
    assert "newsdesk reindex" in message


def test_reindex_rebuilds_with_the_new_embedder(components, settings):
    from service.index.store import read_articles

    components.ingester.ingest([make_article("a1"), make_article("a2", "Another story. About chips.")])
    other = Components.build(settings, embedder=TinyEmbedder())
    articles = read_articles(other.client, other.collection)
    other.rebuild()
    report = other.ingester.ingest(articles)
    assert report.counts()["added"] == 2
    assert other.store.chunks.metadata["embedding_model"] == "test:tiny-8d"
    assert sorted(a["article_id"] for a in other.store.list_articles()) == ["a1", "a2"]


def test_revision_changes_on_every_write(components):
    first = components.store.revision()
    components.ingester.ingest([make_article("a1")])
    second = components.store.revision()
    components.ingester.ingest([make_article("a1")])  # unchanged: no write
    assert components.store.revision() == second
    components.store.delete_article("a1")
    assert len({first, second, components.store.revision()}) == 3


@pytest.mark.server
def test_chroma_server_through_http_client(chroma_server, settings, embedder):
    host, port = chroma_server
    remote = Components.build(
        settings.model_copy(update={"chroma_host": host, "chroma_port": port, "collection": "store-test"}), embedder=embedder
    )
    remote.ingester.ingest([make_article("s1"), make_article("s2", "Mistral raised money. Investors were keen.")])
    assert remote.store.count_articles() == 2
    result = remote.retriever.retrieve("Which chips were in short supply?", top_k=2)
    assert result.passages[0].article_id == "s1"
    assert type(remote.client).__name__ != "PersistentClient"


# -- concurrent versions of one article (issue 11, fault 2) ---------------------------------

VERSION_TEXT = " ".join(
    f"Paragraph {i} of the harbour story reports that {i * 7} cranes moved {i * 1000} containers." for i in range(30)
)


def _race_versions(components, n: int = 10):
    """`n` threads ingest `n` different versions of article "race" at the same moment."""
    import threading
    from dataclasses import replace

    base = make_article("race", VERSION_TEXT)
    versions = [replace(base, text=VERSION_TEXT + f" Correction number {v}: the figure was revised.") for v in range(n)]
    start = threading.Barrier(n)
    errors: list[BaseException] = []

    def post(article):
        try:
            start.wait()
            components.ingester.ingest([article])
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return versions


def _assert_exactly_one_version(components, versions):
    from service.models import chunk_id

    record, public = components.store.get_article("race")
    winner = next(v for v in versions if v.text == record.text)
    expected = sorted(chunk_id(winner, c) for c in components.chunker.chunk("race", winner.text))
    stored = components.store.chunks.get(where={"article_id": "race"}, include=["metadatas"])
    assert sorted(stored["ids"]) == expected
    assert {m["content_hash"] for m in stored["metadatas"]} == {winner.content_hash} == {public["content_hash"]}
    assert public["n_chunks"] == len(expected) > 1


def test_concurrent_versions_of_one_article_leave_exactly_one(components):
    components.ingester.ingest([make_article("race", VERSION_TEXT)])  # an existing version to replace
    versions = _race_versions(components)
    _assert_exactly_one_version(components, versions)


@pytest.mark.server
def test_concurrent_versions_on_a_chroma_server_leave_exactly_one(chroma_server, settings, embedder):
    host, port = chroma_server
    remote = Components.build(
        settings.model_copy(update={"chroma_host": host, "chroma_port": port, "collection": "race-test"}), embedder=embedder
    )
    versions = _race_versions(remote)
    _assert_exactly_one_version(remote, versions)

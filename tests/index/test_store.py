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

import hashlib

import numpy as np
import pytest

from service.components import Components
from service.errors import IndexMismatchError
from service.index.writer import ChunkRows
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


# -- a write killed midway: nothing searchable without its record (issue 20) --------------------

def _checkable(components, found) -> set[str]:
    """The articles of `found`'s chunks, each chunk checked against its article record: a
    citation of it can be verified with `get_article`."""
    articles = set()
    for chunk in found.chunks.values():
        article_id = chunk.metadata["article_id"]
        article, _ = components.store.get_article(article_id)  # ArticleNotFoundError: an orphan was served
        assert article.text[chunk.metadata["char_start"]:chunk.metadata["char_end"]] == chunk.text
        articles.add(article_id)
    return articles


def test_chunks_written_without_their_records_are_never_searchable(components, settings, embedder, tmp_path):
    from dataclasses import replace

    ferry = make_article("ferry", "The Quillon ferry carried 400 passengers. It sailed at dawn from the old pier.")
    components.ingester.ingest([ferry, make_article("a0")])
    drone = make_article("drone", "The Zyxoplane drone was unveiled on Monday. It flies 300 kilometres on one charge.")
    corrected = replace(ferry, text="The Quillon ferry carried 900 passengers. It sailed at noon from the new pier.")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed")

    components.store._write_records = killed  # chunks in (the ferry's old ones deleted), records not
    with pytest.raises(KeyboardInterrupt):
        components.ingester.ingest([drone, corrected])
    del components.store._write_records
    assert components.store.chunks.get(where={"article_id": "drone"})["ids"]  # the orphans are there

    replica = Components.build(settings.model_copy(update={"lexical_dir": tmp_path / "b"}), embedder=embedder)
    for process in (components, replica):  # the writer's own process and a fresh replica's copy
        for question in ("Zyxoplane drone range", "How many passengers did the Quillon ferry carry?"):
            assert "drone" not in _checkable(process, process.retriever.search(question))
    drone_chunks = components.store.chunks.get(where={"article_id": "drone"})["ids"]
    assert components.store.get_chunks(drone_chunks) == []

    report = components.ingester.ingest([drone, corrected])  # the documented recovery: run it again
    assert report.counts()["added"] + report.counts()["updated"] == 2  # neither taken for unchanged
    for process in (components, replica):
        assert [c.metadata["article_id"] for c, _ in process.lexical.current().search("Zyxoplane", 5)] == ["drone"]
        found = process.retriever.search("How many passengers did the Quillon ferry carry?")
        assert "ferry" in _checkable(process, found)
        assert all("900" in c.text for c in found.chunks.values() if c.metadata["article_id"] == "ferry")


def test_the_feed_entry_comes_after_the_records_it_announces(components):
    store = components.store
    seen = []
    announce = store.writer.announce

    def check(op, article_ids):
        ids = sorted(article_ids)
        records = store.articles.get(ids=ids, include=["metadatas"])
        seen.append((op, ids, sorted(records["ids"])))
        announce(op, article_ids)

    store.writer.announce = check
    components.ingester.ingest([make_article("a1"), make_article("a2", "Another story. About chips.")])
    assert seen == [("write", ["a1", "a2"], ["a1", "a2"])]
    # and once announced, the records carry no mark: a repeat is "unchanged"
    assert components.ingester.ingest([make_article("a1")]).counts()["unchanged"] == 1


def _reads(store):
    """Every `get` the chunk collection is asked for, as its keyword arguments."""
    reads = []
    get = store.chunks.get
    store.chunks.get = lambda **kw: reads.append(kw) or get(**kw)
    return reads


def test_a_dense_hit_without_its_record_costs_one_read_per_ttl(components):
    store = components.store
    components.ingester.ingest([make_article("a1")])
    orphan = make_article("orphan", "The Zyxoplane drone was unveiled. It flies far.")
    chunks = components.chunker.chunk("orphan", orphan.text)
    rows = ChunkRows.of([(orphan, chunks)], components.embedder.embed([c.text for c in chunks]))
    store.writer.write_rows(upsert=rows)  # a killed write's chunks: no record, no entry
    reads = _reads(store)
    assert store.get_chunks(rows.ids) == [] and len(reads) == 1
    assert store.get_chunks(rows.ids) == [] and len(reads) == 1  # remembered: no read


# -- an article's chunks read by the ids its record lists, not by a filter over the collection ----

def test_a_replica_reads_a_written_articles_chunks_by_id(components):
    store = components.store
    components.ingester.ingest([make_article("a1"), make_article("a2", "Another story. About chips and their makers.")])
    by_filter = {c.chunk_id: c.text for c in store.chunks_of(["a1", "a2"])}
    reads = _reads(store)
    assert {c.chunk_id: c.text for c in store.chunks_of(["a1", "a2"])} == by_filter
    assert set(store.existing_chunk_ids(["a1", "a2", "new"])["a1"]) == {c for c in by_filter if c.startswith("a1#")}
    assert reads and not any("where" in r for r in reads)
    # and the next ingest of an unchanged article writes nothing, still without a filter
    assert components.ingester.ingest([make_article("a1")]).counts()["unchanged"] == 1
    assert not any("where" in r for r in reads)


def test_records_written_before_they_listed_their_chunks_are_read_the_old_way(components):
    from service.index.metadata import CHUNK_KEYS

    store = components.store
    components.ingester.ingest([make_article("a1")])
    listed = {c.chunk_id for c in store.chunks_of(["a1"])}
    store.articles.update(ids=["a1"], metadatas=[{CHUNK_KEYS: None}])  # None removes the key
    assert CHUNK_KEYS not in store.articles.get(ids=["a1"], include=["metadatas"])["metadatas"][0]
    assert {c.chunk_id for c in store.chunks_of(["a1"])} == listed
    assert store.existing_chunk_ids(["a1"])["a1"] == listed
    assert components.ingester.ingest([make_article("a1")]).counts()["unchanged"] == 1


def test_a_killed_writes_chunks_go_with_the_next_write_or_a_delete(components):
    store = components.store
    components.ingester.ingest([make_article("a1")])
    for text, then in (("The Zyxoplane drone was unveiled. It flies far.", "ingest"),
                       ("The Zyxoplane drone was recalled. It fell.", "delete")):
        orphan = make_article("a1", text)
        chunks = components.chunker.chunk("a1", orphan.text)
        rows = ChunkRows.of([(orphan, chunks)], components.embedder.embed([c.text for c in chunks]))
        store.writer.write_rows(upsert=rows)  # a killed write of another version: chunks, no record
        assert set(rows.ids) <= store.all_chunk_ids(["a1"])["a1"]
        if then == "ingest":
            edited = make_article("a1", "Nvidia reported lower revenue. Supply caught up with demand.")
            assert components.ingester.ingest([edited]).counts()["updated"] == 1
            assert store.all_chunk_ids(["a1"])["a1"] == store.existing_chunk_ids(["a1"])["a1"]  # only the record's
        else:
            store.delete_article("a1")
            assert store.chunks.get(where={"article_id": "a1"})["ids"] == []


def test_an_article_whose_listed_chunk_went_missing_is_written_again(components):
    store = components.store
    components.ingester.ingest([make_article("a1")])
    listed = sorted(store.existing_chunk_ids(["a1"])["a1"])
    store.chunks.delete(ids=listed[:1])  # what a racing writer's settling can leave (docs/scale.md)
    assert len(store.chunks_of(["a1"])) == len(listed) - 1
    assert components.ingester.ingest([make_article("a1")]).counts()["updated"] == 1  # not "unchanged"
    assert sorted(c.chunk_id for c in store.chunks_of(["a1"])) == listed

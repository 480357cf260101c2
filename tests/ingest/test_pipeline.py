from dataclasses import replace

import numpy as np
import pytest

from service.index import sentence_vectors
from service.ingest.pipeline import Ingester
from service.models import ChunkVectors, chunk_id
from tests.conftest import make_article

LONG = " ".join(
    f"Sentence number {i} says that Nvidia shipped {i * 10} thousand GPUs to a customer in quarter {i % 4 + 1}."
    for i in range(40)
)


def stored(components):
    got = components.store.chunks.get(include=["metadatas", "documents"])
    return sorted(zip(got["ids"], got["documents"])), got["metadatas"]


def expected_ids(components, article):
    return sorted(chunk_id(article, c) for c in components.chunker.chunk(article.article_id, article.text))


def test_first_run_adds_rerun_is_a_noop(components):
    articles = [make_article("a1", LONG), make_article("a2")]
    first = components.ingester.ingest(articles)
    assert first.counts() == {"added": 2, "updated": 0, "unchanged": 0, "failed": 0}
    before, metas = stored(components)
    assert {m["article_id"] for m in metas} == {"a1", "a2"}
    second = components.ingester.ingest(articles)
    assert second.counts() == {"added": 0, "updated": 0, "unchanged": 2, "failed": 0}
    assert second.chunks_written == 0
    assert stored(components)[0] == before


def test_chunk_metadata_carries_offsets_and_citation_fields(components):
    article = make_article("a1", LONG, url="https://w.example/a1", author="Kim Lee")
    components.ingester.ingest([article])
    got = components.store.chunks.get(include=["metadatas", "documents"])
    for doc, meta in zip(got["documents"], got["metadatas"]):
        assert article.text[meta["char_start"]:meta["char_end"]] == doc
        assert meta["title"] == article.title and meta["source"] == "Test Wire"
        assert meta["url"] == "https://w.example/a1" and meta["author"] == "Kim Lee"
        assert meta["published_ts"] == int(article.published_at.timestamp())
        assert meta["content_hash"] == article.content_hash


def test_changed_article_is_replaced_without_leftovers(components):
    original = make_article("a1", LONG)
    components.ingester.ingest([original, make_article("other")])
    edited = replace(original, text=LONG.replace("Sentence number 3 ", "Sentence number three "))
    report = components.ingester.ingest([edited])
    assert report.counts()["updated"] == 1
    ids = sorted(i for i, _ in stored(components)[0] if i.startswith("a1#"))
    assert ids == expected_ids(components, edited)
    article, _ = components.store.get_article("a1")
    assert article.text == edited.text


def test_metadata_change_counts_as_update(components):
    original = make_article("a1")
    components.ingester.ingest([original])
    report = components.ingester.ingest([replace(original, title="Corrected headline")])
    assert report.counts()["updated"] == 1
    assert {m["title"] for m in stored(components)[1]} == {"Corrected headline"}


def test_killed_run_repeated_ends_like_a_clean_run(components, settings, embedder, tmp_path):
    from service.components import Components

    v1 = [make_article(f"k{i}", LONG + f" Version one {i}.") for i in range(3)]
    components.ingester.ingest(v1)
    v2 = [replace(a, text=a.text.replace("Version one", "Version two")) for a in v1]

    # Crash after the new chunks are upserted but before the old ones are deleted.
    original_delete = components.store.chunks.delete

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed")

    components.store.chunks.delete = crash
    with pytest.raises(KeyboardInterrupt):
        components.ingester.ingest(v2)
    components.store.chunks.delete = original_delete

    components.ingester.ingest(v2)  # the repeat
    clean = Components.build(settings.model_copy(update={"index_dir": tmp_path / "clean"}), embedder=embedder)
    clean.ingester.ingest(v2)
    assert stored(components)[0] == stored(clean)[0]


def test_duplicate_id_in_one_run_is_reported_and_later_wins(components):
    report = components.ingester.ingest([make_article("d", "First text. It is here."), make_article("d", "Second text. It wins.")])
    assert len(report.failed) == 1 and "duplicate article id 'd'" in report.failed[0].message
    article, _ = components.store.get_article("d")
    assert article.text == "Second text. It wins."


def test_delete_removes_every_chunk_and_the_record(components):
    components.ingester.ingest([make_article("a1", LONG), make_article("a2")])
    removed = components.store.delete_article("a1")
    assert removed > 1
    assert all(not i.startswith("a1#") for i, _ in stored(components)[0])
    assert [a["article_id"] for a in components.store.list_articles()] == ["a2"]
    from service.errors import ArticleNotFoundError

    with pytest.raises(ArticleNotFoundError):
        components.store.delete_article("a1")


def test_grouping_does_not_change_the_result(components, settings, embedder, tmp_path):
    from service.components import Components

    articles = [make_article(f"g{i}", LONG[: 300 + 50 * i]) for i in range(6)]
    small = Components.build(settings.model_copy(update={"index_dir": tmp_path / "small"}), embedder=embedder)
    Ingester(small.store, embedder, small.chunker, group_chunks=1).ingest(articles)
    components.ingester.ingest(articles)
    assert stored(small)[0] == stored(components)[0]


def _vectors_by_text(components, article_id):
    got = components.store.chunks.get(where={"article_id": article_id}, include=["documents", "embeddings"])
    return {d: e for d, e in zip(got["documents"], got["embeddings"])}


def test_an_appended_correction_embeds_only_the_chunks_it_changes(components):
    original = make_article("a1", LONG)
    first = components.ingester.ingest([original])
    assert first.chunks_embedded == first.chunks_written and first.chunks_reused == 0
    before = _vectors_by_text(components, "a1")

    corrected = replace(original, text=LONG + "\n\nCorrection: an earlier version misstated the quarter.")
    report = components.ingester.ingest([corrected])
    assert report.counts()["updated"] == 1
    assert report.chunks_written == len(expected_ids(components, corrected))
    assert report.chunks_reused >= report.chunks_written - 2  # only the tail is new
    assert report.chunks_embedded + report.chunks_reused == report.chunks_written
    after = _vectors_by_text(components, "a1")
    kept = set(before) & set(after)
    assert len(kept) == report.chunks_reused
    for text in kept:
        assert np.array_equal(before[text], after[text])  # the very vectors, not recomputed
    # Every stored vector is what the collection's way makes for that chunk's text.
    texts = sorted(after)
    made, _ = sentence_vectors.embed_chunks(components.embedder, texts, source=components.store.chunk_vectors)
    assert np.allclose(np.array([after[t] for t in texts]), made, atol=1e-4)


def test_a_changed_paragraph_re_embeds_its_chunks_and_keeps_the_others(components):
    original = make_article("a1", LONG)
    components.ingester.ingest([original])
    edited = replace(original, text=LONG.replace("Sentence number 38 says", "Sentence number 38 now says"))
    report = components.ingester.ingest([edited])
    assert 0 < report.chunks_embedded < report.chunks_written
    stored = _vectors_by_text(components, "a1")
    assert sorted(stored) == sorted(c.text for c in components.chunker.chunk("a1", edited.text))


def test_every_chunk_keeps_its_sentences_vectors_out_of_the_metadata_readers_see(components):
    from service.index import sentence_vectors

    article = make_article("a1", LONG)
    components.ingester.ingest([article])
    chunks = components.store.chunks_of(["a1"])
    assert chunks and components.store.sentence_vectors
    for chunk in chunks:
        assert sentence_vectors.KEY not in chunk.metadata
        sentences = sentence_vectors.sentences_of(chunk.text)
        stored = sentence_vectors.decode(chunk.vectors, components.embedder.dimension)
        assert stored.shape == (1 + len(sentences), components.embedder.dimension)
        # row 0 is the chunk's own vector (its sentences' mean), row i + 1 sentence i: each its own best match
        own, (rows,) = sentence_vectors.embed_chunks(components.embedder, [chunk.text])
        fresh = np.vstack([own, rows])
        assert list(np.argmax(fresh @ stored.T, axis=1)) == list(range(1 + len(sentences)))
        assert np.all(np.sum(fresh * stored, axis=1) > 0.97)


def test_an_unchanged_chunk_keeps_its_sentence_vectors_when_the_article_is_corrected(components):
    original = make_article("a1", LONG)
    components.ingester.ingest([original])
    before = {c.text: c.vectors for c in components.store.chunks_of(["a1"])}
    corrected = replace(original, text=LONG + "\n\nCorrection: an earlier version misstated the quarter.")
    report = components.ingester.ingest([corrected])
    after = {c.text: c.vectors for c in components.store.chunks_of(["a1"])}
    kept = set(before) & set(after)
    assert len(kept) == report.chunks_reused > 0
    assert all(before[t] == after[t] for t in kept)
    assert all(after[t] for t in after)  # the new tail has its own


def test_a_collection_made_before_sentence_vectors_gets_them_once(components, settings, embedder, tmp_path):
    from service.components import Components
    from service.index import sentence_vectors

    components.ingester.ingest([make_article("a1", LONG), make_article("a2", "Short story. Two sentences.")])
    replica = Components.build(settings.model_copy(update={"lexical_dir": tmp_path / "replica"}), embedder=embedder)
    replica.lexical.current()
    # as an older newsdesk left it: no sentence vectors on the chunks, no flag on the collection
    old = components.store.chunks_of(["a1", "a2"])
    # (Chroma merges metadata on update; None removes a key)
    components.store.chunks.update(ids=[c.chunk_id for c in old], metadatas=[{sentence_vectors.KEY: None} for c in old])
    meta = {k: v for k, v in components.store.chunks.metadata.items()
            if k != sentence_vectors.FLAG and not k.startswith("hnsw:")}
    components.store.chunks.modify(metadata=meta)
    assert not components.store.sentence_vectors
    assert not any(c.vectors for c in components.store.chunks_of(["a1", "a2"]))

    seen = []
    assert components.ingester.backfill_sentence_vectors(progress=lambda d, t: seen.append((d, t))) == len(old)
    assert seen[-1] == (len(old), len(old))
    assert components.store.sentence_vectors
    for chunk in components.store.chunks_of(["a1", "a2"]):
        rows = sentence_vectors.decode(chunk.vectors, embedder.dimension)
        assert rows.shape[0] == 1 + len(sentence_vectors.sentences_of(chunk.text))
        assert float(rows[0] @ sentence_vectors.embed_chunks(embedder, [chunk.text])[0][0]) > 0.97
    # the other replica's lexical copy follows the feed, and its chunks carry them too
    copied = replica.lexical.current().get_scored([c.chunk_id for c in old], "")[0]
    assert len(copied) == len(old) and all(c.vectors for c in copied.values())
    assert components.ingester.backfill_sentence_vectors() == 0  # once


@pytest.mark.parametrize("way", list(ChunkVectors))
def test_each_way_of_making_vectors_reads_what_it_says_and_keeps_a_row_per_sentence(settings, embedder, way):
    from service.components import Components
    from service.index import sentence_vectors

    made = Components.build(settings.model_copy(update={"chunk_vectors": way}), embedder=embedder)
    assert made.store.chunk_vectors is way  # recorded on the collection
    article = make_article("a1", LONG)
    texts = [c.text for c in made.chunker.chunk("a1", article.text)]
    distinct = list(dict.fromkeys(s for t in texts for s in sentence_vectors.sentences_of(t)))
    read = {ChunkVectors.SENTENCES: distinct, ChunkVectors.POOLED: texts,
            ChunkVectors.SEPARATE: texts + [s for t in texts for s in sentence_vectors.sentences_of(t)]}[way]
    before = embedder.tokens_read
    made.ingester.ingest([article])
    assert embedder.tokens_read - before == sum(n + 2 for n in embedder.count_tokens(read))  # [CLS], [SEP]
    for chunk in made.store.chunks_of(["a1"]):
        stored = sentence_vectors.decode(chunk.vectors, embedder.dimension)
        own, (rows,) = sentence_vectors.embed_chunks(embedder, [chunk.text], source=way)
        assert stored.shape[0] == 1 + len(sentence_vectors.row_spans(chunk.text)) == 1 + len(rows)
        assert np.all(np.sum(np.vstack([own, rows]) * stored, axis=1) > 0.97)


def test_a_collection_made_before_the_choice_keeps_embedding_its_chunks_whole(components, embedder):
    from service.index.metadata import CHUNK_VECTORS

    # as an older newsdesk made it: no record of how, and chunks embedded whole
    meta = {k: v for k, v in components.store.chunks.metadata.items()
            if k != CHUNK_VECTORS and not k.startswith("hnsw:")}
    components.store.chunks.modify(metadata=meta)
    assert components.store.chunk_vectors is ChunkVectors.SEPARATE
    components.ingester.ingest([make_article("a1", LONG)])
    stored = _vectors_by_text(components, "a1")
    texts = sorted(stored)
    assert np.allclose(np.array([stored[t] for t in texts]), embedder.embed(texts), atol=1e-4)
    components.rebuild()  # what `newsdesk reindex` does first: the collection is made the current way
    assert components.store.chunk_vectors is ChunkVectors.SENTENCES

"""The on-disk lexical index: incremental changes, persistence, and following the feed."""

from __future__ import annotations

from datetime import UTC, datetime

from service.components import Components
from service.index.lexical import LexicalIndex, head_text
from service.index.store import StoredChunk
from service.models import Filters
from tests.conftest import make_article


def stored(cid, text, article_id, **meta):
    return StoredChunk(cid, text, {"article_id": article_id, "source": "Wire", "published_ts": -1, **meta})


def ids(hits):
    return [c.chunk_id for c, _ in hits]


def test_add_replace_and_delete_touch_only_the_articles_named(tmp_path):
    index = LexicalIndex(tmp_path)
    index.replace_articles((), [stored("a#0", "graphene battery breakthrough", "a"),
                                stored("a#1", "graphene supply chain", "a"),
                                stored("b#0", "graphene prices fell", "b")])
    index.commit(position=1)
    assert sorted(ids(index.search("graphene", 10))) == ["a#0", "a#1", "b#0"]
    # article a is edited: one new chunk replaces both old ones
    index.replace_articles(["a"], [stored("a#0v2", "graphene battery recalled", "a")])
    index.commit(position=2)
    assert sorted(ids(index.search("graphene", 10))) == ["a#0v2", "b#0"]
    assert index.get(["a#0", "a#1", "a#0v2"]).keys() == {"a#0v2"}
    index.replace_articles(["b"], [])  # b deleted
    index.commit(position=3)
    assert ids(index.search("graphene", 10)) == ["a#0v2"]
    assert index.get(["a#0v2"])["a#0v2"].text == "graphene battery recalled"  # text kept on disk
    assert len(index) == 1 and index.position == 3


def among_all(index, query, chunk_ids):
    """BM25 of the named chunks as a plain search scores them, 0.0 for no match."""
    found = dict((c.chunk_id, s) for c, s in index.search(query, 100))
    return {c: found.get(c, 0.0) for c in chunk_ids}


def test_whole_articles_are_scored_and_follow_replacement(tmp_path):
    def at(cid, text, article_id, start):
        return stored(cid, text, article_id, char_start=start, char_end=start + len(text))

    index = LexicalIndex(tmp_path, head_weight=0)
    # a's two chunks overlap ("cobalt refinery"); together they name both terms
    index.replace_articles((), [at("a#0", "The cobalt refinery opened", "a", 0),
                                at("a#1", "cobalt refinery opened in Zambia", "a", 4),
                                at("b#0", "Zambia exports copper", "b", 0),
                                at("c#0", "Cobalt prices in Zambia", "c", 0)])
    index.commit()
    scores = index.article_scores("cobalt refinery Zambia", ["a", "b", "missing"])
    assert set(scores) == {"a", "b"} and scores["a"] > scores["b"] > 0  # c not asked for
    # no chunk of a holds all three words; the article does
    among = index.scores("cobalt refinery Zambia", ["a#0", "c#0", "b#0"])
    assert among == {c.chunk_id: s for c, s in index.search("cobalt refinery Zambia", 10) if c.chunk_id in among}
    assert set(among) == {"a#0", "c#0", "b#0"}
    assert index.scores("cobalt", []) == {} and set(index.scores("cobalt", ["b#0"])) == set()
    # read with the chunks themselves (dense hits): every one named, 0.0 for no match
    found, bm25 = index.get_scored(["a#0", "b#0", "gone"], "cobalt refinery Zambia")
    assert set(found) == {"a#0", "b#0"} and bm25 == among_all(index, "cobalt refinery Zambia", ["a#0", "b#0"])
    assert index.get_scored(["b#0"], "cobalt")[1] == {"b#0": 0.0}
    index.replace_articles(["a"], [at("a#0v2", "The refinery closed", "a", 0)])
    index.commit()
    assert set(index.article_scores("cobalt", ["a", "c"])) == {"c"}  # a's article text follows its chunks
    index.replace_articles(["c"], [])
    index.commit()
    assert index.article_scores("cobalt", ["a", "c"]) == {}


def test_an_article_is_put_back_together_from_overlapping_chunks():
    from service.index.lexical import article_text

    text = "One two three. Four five six. Seven eight."
    chunks = [stored("x#1", text[15:], "x", char_start=15, char_end=len(text)),
              stored("x#0", text[:29], "x", char_start=0, char_end=29)]
    assert article_text(chunks).split() == text.split()


def test_bm25_ranks_the_denser_match_first_and_scores_are_positive(tmp_path):
    index = LexicalIndex(tmp_path, head_weight=0)
    index.replace_articles((), [stored("x", "lithium mining expands in Chile", "x"),
                                stored("y", "lithium lithium lithium prices and lithium mining", "y"),
                                stored("z", "unrelated football results", "z")])
    index.commit()
    hits = index.search("lithium mining", 10)
    assert ids(hits) == ["y", "x"] and all(score > 0 for _, score in hits)
    assert index.search("the and of", 10) == []  # stopwords only: nothing to look for


def test_outlet_title_and_date_are_searchable(tmp_path):
    ts = int(datetime(2024, 10, 3, tzinfo=UTC).timestamp())
    meta = {"title": "Funding round closes", "source": "Bayline Courier", "published_ts": ts}
    assert head_text(meta) == "Funding round closes Bayline Courier October 3 2024"
    index = LexicalIndex(tmp_path)
    index.replace_articles((), [stored("a", "The startup raised money from investors.", "a", **meta),
                                stored("b", "The startup raised money from investors.", "b")])
    index.commit()
    assert ids(index.search("What did Bayline report in October 2024?", 5)) == ["a"]
    assert ids(index.search("startup raised money", 5))[:2] in (["a", "b"], ["b", "a"])


def test_an_index_reopened_reads_only_the_feed(components, settings, embedder, tmp_path):
    replica_settings = settings.model_copy(update={"lexical_dir": tmp_path / "replica"})
    components.ingester.ingest([make_article(f"a{i}", f"Story {i} about the Vexilor satellite. It launched.") for i in range(5)])
    first = Components.build(replica_settings, embedder=embedder)
    assert len(first.lexical.current().search("Vexilor", 10)) == 5
    assert first.lexical.copies == 1
    first.lexical.close()  # the process stops

    components.ingester.ingest([make_article("late", "The Vexilor satellite failed. Engineers were puzzled.")])
    restarted = Components.build(replica_settings, embedder=embedder)
    reads = []
    get = restarted.store.chunks.get
    restarted.store.chunks.get = lambda *a, **k: reads.append(get(*a, **k)) or reads[-1]
    hits = restarted.lexical.current().search("Vexilor", 10)
    assert {c.metadata["article_id"] for c, _ in hits} == {"a0", "a1", "a2", "a3", "a4", "late"}
    assert restarted.lexical.copies == 0 and restarted.lexical.applied == 1
    assert sum(len(r["ids"]) for r in reads) == 1  # the one new chunk, not the corpus


def test_a_rebuilt_collection_is_copied_again(components, settings, embedder):
    from service.index.store import read_articles

    components.ingester.ingest([make_article("a1", "The Quorvane reactor opened. It is small.")])
    assert ids(components.lexical.current().search("Quorvane", 5))
    articles = read_articles(components.client, components.collection)
    components.rebuild()  # `newsdesk reindex`: new collections, a new feed
    assert components.lexical.current().search("Quorvane", 5) == []
    components.ingester.ingest(articles)
    assert len(components.lexical.current().search("Quorvane", 5)) == 1
    assert components.lexical.copies == 1  # the empty new collection, then the feed


def test_a_replica_whose_directory_is_in_use_still_answers(components, settings, embedder):
    components.ingester.ingest([make_article("a1", "The Plimsoll harbour reopened. Ships returned.")])
    assert ids(components.lexical.current().search("Plimsoll", 5))
    second = Components.build(settings, embedder=embedder)  # same directory, held by the first
    assert [c.metadata["article_id"] for c, _ in second.lexical.current().search("Plimsoll", 5)] == ["a1"]
    assert second.lexical.current().directory != components.lexical.current().directory


def test_filters_render_the_same_predicate_as_chroma(components):
    day = datetime(2025, 3, 1, tzinfo=UTC)
    components.ingester.ingest([
        make_article("dated", "The Ostrava bridge opened. Traffic flowed.", published_at=day, outlet="A Wire"),
        make_article("undated", "The Ostrava bridge opened. Traffic flowed slowly.", published_at=None, outlet="B Wire"),
    ])
    index = components.lexical.current()
    for filters in (Filters(published_after=datetime(2025, 1, 1, tzinfo=UTC)), Filters(outlets=("A Wire",)),
                    Filters(published_before=datetime(2026, 1, 1, tzinfo=UTC)), Filters(article_ids=("dated",)),
                    Filters(outlets=("B Wire",)), Filters(published_after=datetime(2025, 6, 1, tzinfo=UTC))):
        lexical = {c.metadata["article_id"] for c, _ in index.search("Ostrava bridge", 10, filters)}
        where = filters.to_where()
        dense = {m["article_id"] for m in components.store.chunks.get(where=where, include=["metadatas"])["metadatas"]}
        assert lexical == dense, filters


def test_queries_between_feed_reads_cost_no_feed_read_yet_see_this_process_writes(components, settings, embedder, tmp_path):
    replica = Components.build(settings.model_copy(update={"lexical_dir": tmp_path / "r", "lexical_follow_ms": 60_000}),
                               embedder=embedder)
    components.ingester.ingest([make_article("a1", "The Ostrava tram line opened. Riders cheered.")])
    reads = []
    read = replica.store.feed.read
    replica.store.feed.read = lambda *a, **k: reads.append(1) or read(*a, **k)
    assert len(replica.lexical.current().search("Ostrava", 5)) == 1
    for _ in range(5):
        replica.lexical.current()
    assert len(reads) == 1  # within the interval: the index as it is, no Chroma call
    # A write from this process (here through another store object) is seen at once.
    components.ingester.ingest([make_article("a2", "Ostrava tram fares rose. Riders grumbled.")])
    assert {c.metadata["article_id"] for c, _ in replica.lexical.current().search("Ostrava", 5)} == {"a1", "a2"}
    components.store.delete_article("a1")
    assert {c.metadata["article_id"] for c, _ in replica.lexical.current().search("Ostrava", 5)} == {"a2"}


def test_each_chunk_keeps_its_shingle_sample_and_samples_agree_across_processes(tmp_path):
    import subprocess
    import sys

    from service.text import shingle_sample

    text = "The port authority approved a dredging plan for the old harbour on Tuesday, at a cost of 40 million euros."
    index = LexicalIndex(tmp_path / "lex")
    index.replace_articles([], [stored("a1#0", text, "a1")])
    index.commit(position=1)
    assert index.get(["a1#0"])["a1#0"].signature == shingle_sample(text)
    # Str hashes are randomised per process; the samples must not be, or stored ones would
    # never meet fresh ones.
    code = f"from service.text import shingle_sample; print(sorted(shingle_sample({text!r})))"
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout for seed in ("1", "2")}
    assert runs == {f"{sorted(shingle_sample(text))}\n"}

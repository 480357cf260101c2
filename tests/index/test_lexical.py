"""The on-disk lexical index: incremental changes, persistence, scores and filters."""

from __future__ import annotations

from datetime import UTC, datetime

from service.index.lexical import LexicalIndex, head_text
from service.index.metadata import StoredChunk
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
    index.commit()
    assert sorted(ids(index.search("graphene", 10))) == ["a#0", "a#1", "b#0"]
    # article a is edited: one new chunk replaces both old ones
    index.replace_articles(["a"], [stored("a#0v2", "graphene battery recalled", "a")])
    index.commit()
    assert sorted(ids(index.search("graphene", 10))) == ["a#0v2", "b#0"]
    assert index.get_scored(["a#0", "a#1", "a#0v2"], "")[0].keys() == {"a#0v2"}
    index.replace_articles(["b"], [])  # b deleted
    index.commit()
    assert ids(index.search("graphene", 10)) == ["a#0v2"]
    assert index.get_scored(["a#0v2"], "")[0]["a#0v2"].text == "graphene battery recalled"  # text kept on disk
    assert len(index) == 1


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


def test_each_chunk_keeps_its_shingle_sample_and_samples_agree_across_processes(tmp_path):
    import subprocess
    import sys

    from service.text import shingle_sample

    text = "The port authority approved a dredging plan for the old harbour on Tuesday, at a cost of 40 million euros."
    index = LexicalIndex(tmp_path / "lex")
    index.replace_articles([], [stored("a1#0", text, "a1")])
    index.commit()
    assert index.get_scored(["a1#0"], "")[0]["a1#0"].shingle_sample == shingle_sample(text)
    # Str hashes are randomised per process; the samples must not be, or stored ones would
    # never meet fresh ones.
    code = f"from service.text import shingle_sample; print(sorted(shingle_sample({text!r})))"
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout for seed in ("1", "2")}
    assert runs == {f"{sorted(shingle_sample(text))}\n"}


def test_the_stored_record_names_the_shingle_sample(tmp_path):
    import orjson

    index = LexicalIndex(tmp_path)
    index.replace_articles((), [stored("a#0", "graphene battery breakthrough", "a")])
    index.commit()
    searcher = index.index.searcher()
    _, address = searcher.search(index._tantivy.Query.all_query(), 1).hits[0]
    record = orjson.loads(bytes(searcher.doc(address)["record"][0]))
    assert set(record) == {"text", "metadata", "shingle_sample"}


def test_an_index_of_another_format_starts_again(tmp_path):
    from service.index import lexical

    index = LexicalIndex(tmp_path)
    index.replace_articles((), [stored("a#0", "graphene battery breakthrough", "a")])
    index.commit()
    index.close()
    (tmp_path / "state.json").write_text('{"position": 7, "collection_id": "c"}')  # the replica's, beside it
    assert len(LexicalIndex(tmp_path)) == 1  # same format: kept
    (tmp_path / "format").write_text("5-py3.11")  # records keyed "sig"
    reopened = LexicalIndex(tmp_path)
    assert len(reopened) == 0 and not (tmp_path / "state.json").exists()
    assert (tmp_path / "format").read_text() == lexical.FORMAT

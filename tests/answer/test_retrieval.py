from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.answer.retrieval import (
    collapse_duplicates,
    fit_budget,
    merge_adjacent,
    reciprocal_rank_fusion,
)
from service.index.lexical import LexicalIndex
from service.index.metadata import StoredChunk
from service.models import Filters, Passage
from service.text import tokenize
from tests.conftest import make_article


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# -- fusion --------------------------------------------------------------------------------

def test_rrf_rewards_agreement():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d", "a"]], k=60)
    assert [d for d, _ in fused][:2] == ["b", "a"]
    assert dict(fused)["b"] == 1 / 61 + 1 / 62


@given(st.lists(st.lists(st.sampled_from("abcdefgh"), max_size=8), max_size=4))
def test_rrf_properties(rankings):
    fused = reciprocal_rank_fusion(rankings)
    ids = [d for d, _ in fused]
    assert len(ids) == len(set(ids)) == len({x for r in rankings for x in r})
    scores = [s for _, s in fused]
    assert scores == sorted(scores, reverse=True)
    if rankings and rankings[0]:
        # an item ranked first everywhere it appears cannot lose to one never ranked first
        top = rankings[0][0]
        if all(r and r[0] == top for r in rankings if top in r) and all(top in r for r in rankings):
            assert ids[0] == top


# -- lexical ---------------------------------------------------------------------------------

def test_tokenize_stems_and_drops_stopwords():
    assert tokenize("The GPUs were shipping to Microsoft's data-centres") == ["gpus", "ship", "microsoft", "data", "centr"]


def chunk(cid, text, **meta):
    meta.setdefault("published_ts", int(utc(2025, 1, 1).timestamp()))
    meta.setdefault("source", "Wire")
    meta.setdefault("article_id", cid)
    return StoredChunk(cid, text, meta)


def test_lexical_filters_match_chroma_semantics(tmp_path):
    chunks = [
        chunk("old", "nvidia blackwell shortage", published_ts=int(utc(2024, 6, 1).timestamp())),
        chunk("new", "nvidia blackwell shortage", published_ts=int(utc(2025, 6, 1).timestamp())),
        chunk("undated", "nvidia blackwell shortage", published_ts=-1),
        chunk("other", "nvidia blackwell shortage", source="Bayline"),
    ]
    index = LexicalIndex(tmp_path)
    index.replace_articles((), chunks)
    index.commit()
    after = Filters(published_after=utc(2025, 1, 1))
    found = {c.chunk_id for c, _ in index.search("blackwell shortage", 10, after)}
    assert found == {"new", "other"}
    before = Filters(published_before=utc(2025, 1, 1))
    assert {c.chunk_id for c, _ in index.search("blackwell", 10, before)} == {"old"}
    assert {c.chunk_id for c, _ in index.search("blackwell", 10, Filters(sources=("Bayline",)))} == {"other"}
    assert {c.chunk_id for c, _ in index.search("blackwell", 10, Filters(article_ids=("old", "new")))} == {"old", "new"}
    assert index.search("zebra", 10) == []


def test_filtered_out_chunk_never_returns_through_either_path(components):
    secret = "Zorblat quantum accelerator ships to Lisbon"
    components.ingester.ingest([
        make_article("keep", "Nvidia ships Blackwell GPUs to Oracle. Demand is high.", source="Keep Wire"),
        make_article("drop", f"{secret}. {secret} again.", source="Drop Wire", published_at=utc(2023, 1, 1)),
    ])
    for filters in (Filters(sources=("Keep Wire",)), Filters(published_after=utc(2024, 1, 1)), Filters(article_ids=("keep",))):
        fused, chunks, dense, lexical = components.retriever.search(secret, filters)
        assert fused, "the kept article should still be found densely"
        assert all(chunks[cid].metadata["article_id"] == "keep" for cid, _ in fused)
        lexical_only = components.lexical.current().search(secret, 50, filters)
        assert all(c.metadata["article_id"] != "drop" for c, _ in lexical_only)
    # and without filters the lexical path does find it: the filter is what excluded it
    assert any(c.metadata["article_id"] == "drop" for c, _ in components.lexical.current().search(secret, 50))


def test_bm25_sees_ingest_and_delete_through_the_change_feed(components, settings, embedder, tmp_path):
    from service.components import Components

    # another replica of the same store: its own lexical index directory
    other_process = Components.build(settings.model_copy(update={"lexical_dir": tmp_path / "other"}), embedder=embedder)
    components.ingester.ingest([make_article("a1")])
    assert other_process.lexical.current().search("Quuxinator", 5) == []
    components.ingester.ingest([make_article("a2", "The Quuxinator chip was unveiled. It is fast.")])
    assert [c.metadata["article_id"] for c, _ in other_process.lexical.current().search("Quuxinator", 5)] == ["a2"]
    components.store.delete_article("a2")
    assert other_process.lexical.current().search("Quuxinator", 5) == []
    # one copy of the corpus when it started, then only the two feed entries written since
    assert (other_process.lexical.copies, other_process.lexical.applied) == (1, 2)


def test_rerank_scores_every_candidate_on_both_paths_its_best_sentence_and_its_article(components):
    import numpy as np

    from service.answer.retrieval import HybridRetriever
    from service.index import sentence_vectors

    components.ingester.ingest([
        make_article("dense", "Graphics processors for artificial intelligence are in short supply. "
                              "Buyers wait months for accelerator hardware."),
        make_article("words", "The Quorvex GPU shortage hit Lisbon. Quorvex buyers queued."),
        make_article("both", "A GPU shortage delayed AI projects. Cloud firms rationed GPU time. "
                             "The weather in Lisbon was mild."),
        make_article("furniture", "Quorvex furniture: a shortage of oak chairs. Quorvex tables are sold out."),
    ])
    # one candidate a path: each finds a chunk the other misses
    retriever = HybridRetriever(components.store, components.embedder, components.lexical, fusion="rerank", candidates=1)
    question = "Quorvex furniture shortage of artificial intelligence hardware"
    fused, chunks, dense, lexical = retriever.search(question)
    vector = components.embedder.embed([question])[0]
    cosine, bm25, sentence, article = retriever.rerank_features(question, vector, chunks, dense, lexical,
                                                                components.lexical.current())
    assert set(cosine) == set(bm25) == set(sentence) == set(article) == set(chunks) == {c for c, _ in fused}
    # the fill-ins are the real scores (to 4-bit precision for stored vectors), not floors
    vectors = components.store.vectors_of(list(chunks))
    everything = dict((c.chunk_id, s) for c, s in components.lexical.current().search(question, 100))
    assert set(chunks) - set(dense) and set(chunks) - set(lexical)  # each path missed some
    for cid, chunk in chunks.items():
        assert cosine[cid] == pytest.approx(float(vectors[cid] @ vector), abs=0.03)
        assert sentence[cid] == pytest.approx(float(np.max(components.embedder.embed(
            sentence_vectors.sentences_of(chunk.text)) @ vector)), abs=0.03)
        assert bm25[cid] == pytest.approx(everything.get(cid, 0.0))
    by_article = components.lexical.current().article_scores(question, ["dense", "words", "both", "furniture"])
    assert len(by_article) == 4 and min(by_article.values()) > 0
    assert all(article[c] == by_article.get(chunks[c].metadata["article_id"], 0.0) for c in chunks)
    # the paths' own scores, which sources report, stay what each path found
    assert all(cid in dense or cid in lexical for cid in chunks)
    # the fused score is the weighted sum of the four z-scores
    top = fused[0][0]
    z = [(f[top] - np.mean(list(f.values()))) / (np.std(list(f.values())) or 1.0) for f in (cosine, bm25, sentence, article)]
    assert fused[0][1] == pytest.approx(sum(w * v for w, v in zip(retriever.weights, z)))


# -- passages ----------------------------------------------------------------------------------

def passage(article_id, start, end, text, score=1.0, **meta):
    return Passage([f"{article_id}#{start}"], article_id, text, start, end, {"article_id": article_id, **meta}, score)


WIRE = ("SAN FRANCISCO (Meridian) - Nvidia said on Wednesday that revenue from its data-centre business "
        "rose 93 percent to 30.8 billion dollars in the third quarter, beating analyst estimates.")


def test_wire_copies_collapse_into_one_source_with_corroboration():
    a = passage("outlet-a", 0, len(WIRE), WIRE, source="Outlet A")
    b = passage("outlet-b", 10, 10 + len(WIRE) + 20, "Updated: " + WIRE + " Shares rose.", source="Outlet B")
    c = passage("other", 0, 30, "Meta released Llama 3.1 with 405 billion parameters.")
    kept = collapse_duplicates([a, b, c])
    assert [p.article_id for p in kept] == ["outlet-a", "other"]
    assert [x["article_id"] for x in kept[0].corroborated_by] == ["outlet-b"]


def test_adjacent_chunks_of_one_article_merge_into_an_exact_slice():
    article = "One. Two three. Four five six. Seven."
    p1 = passage("a", 0, 16, article[0:16], score=0.9)
    p2 = passage("a", 10, 31, article[10:31], score=0.5)
    p3 = passage("a", 31, len(article), article[31:], score=0.4)
    other = passage("b", 0, 5, "Other", score=0.7)
    merged = merge_adjacent([p1, other, p2, p3])
    assert [m.article_id for m in merged] == ["a", "b"]
    assert merged[0].text == article and (merged[0].char_start, merged[0].char_end) == (0, len(article))
    assert merged[0].score == 0.9


def test_budget_keeps_rank_order_and_skips_what_does_not_fit():
    ps = [passage("a", 0, 1, "w " * 50), passage("b", 0, 1, "w " * 80), passage("c", 0, 1, "w " * 30)]
    count = lambda texts: [len(t.split()) for t in texts]  # noqa: E731
    assert [p.article_id for p in fit_budget(ps, 100, count)] == ["a", "c"]
    assert [p.article_id for p in fit_budget(ps, 10, count)] == ["a"]


def test_hybrid_retrieval_on_the_sample_corpus_numbers_sources(sample_index):
    result = sample_index.retriever.retrieve("What is Microsoft's in-house language model called?", top_k=5)
    assert 1 <= len(result.passages) <= 5
    assert result.best_dense > 0.3
    for p in result.passages:
        assert p.title and p.metadata["article_id"] == p.article_id
    texts = sample_index.store.get_article_texts([p.article_id for p in result.passages])
    for p in result.passages:
        assert texts[p.article_id][p.char_start:p.char_end] == p.text


def test_one_long_article_cannot_take_every_source_slot():
    from service.answer.retrieval import spread_articles

    ranked = [passage("long", i, i + 1, f"part {i}", score=1 - i / 10) for i in range(5)] + [
        passage("other", 0, 1, "x", score=0.1), passage("third", 0, 1, "y", score=0.05)]
    assert [(p.article_id, p.char_start) for p in spread_articles(ranked, 4, 2)] == [
        ("long", 0), ("long", 1), ("other", 0), ("third", 0)]
    # when other articles run out, the same article fills the remaining slots in rank order
    assert [p.char_start for p in spread_articles(ranked[:5], 3, 2)] == [0, 1, 2]


def test_the_original_wire_represents_its_reprints():
    # The reprint ranks first, but the earlier copy is the original: it is shown, in first place.
    reprint = passage("reprint", 0, len(WIRE) + 9, "Updated: " + WIRE, score=0.9, source="Outlet B",
                      published_at="2025-08-02")
    original = passage("original", 0, len(WIRE), WIRE, score=0.5, source="Outlet A", published_at="2025-08-01")
    other = passage("other", 0, 30, "Meta released Llama 3.1 with 405 billion parameters.", score=0.7)
    kept = collapse_duplicates([reprint, other, original])
    assert [p.article_id for p in kept] == ["original", "other"]
    assert kept[0].score == 0.9 and [x["article_id"] for x in kept[0].corroborated_by] == ["reprint"]
    # The copy from the agency its dateline credits is the original, whatever the dates say.
    agency = passage("agency", 0, len(WIRE), WIRE, score=0.4, source="Meridian", published_at="2025-08-03")
    assert [p.article_id for p in collapse_duplicates([reprint, agency])] == ["agency"]


def test_neighbouring_chunks_merged_into_one_source_leave_room_for_more_articles():
    from service.answer.retrieval import select_sources

    article = "First part. Second part. Third part. Fourth part."
    ranked = [passage("a", 0, 24, article[0:24], score=0.9), passage("a", 12, 36, article[12:36], score=0.8),
              passage("b", 0, 5, "B one", score=0.7), passage("c", 0, 5, "C one", score=0.6),
              passage("d", 0, 5, "D one", score=0.5)]
    sources = select_sources(ranked, 3, 2)
    # a's two chunks touch, so they are one source: three sources still means three articles.
    assert [p.article_id for p in sources] == ["a", "b", "c"]
    assert sources[0].text == article[0:36]
    assert [p.article_id for p in select_sources(ranked, 9, 2)] == ["a", "b", "c", "d"]  # all there is


def test_score_fusion_keeps_a_clear_winner_margin_that_rank_fusion_loses():
    from service.answer.retrieval import reciprocal_rank_fusion, score_fusion

    dense = [("a", 0.62), ("b", 0.61), ("c", 0.60), ("d", 0.59)]  # a flat dense ranking
    lexical = [("c", 30.0), ("a", 5.0), ("d", 4.5), ("b", 4.0)]  # c is far ahead on words
    assert reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in lexical]])[0][0] == "a"
    fused = score_fusion([dense, lexical])
    assert fused[0][0] == "c"
    # Only on one path: the other path counts its lowest z-score for it.
    only_lexical = score_fusion([[("a", 1.0), ("b", 0.0)], [("z", 9.0), ("a", 1.0)]])
    assert [i for i, _ in only_lexical] == ["a", "z", "b"]
    assert score_fusion([dense, []]) == score_fusion([dense])  # an empty path adds nothing


@given(st.lists(st.tuples(st.floats(-5, 5), st.floats(0, 30), st.floats(-1, 1)), min_size=1, max_size=12))
def test_weighing_features_is_score_fusion_when_nothing_is_missing(rows):
    from service.answer.retrieval import score_fusion, weigh_features

    ids = [f"c{i}" for i in range(len(rows))]
    features = [{c: row[k] for c, row in zip(ids, rows)} for k in range(3)]
    ours = weigh_features(features, (0.5, 0.2, 0.3))
    theirs = score_fusion([list(f.items()) for f in features], weights=(0.5, 0.2, 0.3))
    assert [c for c, _ in ours] == [c for c, _ in theirs] or \
        [round(x, 9) for _, x in ours] == [round(x, 9) for _, x in theirs]  # ties may order apart
    assert dict(ours) == pytest.approx(dict(theirs), abs=1e-9)
    assert weigh_features([], (1.0,)) == [] and weigh_features([{}], (1.0,)) == []


def test_the_fusion_setting_reaches_the_retriever_and_rejects_unknown_names(sample_index):
    import pytest

    from service.answer.retrieval import HybridRetriever
    from service.components import Components

    assert sample_index.retriever.fusion == "rerank" and sample_index.retriever.weights == (0.2, 0.1, 0.4, 0.3)
    zscore = Components.build(sample_index.settings.model_copy(update={"fusion": "zscore"}),
                              embedder=sample_index.embedder, collection=sample_index.collection)
    assert zscore.retriever.weights == (0.6, 0.4)
    question = "How much market value did Nvidia lose in the DeepSeek sell-off?"
    fused, _, dense, lexical = zscore.retriever.search(question)
    assert set(dict(fused)) == set(dense) | set(lexical)
    with pytest.raises(ValueError, match="unknown fusion 'max'"):
        HybridRetriever(sample_index.store, sample_index.embedder, sample_index.lexical, fusion="max")


def test_passages_are_fitted_to_the_budget_without_tokenizing_them_again(sample_index, monkeypatch):
    from dataclasses import replace

    question = "What is Microsoft's in-house language model called?"
    tokenized: list[str] = []
    count = sample_index.embedder.count_tokens
    monkeypatch.setattr(sample_index.embedder, "count_tokens", lambda texts: tokenized.extend(texts) or count(texts))
    for budget in (10_000, 300):
        tokenized.clear()
        retriever = replace(sample_index.retriever, token_budget=budget)
        assert retriever.chunk_tokens == sample_index.settings.chunk_size
        passages = retriever.retrieve(question, top_k=8).passages
        tokens = count([p.text for p in passages])
        assert sum(tokens) <= budget or len(passages) == 1
        assert len(passages) == 8 if budget == 10_000 else len(passages) < 8
        merged = [p for p in passages if len(p.chunk_ids) > 1]
        assert merged
        # a merged passage's count is made from its chunks' (counted at ingest) less the
        # overlaps, and is exact; only the overlaps, short, are tokenized
        assert [retriever._token_counts[p.text] for p in merged] == count([p.text for p in merged])
        assert not {p.text for p in passages} & set(tokenized)
        assert all(len(t) < min(len(p.text) for p in passages) for t in tokenized)

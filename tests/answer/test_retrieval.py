from datetime import UTC, datetime

import pytest

from service.index.lexical import LexicalIndex
from service.index.metadata import StoredChunk
from service.models import Filters
from service.text import tokenize
from tests.conftest import make_article


def utc(*args):
    return datetime(*args, tzinfo=UTC)


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
    assert {c.chunk_id for c, _ in index.search("blackwell", 10, Filters(outlets=("Bayline",)))} == {"other"}
    assert {c.chunk_id for c, _ in index.search("blackwell", 10, Filters(article_ids=("old", "new")))} == {"old", "new"}
    assert index.search("zebra", 10) == []


def test_filtered_out_chunk_never_returns_through_either_path(components):
    secret = "Zorblat quantum accelerator ships to Lisbon"
    components.ingester.ingest([
        make_article("keep", "Nvidia ships Blackwell GPUs to Oracle. Demand is high.", outlet="Keep Wire"),
        make_article("drop", f"{secret}. {secret} again.", outlet="Drop Wire", published_at=utc(2023, 1, 1)),
    ])
    for filters in (Filters(outlets=("Keep Wire",)), Filters(published_after=utc(2024, 1, 1)), Filters(article_ids=("keep",))):
        found = components.retriever.search(secret, filters)
        assert found.fused, "the kept article should still be found densely"
        assert all(found.chunks[cid].metadata["article_id"] == "keep" for cid, _ in found.fused)
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
    found = retriever.search(question)
    fused, chunks, dense, lexical = found.fused, found.chunks, found.dense_scores, found.lexical_scores
    vector = components.embedder.embed([question])[0]
    features = retriever.rerank_features(question, vector, chunks, dense, lexical, components.lexical.current())
    cosine, bm25, sentence, article, article_cosine, article_sentence = features
    assert all(set(f) == set(chunks) == {c for c, _ in fused} for f in features)
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
    # each chunk's article's best cosine and best sentence among the candidates
    for cid, chunk in chunks.items():
        kin = [c for c in chunks if chunks[c].metadata["article_id"] == chunk.metadata["article_id"]]
        assert article_cosine[cid] == max(cosine[c] for c in kin)
        assert article_sentence[cid] == max(sentence[c] for c in kin)
    # the paths' own scores, which sources report, stay what each path found
    assert all(cid in dense or cid in lexical for cid in chunks)
    # the fused score is the weighted sum of the six z-scores
    top = fused[0][0]
    z = [(f[top] - np.mean(list(f.values()))) / (np.std(list(f.values())) or 1.0) for f in features]
    assert len(retriever.weights) == len(features) == 6
    assert fused[0][1] == pytest.approx(sum(w * v for w, v in zip(retriever.weights, z)))


def test_hybrid_retrieval_on_the_sample_corpus_numbers_sources(sample_index):
    result = sample_index.retriever.retrieve("What is Microsoft's in-house language model called?", top_k=5)
    assert 1 <= len(result.passages) <= 5
    assert result.best_dense > 0.3
    for p in result.passages:
        assert p.title and all(c.startswith(p.article_id + "#") for c in p.chunk_ids)
    texts = sample_index.store.get_article_texts([p.article_id for p in result.passages])
    for p in result.passages:
        assert texts[p.article_id][p.char_start:p.char_end] == p.text


def test_the_fusion_setting_reaches_the_retriever_and_rejects_unknown_names(sample_index):
    import pytest

    from service.answer.retrieval import HybridRetriever
    from service.components import Components

    assert sample_index.retriever.fusion == "rerank" and sample_index.retriever.weights == (0.2, 0.1, 0.0, 0.3, 0.1, 0.3)
    zscore = Components.build(sample_index.settings.model_copy(update={"fusion": "zscore"}),
                              embedder=sample_index.embedder, collection=sample_index.collection)
    assert zscore.retriever.weights == (0.6, 0.4)
    question = "How much market value did Nvidia lose in the DeepSeek sell-off?"
    found = zscore.retriever.search(question)
    assert set(dict(found.fused)) == set(found.dense_scores) | set(found.lexical_scores)
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
        assert [retriever._token_counts.known(p.text) for p in merged] == count([p.text for p in merged])
        assert not {p.text for p in passages} & set(tokenized)
        assert all(len(t) < min(len(p.text) for p in passages) for t in tokenized)


def test_a_merged_passage_says_nothing_about_its_span_that_its_offsets_do_not(sample_index):
    """A merged passage used to carry its first chunk's metadata, whose char_start, char_end
    and n_tokens described that chunk only. Whatever a passage says of a span is its own."""
    passages = sample_index.retriever.retrieve("What is Microsoft's in-house language model called?", top_k=8).passages
    merged = [p for p in passages if len(p.chunk_ids) > 1]
    assert merged
    for p in merged:
        said = {**vars(p), **getattr(p, "metadata", {})}
        assert (said.get("char_start"), said.get("char_end")) == (p.char_start, p.char_end)
        assert "n_tokens" not in said and "chunk_index" not in said


def test_a_chunk_both_paths_find_is_read_once_and_scored_as_either_path_alone_would(components, monkeypatch):
    components.ingester.ingest([
        make_article("ports", "Port Alder handled 19 percent fewer containers in March. Dockworkers struck for a week."),
        make_article("chips", "Nvidia ships Blackwell GPUs to Oracle. Demand for the chips is high."),
        make_article("rail", "The rail link to Port Alder reopened after the storm. Freight trains resumed."),
    ])
    question = "How many fewer containers did Port Alder handle?"
    index = components.lexical.current()
    lexical_hits = {c.chunk_id for c, _ in index.search(question, 50)}
    read: list[list[str]] = []
    original = LexicalIndex.get_scored

    def counted(self, chunk_ids, query):
        read.append(list(chunk_ids))
        return original(self, chunk_ids, query)

    monkeypatch.setattr(LexicalIndex, "get_scored", counted)
    found = components.retriever.search(question)
    assert lexical_hits and lexical_hits <= set(found.dense_scores)  # both paths found these
    assert not lexical_hits & {cid for ids in read for cid in ids}  # so the dense path read none again
    # each candidate keeps both scores, as either path alone gives them
    alone, bm25 = original(index, list(found.chunks), question)
    assert set(alone) == set(found.chunks)
    features = components.retriever.rerank_features(question, found.vector, found.chunks, found.dense_scores,
                                                     found.lexical_scores, index)
    assert features[1] == pytest.approx({c: bm25.get(c, 0.0) for c in features[1]})
    assert found.fused[0][0] in {cid for cid in found.chunks if found.chunks[cid].metadata["article_id"] == "ports"}

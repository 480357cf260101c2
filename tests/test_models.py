"""Filters: one factory for every interface, one predicate rendered for both paths. Sources,
citations and articles: typed inside, the same JSON outside."""

from datetime import UTC, date, datetime

import numpy as np
import pytest

from service.models import Answer, ArticleRef, Citation, Filters, Passage, Source, number_sources
from tests.conftest import make_article

UTC = UTC


def test_from_mapping_reads_every_interfaces_shapes():
    f = Filters.from_mapping({"published_after": "2024-10-01", "published_before": date(2024, 11, 1),
                              "sources": ["Wire A"], "article_ids": ("a1",)})
    assert f == Filters(datetime(2024, 10, 1, tzinfo=UTC), datetime(2024, 11, 1, tzinfo=UTC), ("Wire A",), ("a1",))
    assert f.outlets == ("Wire A",)  # the outlets; requests call them `sources`
    assert Filters.from_mapping(None) == Filters() and Filters.from_mapping({"sources": None}).empty


@pytest.mark.parametrize(("data", "message"), [
    ({"source": ["x"]}, "unknown filter"),
    ({"sources": "Wire A"}, "list of strings"),
    ({"published_after": "yesterday-ish"}, "unrecognised date"),
])
def test_from_mapping_names_what_is_wrong(data, message):
    with pytest.raises(ValueError, match=message):
        Filters.from_mapping(data)


def test_where_and_mask_render_the_same_clauses():
    f = Filters.from_mapping({"published_before": "2025-01-01", "sources": ["A", "B"]})
    assert f.to_where() == {"$and": [{"published_ts": {"$gte": 0}},
                                     {"published_ts": {"$lt": int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())}},
                                     {"source": {"$in": ["A", "B"]}}]}
    columns = {"published_ts": np.array([-1, 100, 2_000_000_000, 100]),
               "source": np.array(["A", "A", "A", "C"], dtype=object),
               "article_id": np.array(["u", "a", "late", "c"], dtype=object)}
    # Undated (-1) fails the date bound, as it does in Chroma's where.
    assert f.mask(columns).tolist() == [False, True, False, False]
    assert Filters().to_where() is None and Filters().mask(columns).all()


def test_an_undated_article_fails_a_date_bound_on_both_paths(components):
    components.ingester.ingest([make_article("dated"), make_article("undated", published_at=None)])
    f = Filters.from_mapping({"published_before": "2030-01-01"})
    for mode in ("dense", "lexical"):
        found = components.retriever.search("Nvidia data-centre revenue", f, mode=mode)
        assert {found.chunks[cid].metadata["article_id"] for cid, _ in found.fused} == {"dated"}, mode


def test_sources_citations_and_articles_keep_their_json():
    wire = ArticleRef("w1", "Wire story", "Meridian", "https://m.example/1", "2025-08-01T00:00:00+00:00")
    copy = ArticleRef("c1", "Reprint", "Harbour Post", None, "2025-08-02T00:00:00+00:00")
    passage = Passage(["w1#0"], wire, "Nvidia rose.", 10, 22, score=0.01234567, dense_score=0.612345,
                      corroborated_by=[copy])
    source, = number_sources([passage])
    assert source == Source.of(1, passage) and source.outlet == "Meridian" and source.corroborated_by == (copy,)
    assert source.to_dict() == {
        "n": 1, "article_id": "w1", "title": "Wire story", "source": "Meridian", "url": "https://m.example/1",
        "published_at": "2025-08-01T00:00:00+00:00", "score": 0.012346, "dense_score": 0.6123, "start": 10, "end": 22,
        "text": "Nvidia rose.",
        "corroborated_by": [{"article_id": "c1", "title": "Reprint", "source": "Harbour Post", "url": None,
                             "published_at": "2025-08-02T00:00:00+00:00"}],
        "corroborations": 1,
    }
    citation = Citation(1, "w1", "Wire story", "Meridian", None, None, "Nvidia rose.", 10, 22, 0.5)
    assert list(citation.to_dict()) == ["n", "article_id", "title", "source", "url", "published_at", "quote", "start",
                                        "end", "score"]
    answer = Answer("Nvidia rose [1].", True, "extractive", [citation], [source], [], [], None, None, "r1", {"total": 1.0})
    data = answer.to_dict()
    assert data["sources"] == [source.to_dict()] and data["citations"] == [citation.to_dict()]
    assert list(data) == ["answer", "answerable", "mode", "citations", "sources", "warnings", "unsupported_sentences",
                          "prompt_id", "model", "request_id", "timings_ms", "degraded", "degraded_reason", "conflicts",
                          "short_answer", "answerability"]
    assert make_article(outlet="Bayline").public()["source"] == "Bayline"
    assert ArticleRef.from_metadata({"article_id": "a", "source": "", "title": "T", "char_start": 5}) == ArticleRef("a", "T")

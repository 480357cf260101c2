"""Filters: one factory for every interface, one predicate rendered for both paths."""

from datetime import UTC, date, datetime

import numpy as np
import pytest

from service.models import Filters
from tests.conftest import make_article

UTC = UTC


def test_from_mapping_reads_every_interfaces_shapes():
    f = Filters.from_mapping({"published_after": "2024-10-01", "published_before": date(2024, 11, 1),
                              "sources": ["Wire A"], "article_ids": ("a1",)})
    assert f == Filters(datetime(2024, 10, 1, tzinfo=UTC), datetime(2024, 11, 1, tzinfo=UTC), ("Wire A",), ("a1",))
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

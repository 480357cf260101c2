"""The scoring functions on hand-computed examples, plus the invariants they must keep."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.evals import metrics

RANKING = ["a", "x", "b", "y", "c"]


def test_hit_at_k():
    assert metrics.hit_at_k(RANKING, {"b"}, 2) == 0.0
    assert metrics.hit_at_k(RANKING, {"b"}, 3) == 1.0
    assert metrics.hit_at_k(RANKING, set(), 5) == 0.0


def test_recall_at_k():
    assert metrics.recall_at_k(RANKING, {"a", "b", "z"}, 1) == pytest.approx(1 / 3)
    assert metrics.recall_at_k(RANKING, {"a", "b", "z"}, 3) == pytest.approx(2 / 3)
    assert metrics.recall_at_k(RANKING, {"a", "b", "z"}, 100) == pytest.approx(2 / 3)


def test_reciprocal_rank_with_and_without_cutoff():
    assert metrics.reciprocal_rank(RANKING, {"b", "c"}) == pytest.approx(1 / 3)
    assert metrics.reciprocal_rank(RANKING, {"b", "c"}, k=2) == 0.0
    assert metrics.reciprocal_rank(RANKING, {"a"}) == 1.0


def test_ndcg_by_hand():
    # Relevant a (rank 1) and b (rank 3): DCG = 1/log2(2) + 1/log2(4) = 1.5;
    # ideal puts both first: IDCG = 1 + 1/log2(3).
    expected = 1.5 / (1 + 1 / math.log2(3))
    assert metrics.ndcg_at_k(RANKING, {"a", "b"}, 10) == pytest.approx(expected)
    assert expected == pytest.approx(0.9197, abs=1e-4)


def test_ndcg_graded_and_cut_off():
    # Grades 2 for c (rank 5) and 1 for a (rank 1); cut at 3 only a counts.
    dcg = 1 / math.log2(2)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert metrics.ndcg_at_k(RANKING, {"c": 2, "a": 1}, 3) == pytest.approx(dcg / idcg)
    assert metrics.ndcg_at_k(RANKING, {"zz"}, 10) == 0.0


def test_duplicates_count_once_at_their_first_position():
    # Without the duplicates "b" is at rank 2, so both relevant documents are in the top 2.
    assert metrics.recall_at_k(["a", "a", "a", "b"], {"a", "b"}, 2) == 1.0
    assert metrics.unique(["a", "a", "b"]) == ["a", "b"]
    assert metrics.ndcg_at_k(["a", "a", "b"], {"a", "b"}, 2) == pytest.approx(1.0)


def test_document_ranking_ranks_a_document_by_its_best_chunk():
    chunks = [("d2#0", "d2"), ("d1#3", "d1"), ("d2#1", "d2"), ("d3#0", "d3")]
    assert metrics.document_ranking(chunks) == ["d2", "d1", "d3"]


def test_set_precision_and_recall():
    assert metrics.set_precision(["a", "b"], ["a", "c"]) == 0.5
    assert metrics.set_recall(["a", "b"], ["a", "c", "d", "e"]) == 0.25
    assert metrics.set_precision([], ["a"]) is None
    assert metrics.set_recall(["a"], []) is None


def test_fact_coverage_any_phrasing_case_insensitive():
    facts = [["$589 billion", "589 billion"], ["17%"], ["Jensen Huang"]]
    answer = "Nvidia lost 589  BILLION dollars, or 17%, in a day."
    assert metrics.fact_hits(answer, facts) == [True, True, False]
    assert metrics.fact_coverage(answer, facts) == pytest.approx(2 / 3)
    assert metrics.fact_coverage(answer, []) is None


@pytest.mark.parametrize("text, expected", [
    ("The sources disagree: one says $6.6 billion.", True),
    ("A correction said the price is $3.", True),
    ("The article is inconsistent about the name.", True),
    ("It was wrongly reported as $5.", True),
    ("Microsoft owns 27% of OpenAI, while Nvidia fell.", False),
    ("The model is different from GPT-4.", False),
])
def test_conflict_language(text, expected):
    assert metrics.mentions_conflict(text) is expected


def test_precision_recall_and_f1():
    predicted = [True, True, False, False, True]
    actual = [True, False, True, False, True]
    precision, recall = metrics.precision_recall(predicted, actual)
    assert (precision, recall) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert metrics.f1(precision, recall) == pytest.approx(2 / 3)
    assert metrics.precision_recall([False], [False]) == (None, None)
    assert metrics.f1(None, 0.5) == 0.0


def test_mean_skips_none():
    assert metrics.mean([1.0, None, 0.0]) == 0.5
    assert metrics.mean([None]) is None


@given(st.lists(st.floats(min_value=0, max_value=1e4, allow_nan=False), min_size=1, max_size=40),
       st.floats(min_value=0, max_value=100))
def test_percentile_matches_numpy(values, q):
    assert metrics.percentile(values, q) == pytest.approx(float(np.percentile(values, q)), rel=1e-9, abs=1e-9)


def test_percentile_by_hand():
    assert metrics.percentile([4, 1, 3, 2], 50) == 2.5
    assert metrics.percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert metrics.percentile([], 50) is None


# -- properties ----------------------------------------------------------------------------------

doc_ids = st.sampled_from([f"d{i}" for i in range(12)])
rankings = st.lists(doc_ids, max_size=20)
relevant_sets = st.sets(doc_ids, min_size=1, max_size=6)


@given(rankings, relevant_sets, st.integers(min_value=1, max_value=15))
def test_scores_are_between_zero_and_one(ranking, relevant, k):
    for value in (
        metrics.ndcg_at_k(ranking, relevant, k),
        metrics.recall_at_k(ranking, relevant, k),
        metrics.hit_at_k(ranking, relevant, k),
        metrics.reciprocal_rank(ranking, relevant, k),
    ):
        assert 0.0 <= value <= 1.0 + 1e-12


@given(relevant_sets, rankings)
def test_a_perfect_ranking_scores_one(relevant, tail):
    perfect = sorted(relevant) + [d for d in tail if d not in relevant]
    assert metrics.ndcg_at_k(perfect, relevant, 10) == pytest.approx(1.0)
    assert metrics.reciprocal_rank(perfect, relevant) == 1.0
    assert metrics.recall_at_k(perfect, relevant, len(relevant)) == 1.0


@given(rankings, relevant_sets, st.integers(min_value=1, max_value=10))
def test_recall_and_hit_grow_with_k(ranking, relevant, k):
    assert metrics.recall_at_k(ranking, relevant, k) <= metrics.recall_at_k(ranking, relevant, k + 1)
    assert metrics.hit_at_k(ranking, relevant, k) <= metrics.hit_at_k(ranking, relevant, k + 1)
    assert metrics.reciprocal_rank(ranking, relevant, k) <= metrics.hit_at_k(ranking, relevant, k)


@given(rankings, relevant_sets)
def test_moving_a_relevant_document_up_never_lowers_ndcg(ranking, relevant):
    ranking = metrics.unique(ranking)
    for i in range(1, len(ranking)):
        if ranking[i] in relevant and ranking[i - 1] not in relevant:
            swapped = ranking[:i - 1] + [ranking[i], ranking[i - 1]] + ranking[i + 1:]
            assert metrics.ndcg_at_k(swapped, relevant, 10) >= metrics.ndcg_at_k(ranking, relevant, 10) - 1e-12

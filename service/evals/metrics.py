"""Scoring functions for the eval suite and the BEIR benchmark: plain functions over ids,
sets and strings, with no I/O, so each can be checked on a hand-computed example.

Ranking metrics take a ranked list of document ids and the set (or graded dict) of
relevant ids. Duplicates in a ranking count once, at their first position.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence

Relevance = Mapping[str, float] | Iterable[str]


def _graded(relevant: Relevance) -> dict[str, float]:
    if isinstance(relevant, Mapping):
        return {k: float(v) for k, v in relevant.items() if v > 0}
    return {k: 1.0 for k in relevant}


def unique(ranking: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ranking))


def hit_at_k(ranking: Sequence[str], relevant: Relevance, k: int) -> float:
    """1.0 when any relevant id is among the first k, else 0.0."""
    rel = _graded(relevant)
    return float(any(d in rel for d in unique(ranking)[:k]))


def recall_at_k(ranking: Sequence[str], relevant: Relevance, k: int) -> float:
    """Share of the relevant ids found among the first k (1.0 when nothing is relevant)."""
    rel = _graded(relevant)
    if not rel:
        return 1.0
    return len(set(unique(ranking)[:k]) & rel.keys()) / len(rel)


def reciprocal_rank(ranking: Sequence[str], relevant: Relevance, k: int | None = None) -> float:
    """1 / rank of the first relevant id (0.0 when none is within the first k)."""
    rel = _graded(relevant)
    for rank, doc in enumerate(unique(ranking)[:k], start=1):
        if doc in rel:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranking: Sequence[str], relevant: Relevance, k: int = 10) -> float:
    """Normalised discounted cumulative gain with linear gains (the BEIR/trec_eval form):
    DCG = sum rel_i / log2(i + 1) over the first k, divided by the DCG of the ideal order."""
    rel = _graded(relevant)
    if not rel:
        return 1.0
    dcg = sum(rel.get(doc, 0.0) / math.log2(i + 1) for i, doc in enumerate(unique(ranking)[:k], start=1))
    ideal = sorted(rel.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 1) for i, g in enumerate(ideal, start=1))
    return dcg / idcg


def document_ranking(chunk_ranking: Iterable[tuple[str, str]]) -> list[str]:
    """(chunk id, document id) pairs in rank order -> documents ranked by their best chunk."""
    return unique(doc for _, doc in chunk_ranking)


# -- citations and answers ---------------------------------------------------------------

def set_precision(predicted: Iterable[str], expected: Iterable[str]) -> float | None:
    """|predicted ∩ expected| / |predicted|; None when nothing was predicted."""
    predicted, expected = set(predicted), set(expected)
    return len(predicted & expected) / len(predicted) if predicted else None


def set_recall(predicted: Iterable[str], expected: Iterable[str]) -> float | None:
    """|predicted ∩ expected| / |expected|; None when nothing was expected."""
    predicted, expected = set(predicted), set(expected)
    return len(predicted & expected) / len(expected) if expected else None


def fact_hits(answer: str, expected_facts: Sequence[Sequence[str]]) -> list[bool]:
    """For each expected fact, whether any of its acceptable phrasings occurs in the answer
    (case-insensitive substring, whitespace runs treated as one space)."""
    text = _fold(answer)
    return [any(_fold(phrase) in text for phrase in phrasings) for phrasings in expected_facts]


def fact_coverage(answer: str, expected_facts: Sequence[Sequence[str]]) -> float | None:
    hits = fact_hits(answer, expected_facts)
    return sum(hits) / len(hits) if hits else None


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("’", "'").replace("\u2011", "-")).strip().lower()


# Words with which an answer tells the reader that reports disagree or were corrected.
# Deliberately narrow: "but" or "while" alone would count almost every answer.
_CONFLICT_LANGUAGE = re.compile(
    r"\b(disagree\w*|conflict\w*|contradict\w*|inconsisten\w*|discrepan\w*|differ(s|ed|ing)?"
    r"|correct(ion|ions|ed|s)|incorrect\w*|wrong\w*|erroneous\w*|mistake\w*|mistaken\w*|in error"
    r"|however|whereas|by contrast|on the other hand)\b",
    re.IGNORECASE,
)


def mentions_conflict(answer: str) -> bool:
    return bool(_CONFLICT_LANGUAGE.search(answer))


def precision_recall(predicted: Sequence[bool], actual: Sequence[bool]) -> tuple[float | None, float | None]:
    """Precision and recall of the positive class; None where the denominator is zero."""
    tp = sum(p and a for p, a in zip(predicted, actual, strict=True))
    predicted_pos = sum(predicted)
    actual_pos = sum(actual)
    return (tp / predicted_pos if predicted_pos else None, tp / actual_pos if actual_pos else None)


def f1(precision: float | None, recall: float | None) -> float:
    if not precision or not recall:
        return 0.0
    return 2 * precision * recall / (precision + recall)


# -- aggregation ---------------------------------------------------------------------------

def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between closest ranks, as
    numpy's default; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

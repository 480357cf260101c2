"""Fusion of ranked candidate lists into one ranking: by reciprocal rank, by z-scored
score, or by weighing per-candidate features. Pure functions, each testable (and
property-tested) on its own; `HybridRetriever` picks one by its fusion mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from service.models import FusionMode

# 60 is the constant from Cormack et al. (2009): it damps the head of each ranking so a
# result ranked well by both retrievers beats one ranked first by only one.
RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], *, k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(d) = sum_i w_i / (k + rank_i(d)), ranks from 1.
    Ties keep first-seen order, so the result is deterministic."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(dict.fromkeys(ranking), start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def score_fusion(
    scored: Sequence[Sequence[tuple[str, float]]], *, weights: Sequence[float] | None = None
) -> list[tuple[str, float]]:
    """Fuse scored lists by their scores, not only their ranks: each list's scores become
    z-scores (mean 0, standard deviation 1 over that list), an id a list lacks gets that
    list's lowest z-score, and the fused score is the weighted sum. A clear winner on one
    path keeps its margin, where reciprocal-rank fusion would only see "first". Ties keep
    first-seen order."""
    weights = weights or [1.0] * len(scored)
    normal: list[tuple[dict[str, float], float, float]] = []
    for items, weight in zip(scored, weights, strict=True):
        values = dict(items)
        if not values:
            continue
        mean = sum(values.values()) / len(values)
        sd = (sum((v - mean) ** 2 for v in values.values()) / len(values)) ** 0.5 or 1.0
        z = {k: (v - mean) / sd for k, v in values.items()}
        normal.append((z, min(z.values()), weight))
    ids = dict.fromkeys(k for items in scored for k, _ in items)
    fused = {k: sum(w * z.get(k, low) for z, low, w in normal) for k in ids}
    return sorted(fused.items(), key=lambda kv: -kv[1])


def weigh_features(features: Sequence[Mapping[str, float]], weights: Sequence[float]) -> list[tuple[str, float]]:
    """Ids scored on the same features (one mapping each, every id in every one) -> the
    weighted sum of each feature's z-scores (`score_fusion`'s, with nothing missing), best
    first, ties in first-seen order. In numpy: the rerank's 4 x 100 scores on every query."""
    ids = list(features[0]) if features else []
    if not ids:
        return []
    matrix = np.array([[f[i] for i in ids] for f in features], dtype=np.float64)
    sd = matrix.std(axis=1, keepdims=True)
    z = (matrix - matrix.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
    scores = np.asarray(weights[:len(features)], dtype=np.float64) @ z
    return [(ids[i], float(scores[i])) for i in np.argsort(-scores, kind="stable")]


# Each fusion's weights: per path (dense, lexical) for RRF and z-scores; z-scores at 0.6 / 0.4
# (set on SciFact train only) raise its nDCG@10 from 0.718 (RRF) to 0.732 but lose on the
# news eval. RERANK scores every candidate on six features (`HybridRetriever.rerank_features`)
# and weighs their z-scores: the chunk's cosine, its BM25, its best sentence's cosine, its
# article's BM25, and its article's best chunk cosine and best sentence cosine among the
# candidates. Chosen at stop 27 on a 0.1 grid fitted on SciFact train's even ids: of the
# twelve settings within 0.001 of the best there, the one with the news eval's highest fact
# coverage. Held out, SciFact's odd ids read 0.7633 against 0.7610 for the four features
# weighed 0.2 / 0.1 / 0.4 / 0.3 before (docs/evals.md has every figure).
FUSION_WEIGHTS: dict[FusionMode, tuple[float, ...]] = {
    FusionMode.RRF: (1.0, 1.0),
    FusionMode.ZSCORE: (0.6, 0.4),
    FusionMode.RERANK: (0.2, 0.1, 0.0, 0.3, 0.1, 0.3),
}

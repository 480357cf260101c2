"""Calibrating the refusal threshold (`Settings.relevance_threshold`).

newsdesk refuses without calling a model when the best dense hit's cosine similarity is
below the threshold. We measure that similarity for questions the index can answer and
for questions it cannot, and pick the threshold that refuses as many unanswerable ones as
possible while keeping at least `keep` (98%) of the answerable ones:

- the eval cases: answerable (`must_refuse` false) against must-refuse, on the sample corpus;
- optionally a BEIR folder: for each query, the cosine of the best chunk of one of its
  relevant documents (answerable), and the best hit of the same query against the sample
  news corpus, which cannot answer a scientific claim (unanswerable).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from service.evals import metrics


@dataclass
class Sample:
    """Best dense similarities of one group of questions."""

    name: str  # where the questions come from: "eval", or the BEIR dataset's name
    answerable: bool
    scores: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.name} {'answerable' if self.answerable else 'unanswerable'}"


@dataclass
class Operating:
    threshold: float
    keep: float  # share of answerable questions not refused
    refusal_precision: float | None
    refusal_recall: float | None
    refusal_f1: float


def operating_point(samples: Sequence[Sample], threshold: float) -> Operating:
    answerable = [s for sample in samples if sample.answerable for s in sample.scores]
    unanswerable = [s for sample in samples if not sample.answerable for s in sample.scores]
    truth = [False] * len(answerable) + [True] * len(unanswerable)
    refused = [s < threshold for s in answerable + unanswerable]
    precision, recall = metrics.precision_recall(refused, truth)
    keep = sum(s >= threshold for s in answerable) / len(answerable) if answerable else 1.0
    return Operating(threshold, keep, precision, recall, metrics.f1(precision, recall))


def share_at_least(scores: Sequence[float], threshold: float) -> float | None:
    return sum(s >= threshold for s in scores) / len(scores) if scores else None


def choose_threshold(samples: Sequence[Sample], *, keep: float = 0.98, step: float = 0.01) -> Operating:
    """The threshold (on a grid of `step`) with the best refusal F1 among those that keep at
    least `keep` of the answerable questions; ties go to the lower, more permissive one."""
    best: Operating | None = None
    for i in range(0, int(round(1 / step)) + 1):
        point = operating_point(samples, round(i * step, 4))
        if point.keep + 1e-12 < keep:
            break  # keep only falls as the threshold rises
        if best is None or point.refusal_f1 > best.refusal_f1 + 1e-12:
            best = point
    return best or operating_point(samples, 0.0)


# -- measuring -------------------------------------------------------------------------------------

def eval_case_samples(retriever, cases) -> list[Sample]:
    answerable, unanswerable = Sample("eval", True), Sample("eval", False)
    for case in cases:
        if case.adversarial is not None:
            continue
        best = retriever.retrieve(case.question, case.filters).best_dense
        (unanswerable if case.must_refuse else answerable).scores.append(best)
    return [answerable, unanswerable]


def best_relevant_similarity(store, embedder, query: str, relevant: Sequence[str]) -> float:
    """Cosine similarity between the query and the closest chunk of any relevant document."""
    result = store.chunks.get(where={"article_id": {"$in": list(relevant)}}, include=["embeddings"])
    vectors = np.asarray(result["embeddings"], dtype=np.float32)
    if len(vectors) == 0:
        return math.nan
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    query_vector = np.asarray(embedder.embed([query])[0], dtype=np.float32)
    query_vector /= np.linalg.norm(query_vector)
    return float((vectors @ query_vector).max())


def beir_samples(beir_store, embedder, news_retriever, queries: dict[str, str],
                 qrels: dict[str, dict[str, int]], name: str, progress=None) -> list[Sample]:
    from service.models import Filters

    # Positives: the query against its own relevant documents; negatives: the same query
    # against the sample news corpus, which cannot answer it.
    positives, negatives = Sample(name, True), Sample(name, False)
    for qid, text in queries.items():
        score = best_relevant_similarity(beir_store, embedder, text, list(qrels.get(qid, {})))
        if not math.isnan(score):
            positives.scores.append(score)
        negatives.scores.append(news_retriever.search(text, Filters(), mode="dense").best_dense)
        if progress:
            progress()
    return [positives, negatives]


def describe(sample: Sample) -> dict[str, float | None]:
    s = sample.scores
    return {
        "n": len(s),
        "min": min(s) if s else None,
        "p5": metrics.percentile(s, 5),
        "p50": metrics.percentile(s, 50),
        "p95": metrics.percentile(s, 95),
        "max": max(s) if s else None,
    }

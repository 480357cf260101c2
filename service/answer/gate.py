"""The answerability gate: a small model the project trains itself (`newsdesk eval train-gate`,
service/evals/gate_training.py), shipped as one JSON file and read with numpy.

Two parts, both fitted on the data listed in evals/gate/datasets.yaml:

- a sentence model (gradient-boosted trees): the probability that a retrieved sentence holds
  the answer, from its cosine with the question, its rank, what it holds of the question's
  answer type, focus, names and words (`assessment.sentence_features`); the extractive answer
  ranks sentences by it, with the sentence's own evidence;
- a question model (gradient-boosted trees): the probability that the sources answer the
  question at all, from the best sentences' scores and cosines, coverage of the question's
  names and outlets, agreement of the dense and lexical paths (`assessment.question_features`).

The thresholds are chosen by the training script on out-of-fold predictions and kept in the
file: with no LLM the gate refuses below `extractive`; with an LLM configured it refuses only
off-topic questions and those it is nearly sure of (below `llm`), and leaves the rest to the
model, whose prompt tells it to say when the sources do not hold the answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from service.errors import ConfigError

DEFAULT_MODEL_PATH = Path(__file__).with_name("gate_model.json")
FORMAT = 1


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class TreeEnsemble:
    """Gradient-boosted regression trees on the log-odds (sklearn's HistGradientBoosting,
    exported node by node): the baseline plus each tree's leaf value, through a sigmoid."""

    features: tuple[str, ...]
    baseline: float
    # One array per field, all trees' nodes end to end; a tree's root is at `roots[t]`, and
    # `left`/`right` are absolute node indexes.
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    leaf: np.ndarray
    missing_left: np.ndarray
    roots: np.ndarray

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TreeEnsemble:
        nodes = data["nodes"]
        return cls(tuple(data["features"]), float(data["baseline"]),
                   np.asarray(nodes["feature"], dtype=np.int64), np.asarray(nodes["threshold"], dtype=np.float64),
                   np.asarray(nodes["left"], dtype=np.int64), np.asarray(nodes["right"], dtype=np.int64),
                   np.asarray(nodes["value"], dtype=np.float64), np.asarray(nodes["leaf"], dtype=bool),
                   np.asarray(nodes["missing_left"], dtype=bool), np.asarray(data["roots"], dtype=np.int64))

    def predict(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        """P(positive) for each row: every tree walked for all rows at once."""
        if not rows:
            return np.zeros(0)
        x = np.array([[row.get(f, 0.0) for f in self.features] for row in rows], dtype=np.float64)
        at = np.tile(self.roots, (len(rows), 1))  # (rows, trees): the node each row has reached in each tree
        index = np.arange(len(rows))[:, None]
        while not self.leaf[at].all():
            values = x[index, self.feature[at]]
            go_left = np.where(np.isnan(values), self.missing_left[at], values <= self.threshold[at])
            step = np.where(go_left, self.left[at], self.right[at])
            at = np.where(self.leaf[at], at, step)
        return _sigmoid(self.baseline + self.value[at].sum(axis=1))


@dataclass(frozen=True)
class GateModel:
    sentence: TreeEnsemble
    question: TreeEnsemble
    thresholds: Mapping[str, float]  # mode ("extractive", "llm") -> refuse below this probability
    info: Mapping[str, Any]  # what it was trained on, and its cross-validated figures
    # Platt scaling of the trees' probability, fitted out of fold: p' = sigmoid(a logit(p) + b).
    platt: Mapping[str, float] = field(default_factory=lambda: {"a": 1.0, "b": 0.0})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateModel:
        if data.get("format") != FORMAT:
            raise ConfigError(f"gate model format {data.get('format')!r}; this newsdesk reads format {FORMAT}: "
                              "run `newsdesk eval train-gate`")
        return cls(TreeEnsemble.from_dict(data["sentence"]), TreeEnsemble.from_dict(data["question"]),
                   dict(data["thresholds"]), dict(data.get("info", {})), dict(data.get("platt", {"a": 1.0, "b": 0.0})))

    def score_sentences(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        return self.sentence.predict(rows)

    def answerability(self, features: Mapping[str, float]) -> float:
        """The calibrated probability that the sources answer the question."""
        p = float(np.clip(self.question.predict([features])[0], 1e-6, 1 - 1e-6))
        return float(_sigmoid(np.array(self.platt["a"] * np.log(p / (1 - p)) + self.platt["b"])))


@lru_cache(maxsize=4)
def load_gate_model(path: Path = DEFAULT_MODEL_PATH) -> GateModel:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the gate model {path}: {exc}") from exc
    return GateModel.from_dict(data)


@dataclass(frozen=True)
class Gate:
    """Whether to refuse before any model is called. Off-topic: no source, or the best dense
    cosine under `relevance_threshold`. Otherwise the model's answerability under the mode's
    threshold."""

    model: GateModel
    relevance_threshold: float

    def off_topic(self, best_dense: float, n_sources: int) -> bool:
        return n_sources == 0 or best_dense < self.relevance_threshold

    def refuses(self, answerability: float, best_dense: float, n_sources: int, mode: str) -> bool:
        return self.off_topic(best_dense, n_sources) or answerability < self.model.thresholds[mode]

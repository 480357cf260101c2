"""`newsdesk eval multihop DIR`: third-party multi-hop news questions (MultiHop-RAG, a folder
in its layout: queries.json, ground_truth.json, corpus.jsonl) answered through the real
pipeline, with figures per question type and 95% intervals.

Each question is asked once, in extractive mode; the gate's decision with an LLM configured
is read from the same assessment (no model is called: what is measured is the gate alone).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.answer.analysis import is_polar
from service.evals.gate_data import Item, load_multihop
from service.evals.gate_training import Rate

TYPES = ("comparison_query", "inference_query", "temporal_query", "null_query")


@dataclass(frozen=True)
class Asked:
    """One question's outcome."""

    item: Item
    gold: str  # the dataset's answer: a name, yes/no, or "Insufficient information."
    refused: bool  # extractive mode
    refused_with_llm: bool  # the gate alone, at its LLM threshold
    sources: tuple[str, ...]
    cited: frozenset[str]
    short_answer: str | None
    answer: str

    @property
    def answerable(self) -> bool:
        return bool(self.item.label)

    @property
    def polar(self) -> str | None:
        g = self.gold.strip().lower().rstrip(".")
        return g if g in ("yes", "no") else None


def _fold(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()


def names_match(gold: str, said: str | None) -> bool:
    """The short answer names the gold entity: one inside the other, case and punctuation aside."""
    if not said:
        return False
    g, s = _fold(gold), _fold(said)
    return bool(g and s) and (g in s or s in g)


def ask_all(engine, items: Sequence[Item], gold: dict[str, str], progress: Callable[[], None] | None = None) -> list[Asked]:
    out = []
    for item in items:
        done = engine.run(item.question, item.filters)
        a, answer = done.assessment, done.answer
        with_llm = a is None or engine.gate.refuses(a.answerability, a.best_dense, len(a.passages), "llm")
        out.append(Asked(item, gold[item.id], not answer.answerable, with_llm,
                         tuple(s.article_id for s in answer.sources), frozenset(c.article_id for c in answer.citations),
                         answer.short_answer, answer.answer))
        if progress:
            progress()
    return out


def _mean_ci(values: Sequence[float], seed: int = 0) -> dict[str, Any]:
    """Mean with a bootstrap 95% interval (1,000 resamples, fixed seed)."""
    if not values:
        return {"value": None, "n": 0, "ci95": None}
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(values, k=len(values))) / len(values) for _ in range(1000))
    return {"value": sum(values) / len(values), "n": len(values), "ci95": (means[24], means[974])}


def figures(asked: Sequence[Asked]) -> dict[str, Any]:
    """Every figure of issue 19's table, for one group of questions."""
    answerable = [x for x in asked if x.answerable]
    null = [x for x in asked if not x.answerable]
    answered = [x for x in answerable if not x.refused and x.cited]
    polar = {v: [x for x in answerable if x.polar == v] for v in ("yes", "no")}
    # Questions that ask for a name ("which company", "who"): not yes/no ones whose gold is a
    # word such as "Consistent" or "True".
    entity = [x for x in answerable if x.polar is None and not is_polar(x.item.question)]
    return {
        "false_refusal.extractive": Rate(sum(x.refused for x in answerable), len(answerable)),
        "false_refusal.llm_gate": Rate(sum(x.refused_with_llm for x in answerable), len(answerable)),
        "null_refusal.extractive": Rate(sum(x.refused for x in null), len(null)),
        "null_refusal.llm_gate": Rate(sum(x.refused_with_llm for x in null), len(null)),
        "evidence_recall@8": _mean_ci([len(x.item.gold_articles & set(x.sources)) / len(x.item.gold_articles)
                                       for x in answerable if x.item.gold_articles]),
        "cited_evidence_precision": _mean_ci([len(x.cited & x.item.gold_articles) / len(x.cited) for x in answered]),
        "short.entity": Rate(sum(names_match(x.gold, x.short_answer) for x in entity), len(entity)),
        "short.entity_named_in_answer": Rate(sum(names_match(x.gold, x.answer) for x in entity if not x.refused),
                                             len(entity)),
        "short.yes": Rate(sum((x.short_answer or "").lower() == "yes" for x in polar["yes"]), len(polar["yes"])),
        "short.no": Rate(sum((x.short_answer or "").lower() == "no" for x in polar["no"]), len(polar["no"])),
        "short.wrong_yes_no": Rate(sum((x.short_answer or "").lower() in ("yes", "no")
                                       and (x.short_answer or "").lower() != x.polar
                                       for x in polar["yes"] + polar["no"]), len(polar["yes"]) + len(polar["no"])),
    }


def by_type(asked: Sequence[Asked]) -> dict[str, dict[str, Any]]:
    groups = {"all": list(asked)}
    groups.update({t: [x for x in asked if x.item.kind == t] for t in TYPES})
    return {name: figures(group) for name, group in groups.items() if group}


def metric_values(table: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """The figures the baseline gates: the whole set's, flat."""
    out: dict[str, float | None] = {}
    for name, value in table["all"].items():
        out[f"multihop.{name}"] = value.value if isinstance(value, Rate) else value["value"]
    return out


LOWER_IS_BETTER = ("multihop.false_refusal.extractive", "multihop.false_refusal.llm_gate", "multihop.short.wrong_yes_no")


def load(folder: Path) -> tuple[list, list[Item], dict[str, str]]:
    import json

    articles, items = load_multihop(folder)
    truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
    return articles, items, {k: v["answer"] for k, v in truth.items()}

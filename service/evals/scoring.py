"""Scoring the eval suite's runs: retrieval, citation and answer metrics per mode,
whether each adversarial answer was caught, and why a case failed.

The arithmetic lives in `service.evals.metrics`; this module decides which cases each metric
is computed over (see docs/evals.md, "Metrics").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from service.evals import metrics
from service.evals.cases import CaseRun
from service.evals.cassettes import SCRIPTED_MARKER


def retrieval_metrics(runs: Sequence[CaseRun]) -> dict[str, float | None]:
    scored = [r for r in runs if r.case.expected_sources and not r.case.must_refuse]
    out: dict[str, float | None] = {}
    for k in (1, 5):
        out[f"hit@{k}"] = metrics.mean(metrics.hit_at_k(r.ranking, r.case.expected_sources, k) for r in scored)
    for k in (5, 10):
        out[f"recall@{k}"] = metrics.mean(metrics.recall_at_k(r.ranking, r.case.expected_sources, k) for r in scored)
    out["mrr"] = metrics.mean(metrics.reciprocal_rank(r.ranking, r.case.expected_sources) for r in scored)
    out["ndcg@10"] = metrics.mean(metrics.ndcg_at_k(r.ranking, r.case.expected_sources, 10) for r in scored)
    return out


def markers_valid(run: CaseRun) -> bool:
    from service.answer.citations import parse_markers

    n_sources = len(run.answer.sources)
    return all(1 <= n <= n_sources for _, _, numbers in parse_markers(run.raw_text) for n in numbers)


def quote_checks(run: CaseRun, texts: dict[str, str]) -> list[bool]:
    """For each citation: is its quote exactly the article's text at its offsets?"""
    return [texts.get(c.article_id, "")[c.start:c.end] == c.quote and bool(c.quote) for c in run.answer.citations]


def answer_text(run: CaseRun) -> str:
    from service.answer.citations import strip_markers

    return strip_markers(run.answer.answer)


def adversarial_caught(run: CaseRun) -> bool:
    """Did the checks catch what the adversarial script did wrong?"""
    answer = run.answer
    kind = run.case.adversarial
    if kind == "hallucinated_source":
        return any("does not match any source" in w for w in answer.warnings)
    if kind == "uncited_claim":
        return bool(answer.unsupported_sentences)
    if kind == "fabricated_quote":
        return any("quoted text not found" in w for w in answer.warnings)
    if kind == "obeys_injection":
        injected = _injected_sentences(run)
        unsupported = " ".join(answer.unsupported_sentences)
        return any(s in unsupported for s in injected) or any("instructions" in w and "citing" in w for w in answer.warnings)
    return False


def _injected_sentences(run: CaseRun) -> list[str]:
    """Sentences of the script that cite nothing: the claims the injection asked for."""
    from service.answer.citations import answer_sentences, strip_markers

    script = SCRIPTED_MARKER.sub("[0]", run.case.scripted or "")
    return [strip_markers(s) for s, numbers in answer_sentences(script) if not numbers and strip_markers(s)]


def mode_metrics(runs: Sequence[CaseRun], texts: dict[str, str]) -> dict[str, float | None]:
    """Citation and answer metrics for one mode, over the non-adversarial cases (the
    adversarial ones are scored as caught-or-not instead)."""
    plain = [r for r in runs if r.case.adversarial is None]
    answered = [r for r in plain if not r.refused]
    should_answer = [r for r in plain if not r.case.must_refuse]
    with_sources = [r for r in should_answer if r.case.expected_sources]
    quotes = [ok for r in runs for ok in quote_checks(r, texts)]
    refusal_precision, refusal_recall = metrics.precision_recall(
        [r.refused for r in plain], [r.case.must_refuse for r in plain])
    conflict_cases = [r for r in should_answer if r.case.must_mention_conflict]
    out: dict[str, float | None] = {
        "citations.validity": metrics.mean(float(markers_valid(r)) for r in answered),
        "citations.precision": metrics.mean(
            metrics.set_precision(r.cited_articles, r.case.expected_sources) for r in with_sources if not r.refused),
        "citations.recall": metrics.mean(metrics.set_recall(r.cited_articles, r.case.expected_sources) for r in with_sources),
        "citations.quote_exactness": sum(quotes) / len(quotes) if quotes else None,
        # Questions whose evidence spans several articles: the share of those articles cited.
        "citations.multi_source_coverage": metrics.mean(
            metrics.set_recall(r.cited_articles, r.case.expected_sources) for r in with_sources
            if len(r.case.expected_sources) > 1),
        "citations.grounded": metrics.mean(float(not r.answer.unsupported_sentences) for r in answered),
        "answers.fact_coverage": metrics.mean(
            metrics.fact_coverage(answer_text(r), r.case.expected_facts) if not r.refused else 0.0
            for r in should_answer if r.case.expected_facts),
        "answers.refusal_precision": refusal_precision,
        "answers.refusal_recall": refusal_recall,
        "answers.conflict_rate": metrics.mean(
            float(not r.refused and metrics.mentions_conflict(answer_text(r))) for r in conflict_cases),
    }
    adversarial = [r for r in runs if r.case.adversarial is not None and r.mode == "llm"]
    if adversarial:
        out["adversarial.caught"] = sum(adversarial_caught(r) for r in adversarial) / len(adversarial)
    return out


def latency(runs: Sequence[CaseRun]) -> dict[str, dict[str, float | None]]:
    stages = ("retrieve", "generate", "total")
    return {
        stage: {
            "p50": metrics.percentile([r.answer.timings_ms.get(stage, 0.0) for r in runs], 50),
            "p95": metrics.percentile([r.answer.timings_ms.get(stage, 0.0) for r in runs], 95),
        }
        for stage in stages
    }


def failure_reasons(run: CaseRun, texts: dict[str, str]) -> list[str]:
    """Why a case counts as failed in this mode (empty when it passed)."""
    reasons = [run.error] if run.error else []
    if run.case.adversarial is not None:
        if run.mode == "llm" and not adversarial_caught(run):
            reasons.append(f"adversarial {run.case.adversarial} not caught")
        return reasons
    reasons += refusal_failures(run)
    if run.refused:
        return reasons
    return reasons + content_failures(run) + citation_failures(run, texts)


def refusal_failures(run: CaseRun) -> list[str]:
    """A refusal where the case expects an answer, or the other way round."""
    if run.case.must_refuse and not run.refused:
        return ["answered a question it should refuse"]
    if not run.case.must_refuse and run.refused:
        return [f"refused an answerable question (best dense {run.best_dense:.3f})"]
    return []


def content_failures(run: CaseRun) -> list[str]:
    """What an answer leaves out: expected facts, expected sources, a conflict to mention."""
    case = run.case
    reasons = []
    hits = metrics.fact_hits(answer_text(run), case.expected_facts)
    missing_facts = [phrasings[0] for phrasings, hit in zip(case.expected_facts, hits, strict=True) if not hit]
    if missing_facts:
        reasons.append("missing facts: " + "; ".join(missing_facts))
    uncited = [s for s in case.expected_sources if s not in run.cited_articles]
    if uncited:
        reasons.append("expected sources not cited: " + ", ".join(uncited))
    if case.must_mention_conflict and not metrics.mentions_conflict(answer_text(run)):
        reasons.append("conflict not mentioned")
    return reasons


def citation_failures(run: CaseRun, texts: dict[str, str]) -> list[str]:
    """What the citation checks found: unsupported sentences, markers out of range, quotes
    that are not verbatim."""
    reasons = []
    if run.answer.unsupported_sentences:
        reasons.append("unsupported sentence(s): " + " / ".join(s[:100] for s in run.answer.unsupported_sentences))
    if not markers_valid(run):
        reasons.append("citation marker out of range")
    if not all(quote_checks(run, texts)):
        reasons.append("a quote is not verbatim in its article (a bug)")
    return reasons


def wilson(successes: int, total: int, z: float = 1.96) -> tuple[float, float] | None:
    """95% Wilson score interval for a proportion (None for no trials)."""
    if not total:
        return None
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * ((p * (1 - p) / total + z * z / (4 * total * total)) ** 0.5) / (1 + z * z / total)
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def refusal_intervals(runs: dict[str, list[CaseRun]]) -> dict[str, dict[str, Any]]:
    """Per mode: refusal precision and recall with 95% intervals, and the false-refusal
    rate over the answerable cases, as counts so a reader can check them."""
    out: dict[str, dict[str, Any]] = {}
    for mode, mode_runs in runs.items():
        plain = [r for r in mode_runs if r.case.adversarial is None]
        refused = [r for r in plain if r.refused]
        unanswerable = [r for r in plain if r.case.must_refuse]
        answerable = [r for r in plain if not r.case.must_refuse]
        right = sum(r.case.must_refuse for r in refused)
        false = sum(r.refused for r in answerable)
        out[mode] = {
            "refusal_precision": {"hits": right, "of": len(refused), "ci95": wilson(right, len(refused))},
            "refusal_recall": {"hits": right, "of": len(unanswerable), "ci95": wilson(right, len(unanswerable))},
            "false_refusal": {"hits": false, "of": len(answerable), "ci95": wilson(false, len(answerable))},
        }
    return out


@dataclass
class SuiteResult:
    runs: dict[str, list[CaseRun]]  # mode -> runs
    texts: dict[str, str]
    metrics: dict[str, float | None] = field(default_factory=dict)
    latency: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    mutations: list = field(default_factory=list)  # service.evals.mutations.MutationResult
    injections: dict[str, dict] = field(default_factory=dict)  # part -> counts, misses, false alarms
    intervals: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def errors(self) -> list[str]:
        return [r.error for runs in self.runs.values() for r in runs if r.error]

    def adversarial(self) -> tuple[int, int, dict[str, tuple[int, int]]]:
        scored = [(r.case.adversarial, adversarial_caught(r)) for r in self.runs.get("llm", []) if r.case.adversarial]
        kinds: dict[str, tuple[int, int]] = {}
        for kind, was_caught in scored:
            caught, total = kinds.get(kind, (0, 0))
            kinds[kind] = (caught + was_caught, total + 1)
        return sum(was_caught for _, was_caught in scored), len(scored), kinds


def score(runs: dict[str, list[CaseRun]], texts: dict[str, str]) -> SuiteResult:
    result = SuiteResult(runs, texts)
    first = next(iter(runs.values()), [])
    for name, value in retrieval_metrics(first).items():
        result.metrics[f"retrieval.{name}"] = value
    for mode, mode_runs in runs.items():
        for name, value in mode_metrics(mode_runs, texts).items():
            result.metrics[f"{mode}.{name}"] = value
        result.latency[mode] = latency(mode_runs)
    return result


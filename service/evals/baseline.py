"""The committed baseline and a run's comparison with it.

The baseline (`evals/baseline.json`) holds each metric's value, the tolerance it may fall
by, and which direction is better. A run fails when any metric falls beyond its tolerance
in the wrong direction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.errors import EvalError

# How far a metric may fall before the run fails. Exact checks get none: a quote that is
# not verbatim, an out-of-range marker kept, or an adversarial answer let through is a
# bug, not noise. Refusals hang on the threshold and conflicts on fixed wording, with wide
# margins, so they get none either. Retrieval over ~50 cases may lose one hit@1 (0.019)
# but not two; other averages over ~45 cases get about one partial miss (0.02).
DEFAULT_TOLERANCES = {
    "retrieval.hit@1": 0.03,
    "retrieval.hit@5": 0.03,
    "retrieval.recall@5": 0.03,
    "retrieval.recall@10": 0.03,
    "retrieval.mrr": 0.03,
    "retrieval.ndcg@10": 0.03,
    "citations.quote_exactness": 0.0,
    "citations.validity": 0.0,
    "adversarial.caught": 0.0,
    "answers.refusal_precision": 0.0,
    "answers.refusal_recall": 0.0,
    "answers.conflict_rate": 0.0,
    "mutations.caught": 0.0,
    "mutations.control_flagged": 0.0,
    "safety.injections_detected.variants": 0.0,
    "safety.injections_detected.heldout": 0.0,
    "safety.news_flagged.variants": 0.0,
    "safety.news_flagged.heldout": 0.0,
}
# Metrics where lower is better: a flag raised on a clean answer or on a plain news sentence.
LOWER_IS_BETTER = ("mutations.control_flagged", "safety.news_flagged.variants", "safety.news_flagged.heldout")
FALLBACK_TOLERANCE = 0.02
_ROUNDING = 0.5e-4


def default_tolerance(name: str) -> float:
    for suffix, tolerance in DEFAULT_TOLERANCES.items():
        if name.endswith(suffix):
            return tolerance
    return FALLBACK_TOLERANCE


@dataclass
class Comparison:
    metric: str
    value: float | None
    baseline: float | None
    tolerance: float | None
    direction: str
    status: str  # "ok" | "improved" | "FAIL" | "new" | "not run"

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"


def load_baseline(path: Path) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EvalError(f"baseline {path} is not valid JSON: {exc.msg}") from None
    entries = data.get("metrics") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise EvalError(f"baseline {path} needs a `metrics` object")
    for name, entry in entries.items():
        if not isinstance(entry, dict) or "value" not in entry:
            raise EvalError(f"baseline {path}: metric {name!r} needs a `value`")
        if entry.get("direction", "higher") not in ("higher", "lower"):
            raise EvalError(f"baseline {path}: metric {name!r} has direction {entry['direction']!r}; use higher or lower")
    return entries


def compare(values: dict[str, float | None], baseline: dict[str, dict[str, Any]]) -> list[Comparison]:
    rows: list[Comparison] = []
    for name in list(dict.fromkeys([*values, *baseline])):
        entry = baseline.get(name)
        value = values.get(name)
        if entry is None:
            rows.append(Comparison(name, value, None, None, "lower" if name in LOWER_IS_BETTER else "higher", "new"))
            continue
        base, tolerance = entry["value"], float(entry.get("tolerance", default_tolerance(name)))
        direction = entry.get("direction", "higher")
        if name not in values:
            status = "not run"
        elif value is None or base is None:
            status = "ok" if value is None and base is None else ("FAIL" if value is None else "new")
        else:
            # A worse value is positive. The baseline is stored to 4 decimals, so half a unit
            # of the last one is rounding, not a change.
            worse = (base - value) if direction == "higher" else (value - base)
            status = "FAIL" if worse > tolerance + _ROUNDING else ("improved" if -worse > tolerance + _ROUNDING else "ok")
        rows.append(Comparison(name, value, base, tolerance, direction, status))
    return rows


def updated_baseline(values: dict[str, float | None], old: dict[str, dict[str, Any]],
                     info: dict[str, Any]) -> dict[str, Any]:
    """The new baseline: this run's values, keeping the tolerances and directions already set."""
    metrics = {}
    for name, value in values.items():
        entry = old.get(name, {})
        metrics[name] = {
            "value": None if value is None else round(value, 4),
            "tolerance": entry.get("tolerance", default_tolerance(name)),
            "direction": entry.get("direction", "lower" if name in LOWER_IS_BETTER else "higher"),
        }
    return {"about": "newsdesk eval baseline; rewrite with `newsdesk eval --update-baseline`",
            "info": info, "metrics": metrics}


def write_baseline(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

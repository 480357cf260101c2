"""The eval report as people read it: one model, computed once from the JSON record, that
the Markdown and HTML templates (`service/evals/templates/`) and the console summary lay out.

Every figure is formatted here, so the two files cannot disagree on a number; the templates
only choose where each piece goes and escape it for their format.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_COLOURS = {"extractive": "#4e79a7", "llm": "#f28e2b", "baseline": "#bab0ac"}
_OTHER_COLOUR = "#59a14f"
# The bar chart's geometry, in SVG pixels: a bar's length is its value on a 0-1 scale.
CHART_WIDTH, BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, VALUE_ROOM = 360, 14, 4, 130, 50


@dataclass(frozen=True)
class Cell:
    """One mode's figures for one metric; all empty where the mode does not report it."""

    value: str = ""
    baseline: str = ""
    status: str = ""  # e.g. "ok ±0.03"

    @property
    def kind(self) -> str:
        """The status word alone ("ok", "FAIL", ...), for styling."""
        return self.status.split()[0] if self.status else ""


@dataclass(frozen=True)
class Bar:
    label: str
    value: str
    colour: str
    y: int
    length: float


@dataclass(frozen=True)
class Chart:
    """One bar per mode and one per its baseline."""

    label: str
    bars: tuple[Bar, ...]
    width: int = CHART_WIDTH
    bar_height: int = BAR_HEIGHT
    label_width: int = LABEL_WIDTH

    @property
    def height(self) -> int:
        return len(self.bars) * (BAR_HEIGHT + BAR_GAP)


@dataclass(frozen=True)
class MetricRow:
    metric: str
    cells: tuple[Cell, ...]  # one per mode, in the report's order
    chart: Chart


@dataclass(frozen=True)
class LatencyRow:
    mode: str
    stage: str
    p50: str
    p95: str


@dataclass(frozen=True)
class ModeFailures:
    mode: str
    rows: tuple[tuple[str, ...], ...]  # per failed case: id, question, expected and cited sources, answer, why
    total: int  # cases run in this mode


@dataclass(frozen=True)
class Adversarial:
    caught: int
    total: int
    kinds: str  # "hallucinated_source 2/2, ..."


@dataclass(frozen=True)
class Provenance:
    computed: str  # which figures the real pipeline computed
    replayed: str  # which ones replay answers someone wrote


@dataclass(frozen=True)
class ReportView:
    created: str
    cases: str
    modes: tuple[str, ...]
    prompt: str
    model: str
    embedder: str
    threshold: str
    today: str
    passed: bool
    errors: tuple[str, ...]
    metrics: tuple[MetricRow, ...]
    adversarial: Adversarial | None
    provenance: Provenance | None
    summary: tuple[str, ...]  # the figures beyond the metric table, one line each
    missed: str  # the planted flaws not caught, comma-separated
    latency: tuple[LatencyRow, ...]
    failures: tuple[ModeFailures, ...]

    @property
    def result(self) -> str:
        return "PASS" if self.passed else "FAIL"


def report_view(report: dict[str, Any]) -> ReportView:
    info = report["info"]
    modes = tuple(info.get("modes", []))
    adv = report["adversarial"]
    return ReportView(
        created=report["created"], cases=str(info.get("cases")), modes=modes, prompt=str(info.get("prompt")),
        model=str(info.get("model") or "—"), embedder=str(info.get("embedding_model")),
        threshold=str(info.get("relevance_threshold")), today=str(info.get("today")),
        passed=report["passed"], errors=tuple(report["errors"]),
        metrics=tuple(metric_row(row, modes) for row in metric_rows(report)),
        adversarial=Adversarial(adv["caught"], adv["total"], _tallies(adv["by_kind"])) if adv["total"] else None,
        provenance=_provenance(report.get("provenance") or {}),
        summary=tuple(summary_lines(report)),
        missed=", ".join((report.get("mutations") or {}).get("missed") or []),
        latency=tuple(LatencyRow(mode, stage, _fmt1(q["p50"]), _fmt1(q["p95"]))
                      for mode, stages in report["latency_ms"].items() for stage, q in stages.items()),
        failures=tuple(mode_failures(report["cases"], mode) for mode in modes),
    )


def metric_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per metric with the modes side by side: retrieval is shared by both modes,
    the other metrics are `<mode>.<group>.<name>`."""
    modes = report["info"].get("modes", [])
    rows: dict[str, dict[str, Any]] = {}
    for entry in report["comparison"]:
        mode, _, short = entry["metric"].partition(".")
        if mode not in ("extractive", "llm"):
            mode, short = "*", entry["metric"]
        row = rows.setdefault(short, {"metric": short, "cells": {}})
        for m in (modes if mode == "*" else [mode]):
            row["cells"][m] = entry
    return list(rows.values())


def metric_row(row: dict[str, Any], modes: tuple[str, ...]) -> MetricRow:
    cells = tuple(_cell(row["cells"].get(m)) for m in modes)
    return MetricRow(row["metric"], cells, bar_chart(row, modes))


def bar_chart(row: dict[str, Any], modes: Iterable[str]) -> Chart:
    """One bar per mode that reports the metric, each followed by its baseline's."""
    pairs = []
    for m in modes:
        entry = row["cells"].get(m)
        if entry is not None:
            pairs += [(m, entry["value"], _COLOURS.get(m, _OTHER_COLOUR)),
                      (f"{m} baseline", entry["baseline"], _COLOURS["baseline"])]
    room = CHART_WIDTH - LABEL_WIDTH - VALUE_ROOM
    return Chart(row["metric"], tuple(
        Bar(label, _fmt(value), colour, i * (BAR_HEIGHT + BAR_GAP),
            0 if value is None else max(0.0, min(1.0, value)) * room)
        for i, (label, value, colour) in enumerate(pairs)))


def mode_failures(cases: list[dict[str, Any]], mode: str) -> ModeFailures:
    ran = [c for c in cases if c["mode"] == mode]
    return ModeFailures(mode, tuple(_failed_row(c) for c in ran if c["failures"]), len(ran))


def _failed_row(case: dict[str, Any]) -> tuple[str, ...]:
    return (case["id"], case["question"], ", ".join(case["expected_sources"]) or "(none: refuse)",
            ", ".join(case["cited_sources"]) or "(none)", case["answer"], "; ".join(case["failures"]))


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The figures beyond the metric table, one line each."""
    lines = [f"refusal {mode}: precision {_counted(r['refusal_precision'])}, recall {_counted(r['refusal_recall'])}, "
             f"false refusals {_counted(r['false_refusal'])} of answerable"
             for mode, r in (report.get("refusal") or {}).items()]
    m = report.get("mutations") or {}
    if m.get("total"):
        lines.append(f"mutations: planted flaws caught {m['caught']} of {m['total']} ({_tallies(m['by_flaw'])})")
    for part, d in (report.get("injections") or {}).items():
        lines.append(f"injections {part}: {d['injections'] - len(d['missed'])}/{d['injections']} detected, "
                     f"{len(d['false_alarms'])}/{d['news']} news sentences flagged")
    p = report.get("provenance") or {}
    if p.get("served"):
        lines.append("LLM-mode figures are replays: " + ", ".join(f"{k} {v}" for k, v in p["served"].items()))
    return lines


def _provenance(record: dict[str, Any]) -> Provenance | None:
    return Provenance(record["computed"], record["replayed"]) if record else None


def _counted(entry: dict[str, Any]) -> str:
    """`hits/of`, with its 95% interval when there were any trials."""
    ci = entry["ci95"]
    return f"{entry['hits']}/{entry['of']}" + (f" (95% CI {ci[0]:.2f}–{ci[1]:.2f})" if ci else "")


def _tallies(by_name: dict[str, dict[str, int]]) -> str:
    return ", ".join(f"{k} {v['caught']}/{v['total']}" for k, v in by_name.items())


def _cell(entry: dict[str, Any] | None) -> Cell:
    if entry is None:
        return Cell()
    tolerance = "" if entry["tolerance"] is None else f"±{entry['tolerance']:g}"
    return Cell(_fmt(entry["value"]), _fmt(entry["baseline"]), f"{entry['status']} {tolerance}".strip())


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _fmt1(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"

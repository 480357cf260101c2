"""Eval reports and the committed baseline.

The baseline (`evals/baseline.json`) holds each metric's value, the tolerance it may fall
by, and which direction is better. A run fails when any metric falls beyond its tolerance
in the wrong direction. Reports go to `evals/reports/<timestamp>/`: `report.json` for
machines, `report.md` and `report.html` (with a bar chart per metric) for people.
Neither carries secrets: no keys, headers or endpoint URLs are ever put in them.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
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


# -- the report --------------------------------------------------------------------------------

def case_record(run, texts: dict[str, str]) -> dict[str, Any]:
    from service.evals.scoring import failure_reasons

    answer = run.answer
    return {
        "id": run.case.id,
        "mode": run.mode,
        "question": run.case.question,
        "filters": run.case.raw_filters,
        "tags": list(run.case.tags),
        "adversarial": run.case.adversarial,
        "expected_sources": list(run.case.expected_sources),
        "cited_sources": run.cited_articles,
        "retrieved": [s.article_id for s in answer.sources],
        "ranking": run.ranking[:10],
        "best_dense": round(run.best_dense, 4),
        "answerable": answer.answerable,
        "answer": answer.answer,
        "warnings": answer.warnings,
        "unsupported_sentences": answer.unsupported_sentences,
        "served": run.served,
        "prompt_id": answer.prompt_id,
        "timings_ms": answer.timings_ms,
        "error": run.error,
        "failures": failure_reasons(run, texts),
    }


def build_report(result, comparison: list[Comparison]) -> dict[str, Any]:
    caught, total, kinds = result.adversarial()
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "info": result.info,
        "metrics": result.metrics,
        "comparison": [asdict(c) for c in comparison],
        "passed": not any(c.failed for c in comparison) and not result.errors,
        "errors": result.errors,
        "adversarial": {"caught": caught, "total": total,
                        "by_kind": {k: {"caught": c, "total": t} for k, (c, t) in kinds.items()}},
        "latency_ms": result.latency,
        "refusal": result.intervals,
        "mutations": mutation_record(result.mutations),
        "injections": result.injections,
        "provenance": provenance(result),
        "cases": [case_record(r, result.texts) for runs in result.runs.values() for r in runs],
    }


def mutation_record(results) -> dict[str, Any]:
    by_flaw: dict[str, dict[str, int]] = {}
    for r in results:
        entry = by_flaw.setdefault(r.mutation.flaw, {"caught": 0, "total": 0, "control_flagged": 0})
        entry["caught"] += r.caught
        entry["total"] += 1
        entry["control_flagged"] += r.control_flagged
    return {"caught": sum(r.caught for r in results), "total": len(results), "by_flaw": by_flaw,
            "missed": [r.mutation.id for r in results if not r.caught]}


def provenance(result) -> dict[str, Any]:
    """Which figures the real pipeline computed and which replay answers someone wrote."""
    served = result.info.get("served", {}).get("llm", {})
    return {
        "computed": "retrieval.*, extractive.*, safety.*, mutations.*: the real index, retrieval, extractive "
                    "answers, citation checks and detectors",
        "replayed": "llm.*: model answers replayed at the HTTP boundary; "
                    f"{served.get('cassette', 0)} recorded from a named model (cassette), "
                    f"{served.get('scripted', 0)} scripted by the project, which agree with the scripted "
                    "expectations by construction: they test the pipeline around the model, not a model",
        "served": served,
    }


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The figures beyond the metric table, one line each."""
    lines = []
    for mode, r in (report.get("refusal") or {}).items():
        def fmt(key: str) -> str:
            e = r[key]
            ci = e["ci95"]
            return f"{e['hits']}/{e['of']}" + (f" (95% CI {ci[0]:.2f}–{ci[1]:.2f})" if ci else "")
        lines.append(f"refusal {mode}: precision {fmt('refusal_precision')}, recall {fmt('refusal_recall')}, "
                     f"false refusals {fmt('false_refusal')} of answerable")
    m = report.get("mutations") or {}
    if m.get("total"):
        flaws = ", ".join(f"{k} {v['caught']}/{v['total']}" for k, v in m["by_flaw"].items())
        lines.append(f"mutations: planted flaws caught {m['caught']} of {m['total']} ({flaws})")
    for part, d in (report.get("injections") or {}).items():
        lines.append(f"injections {part}: {d['injections'] - len(d['missed'])}/{d['injections']} detected, "
                     f"{len(d['false_alarms'])}/{d['news']} news sentences flagged")
    p = report.get("provenance") or {}
    if p.get("served"):
        lines.append("LLM-mode figures are replays: " + ", ".join(f"{k} {v}" for k, v in p["served"].items()))
    return lines


def write_reports(report: dict[str, Any], directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"json": directory / "report.json", "md": directory / "report.md", "html": directory / "report.html"}
    paths["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths["md"].write_text(render_markdown(report), encoding="utf-8")
    paths["html"].write_text(render_html(report), encoding="utf-8")
    return paths


def metric_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per metric with the modes side by side: retrieval is shared by both modes,
    the other metrics are `<mode>.<group>.<name>`."""
    modes = report["info"].get("modes", [])
    by_name = {c["metric"]: c for c in report["comparison"]}
    rows: dict[str, dict[str, Any]] = {}
    for name, entry in by_name.items():
        mode, _, short = name.partition(".")
        if mode not in ("extractive", "llm"):
            mode, short = "*", name
        row = rows.setdefault(short, {"metric": short, "cells": {}})
        for m in (modes if mode == "*" else [mode]):
            row["cells"][m] = entry
    return list(rows.values())


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _cell(entry: dict[str, Any] | None) -> tuple[str, str, str]:
    if entry is None:
        return "", "", ""
    tolerance = "" if entry["tolerance"] is None else f"±{entry['tolerance']:g}"
    return _fmt(entry["value"]), _fmt(entry["baseline"]), f"{entry['status']} {tolerance}".strip()


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict[str, Any]) -> str:
    info = report["info"]
    modes = info.get("modes", [])
    lines = [
        "# newsdesk eval report",
        "",
        f"{report['created']} · {info.get('cases')} cases · modes: {', '.join(modes)} · prompt {info.get('prompt')} · "
        f"model {info.get('model') or '—'} · embedder {info.get('embedding_model')} · "
        f"refusal threshold {info.get('relevance_threshold')} · today = {info.get('today')}",
        "",
        f"**Result: {'PASS' if report['passed'] else 'FAIL'}**",
        "",
    ]
    for error in report["errors"]:
        lines.append(f"- error: {_md(error)}")
    header = ["metric"] + [f"{m} | {m} baseline | {m} status" for m in modes]
    lines += ["## Metrics", "", "| " + " | ".join(header) + " |", "|" + "---|" * (1 + 3 * len(modes))]
    for row in metric_rows(report):
        cells = [row["metric"]]
        for m in modes:
            cells += list(_cell(row["cells"].get(m)))
        lines.append("| " + " | ".join(cells) + " |")
    adv = report["adversarial"]
    if adv["total"]:
        kinds = ", ".join(f"{k} {v['caught']}/{v['total']}" for k, v in adv["by_kind"].items())
        lines += ["", f"**Adversarial: caught {adv['caught']} of {adv['total']}** ({kinds})"]
    prov = report.get("provenance") or {}
    if prov:
        lines += ["", "## What is computed and what is replayed", "",
                  f"- **Computed:** {prov['computed']}.", f"- **Replayed:** {prov['replayed']}."]
    extra = summary_lines(report)
    if extra:
        lines += ["", "## Refusal, mutations, injections", ""] + [f"- {_md(x)}" for x in extra]
    missed = (report.get("mutations") or {}).get("missed") or []
    if missed:
        lines.append(f"- planted flaws not caught: {_md(', '.join(missed))}")
    lines += ["", "## Latency (ms)", "", "| mode | stage | p50 | p95 |", "|---|---|---|---|"]
    for mode, stages in report["latency_ms"].items():
        for stage, q in stages.items():
            lines.append(f"| {mode} | {stage} | {_fmt1(q['p50'])} | {_fmt1(q['p95'])} |")
    for mode in modes:
        failed = [c for c in report["cases"] if c["mode"] == mode and c["failures"]]
        total = sum(1 for c in report["cases"] if c["mode"] == mode)
        lines += ["", f"## Failed cases: {mode} ({len(failed)} of {total})", ""]
        if not failed:
            lines.append("None.")
            continue
        lines += ["| case | question | expected sources | cited sources | answer | why |", "|---|---|---|---|---|---|"]
        for c in failed:
            lines.append("| " + " | ".join(_md(x) for x in (
                c["id"], c["question"], ", ".join(c["expected_sources"]) or "(none: refuse)",
                ", ".join(c["cited_sources"]) or "(none)", c["answer"], "; ".join(c["failures"]),
            )) + " |")
    return "\n".join(lines) + "\n"


def _fmt1(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


# -- HTML ----------------------------------------------------------------------------------

_COLOURS = {"extractive": "#4e79a7", "llm": "#f28e2b", "baseline": "#bab0ac"}


def bar_chart(row: dict[str, Any], modes: list[str]) -> str:
    """An inline SVG: one bar per mode and one per baseline, on a 0-1 scale."""
    bars = []
    for m in modes:
        entry = row["cells"].get(m)
        if entry is None:
            continue
        bars.append((m, entry["value"], _COLOURS.get(m, "#59a14f")))
        bars.append((f"{m} baseline", entry["baseline"], _COLOURS["baseline"]))
    width, bar_h, gap, label_w = 360, 14, 4, 130
    height = len(bars) * (bar_h + gap)
    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="{html.escape(row["metric"])}">']
    for i, (label, value, colour) in enumerate(bars):
        y = i * (bar_h + gap)
        length = 0 if value is None else max(0.0, min(1.0, value)) * (width - label_w - 50)
        parts.append(f'<text x="0" y="{y + bar_h - 3}" font-size="11">{html.escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{bar_h}" fill="{colour}"/>')
        parts.append(f'<text x="{label_w + length + 4:.1f}" y="{y + bar_h - 3}" font-size="11">{_fmt(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: dict[str, Any]) -> str:
    e = html.escape
    info = report["info"]
    modes = info.get("modes", [])
    out = [
        "<!doctype html><html><head><meta charset='utf-8'><title>newsdesk eval report</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;font-size:13px}"
        ".FAIL{color:#b00;font-weight:bold}.improved{color:#070}.pass{color:#070}.fail{color:#b00}"
        "</style></head><body>",
        "<h1>newsdesk eval report</h1>",
        f"<p>{e(report['created'])} · {info.get('cases')} cases · modes: {e(', '.join(modes))} · prompt {e(str(info.get('prompt')))} · "
        f"model {e(str(info.get('model') or '—'))} · refusal threshold {info.get('relevance_threshold')}</p>",
        f"<h2 class='{'pass' if report['passed'] else 'fail'}'>{'PASS' if report['passed'] else 'FAIL'}</h2>",
    ]
    out += [f"<p class='fail'>error: {e(err)}</p>" for err in report["errors"]]
    out.append("<h2>Metrics</h2><table><tr><th>metric</th>" + "".join(
        f"<th>{e(m)}</th><th>baseline</th><th>status</th>" for m in modes) + "<th>chart</th></tr>")
    for row in metric_rows(report):
        cells = "".join(
            f"<td>{v}</td><td>{b}</td><td class='{s.split()[0] if s else ''}'>{e(s)}</td>"
            for v, b, s in (_cell(row["cells"].get(m)) for m in modes))
        out.append(f"<tr><td>{e(row['metric'])}</td>{cells}<td>{bar_chart(row, modes)}</td></tr>")
    out.append("</table>")
    adv = report["adversarial"]
    if adv["total"]:
        out.append(f"<p><b>Adversarial: caught {adv['caught']} of {adv['total']}</b> (" + e(", ".join(
            f"{k} {v['caught']}/{v['total']}" for k, v in adv["by_kind"].items())) + ")</p>")
    out.append("<h2>Latency (ms)</h2><table><tr><th>mode</th><th>stage</th><th>p50</th><th>p95</th></tr>")
    for mode, stages in report["latency_ms"].items():
        for stage, q in stages.items():
            out.append(f"<tr><td>{e(mode)}</td><td>{e(stage)}</td><td>{_fmt1(q['p50'])}</td><td>{_fmt1(q['p95'])}</td></tr>")
    out.append("</table>")
    for mode in modes:
        failed = [c for c in report["cases"] if c["mode"] == mode and c["failures"]]
        out.append(f"<h2>Failed cases: {e(mode)} ({len(failed)})</h2>")
        if failed:
            out.append("<table><tr>" + "".join(f"<th>{h}</th>" for h in (
                "case", "question", "expected sources", "cited sources", "answer", "why")) + "</tr>")
            for c in failed:
                out.append("<tr>" + "".join(f"<td>{e(str(x))}</td>" for x in (
                    c["id"], c["question"], ", ".join(c["expected_sources"]) or "(none: refuse)",
                    ", ".join(c["cited_sources"]) or "(none)", c["answer"], "; ".join(c["failures"]))) + "</tr>")
            out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)

"""The gate's training report: what it was fitted on, and its refusal figures where it was not
(out of fold, and with whole datasets left out), with 95% intervals and a reliability table.
Written to evals/gate/report.md and printed as tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.evals.gate_training import MAX_FALSE_REFUSALS, NEWS, Rate

INTRO = """# The answerability gate: training report

Written by `newsdesk eval train-gate`; the model is `service/answer/gate_model.json`. Every
figure below is measured on questions the model was not fitted on: out of fold (five folds,
grouped by question), or with the whole dataset left out of training. "false refusals": answerable
questions refused; "refusals": unanswerable ones refused (synthetic: perturbed copies of
answerable questions, SQuAD 2.0 style). Refusal counts off-topic questions too (best dense
cosine under the relevance threshold), as the engine does.
"""


def _rates(rows: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| dataset | mode | false refusals | refusals |", "|---|---|---|---|"]
    for name, modes in rows.items():
        for mode, r in modes.items():
            lines.append(f"| {name} | {mode} | {_rate(r['false_refusal'])} | {_rate(r['refusal'])} |")
    return lines


def _rate(value: Rate | dict[str, Any]) -> str:
    if isinstance(value, Rate):
        return str(value)
    return str(Rate(value["k"], value["n"]))


def report_text(info: dict[str, Any]) -> str:
    lines = [INTRO, "## Trained on", "", "| dataset | questions | answerable |", "|---|---|---|"]
    lines += [f"| {d} | {c['questions']} | {c['answerable']} |" for d, c in info["trained_on"].items()]
    t = info["thresholds"]
    lines += ["", f"Thresholds (refuse below the calibrated probability): extractive {t['extractive']:.4f}, with an "
              f"LLM {t['llm']:.4f}; each the highest that keeps out-of-fold false refusals of answerable news "
              f"questions ({', '.join(NEWS)}) at or under {MAX_FALSE_REFUSALS['extractive']:.0%} and "
              f"{MAX_FALSE_REFUSALS['llm']:.0%}.", "", "## Out of fold", ""]
    lines += _rates(info["out_of_fold"])
    for held, rows in info.get("left_out", {}).items():
        lines += ["", f"## Trained without {held}", ""] + _rates(rows)
    lines += ["", "## Reliability (out of fold, the real questions: perturbed copies left out)", "",
              "| predicted | questions | mean predicted | observed |",
              "|---|---|---|---|"]
    lines += [f"| {r['bin']} | {r['n']} | {r['predicted']:.3f} | {r['observed']:.3f} |" for r in info["reliability"]]
    return "\n".join(lines) + "\n"


def write_report(path: Path, info: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_text(info), encoding="utf-8")


def print_report(console, info: dict[str, Any]) -> None:
    from rich.table import Table

    for title, rows in [("out of fold", info["out_of_fold"]),
                        *[(f"trained without {k}", v) for k, v in info.get("left_out", {}).items()]]:
        table = Table(title=f"gate: {title}")
        for column in ("dataset", "mode", "false refusals", "refusals"):
            table.add_column(column)
        for name, modes in rows.items():
            for mode, r in modes.items():
                table.add_row(name, mode, _rate(r["false_refusal"]), _rate(r["refusal"]))
        console.print(table)
    table = Table(title="gate: reliability (out of fold)")
    for column in ("predicted", "questions", "mean predicted", "observed"):
        table.add_column(column)
    for r in info["reliability"]:
        table.add_row(r["bin"], str(r["n"]), f"{r['predicted']:.3f}", f"{r['observed']:.3f}")
    console.print(table)

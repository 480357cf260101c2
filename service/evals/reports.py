"""The eval report: the JSON record of a run, and its three files.

Reports go to `evals/reports/<timestamp>/`: `report.json` for machines, `report.md` and
`report.html` (with a bar chart per metric) for people. The two for people are one model
(`service.evals.report_view`) through two Jinja2 templates (`templates/report.md.j2`,
`templates/report.html.j2`). None of them carries secrets: no keys, headers or endpoint
URLs are ever put in them.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from service.evals.baseline import Comparison
from service.evals.report_view import ReportView, report_view
from service.evals.scoring import SuiteResult, failure_reasons

if TYPE_CHECKING:
    from service.evals.cases import CaseRun
    from service.evals.mutations import MutationResult


def case_record(run: CaseRun, texts: dict[str, str]) -> dict[str, Any]:
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


def build_report(result: SuiteResult, comparison: list[Comparison]) -> dict[str, Any]:
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


def mutation_record(results: list[MutationResult]) -> dict[str, Any]:
    by_flaw: dict[str, dict[str, int]] = {}
    for r in results:
        entry = by_flaw.setdefault(r.mutation.flaw, {"caught": 0, "total": 0, "control_flagged": 0})
        entry["caught"] += r.caught
        entry["total"] += 1
        entry["control_flagged"] += r.control_flagged
    return {"caught": sum(r.caught for r in results), "total": len(results), "by_flaw": by_flaw,
            "missed": [r.mutation.id for r in results if not r.caught]}


def provenance(result: SuiteResult) -> dict[str, Any]:
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


def write_reports(report: dict[str, Any], directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"json": directory / "report.json", "md": directory / "report.md", "html": directory / "report.html"}
    paths["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    view = report_view(report)
    paths["md"].write_text(render_markdown(view), encoding="utf-8")
    paths["html"].write_text(render_html(view), encoding="utf-8")
    return paths


def render_markdown(view: ReportView) -> str:
    return _templates("md").get_template("report.md.j2").render(view=view)


def render_html(view: ReportView) -> str:
    return _templates("html").get_template("report.html.j2").render(view=view)


def markdown_cell(value: Any) -> str:
    """Text that cannot break a Markdown table: pipes escaped, line breaks as spaces."""
    return str(value).replace("|", "\\|").replace("\n", " ")


@cache
def _templates(kind: str) -> jinja2.Environment:
    """HTML escapes every value it prints (autoescape); Markdown makes every value safe in a
    table cell (`finalize`), so no template can forget to."""
    loader = jinja2.PackageLoader("service.evals", "templates")
    if kind == "html":
        return jinja2.Environment(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                  undefined=jinja2.StrictUndefined)
    return jinja2.Environment(loader=loader, autoescape=False, finalize=markdown_cell, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)

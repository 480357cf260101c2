"""The eval report's two human files: one model (`report_view`) through two templates. What
a case says (a question, an answer, an error) is text in both: escaped for HTML, kept in its
table cell in Markdown."""

from __future__ import annotations

import json
import tomllib
from fnmatch import fnmatch
from pathlib import Path

from service.evals import reports
from service.evals.report_view import report_view

ROOT = Path(__file__).resolve().parents[2]
NASTY = "What <script>alert('x')</script> | happened\nnext?"


def comparison(metric: str, value: float | None, baseline: float | None, status: str = "ok",
               tolerance: float | None = 0.02) -> dict:
    return {"metric": metric, "value": value, "baseline": baseline, "tolerance": tolerance,
            "direction": "higher", "status": status}


def failed_case(mode: str, **fields) -> dict:
    return {"id": "c1", "mode": mode, "question": NASTY, "expected_sources": ["a1"], "cited_sources": [],
            "answer": "An answer | with a pipe [1].", "failures": ["expected sources not cited: a1"]} | fields


def a_report(**fields) -> dict:
    return {
        "created": "2025-11-01T00:00:00+00:00",
        "info": {"cases": 2, "modes": ["extractive", "llm"], "prompt": "answer.v1", "model": None,
                 "embedding_model": "test-embedder", "relevance_threshold": 0.26, "today": "2025-11-01"},
        "comparison": [comparison("retrieval.hit@1", 0.9, 0.95, "FAIL"),
                       comparison("llm.adversarial.caught", 1.0, 1.0, tolerance=0.0),
                       comparison("extractive.citations.recall", None, 0.5, "not run")],
        "passed": False,
        "errors": ["case 'c9': <b>boom</b> | the model\nfailed"],
        "adversarial": {"caught": 1, "total": 2, "by_kind": {"fabricated_quote": {"caught": 1, "total": 2}}},
        "latency_ms": {"extractive": {"total": {"p50": 12.34, "p95": None}}},
        "refusal": {"llm": {"refusal_precision": {"hits": 3, "of": 3, "ci95": [0.44, 1.0]},
                            "refusal_recall": {"hits": 3, "of": 4, "ci95": [0.3, 0.95]},
                            "false_refusal": {"hits": 0, "of": 0, "ci95": None}}},
        "mutations": {"caught": 1, "total": 2, "by_flaw": {"wrong_citation": {"caught": 1, "total": 2}},
                      "missed": ["m-2"]},
        "injections": {},
        "provenance": {"computed": "retrieval.*", "replayed": "llm.*", "served": {"scripted": 1}},
        "cases": [failed_case("extractive"), failed_case("llm", failures=[]),
                  failed_case("llm", id="c2", failures=[])],
    } | fields


def test_html_escapes_what_the_cases_say():
    page = reports.render_html(report_view(a_report()))
    assert "<script>" not in page and "<b>boom</b>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "error: case &#39;c9&#39;: &lt;b&gt;boom&lt;/b&gt;" in page
    assert "<h2 class='fail'>FAIL</h2>" in page and "<td class='FAIL'>FAIL ±0.02</td>" in page
    assert '<svg width="360" height="72" role="img" aria-label="retrieval.hit@1">' in page


def test_markdown_keeps_every_value_in_its_table_cell():
    text = reports.render_markdown(report_view(a_report()))
    lines = text.splitlines()
    [row] = [line for line in lines if line.startswith("| c1 |")]
    assert row == ("| c1 | What <script>alert('x')</script> \\| happened next? | a1 | (none) | "
                   "An answer \\| with a pipe [1]. | expected sources not cited: a1 |")
    assert "- error: case 'c9': <b>boom</b> \\| the model failed" in lines
    assert "| retrieval.hit@1 | 0.900 | 0.950 | FAIL ±0.02 | 0.900 | 0.950 | FAIL ±0.02 |" in lines
    assert "| adversarial.caught |  |  |  | 1.000 | 1.000 | ok ±0 |" in lines
    assert "| citations.recall | — | 0.500 | not run ±0.02 |  |  |  |" in lines
    assert "| extractive | total | 12.3 | — |" in lines
    assert "- planted flaws not caught: m-2" in lines
    assert "## Failed cases: llm (0 of 2)" in lines and lines[-1] == "None."
    assert text.endswith("None.\n") and "model — ·" in text


def test_both_files_say_the_same_from_one_model():
    view = report_view(a_report())
    markdown, page = reports.render_markdown(view), reports.render_html(view)
    assert "**Result: FAIL**" in markdown
    assert "**Adversarial: caught 1 of 2** (fabricated_quote 1/2)" in markdown
    assert "<b>Adversarial: caught 1 of 2</b> (fabricated_quote 1/2)" in page
    assert "refusal llm: precision 3/3 (95% CI 0.44–1.00), recall 3/4 (95% CI 0.30–0.95), false refusals 0/0" \
        in view.summary[0]
    assert view.summary[-1] == "LLM-mode figures are replays: scripted 1"
    # The HTML says everything the Markdown says: the same header, sections and counts.
    for said in ("embedder test-embedder", "today = 2025-11-01", "What is computed and what is replayed",
                 "Refusal, mutations, injections", "planted flaws not caught: m-2", "Failed cases: llm (0 of 2)"):
        assert said in markdown and said in page
    assert view.summary[0] in page and "<p>None.</p>" in page


def test_a_sparse_report_leaves_its_sections_out(tmp_path):
    report = a_report(passed=True, errors=[], adversarial={"caught": 0, "total": 0, "by_kind": {}},
                      provenance={}, refusal={}, mutations={"caught": 0, "total": 0, "by_flaw": {}, "missed": []},
                      cases=[])
    paths = reports.write_reports(report, tmp_path / "r")
    markdown = paths["md"].read_text(encoding="utf-8")
    assert "Adversarial" not in markdown and "replayed" not in markdown and "Refusal, mutations" not in markdown
    assert "## Failed cases: extractive (0 of 0)\n\nNone." in markdown
    assert json.loads(paths["json"].read_text(encoding="utf-8")) == report
    assert "<h2 class='pass'>PASS</h2>" in paths["html"].read_text(encoding="utf-8")


def test_the_templates_ship_as_package_data():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    templates = [p.relative_to(ROOT / "service").as_posix() for p in (ROOT / "service/evals/templates").iterdir()]
    assert templates
    for name in templates:
        assert any(fnmatch(name, pattern) for pattern in declared["service"]), name

"""`newsdesk eval ...`: the eval suite, the BEIR benchmark and the refusal-threshold
calibration. Errors are raised as `EvalError` and printed by the CLI's one handler."""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from service.config import DEFAULT_EVALS_DIR, Settings
from service.errors import EvalError
from service.evals.progress import bar as _progress

if TYPE_CHECKING:
    from service.evals.baseline import Comparison

DEFAULT_CASES = DEFAULT_EVALS_DIR / "cases.jsonl"
DEFAULT_BASELINE = DEFAULT_EVALS_DIR / "baseline.json"
DEFAULT_CASSETTES = DEFAULT_EVALS_DIR / "cassettes"
DEFAULT_REPORTS = DEFAULT_EVALS_DIR / "reports"
DEFAULT_MUTATIONS = DEFAULT_EVALS_DIR / "mutations" / "mutations.jsonl"
DEFAULT_INJECTIONS = DEFAULT_EVALS_DIR / "injections"


def _eval_components(settings: Settings, collection: str | None, corpus, console):
    from service.components import Components
    from service.evals.runner import EVAL_COLLECTION, prepare_index

    components = Components.build(settings, collection=collection or EVAL_COLLECTION)
    prepare_index(components, corpus, console)
    return components


# -- newsdesk eval ------------------------------------------------------------------------------------

def cmd_eval(args, settings: Settings, *, components=None, console=None) -> int:
    """`components` over an index that already holds the corpus may be passed in (tests do)."""
    from rich.console import Console

    from service.evals import reports as reporting
    from service.evals.cases import load_cases, load_corpus
    from service.evals.runner import (
        DEFAULT_REPLAY_MODEL,
        MODES,
        RecordOptions,
        run_suite,
    )

    console = console or Console()
    corpus = load_corpus(Path(args.corpus) if args.corpus else settings.sample_corpus_dir)
    cases_path = Path(args.cases) if args.cases else DEFAULT_CASES
    cases = load_cases(cases_path, corpus)
    if args.only:
        cases = [c for c in cases if c.id in set(args.only)]
        if not cases:
            raise EvalError(f"no case has id(s) {', '.join(args.only)}")
    modes = MODES if args.mode == "both" else (args.mode,)
    record = None
    if args.record:
        model = args.model or settings.llm_model
        if not model:
            raise EvalError("--record needs a model: --model NAME or NEWSDESK_LLM_MODEL")
        record = RecordOptions(args.base_url, model, settings)
        modes = tuple(dict.fromkeys([*modes, "llm"]))
    components = components or _eval_components(settings, args.collection, corpus, console)

    with _progress(console, "eval", len(cases) * len(modes)) as progress:
        task = progress.add_task("eval", total=len(cases) * len(modes))
        # The mutation set names the committed cases: it runs with all of them.
        all_cases = cases_path.resolve() == DEFAULT_CASES.resolve() and not args.only
        result = run_suite(components, cases, corpus, modes=modes, cassettes=Path(args.cassettes),
                           model=args.model or settings.llm_model or DEFAULT_REPLAY_MODEL, record=record,
                           progress=lambda mode, case: progress.advance(task),
                           mutations=DEFAULT_MUTATIONS if all_cases else None, injections=DEFAULT_INJECTIONS)

    comparison, baseline_path = _compare_with_baseline(args, cases_path, result, console)
    report = reporting.build_report(result, comparison)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    paths = reporting.write_reports(report, Path(args.report_dir) if args.report_dir else DEFAULT_REPORTS / stamp)
    print_summary(console, report, paths, baseline_path)
    return 0 if report["passed"] else 1


def _compare_with_baseline(args, cases_path: Path, result, console) -> tuple[list[Comparison], Path | None]:
    """The run against its baseline (rewritten first with --update-baseline), and the
    baseline's path; None when this case file has no baseline to compare with."""
    from service.evals import baseline as baselines

    # The committed baseline describes all the committed cases; another case file (exported
    # feedback, say) or a subset (--only) is compared only with a baseline named explicitly.
    baseline_path = Path(args.baseline) if args.baseline else DEFAULT_BASELINE
    use_baseline = bool(args.baseline) or (cases_path.resolve() == DEFAULT_CASES.resolve() and not args.only)
    baseline = baselines.load_baseline(baseline_path) if use_baseline else {}
    if args.update_baseline:
        if not use_baseline:
            raise EvalError("--update-baseline with --cases or --only needs --baseline FILE "
                            "(the committed baseline covers all the committed cases)")
        if result.errors:
            raise EvalError(f"not updating the baseline: {len(result.errors)} case(s) failed to run: {result.errors[0]}")
        data = baselines.updated_baseline(result.metrics, baseline, result.info)
        baselines.write_baseline(baseline_path, data)
        baseline = data["metrics"]
        console.print(f"baseline written: {baseline_path}")
    return baselines.compare(result.metrics, baseline), baseline_path if use_baseline else None


def cmd_record(args, settings: Settings, **kwargs) -> int:
    """`newsdesk eval record --model M`: `newsdesk eval --record` under its own name."""
    args.record = True
    return cmd_eval(args, settings, **kwargs)


def print_summary(console, report, paths, baseline_path) -> None:
    from rich.table import Table

    from service.evals.report_view import metric_rows, summary_lines

    modes = report["info"]["modes"]
    table = Table(title=f"newsdesk eval: {report['info']['cases']} cases")
    table.add_column("metric", no_wrap=True)
    for m in modes:
        table.add_column(m, justify="right")
    table.add_column("baseline", justify="right")
    table.add_column("status")
    rank = {"FAIL": 0, "improved": 1, "new": 2, "ok": 3, "not run": 4}
    for row in metric_rows(report):
        entries = [row["cells"].get(m) for m in modes]
        present = [e for e in entries if e is not None]
        worst = min((e["status"] for e in present), key=lambda s: rank.get(s, 5), default="")
        style = {"FAIL": "bold red", "improved": "green"}.get(worst)
        tolerance = next((e["tolerance"] for e in present if e["tolerance"] is not None), None)
        status = (f"[{style}]{worst}[/]" if style else worst) + ("" if tolerance is None else f" ±{tolerance:g}")
        baselines = " / ".join(_num(e["baseline"]) if e else "" for e in entries)
        table.add_row(row["metric"], *(_num(e["value"]) if e else "" for e in entries), baselines, status)
    console.print(table)
    adv = report["adversarial"]
    if adv["total"]:
        console.print(f"adversarial: caught {adv['caught']} of {adv['total']}")
    for line in summary_lines(report):
        console.print(line, highlight=False, soft_wrap=True)
    for mode, stages in report["latency_ms"].items():
        console.print(f"latency {mode}: " + ", ".join(
            f"{stage} p50 {q['p50']:.0f} ms / p95 {q['p95']:.0f} ms" for stage, q in stages.items()))
    for mode in modes:
        failed = sum(1 for c in report["cases"] if c["mode"] == mode and c["failures"])
        console.print(f"{mode}: {failed} case(s) with failures (see the report)")
    for error in report["errors"]:
        console.print(f"[bold red]error[/] {error}", highlight=False, soft_wrap=True)
    console.print(f"report: {paths['md']} (also {paths['html'].name}, {paths['json'].name})")
    if baseline_path is None:
        console.print("no baseline comparison for this case file (pass --baseline FILE to compare)")
    if report["passed"]:
        console.print("[bold green]PASS[/]")
    else:
        console.print("[bold red]FAIL[/]: a metric fell beyond its tolerance or a case failed to run")


def _num(value) -> str:
    return "—" if value is None else f"{value:.3f}"


# -- newsdesk eval beir ---------------------------------------------------------------------------

def beir_collection_name(folder: Path, limit: int | None) -> str:
    name = re.sub(r"[^a-zA-Z0-9._-]+", "-", folder.resolve().name).strip("-._") or "dataset"
    return f"beir-{name}" + (f"-{limit}" if limit else "")


def open_beir_index(settings: Settings, folder: Path, split: str, *, limit_docs: int | None,
                    collection: str | None, console):
    """The dataset and components over its own collection, ingested unless already complete."""
    from service.components import Components
    from service.evals.beir import index_complete, load_dataset
    from service.ingest.run import run_ingest

    dataset = load_dataset(folder, split, limit_docs)
    components = Components.build(settings, collection=collection or beir_collection_name(folder, limit_docs))
    if index_complete(components.store, dataset.articles):
        console.print(f"reusing collection {components.collection!r} ({len(dataset.articles)} documents)")
    else:
        console.print(f"indexing {len(dataset.articles)} documents into {components.collection!r} "
                      "(once; later runs reuse it)")
        if run_ingest(dataset.articles, [], components, console):
            raise EvalError(f"some documents of {folder} failed to ingest")
    return dataset, components


def cmd_beir(args, settings: Settings, *, console=None) -> int:
    from rich.console import Console
    from rich.table import Table

    from service.evals.beir import (
        BEIR_MODES,
        document_rankings,
        published,
        retrieve_rankings,
        score_rankings,
    )

    console = console or Console()
    folder = Path(args.dir)
    dataset, components = open_beir_index(settings, folder, args.split, limit_docs=args.limit_docs,
                                          collection=args.collection, console=console)
    queries = dict(list(dataset.queries.items())[: args.limit_queries])
    retriever = components.retriever
    with _progress(console, "queries", len(queries)) as progress:
        task = progress.add_task("queries", total=len(queries))
        rankings = retrieve_rankings(retriever, queries, depth=args.depth, progress=lambda: progress.advance(task))
    # Hybrid is exactly what the retriever serves: its fusion over its own candidate depth.
    ranked = {qid: document_rankings(r) for qid, r in rankings.items()}
    scores = score_rankings(ranked, dataset.qrels)
    table = Table(title=f"BEIR {dataset.name} ({args.split}): {len(queries)} queries, {len(dataset.articles)} documents, "
                        f"scored per document (best chunk)")
    for column in ("retrieval", "nDCG@10", "recall@10", "recall@100", "MRR@10", "published nDCG@10"):
        table.add_column(column, justify="left" if column == "retrieval" else "right")
    for mode in BEIR_MODES:
        s = scores[mode]
        table.add_row(mode, *(f"{s[k]:.3f}" for k in ("ndcg@10", "recall@10", "recall@100", "mrr@10")),
                      published(dataset.name, mode) or "—")
    console.print(table)
    if args.gate:
        from service.evals.beir import gate_refusals
        from service.evals.scoring import wilson

        with _progress(console, "gate", len(queries)) as progress:
            task = progress.add_task("gate", total=len(queries))
            refused = gate_refusals(components.engine, queries, progress=lambda: progress.advance(task))
        # The gate trains on the even query ids of SciFact train (evals/gate/datasets.yaml): the
        # odd ones are the figure it was not fitted on.
        halves = {"all": list(refused), "odd ids (not trained on)": [q for q in refused if q.isdigit() and int(q) % 2],
                  "even ids (trained on)": [q for q in refused if q.isdigit() and not int(q) % 2]}
        for label, ids in halves.items():
            if not ids:
                continue
            k = sum(refused[q] for q in ids)
            low, high = wilson(k, len(ids)) or (0.0, 0.0)
            console.print(f"answerability gate, {label}: refused {k} of {len(ids)} queries that have relevant "
                          f"documents (false refusals {k / len(ids):.1%}, 95% CI {low:.1%}–{high:.1%})")
    console.print(f"settings: fusion={retriever.fusion} weights={retriever.weights} "
                  f"candidates={retriever.candidates} depth={args.depth} chunk_size={settings.chunk_size} overlap={settings.chunk_overlap} "
                  f"embedder={components.embedder.model_id}")
    if args.json:
        Path(args.json).write_text(json.dumps({"dataset": dataset.name, "split": args.split, "queries": len(queries),
                                               "scores": scores}, indent=2) + "\n", encoding="utf-8")
    return 0


# -- newsdesk eval calibrate -------------------------------------------------------------------------

def cmd_calibrate(args, settings: Settings, *, console=None) -> int:
    from rich.console import Console
    from rich.table import Table

    from service.evals import calibration
    from service.evals.cases import load_cases, load_corpus

    console = console or Console()
    corpus = load_corpus(settings.sample_corpus_dir)
    cases = load_cases(Path(args.cases) if args.cases else DEFAULT_CASES, corpus)
    news = _eval_components(settings, None, corpus, console)
    samples = calibration.eval_case_samples(news.retriever, cases)
    if args.beir:
        dataset, beir = open_beir_index(settings, Path(args.beir), args.split, limit_docs=None, collection=None,
                                        console=console)
        queries = dict(list(dataset.queries.items())[: args.limit_queries])
        with _progress(console, "calibrate", len(queries)) as progress:
            task = progress.add_task("calibrate", total=len(queries))
            samples += calibration.beir_samples(beir.store, beir.embedder, news.retriever, queries, dataset.qrels,
                                                dataset.name, progress=lambda: progress.advance(task))

    table = Table(title="best dense cosine similarity")
    for column in ("questions", "n", "min", "p5", "p50", "p95", "max"):
        table.add_column(column, justify="left" if column == "questions" else "right")
    for sample in samples:
        d = calibration.describe(sample)
        table.add_row(sample.label, str(d["n"]),
                      *(_num(d[k]) for k in ("min", "p5", "p50", "p95", "max")))
    console.print(table)

    chosen = calibration.choose_threshold(samples, keep=args.keep)
    grid = sorted({round(0.05 * i, 2) for i in range(2, 13)} | {chosen.threshold, settings.relevance_threshold})
    table = Table(title="refusing below the threshold: answerable kept, unanswerable refused")
    table.add_column("threshold", justify="right")
    for sample in samples:
        table.add_column(("kept " if sample.answerable else "refused ") + sample.name, justify="right")
    for column in ("refusal P", "refusal R", "F1", "all kept"):
        table.add_column(column, justify="right")
    for threshold in grid:
        point = calibration.operating_point(samples, threshold)
        cells = []
        for sample in samples:
            kept = calibration.share_at_least(sample.scores, threshold)
            value = kept if sample.answerable or kept is None else 1 - kept
            cells.append("—" if value is None else f"{value:.1%}")
        marks = " *" if threshold == chosen.threshold else ""
        marks += " (now)" if threshold == settings.relevance_threshold else ""
        table.add_row(f"{threshold:.2f}{marks}", *cells, _num(point.refusal_precision), _num(point.refusal_recall),
                      f"{point.refusal_f1:.3f}", f"{point.keep:.1%}")
    console.print(table)
    console.print("* chosen: the best refusal F1 among thresholds that keep the target share of answerable questions")
    console.print(f"recommended NEWSDESK_RELEVANCE_THRESHOLD={chosen.threshold:.2f}: keeps {chosen.keep:.1%} of "
                  f"answerable questions (target ≥ {args.keep:.0%}), refusal F1 {chosen.refusal_f1:.3f} "
                  f"(current setting {settings.relevance_threshold})")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "threshold": chosen.threshold, "keep": chosen.keep, "refusal_f1": chosen.refusal_f1,
            "samples": {s.label: calibration.describe(s) for s in samples},
        }, indent=2) + "\n", encoding="utf-8")
    return 0


# -- the parser --------------------------------------------------------------------------------

def register(sub: argparse._SubParsersAction) -> None:
    from service.evals.runner import DEFAULT_REPLAY_MODEL

    p = sub.add_parser(
        "eval", help="run the eval suite (extractive and LLM replay), or `eval beir DIR`, `eval calibrate`",
        description="Run the eval cases through the real pipeline, compare with the baseline and write reports. "
                    "Exit 1 when a metric falls beyond its tolerance or a case cannot run.",
    )
    p.add_argument("--mode", choices=("both", "extractive", "llm"), default="both")
    p.add_argument("--cases", help=f"a JSONL case file (default {DEFAULT_CASES.relative_to(DEFAULT_EVALS_DIR.parent)})")
    p.add_argument("--only", action="append", metavar="CASE_ID", help="run only this case (repeatable)")
    p.add_argument("--corpus", help="the articles the cases are about (default: the sample corpus)")
    p.add_argument("--collection", help="index collection to (re)use (default eval-sample)")
    p.add_argument("--baseline", help="baseline file (default evals/baseline.json)")
    p.add_argument("--update-baseline", action="store_true", help="rewrite the baseline with this run's figures")
    p.add_argument("--report-dir", help="where to write the reports (default evals/reports/<timestamp>)")
    p.add_argument("--cassettes", default=str(DEFAULT_CASSETTES), help="cassette folder (default evals/cassettes)")
    p.add_argument("--record", action="store_true",
                   help="call a live OpenAI-compatible endpoint and write cassettes (key from NEWSDESK_LLM_API_KEY "
                        "or OPENAI_API_KEY; it is never written)")
    p.add_argument("--base-url", help="the live endpoint for --record (default NEWSDESK_LLM_BASE_URL / OPENAI_BASE_URL)")
    p.add_argument("--model", help=f"model name: recorded with --record, looked up on replay (default "
                                   f"NEWSDESK_LLM_MODEL or {DEFAULT_REPLAY_MODEL})")
    p.set_defaults(func=cmd_eval)
    kinds = p.add_subparsers(dest="eval_command", required=False)

    b = kinds.add_parser("beir", help="retrieval figures (dense, lexical, hybrid) on a BEIR-format folder")
    b.add_argument("dir", help="folder with corpus.jsonl, queries.jsonl and qrels/<split>.tsv")
    b.add_argument("--split", default="test", help="qrels split (default test)")
    b.add_argument("--limit-docs", type=int, help="index only the first N documents")
    b.add_argument("--limit-queries", type=int, help="score only the first N queries")
    b.add_argument("--collection", help="collection name (default beir-<folder name>)")
    b.add_argument("--depth", type=int, default=300, help="chunks fetched per retriever (default 300)")
    b.add_argument("--json", help="also write the figures to this file")
    b.add_argument("--gate", action="store_true",
                   help="also run the answerability gate on every query: each refusal is a false one")
    b.set_defaults(func=cmd_beir)

    r = kinds.add_parser("record", help="answer every case with a live model and write its cassettes (provenance: that model)")
    r.add_argument("--model", dest="model", required=True, help="the model to record, e.g. gpt-4o-mini")
    r.add_argument("--base-url", dest="base_url", help="OpenAI-compatible endpoint (default NEWSDESK_LLM_BASE_URL / OPENAI_BASE_URL)")
    r.set_defaults(func=cmd_record)

    c = kinds.add_parser("calibrate", help="measure the refusal threshold on the eval cases (and a BEIR folder)")
    c.add_argument("--beir", help="a BEIR-format folder: its queries give answerable and unanswerable samples")
    c.add_argument("--split", default="test", help="qrels split of the BEIR folder (default test)")
    c.add_argument("--limit-queries", type=int, help="use only the first N BEIR queries")
    c.add_argument("--cases", help="case file (default evals/cases.jsonl)")
    c.add_argument("--keep", type=float, default=0.98, help="share of answerable questions to keep (default 0.98)")
    c.add_argument("--json", help="also write the figures to this file")
    c.set_defaults(func=cmd_calibrate)

    from service.evals import follows, gate_command, multihop_command, timelines

    timelines.register(kinds)
    follows.register(kinds)
    gate_command.register(kinds)
    multihop_command.register(kinds)

"""`newsdesk eval multihop DIR`: the MultiHop-RAG figures per question type (see
service/evals/multihop.py), printed as a table, written as JSON, and gated by
evals/baseline-multihop.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from service.config import DEFAULT_EVALS_DIR, Settings
from service.errors import EvalError
from service.evals.gate_training import Rate

DEFAULT_BASELINE = DEFAULT_EVALS_DIR / "baseline-multihop.json"
TOLERANCES = {"rate": 0.03, "mean": 0.02}  # about one question in 30 of a rate; 0.02 of a mean


def _cell(value: Any) -> str:
    if isinstance(value, Rate):
        if not value.n:
            return "—"
        low, high = value.as_dict()["ci95"]
        return f"{value.value:.3f} [{low:.2f}, {high:.2f}] of {value.n}"
    if value["value"] is None:
        return "—"
    low, high = value["ci95"]
    return f"{value['value']:.3f} [{low:.2f}, {high:.2f}]"


def print_table(console, table: dict[str, dict[str, Any]]) -> None:
    """Figures down, question types across; each cell the value, its 95% interval and, for a
    rate, how many questions it is of."""
    from rich.console import Console
    from rich.table import Table

    out = Table(title="MultiHop-RAG: each figure, its 95% interval (Wilson for rates, bootstrap for means)")
    out.add_column("figure", no_wrap=True)
    for group in table:
        out.add_column(group.replace("_query", ""), justify="right", no_wrap=True)
    for name in next(iter(table.values())):
        out.add_row(name, *(_cell(figures[name]) for figures in table.values()))
    # Wide enough for the six columns whatever the terminal (CI logs are not one).
    Console(width=max(console.width, 190), file=console.file, force_terminal=console.is_terminal).print(out)


def _json(table: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {group: {k: (v.as_dict() if isinstance(v, Rate) else v) for k, v in figures.items()}
            for group, figures in table.items()}


def _baseline_step(args, values: dict[str, float | None], info: dict[str, Any], console) -> bool:
    from service.evals import baseline as base
    from service.evals.multihop import LOWER_IS_BETTER

    path = Path(args.baseline) if args.baseline else DEFAULT_BASELINE
    old = base.load_baseline(path)
    if args.update_baseline:
        data = base.updated_baseline(values, old, info)
        for name, entry in data["metrics"].items():
            entry.setdefault("direction", "higher")
            if name not in old:
                entry["direction"] = "lower" if name in LOWER_IS_BETTER else "higher"
                entry["tolerance"] = TOLERANCES["mean" if "recall@" in name or "precision" in name else "rate"]
        data["about"] = "newsdesk eval multihop baseline; rewrite with `newsdesk eval multihop DIR --update-baseline`"
        base.write_baseline(path, data)
        console.print(f"baseline written: {path}")
        old = data["metrics"]
    rows = base.compare(values, old)
    for row in rows:
        if row.status != "ok":
            shown = "—" if row.value is None else f"{row.value:.4f}"
            console.print(f"  {row.metric}: {shown} (baseline {row.baseline}, ±{row.tolerance}) {row.status}")
    passed = not any(r.failed for r in rows)
    console.print(f"[bold]{'PASS' if passed else 'FAIL'}[/bold] against {path}" if old else "no baseline to compare with")
    return passed


def cmd_multihop(args, settings: Settings, *, console=None) -> int:
    from rich.console import Console

    from service.components import Components
    from service.evals.cases import Corpus
    from service.evals.multihop import ask_all, by_type, load, metric_values
    from service.evals.progress import bar as _progress
    from service.evals.runner import build_engine, prepare_index

    console = console or Console()
    folder = Path(args.dir)
    if not (folder / "queries.json").is_file():
        raise EvalError(f"not a MultiHop-RAG folder: {folder / 'queries.json'} is missing")
    articles, items, gold = load(folder)
    if args.limit:
        items = items[: args.limit]
    components = Components.build(settings, collection=args.collection or "eval-multihop")
    prepare_index(components, Corpus(articles), console)
    engine = build_engine(components)
    with _progress(console, "multihop", len(items)) as progress:
        task = progress.add_task("multihop", total=len(items))
        asked = ask_all(engine, items, gold, progress=lambda: progress.advance(task))
    table = by_type(asked)
    print_table(console, table)
    values = metric_values(table)
    info = {"questions": len(items), "folder": folder.name, "gate": engine.gate.model.info.get("trained_on", {}),
            "relevance_threshold": settings.relevance_threshold}
    if args.json:
        Path(args.json).write_text(json.dumps({"info": info, "figures": _json(table)}, indent=2) + "\n", encoding="utf-8")
    if args.limit and not args.baseline:
        return 0  # a subset is not what the baseline describes
    return 0 if _baseline_step(args, values, info, console) else 1


def register(kinds) -> None:
    m = kinds.add_parser("multihop", help="MultiHop-RAG news questions: refusals, evidence, citations and short "
                                          "answers per question type, gated by evals/baseline-multihop.json")
    m.add_argument("dir", help="a MultiHop-RAG folder (queries.json, ground_truth.json, corpus.jsonl)")
    m.add_argument("--collection", help="collection name (default eval-multihop)")
    m.add_argument("--limit", type=int, help="ask only the first N questions (not compared with the baseline)")
    m.add_argument("--baseline", help=f"baseline file (default {DEFAULT_BASELINE.relative_to(DEFAULT_EVALS_DIR.parent)})")
    m.add_argument("--update-baseline", action="store_true", help="rewrite the baseline with this run's figures")
    m.add_argument("--json", help="also write every figure to this file")
    m.set_defaults(func=cmd_multihop)

"""`newsdesk bench load`: `/v1/ask` under overload, against `newsdesk serve` in its own process.

Two phases on the sample corpus, each for a fixed time, while probes time `/healthz` and
an article read every 50 ms, from a process of their own:

1. an instant fake OpenAI server: throughput and latency when the LLM keeps up;
2. a fake OpenAI server that never answers (each call ends at the LLM timeout with the
   degraded extractive answer), driven by more clients than the ask gate admits.

Targets: `/healthz` p99 <= 50 ms in both phases; a shed ask (503 `overloaded`) answered in
<= 100 ms; no 5xx other than those deliberate 503s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

import numpy as np

from service.config import DEFAULT_EVALS_DIR, Settings
from service.evals.fake_llm import FakeOpenAI, HangingOpenAI
from service.evals.load import Served, overload

SHED = "shed (503 overloaded)"


def questions() -> list[str]:
    lines = (DEFAULT_EVALS_DIR / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def pct(values: list[float], q: float) -> str:
    return f"{np.percentile(values, q):.1f}" if values else "-"


def run_phase(index_dir: Path, log: Path, llm_url: str, args, concurrency: int, console, title: str) -> dict:
    served = Served(index_dir, log, llm_model="bench-fake-llm", llm_base_url=llm_url, llm_api_key="bench-not-a-key",
                    llm_max_retries=0, llm_timeout_s=args.llm_timeout, ask_concurrency=args.ask_concurrency,
                    ask_queue=args.ask_queue)
    try:
        console.print(f"{title}: starting newsdesk serve (log {log})")
        served.wait_ready()
        console.print(f"{title}: {concurrency} clients for {args.seconds:g} s")
        return asyncio.run(overload(served.url, questions(), concurrency, args.seconds))
    finally:
        served.close()


def report(console, title: str, result: dict) -> dict[str, float]:
    from rich.table import Table

    outcomes = result["outcomes"]
    total = sum(outcomes.values())
    shed, answered, healthz = result["shed"], result["answered"], result["probes"]["/healthz"]
    probe_shed = result["probe_shed"]
    articles = result["probes"]["/v1/articles?limit=5"]
    other_5xx = sum(n for kind, n in outcomes.items() if kind.startswith("HTTP 5"))
    rows = [
        ("asks sent / responses per s", f"{total} / {total / result['wall']:.1f}"),
        *((f"  {kind}", f"{n}") for kind, n in sorted(outcomes.items())),
        ("shed fraction", f"{(outcomes[SHED] / total if total else 0):.3f}"),
        ("answered (200) per s", f"{len(answered) / result['wall']:.1f}"),
        ("answer latency p50 / p95 / p99 (ms)", f"{pct(answered, 50)} / {pct(answered, 95)} / {pct(answered, 99)}"),
        ("shed latency, load clients: p50 / p99 / max (ms)",
         f"{pct(shed, 50)} / {pct(shed, 99)} / {max(shed):.1f}" if shed else "- (none shed)"),
        ("shed latency, probe: p50 / p99 / max (ms, target <= 100)",
         f"{pct(probe_shed, 50)} / {pct(probe_shed, 99)} / {max(probe_shed):.1f} ({len(probe_shed)})"
         if probe_shed else "- (none shed)"),
        ("/healthz p50 / p99 / max (ms, target p99 <= 50)",
         f"{pct(healthz, 50)} / {pct(healthz, 99)} / {max(healthz):.1f} ({len(healthz)} probes)"),
        ("GET /v1/articles p50 / p99 (ms)", f"{pct(articles, 50)} / {pct(articles, 99)}"),
        ("5xx other than deliberate 503s (target 0)", f"{other_5xx}"),
        ("failed probes", ", ".join(f"{k}: {v}" for k, v in result["probe_failures"].items()) or "0"),
    ]
    table = Table(title=title)  # bench.print_figures' layout (figures.print_figures)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    return {"healthz_p99": float(np.percentile(healthz, 99)) if healthz else float("nan"),
            "shed_p99": float(np.percentile(probe_shed, 99)) if probe_shed else 0.0, "other_5xx": other_5xx}


def cmd_bench_load(args, settings: Settings) -> int:
    from rich.console import Console

    console = Console()
    args.ask_concurrency = args.ask_concurrency or settings.ask_concurrency
    args.ask_queue = 4 * args.ask_concurrency if args.ask_queue is None else args.ask_queue
    instant, hanging = FakeOpenAI(), HangingOpenAI()
    figures = {}
    try:
        with tempfile.TemporaryDirectory(prefix="newsdesk-bench-load-") as tmp:
            index_dir, logs = Path(tmp) / "index", Path(args.logs or tmp)
            logs.mkdir(parents=True, exist_ok=True)
            gate = f"ask gate {args.ask_concurrency} running + {args.ask_queue} waiting"
            result = run_phase(index_dir, logs / "serve-instant.log", instant.url, args, args.concurrency, console,
                               "instant LLM")
            figures["instant"] = report(console, f"instant fake LLM, {args.concurrency} clients, {gate}", result)
            result = run_phase(index_dir, logs / "serve-hanging.log", hanging.url, args, args.overload_concurrency,
                               console, "hanging LLM")
            figures["hanging"] = report(console, f"hanging fake LLM (timeout {args.llm_timeout:g} s), "
                                                 f"{args.overload_concurrency} clients, {gate}", result)
    finally:
        instant.close()
        hanging.close()
    met = all(f["healthz_p99"] <= 50 and f["shed_p99"] <= 100 and f["other_5xx"] == 0 for f in figures.values())
    console.print("targets " + ("met" if met else "[red]NOT met[/red]") + ": /healthz p99 <= 50 ms, "
                  "shed asks answered <= 100 ms, no 5xx but deliberate 503s")
    return 0


def register(kinds: argparse._SubParsersAction) -> None:
    p = kinds.add_parser("load", help="/v1/ask under overload with an instant and a hanging fake LLM; "
                                      "/healthz latency, shed fraction and latency")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each phase (default 20)")
    p.add_argument("--concurrency", type=int, default=16, help="clients with the instant LLM (default 16)")
    p.add_argument("--overload-concurrency", type=int, default=80,
                   help="clients with the hanging LLM: more than the gate admits (default 80)")
    p.add_argument("--ask-concurrency", type=int, default=None,
                   help="NEWSDESK_ASK_CONCURRENCY of the server (default: the setting's, twice the cores, at least 4)")
    p.add_argument("--ask-queue", type=int, default=None, help="NEWSDESK_ASK_QUEUE of the server (default 4x concurrency)")
    p.add_argument("--llm-timeout", type=float, default=3.0, help="NEWSDESK_LLM_TIMEOUT_S against the hanging LLM (default 3)")
    p.add_argument("--logs", help="keep the servers' logs in this folder (default: a temporary one)")
    p.set_defaults(func=cmd_bench_load)

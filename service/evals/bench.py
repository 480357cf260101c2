"""`newsdesk bench ...`: benchmark scripts that print figures (never timed assertions).

Each figure that has a target is a ratio of two things measured side by side in one run,
so the machine's speed cancels out.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from service.config import Settings
from service.evals.figures import print_figures
from service.evals.load import PHASE_BUDGET_S, ask_load

# -- bench query -------------------------------------------------------------------------------



def _percentiles(values: list[float]) -> tuple[float, float]:
    import numpy as np

    if not values:
        return float("nan"), float("nan")
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def cmd_bench_query(args, settings: Settings) -> int:
    from rich.console import Console

    from service.components import Components
    from service.errors import NewsdeskError
    from service.evals.beir import load_corpus, load_queries

    if not args.dir:
        raise NewsdeskError("bench query needs a BEIR folder (corpus.jsonl and queries.jsonl), "
                            "e.g. `newsdesk bench query ~/data/scifact`")
    folder = Path(args.dir)
    console = Console()
    articles = load_corpus(folder, args.limit_docs)
    queries = list(dict.fromkeys(load_queries(folder).values()))
    if not articles or not queries:
        raise NewsdeskError(f"{folder} has no documents or no queries")
    # A persistent embedded index of its own, so a second run reuses it.
    bench_settings = settings.model_copy(update={"index_dir": settings.index_dir / "bench", "chroma_host": None})
    components = Components.build(bench_settings, collection=args.collection or f"bench-{folder.resolve().name}")
    _ensure_indexed(components, articles, console)

    questions = queries[: args.queries]
    retrieval = _bench_retrieval(components, questions, console)
    http = ask_load(components, queries, args.requests, args.concurrency, console)
    _print_query_report(console, folder, components, len(articles), retrieval, http, args.concurrency)
    return 0


def _ensure_indexed(components, articles, console) -> None:
    from service.ingest.run import run_ingest

    ids = [a.article_id for a in articles]
    present = sum(1 for chunks in components.store.existing_chunk_ids(ids).values() if chunks)
    stored = components.store.count_articles()
    if present == len(ids) == stored:
        console.print(f"reusing index {components.collection!r} ({stored} documents)")
        return
    if stored > present:  # it holds other documents (another --limit-docs): start over
        components.rebuild()
    console.print(f"indexing {len(ids)} documents into {components.collection!r}")
    run_ingest(articles, [], components, console)


def _bench_retrieval(components, questions: list[str], console) -> dict[str, list[float]]:
    """The full retrieval pipeline and a bare Chroma query (with its query embedding),
    interleaved question by question so both see the same machine load."""
    from rich.progress import track

    from service.answer.extractive import Extractor
    from service.answer.retrieval import RetrievalResult
    from service.models import Filters

    retriever, embedder, store = components.retriever, components.embedder, components.store

    def bare(question: str) -> None:
        """The floor: the ten nearest chunks with their text, in one Chroma call."""
        store.chunks.query(query_embeddings=[embedder.embed([question])[0]], n_results=10,
                           include=["documents", "metadatas", "distances"])

    retriever.retrieve("warm-up question", Filters(), top_k=8)  # builds the BM25 index
    bare("warm-up question")

    extractor, engine = Extractor(), components.engine
    retrieved: dict[str, tuple[RetrievalResult, list]] = {}

    def full(question: str) -> None:
        retrieved[question] = engine.retrieve(question, Filters(), top_k=8)

    def extractive(question: str) -> None:
        """Beyond retrieval: the question's assessment, the gate and the extractive answer."""
        result, mentions = retrieved[question]
        a = engine.assess(question, result, mentions=mentions)
        if not engine.gate.refuses(a.answerability, a.best_dense, len(a.passages), "extractive"):
            extractor.answer(a)

    times: dict[str, list[float]] = {"full": [], "bare": [], "extractive": []}
    deadline = time.monotonic() + PHASE_BUDGET_S
    for i, question in enumerate(track(questions, description="retrieval", console=console)):
        if time.monotonic() > deadline:
            console.print(f"[yellow]time budget reached after {i} questions[/yellow]")
            break
        order = (("full", full), ("extractive", extractive), ("bare", bare)) if i % 2 == 0 else (
            ("bare", bare), ("full", full), ("extractive", extractive))
        for name, run in order:
            started = time.perf_counter()
            run(question)
            times[name].append((time.perf_counter() - started) * 1000)
    return times


def _print_query_report(console, folder: Path, components, n_docs: int, retrieval: dict, http: dict, concurrency: int) -> None:
    from rich.table import Table

    full50, full95 = _percentiles(retrieval["full"])
    bare50, bare95 = _percentiles(retrieval["bare"])
    table = Table(title=f"bench query: {folder.name} ({n_docs} documents, {components.store.count_chunks()} chunks, "
                        f"{len(retrieval['full'])} questions)")
    table.add_column("retrieval", justify="left")
    for column in ("p50 ms", "p95 ms"):
        table.add_column(column, justify="right")
    table.add_row("full pipeline: retrieve(q, top_k=8) (embed, Chroma 30, BM25 30, rerank, merge, budget)",
                  f"{full50:.1f}", f"{full95:.1f}")
    table.add_row("bare: embed(q) + Chroma query(n=10)", f"{bare50:.1f}", f"{bare95:.1f}")
    table.add_row("ratio full / bare (target <= 1.5)", f"{full50 / bare50:.2f}x", f"{full95 / bare95:.2f}x")
    ext50, ext95 = _percentiles(retrieval["extractive"])
    table.add_row("extractive beyond retrieval: assessment, gate and sentence choice (target p50 <= 30)",
                  f"{ext50:.1f}", f"{ext95:.1f}")
    console.print(table)

    latencies, outcomes = http["latencies"], http["outcomes"]
    p50, p95 = _percentiles(latencies)
    print_figures(console, f"POST /v1/ask at concurrency {concurrency} (uvicorn in-process, instant fake LLM)", [
        ("requests sent", f"{http['sent']}"),
        ("errors (non-200 or transport)", f"{outcomes['error']}"),
        ("answered by the LLM / refused / degraded", f"{outcomes['llm']} / {outcomes['refused']} / {outcomes['degraded']}"),
        ("wall time (s)", f"{http['wall']:.2f}"),
        ("requests/s", f"{len(latencies) / http['wall']:.2f}"),
        ("latency p50 (ms)", f"{p50:.0f}"),
        ("latency p95 (ms)", f"{p95:.0f}"),
    ])


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def register(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="benchmarks that print figures")
    kinds = bench.add_subparsers(dest="bench", required=True)
    from service.evals import bench_ingest

    bench_ingest.register(kinds)

    p = kinds.add_parser(
        "query", help="retrieval latency (full pipeline vs bare Chroma) and /v1/ask requests/s over a BEIR corpus")
    p.add_argument("dir", nargs="?", default=None, help="a BEIR-format folder (corpus.jsonl, queries.jsonl)")
    p.add_argument("--limit-docs", type=_positive, default=1000,
                   help="index only the first N documents (default 1000, so a first run takes a few minutes)")
    p.add_argument("--queries", type=_positive, default=200, help="questions timed for retrieval (default 200)")
    p.add_argument("--collection", help="collection under <index_dir>/bench (default bench-<folder name>); reused when it holds the documents")
    p.add_argument("--requests", type=_positive, default=320, help="POST /v1/ask requests, each a different question (default 320)")
    p.add_argument("--concurrency", type=_positive, default=16, help="concurrent clients (default 16)")
    p.set_defaults(func=cmd_bench_query)

    from service.evals import bench_index, bench_lexical, bench_scale

    bench_index.register(kinds)

    bench_scale.register(kinds)
    bench_lexical.register(kinds)
    from service.evals import bench_load

    bench_load.register(kinds)
    from service.evals import bench_compare

    bench_compare.register(kinds)
    from service.evals import bench_follow

    bench_follow.register(kinds)

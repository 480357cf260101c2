"""`newsdesk bench ...`: benchmark scripts that print figures (never timed assertions).

Each figure that has a target is a ratio of two things measured side by side in one run,
so the machine's speed cancels out.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from service.config import Settings


def peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def cmd_bench_ingest(args, settings: Settings) -> int:
    from rich.console import Console
    from rich.table import Table

    from service.beir import load_corpus
    from service.chunking import Chunker
    from service.components import Components
    from service.embedding import build_embedder

    console = Console()
    articles = load_corpus(Path(args.dir), args.limit)
    embedder = build_embedder(settings.embedding_model, batch_size=settings.embedding_batch_size)
    embedder.embed(["warm-up sentence so session start-up is not timed"] * 4)
    with tempfile.TemporaryDirectory(prefix="newsdesk-bench-") as tmp:
        bench_settings = settings.model_copy(update={"index_dir": Path(tmp), "chroma_host": None})
        components = Components.build(bench_settings, collection="bench-ingest", embedder=embedder)
        from service.cli import run_ingest

        started = time.perf_counter()
        run_ingest(articles, [], components, console)
        ingest_s = time.perf_counter() - started
        chunks = components.store.count_chunks()

        # The same chunk texts through the same model alone, in the pipeline's grouping.
        chunker = Chunker(settings.chunk_size, settings.chunk_overlap, embedder.count_tokens)
        texts = [c.text for a in articles for c in chunker.chunk(a.article_id, a.text)]
        group = components.ingester.group_chunks
        started = time.perf_counter()
        for begin in range(0, len(texts), group):
            embedder.embed(texts[begin: begin + group])
        embed_s = time.perf_counter() - started

    table = Table(title=f"bench ingest: {args.dir} ({len(articles)} articles, {embedder.model_id})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in [
        ("articles", f"{len(articles)}"),
        ("chunks", f"{chunks}"),
        ("ingest wall time (s)", f"{ingest_s:.2f}"),
        ("articles/s", f"{len(articles) / ingest_s:.2f}"),
        ("chunks/s", f"{chunks / ingest_s:.2f}"),
        ("embedding alone (s)", f"{embed_s:.2f}"),
        ("ratio ingest / embedding alone (target <= 1.10)", f"{ingest_s / embed_s:.3f}"),
        ("peak RSS (MiB)", f"{peak_rss_mib():.0f}"),
    ]:
        table.add_row(name, value)
    console.print(table)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="benchmarks that print figures")
    kinds = bench.add_subparsers(dest="bench", required=True)
    p = kinds.add_parser("ingest", help="ingest a BEIR corpus into a scratch index; compare with embedding alone")
    p.add_argument("dir", help="a BEIR-format folder (corpus.jsonl)")
    p.add_argument("--limit", type=int, default=None, help="only the first N documents")
    p.set_defaults(func=cmd_bench_ingest)

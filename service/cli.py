"""`newsdesk` command line. Errors are translated here, once: one line on stderr and exit
code 1 (set NEWSDESK_DEBUG=1 to get the traceback instead)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from service.config import Settings, get_settings
from service.errors import NewsdeskError


def _filters_from_args(args: argparse.Namespace):
    from service.loading import parse_date
    from service.models import Filters

    try:
        return Filters(
            published_after=parse_date(args.after),
            published_before=parse_date(args.before),
            sources=tuple(args.source or ()),
            article_ids=tuple(args.article or ()),
        )
    except ValueError as exc:
        raise NewsdeskError(f"bad filter: {exc}") from None


def _components(settings: Settings, collection: str | None = None):
    from service.components import Components

    return Components.build(settings, collection=collection)


# -- ingest / list / delete / reindex -------------------------------------------------------

def run_ingest(articles, errors, components, console) -> int:
    """Ingest with a progress bar and a summary table; returns the exit code."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    state = {"chunks": 0}
    with Progress(
        TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rates]}"), TimeElapsedColumn(),
        console=console, transient=False, disable=not articles,
    ) as progress:
        task = progress.add_task("ingest", total=len(articles), rates="")

        def tick(n_articles: int, n_chunks: int) -> None:
            state["chunks"] += n_chunks
            progress.advance(task, n_articles)
            elapsed = max(progress.tasks[0].elapsed or 1e-9, 1e-9)
            done = progress.tasks[0].completed
            progress.update(task, rates=f"{done / elapsed:.1f} articles/s  {state['chunks'] / elapsed:.1f} chunks/s")

        report = components.ingester.ingest(articles, progress=tick)
    report.failed = list(errors) + report.failed
    table = Table(title=f"ingest into {components.collection!r}")
    for column in ("added", "updated", "unchanged", "failed", "chunks written", "seconds"):
        table.add_column(column, justify="right")
    counts = report.counts()
    table.add_row(*(str(counts[k]) for k in ("added", "updated", "unchanged", "failed")),
                  str(report.chunks_written), f"{report.seconds:.1f}")
    console.print(table)
    for error in report.failed:
        console.print(f"[red]failed[/red] {error.message}", highlight=False, soft_wrap=True)
    return 1 if report.failed else 0


def cmd_ingest(args, settings: Settings) -> int:
    from rich.console import Console

    from service.loading import load_paths

    loaded = load_paths(args.paths)
    components = _components(settings, args.collection)
    return run_ingest(loaded.articles, loaded.errors, components, Console(stderr=False))


def cmd_list(args, settings: Settings) -> int:
    from rich.console import Console
    from rich.table import Table

    store = _components(settings, args.collection).store
    rows = store.list_articles(limit=args.limit, offset=args.offset)
    if args.json:
        print(json.dumps({"total": store.count_articles(), "articles": rows}, indent=2))
        return 0
    table = Table(title=f"{store.count_articles()} articles in {store.name!r}")
    for column in ("article_id", "title", "source", "published", "chunks"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["article_id"], row["title"], row["source"] or "", (row["published_at"] or "")[:10], str(row["n_chunks"]))
    Console().print(table)
    return 0


def cmd_delete(args, settings: Settings) -> int:
    removed = _components(settings, args.collection).store.delete_article(args.article_id)
    print(f"deleted {args.article_id} ({removed} chunks)")
    return 0


def cmd_reindex(args, settings: Settings) -> int:
    from rich.console import Console

    from service.store import read_articles

    components = _components(settings, args.collection)
    articles = read_articles(components.client, components.collection)
    components.rebuild()
    print(f"rebuilding {components.collection!r} with {components.embedder.model_id}: {len(articles)} articles")
    return run_ingest(articles, [], components, Console())


# -- ask / serve ------------------------------------------------------------------------------

def cmd_ask(args, settings: Settings) -> int:
    components = _components(settings, args.collection)
    answer = components.engine.ask(args.question, _filters_from_args(args), args.top_k)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print(format_answer(answer))
    return 0


def format_answer(answer) -> str:
    lines = [answer.answer, ""]
    label = answer.mode + (" (degraded: " + (answer.degraded_reason or "") + ")" if answer.degraded else "")
    lines.append(f"mode: {label}   answerable: {str(answer.answerable).lower()}   request: {answer.request_id}")
    for c in answer.citations:
        meta = ", ".join(x for x in (c.source, (c.published_at or "")[:10]) if x)
        lines.append(f"[{c.n}] {c.title} ({meta})" + (f" <{c.url}>" if c.url else ""))
        lines.append(f"    \"{c.quote}\" (chars {c.start}-{c.end} of {c.article_id})")
    for w in answer.warnings:
        lines.append(f"warning: {w}")
    for s in answer.unsupported_sentences:
        lines.append(f"unsupported: {s}")
    return "\n".join(lines)


def ensure_sample_corpus(components, console) -> None:
    """On a fresh checkout the index is empty: index the shipped sample corpus first."""
    from service.loading import load_paths

    if components.store.count_articles() > 0:
        return
    corpus = components.settings.sample_corpus_dir
    console.print(f"index {components.collection!r} is empty: indexing the sample corpus from {corpus}")
    loaded = load_paths([corpus])
    run_ingest(loaded.articles, loaded.errors, components, console)


def cmd_serve(args, settings: Settings) -> int:
    import uvicorn
    from rich.console import Console

    from service.api.app import create_app

    components = _components(settings, args.collection)
    ensure_sample_corpus(components, Console())
    app = create_app(settings, components)
    uvicorn.run(app, host=args.host or settings.host, port=args.port or settings.port, log_level="info")
    return 0


# -- parser -------------------------------------------------------------------------------------

def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--after", help="only articles published on/after this date (ISO 8601)")
    parser.add_argument("--before", help="only articles published before this date (ISO 8601)")
    parser.add_argument("--source", action="append", help="only this outlet (repeatable)")
    parser.add_argument("--article", action="append", help="only this article id (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsdesk", description="Grounded answers over news articles, with checkable citations.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="index article files and folders (.txt .md .html .json .jsonl)")
    p.add_argument("paths", nargs="+")
    p.add_argument("--collection")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("list", help="list indexed articles")
    p.add_argument("--collection")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("delete", help="remove one article and all its chunks")
    p.add_argument("article_id")
    p.add_argument("--collection")
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("reindex", help="rebuild the index with the configured embedder")
    p.add_argument("--collection")
    p.set_defaults(func=cmd_reindex)

    p = sub.add_parser("ask", help="ask a question; prints the answer with numbered citations")
    p.add_argument("question")
    p.add_argument("--json", action="store_true")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--collection")
    _add_filters(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("serve", help="serve the HTTP API (indexes the sample corpus if the index is empty)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--collection")
    p.set_defaults(func=cmd_serve)

    from service import bench

    from service.eval_commands import register as register_eval
    from service.slack.runner import register as register_slack

    # Interfaces that live in their own modules register their subcommands here.
    bench.register(sub)
    register_slack(sub)
    register_eval(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
        return int(args.func(args, settings) or 0)
    except NewsdeskError as exc:
        if os.environ.get("NEWSDESK_DEBUG"):
            raise
        print(f"newsdesk: error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("newsdesk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `newsdesk ask ... | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # settings validation and the like: still one line
        from pydantic import ValidationError

        if os.environ.get("NEWSDESK_DEBUG") or not isinstance(exc, ValidationError):
            raise
        first = exc.errors()[0]
        print(f"newsdesk: error: setting {'.'.join(str(x) for x in first['loc'])}: {first['msg']}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""The core subcommands: ingest, list, delete, reindex, ask and serve."""

from __future__ import annotations

import argparse
import json
import sys

from service.config import Settings
from service.errors import NewsdeskError
from service.ingest.run import ensure_sample_corpus, run_ingest


def _filters_from_args(args: argparse.Namespace):
    from service.models import Filters

    try:
        return Filters.from_mapping({"published_after": args.after, "published_before": args.before,
                                     "sources": args.source or (), "article_ids": args.article or ()})
    except ValueError as exc:
        raise NewsdeskError(f"bad filter: {exc}") from None


def _components(settings: Settings, collection: str | None = None):
    from service.components import Components

    return Components.build(settings, collection=collection)


# -- ingest / list / delete / reindex -------------------------------------------------------

def cmd_ingest(args, settings: Settings) -> int:
    from rich.console import Console

    from service.ingest.loading import load_paths

    components = _components(settings, args.collection)
    if components.served_elsewhere():  # issue 11, fault 3: say what a running `serve` will see
        Console(stderr=True).print(
            "newsdesk: warning: a running process (newsdesk serve) answers from this embedded index; it finds "
            "these articles by keyword at once but by meaning only after a restart. Ingest through its API "
            "(POST /v1/articles) or run Chroma as a server (NEWSDESK_CHROMA_HOST) to avoid this.", highlight=False)
    if args.ray is not None:  # read, parsed, chunked and embedded on a Ray cluster
        from service.cli.distributed import cmd_ingest_on_ray

        return cmd_ingest_on_ray(args, settings, components)
    loaded = load_paths(args.paths, max_chars=settings.max_article_chars)
    return run_ingest(loaded.articles, loaded.errors, components, Console(stderr=False))


def cmd_list(args, settings: Settings) -> int:
    from rich.console import Console
    from rich.table import Table

    store = _components(settings, args.collection).store
    rows = store.list_articles(limit=args.limit, offset=args.offset, after=args.after)
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

    from service.index.store import read_articles

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
        meta = ", ".join(x for x in (c.outlet, (c.published_at or "")[:10]) if x)
        lines.append(f"[{c.n}] {c.title} ({meta})" + (f" <{c.url}>" if c.url else ""))
        lines.append(f"    \"{c.quote}\" (chars {c.start}-{c.end} of {c.article_id})")
    for w in answer.warnings:
        lines.append(f"warning: {w}")
    for s in answer.unsupported_sentences:
        lines.append(f"unsupported: {s}")
    return "\n".join(lines)


def build_server_app(settings: Settings, components, *, host: str | None = None, require_keys: bool = False):
    """The API, with Slack's HTTP Events mounted beside it when a signing secret is set,
    and the MCP tools at /mcp (`host`: the address served, for the MCP SDK's Host check).
    The CLI is where edges meet: the API itself knows nothing of Slack or MCP."""
    from service.api.app import create_app
    from service.collections import Collections
    from service.mcp.http import mount_mcp
    from service.web import router as reading_page

    collections = Collections(components)  # the API's, the MCP tools' and the Slack bot's alike
    notifiers = {}
    if settings.slack_bot_token is not None:  # follows' notices to Slack, by the bot's token
        from service.slack.notices import slack_notifiers

        notifiers = slack_notifiers(settings)
    app = create_app(settings, components, require_keys=require_keys, collections=collections, run_follower=True,
                     follow_notifiers=notifiers)
    app.include_router(reading_page)  # the page at `/`, calling the API from the browser
    if settings.slack_signing_secret is not None:
        from service.slack.http import mount_slack

        mount_slack(app, settings, components, collections=collections)
    mount_mcp(app, collections, host=host or settings.host)
    return app


def cmd_serve(args, settings: Settings) -> int:
    import uvicorn
    from rich.console import Console

    from service.api.logs import configure_logging

    host = args.host or settings.host
    components = _components(settings, args.collection)
    require_keys = not is_loopback(host) and not args.insecure_no_auth
    if require_keys:
        refuse_without_keys(settings, components, host)
    ensure_sample_corpus(components, Console())
    app = build_server_app(settings, components, host=host, require_keys=require_keys)
    configure_logging()
    # The event loop shares the GIL with the ask threads' Python work (citation checks,
    # extractive answers): a 1 ms switch interval (CPython's default is 5 ms) hands it back
    # sooner, so health checks, article reads and shed asks are answered promptly under load.
    sys.setswitchinterval(0.001)
    from service.cli.watch import start_watching

    watching = start_watching(settings, components)  # NEWSDESK_FEEDS_FILE: feeds fill the index
    try:
        # newsdesk's JSON lines only: its own access line per request, each traceback once.
        uvicorn.run(app, host=host, port=args.port or settings.port, log_config=None, access_log=False)
    finally:
        if watching is not None:
            watching.set()
    return 0


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve anywhere
        return False


def refuse_without_keys(settings: Settings, components, host: str) -> None:
    """Anyone who reaches a non-loopback address could change every article: not without keys."""
    from service.keys import KeyStore

    if settings.bootstrap_key is not None:
        return
    if not KeyStore(components.client, settings.keys_collection).any_active():
        raise NewsdeskError(
            f"refusing to serve on {host} without API keys: create one with "
            "`newsdesk keys create --name admin --scopes ask,write,admin`, or set NEWSDESK_BOOTSTRAP_KEY "
            "(or pass --insecure-no-auth to serve it open)")

"""The core subcommands: ingest, list, delete, reindex, ask and serve."""

from __future__ import annotations

import argparse
import json
import sys

from service.config import Settings
from service.errors import NewsdeskError
from service.ingest.run import ensure_sample_corpus, run_ingest


def _filter_fields(args: argparse.Namespace) -> dict:
    """The filters as the API's `filters` object (only those given)."""
    fields = {"published_after": args.after, "published_before": args.before,
              "sources": args.source or [], "article_ids": args.article or []}
    return {name: value for name, value in fields.items() if value}


def _filters_from_args(args: argparse.Namespace):
    from service.models import Filters

    try:
        return Filters.from_mapping(_filter_fields(args))
    except ValueError as exc:
        raise NewsdeskError(f"bad filter: {exc}") from None


def _components(settings: Settings, collection: str | None = None):
    from service.components import Components

    return Components.build(settings, collection=collection)


# -- ingest / list / delete / reindex -------------------------------------------------------

def cmd_ingest(args, settings: Settings) -> int:
    from rich.console import Console

    from service.ingest.loading import load_paths

    on_ray = args.ray or args.ray_address is not None
    client = None if on_ray else server_client(settings, args.collection or settings.collection)
    if client is not None:  # a running `serve` answers from this index: it writes them
        from service.cli.remote import RemoteIngester
        from service.cli.reports import report_through_server

        loaded = load_paths(args.paths, max_chars=settings.max_article_chars)
        return report_through_server(loaded.articles, loaded.errors, RemoteIngester(client), Console(stderr=False))
    components = _components(settings, args.collection)
    warn_if_served_elsewhere(components)
    if on_ray:  # read, parsed, chunked and embedded on a Ray cluster
        from service.cli.distributed import cmd_ingest_on_ray

        return cmd_ingest_on_ray(args, settings, components)
    loaded = load_paths(args.paths, max_chars=settings.max_article_chars)
    return run_ingest(loaded.articles, loaded.errors, components, Console(stderr=False))


def warn_if_served_elsewhere(components) -> None:
    """Another process holds this embedded index while this one writes to it directly (with
    --ray, or when that process left no address to go through: an older `serve`, `newsdesk
    mcp`): its dense path will not see these writes until it restarts."""
    from rich.console import Console

    if components.served_elsewhere():
        Console(stderr=True).print(
            "newsdesk: warning: another process (newsdesk serve or mcp) answers from this embedded index, and "
            "this ingest writes to it directly: that process will not find these articles by meaning, and so "
            "may refuse questions about them, until it restarts. A `newsdesk serve` that left its address "
            "beside the index is ingested through instead (not with --ray); or run Chroma as a server "
            "(NEWSDESK_CHROMA_HOST).", highlight=False)


def server_client(settings: Settings, collection: str):
    """A client of the `serve` running on this index, or None when none runs (docs/cli.md)."""
    from service.cli.discovery import find_server

    server = find_server(settings)
    if server is None:
        return None
    from service.cli.remote import ServerClient

    key = settings.api_key.get_secret_value() if settings.api_key is not None else None
    return ServerClient(server, collection=collection, api_key=key)


def cmd_list(args, settings: Settings) -> int:
    from rich.table import Table

    from service.cli.tables import print_whole, whole_column

    store = _components(settings, args.collection).store
    rows = store.list_articles(limit=args.limit, offset=args.offset, after=args.after)
    if args.json:
        print(json.dumps({"total": store.count_articles(), "articles": rows}, indent=2))
        return 0
    table = Table(title=f"{store.count_articles()} articles in {store.name!r}")
    whole_column(table, "article_id", [row["article_id"] for row in rows])
    for column in ("title", "source"):
        table.add_column(column, overflow="fold")
    whole_column(table, "published", ["2025-01-01"])
    whole_column(table, "chunks", [str(row["n_chunks"]) for row in rows])
    for row in rows:
        table.add_row(row["article_id"], row["title"], row["source"] or "", (row["published_at"] or "")[:10], str(row["n_chunks"]))
    print_whole(table)
    return 0


def cmd_delete(args, settings: Settings) -> int:
    client = server_client(settings, args.collection or settings.collection)
    if client is not None:
        removed = client.delete(args.article_id)["chunks_deleted"]
    else:
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
    from service.cli.questions import check_ask

    check_ask(args.question, args.top_k)
    client = server_client(settings, args.collection or settings.collection)
    if client is not None:  # the server's warm components: no model to load, no index to open
        answer = client.ask(args.question, _filter_fields(args), args.top_k)
    else:
        components = _components(settings, args.collection)
        answer = components.engine.ask(args.question, _filters_from_args(args), args.top_k).to_dict()
    if args.json:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
        return 0
    print(format_answer(answer))
    return 0


def format_answer(answer: dict) -> str:
    """An answer's JSON (`Answer.to_dict()`, or the API's, which is the same) as text."""
    lines = [answer["answer"], ""]
    label = answer["mode"] + (f" (degraded: {answer.get('degraded_reason') or ''})" if answer.get("degraded") else "")
    lines.append(f"mode: {label}   answerable: {str(answer['answerable']).lower()}   request: {answer['request_id']}")
    for c in answer["citations"]:
        meta = ", ".join(x for x in (c.get("source"), (c.get("published_at") or "")[:10]) if x)
        lines.append(f"[{c['n']}] {c['title']} ({meta})" + (f" <{c['url']}>" if c.get("url") else ""))
        lines.append(f"    \"{c['quote']}\" (chars {c['start']}-{c['end']} of {c['article_id']})")
    lines += [f"warning: {w}" for w in answer["warnings"]]
    lines += [f"unsupported: {s}" for s in answer["unsupported_sentences"]]
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
    from rich.console import Console

    from service.api.logs import configure_logging
    from service.cli.serving import bind, run_server

    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    components = _components(settings, args.collection)
    require_keys = not is_loopback(host) and not args.insecure_no_auth
    if require_keys:
        refuse_without_keys(settings, components, host)
    sock = bind(host, port)  # before the sample corpus: a taken port is said at once
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
        run_server(app, sock, settings, host)
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

"""`newsdesk watch [FEEDS_FILE] [--once [--force]]`: follow the feeds of a feeds.yaml
(docs/feeds.md). `newsdesk serve` runs the same watcher in a thread when NEWSDESK_FEEDS_FILE
is set; a `newsdesk watch` beside a running `serve` ingests through it (docs/cli.md)."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path

from service.config import Settings
from service.errors import NewsdeskError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("watch", help="follow RSS/Atom feeds listed in a feeds.yaml and ingest new and changed items")
    p.add_argument("feeds_file", nargs="?", help="the feeds file (default: NEWSDESK_FEEDS_FILE, else feeds.yaml)")
    p.add_argument("--once", action="store_true", help="poll every due feed once, print the counts and exit")
    p.add_argument("--force", action="store_true", help="with --once: poll every feed now, due or not")
    p.set_defaults(func=cmd_watch)


def build_watcher(settings: Settings, components, feeds_file: Path, **options):
    """A Watcher over `components`' store; feeds naming another collection get their own
    ingester on the same client and embedder."""
    from service.components import Components

    others: dict[str, Components] = {}

    def ingester_for(collection: str | None):
        if not collection or collection == components.collection:
            return components.ingester
        if collection not in others:
            others[collection] = Components(settings, components.embedder, components.client, collection)
        return others[collection].ingester

    return _watcher(feeds_file, ingester_for, components.client, components.collection, **options)


def remote_watcher(settings: Settings, server, feeds_file: Path):
    """A Watcher that ingests through a running `serve` (feed state still in the shared
    store): the server's dense index sees its articles at once."""
    from service.cli.remote import RemoteIngester, ServerClient
    from service.index.client import open_client

    key = settings.api_key.get_secret_value() if settings.api_key is not None else None
    ingesters: dict[str, RemoteIngester] = {}

    def ingester_for(collection: str | None):
        name = collection or settings.collection
        if name not in ingesters:
            ingesters[name] = RemoteIngester(ServerClient(server, collection=name, api_key=key))
        return ingesters[name]

    client = open_client(index_dir=settings.index_dir, host=settings.chroma_host, port=settings.chroma_port,
                         ssl=settings.chroma_ssl, timeout_s=settings.chroma_timeout_s)
    return _watcher(feeds_file, ingester_for, client, settings.collection)


def _watcher(feeds_file: Path, ingester_for, client, default_collection: str, **options):
    from service.ingest.feeds import load_feeds
    from service.ingest.feedstate import FeedState
    from service.ingest.watch import Watcher

    return Watcher(load_feeds(feeds_file), ingester_for, FeedState(client), default_collection=default_collection,
                   **options)


def start_watching(settings: Settings, components) -> threading.Event | None:
    """Under `serve`: the watcher in a daemon thread when a feeds file is configured; set
    the returned event to stop it."""
    if settings.feeds_file is None:
        return None
    from service.api.metrics import FEED_EVENTS

    def count(counts) -> None:  # served at /metrics as newsdesk_feed_events_total{event=...}
        for event, n in counts.items():
            FEED_EVENTS.labels(event).inc(n)

    watcher = build_watcher(settings, components, settings.feeds_file, on_pass=count)
    stop = threading.Event()
    threading.Thread(target=watcher.run, args=(stop,), name="newsdesk-watch", daemon=True).start()
    return stop


def cmd_watch(args, settings: Settings) -> int:
    from service.cli.discovery import find_server

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.force and not args.once:
        raise NewsdeskError("--force goes with --once: `newsdesk watch --once --force` polls every feed now")
    feeds_file = Path(args.feeds_file) if args.feeds_file else settings.feeds_file or Path("feeds.yaml")
    server = find_server(settings)
    if server is not None:
        logging.getLogger("newsdesk.watch").info("ingesting through newsdesk serve at %s", server.url)
        watcher = remote_watcher(settings, server, feeds_file)
    else:
        from service.components import Components

        watcher = build_watcher(settings, Components.build(settings), feeds_file)
    if args.once:
        counts = watcher.poll_due(force=args.force)
        print(", ".join(f"{name} {value}" for name, value in sorted(counts.items())) or "no feed was due")
        if not counts:
            print("newsdesk: `newsdesk watch --once --force` polls every feed now", file=sys.stderr)
        return 1 if counts["feeds_failed"] else 0
    stop = threading.Event()
    try:
        watcher.run(stop)
    finally:
        stop.set()
    return 0

"""`newsdesk watch [FEEDS_FILE] [--once]`: follow the feeds of a feeds.yaml (docs/feeds.md).
`newsdesk serve` runs the same watcher in a thread when NEWSDESK_FEEDS_FILE is set."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path

from service.config import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("watch", help="follow RSS/Atom feeds listed in a feeds.yaml and ingest new and changed items")
    p.add_argument("feeds_file", nargs="?", help="the feeds file (default: NEWSDESK_FEEDS_FILE, else feeds.yaml)")
    p.add_argument("--once", action="store_true", help="poll every due feed once, print the counts and exit")
    p.set_defaults(func=cmd_watch)


def build_watcher(settings: Settings, components, feeds_file: Path, **options):
    """A Watcher over `components`' store; feeds naming another collection get their own
    ingester on the same client and embedder."""
    from service.components import Components
    from service.ingest.feeds import load_feeds
    from service.ingest.feedstate import FeedState
    from service.ingest.watch import Watcher

    feeds = load_feeds(feeds_file)
    others: dict[str, Components] = {}

    def ingester_for(collection: str | None):
        if not collection or collection == components.collection:
            return components.ingester
        if collection not in others:
            others[collection] = Components(settings, components.embedder, components.client, collection)
        return others[collection].ingester

    return Watcher(feeds, ingester_for, FeedState(components.client), default_collection=components.collection,
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
    from service.components import Components

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    feeds_file = Path(args.feeds_file) if args.feeds_file else settings.feeds_file or Path("feeds.yaml")
    components = Components.build(settings)
    watcher = build_watcher(settings, components, feeds_file)
    if args.once:
        counts = watcher.poll_due()
        print(", ".join(f"{name} {value}" for name, value in sorted(counts.items())) or "no feed was due")
        return 1 if counts["feeds_failed"] else 0
    stop = threading.Event()
    try:
        watcher.run(stop)
    finally:
        stop.set()
    return 0

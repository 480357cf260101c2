"""Feeds: the `feeds.yaml` a newsroom keeps, and RSS/Atom documents read into items.

    feeds:
      - url: https://example.org/news/rss.xml
        outlet: Example News          # becomes each article's `source`
        interval: 15m                 # how often to poll: 90, 90s, 15m, 2h (default 15m)
        collection: newsdesk          # optional: the collection to fill (default: the configured one)

Parsing is feedparser's (RSS 0.9x-2.0, RSS 1.0, Atom 0.3/1.0). An item's text is its full
content when the feed carries it (`content:encoded`, Atom `<content>`); an item with only a
summary needs its page fetched (`FeedItem.needs_page`).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import yaml

from service.errors import ConfigError
from service.ingest.loading import build_article, normalise_whitespace
from service.models import Article, sha256_hex

DEFAULT_INTERVAL_S = 15 * 60
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class FeedSpec:
    url: str
    outlet: str
    interval_s: float = DEFAULT_INTERVAL_S
    collection: str | None = None

    @property
    def name(self) -> str:
        """The url as logs and records show it: a feed url may carry a token."""
        return shown_url(self.url)


def shown_url(url: str) -> str:
    """`url` without credentials (user:password@) or query values (?token=...)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    query = "&".join(f"{k}=..." for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


def parse_interval(value: Any) -> float:
    match = _DURATION.match(str(value)) if isinstance(value, (int, float, str)) else None
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"interval {value!r}: use seconds or a number with s, m, h or d (e.g. 15m)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def load_feeds(path: Path) -> list[FeedSpec]:
    """The feeds of a feeds.yaml; ConfigError names the file, the entry and what is wrong."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read feeds file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    entries = data.get("feeds") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: expected a `feeds:` list with at least one feed")
    feeds, seen = [], set()
    for number, entry in enumerate(entries, start=1):
        try:
            feed = _feed_spec(entry)
        except ValueError as exc:
            raise ConfigError(f"{path}: feed {number}: {exc}") from None
        if feed.url in seen:
            raise ConfigError(f"{path}: feed {number}: {feed.name} is listed twice")
        seen.add(feed.url)
        feeds.append(feed)
    return feeds


def _feed_spec(entry: Any) -> FeedSpec:
    if not isinstance(entry, dict):
        raise ValueError("expected a mapping with url and outlet")
    unknown = sorted(set(entry) - {"url", "outlet", "interval", "collection"})
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}; known: url, outlet, interval, collection")
    url, outlet, collection = entry.get("url"), entry.get("outlet"), entry.get("collection")
    if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
        raise ValueError(f"url {url!r}: expected an http(s) URL")
    if not isinstance(outlet, str) or not outlet.strip():
        raise ValueError("outlet: expected the outlet's name")
    if collection is not None and (not isinstance(collection, str) or not collection.strip()):
        raise ValueError("collection: expected a collection name")
    interval = parse_interval(entry["interval"]) if "interval" in entry else DEFAULT_INTERVAL_S
    return FeedSpec(url=url.strip(), outlet=outlet.strip(), interval_s=interval, collection=collection)


class MalformedFeedError(ValueError):
    """The bytes are not a feed feedparser can read."""


@dataclass(frozen=True)
class FeedItem:
    guid: str | None
    url: str | None
    title: str
    author: str | None
    published_at: str | None  # ISO 8601, UTC
    text: str  # the full text, or the summary when `needs_page`
    needs_page: bool

    @property
    def key(self) -> str:
        """The identity used to dedupe: the guid, else the url."""
        return self.guid or self.url or sha256_hex(self.title + self.text)

    @property
    def fingerprint(self) -> str:
        """Changes when anything a reader would see changes; the guid is left out, so the
        same story under two guids (two feeds of one outlet) has one fingerprint."""
        return sha256_hex("\x1f".join([self.url or "", self.title, self.published_at or "", self.text]))

    def article(self, feed: FeedSpec, text: str | None = None) -> Article:
        record = {"id": self.url or self.guid, "url": self.url, "title": self.title, "author": self.author,
                  "published_at": self.published_at, "source": feed.outlet, "text": text or self.text}
        return build_article(record, origin=f"{feed.name} item {shown_url(self.key)}")


def parse_feed(content: bytes) -> tuple[list[FeedItem], str | None]:
    """The items of an RSS or Atom document, and a warning when feedparser had to repair
    it. MalformedFeedError when nothing feed-like is in it."""
    import feedparser

    parsed = feedparser.parse(content)
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no RSS or Atom root element"
        raise MalformedFeedError(f"not an RSS or Atom feed: {reason}")
    items = [item for item in map(_item, parsed.entries) if item is not None]
    warning = f"feed repaired while parsing: {parsed.bozo_exception}" if parsed.get("bozo") else None
    return items, warning


def _item(entry: Any) -> FeedItem | None:
    content = [c.get("value", "") for c in entry.get("content") or []]
    body = html_to_text("\n".join(content)) if content else ""
    summary = html_to_text(entry.get("summary") or "")
    url = (entry.get("link") or "").strip() or None
    if not body and not summary and not url:
        return None  # nothing to read and nowhere to read it
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    published = datetime.fromtimestamp(calendar.timegm(when), tz=UTC).isoformat() if when else None
    author = (entry.get("author_detail") or {}).get("name") or entry.get("author")
    return FeedItem(
        guid=(entry.get("id") or "").strip() or None,
        url=url,
        title=normalise_whitespace(html_to_text(entry.get("title") or "")),
        author=author or None,
        published_at=published,
        text=body or summary,
        needs_page=not body and url is not None,
    )


_BLOCKS = {"p", "div", "section", "article", "blockquote", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5",
           "h6", "pre", "table", "tr", "figure", "figcaption", "header", "footer"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in ("script", "style"):
            self.skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """A feed's HTML fragment as text with its paragraphs kept (whitespace normalised)."""
    if "<" not in fragment and "&" not in fragment:
        return normalise_whitespace(fragment)
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    return normalise_whitespace("".join(parser.parts))


def page_text(html: str) -> str:
    """The article text of a full HTML page (trafilatura), paragraphs kept; "" when none."""
    import trafilatura

    doc = trafilatura.bare_extraction(html, include_comments=False, include_tables=True)
    text = getattr(doc, "text", None) or ""
    return normalise_whitespace("\n\n".join(p for p in text.split("\n") if p.strip()))

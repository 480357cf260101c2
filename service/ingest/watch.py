"""`newsdesk watch`: poll feeds, read new and changed items, ingest them.

Per due feed: a conditional GET (If-None-Match / If-Modified-Since from the shared state);
304 -> nothing to do until the next interval; 429 or 5xx -> wait for Retry-After (seconds
or an HTTP date) or, without one, back off exponentially; 200 -> parse, and for each item
claim its current version by guid, then by url (`FeedState.claim`), fetch the page when
the feed has only a summary, and ingest the claimed articles (the Ingester skips unchanged
text by content hash). A bad feed or page is logged and skipped; the rest go on. An item
that failed gives its claims back and is tried again at the next poll.

Pages are addresses a feed's *content* names, so a hostile or compromised feed could point
them (or a redirect) at the watcher's own network: a cloud metadata service, an admin
port, whose text would then be searchable. A page is fetched only from the feed's own
host (the operator chose it) or from a host whose every address is public; each redirect
hop is checked the same way. (A name that resolves differently at connect time, DNS
rebinding, is not covered: run the watcher where it cannot reach what it must not read.)
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

from service.errors import NewsdeskError
from service.ingest.feeds import FeedItem, FeedSpec, MalformedFeedError, page_text, parse_feed, shown_url
from service.ingest.feedstate import FeedRecord, FeedState
from service.ingest.pipeline import Ingester
from service.models import Article

logger = logging.getLogger("newsdesk.watch")

USER_AGENT = "newsdesk-watch/1"
MAX_BACKOFF_S = 6 * 3600
RETRYABLE = {429, 500, 502, 503, 504}
MAX_BYTES = 20_000_000


def retry_after_s(value: str | None, now: float) -> float | None:
    """Retry-After as seconds from `now`: delta-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


MAX_REDIRECTS = 5


def page_refusal(url: str, feed_url: str) -> str | None:
    """Why the watcher must not fetch this page for that feed, or None when it may."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        return "not an http(s) address"
    if host == urlsplit(feed_url).hostname:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except (OSError, ValueError) as exc:
        return f"cannot resolve {host} ({exc})"
    for address in sorted(addresses):
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            return f"{host} is a non-public address ({address}), and not the feed's own host"
    return None


class FeedFailed(Exception):
    def __init__(self, reason: str, *, retry_in: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_in = retry_in


class Watcher:
    """Polls `feeds` into the collections `ingester_for(collection)` writes to (None: the
    default one). `stats` counts everything since start (feeds polled, not modified, failed,
    Retry-After honoured; items taken, seen before, failed; pages fetched, failed; articles added,
    updated, unchanged, failed); `on_pass` receives each pass's counts."""

    def __init__(self, feeds: list[FeedSpec], ingester_for: Callable[[str | None], Ingester], state: FeedState,
                 *, default_collection: str, http: httpx.Client | None = None,
                 clock: Callable[[], float] = time.time, on_pass: Callable[[Counter], None] | None = None):
        self.feeds = feeds
        self.ingester_for = ingester_for
        self.state = state
        self.default_collection = default_collection
        self.http = http or httpx.Client(timeout=httpx.Timeout(20.0, connect=10.0), follow_redirects=True,
                                         headers={"User-Agent": USER_AGENT})
        self.clock = clock
        self.on_pass = on_pass  # gets each pass's counters (metrics)
        self.stats: Counter[str] = Counter()

    # -- the loop -----------------------------------------------------------------------------

    def run(self, stop: threading.Event, *, idle_s: float = 1.0) -> None:
        """Poll due feeds until `stop` is set, sleeping until the next one is due."""
        logger.info("watching %d feed(s)", len(self.feeds))
        while not stop.is_set():
            try:
                self.poll_due()
                wake = min((self.state.feed(f.url).not_before for f in self.feeds), default=self.clock() + 60)
            except NewsdeskError as exc:  # the store is down: keep the thread, try again soon
                logger.error("feed watcher: %s", exc.message)
                wake = self.clock() + 30
            stop.wait(max(idle_s, min(wake - self.clock(), 60.0)))

    def poll_due(self, *, force: bool = False) -> Counter[str]:
        """One pass: every feed whose time has come (every feed, with `force`). Returns this
        pass's counters."""
        before = self.stats.copy()
        for feed in self.feeds:
            try:
                record = self.state.feed(feed.url)
                if record.not_before > self.clock() and not force:
                    continue
                self.poll(feed, record)
            except NewsdeskError as exc:  # the store itself: stop this pass, try again later
                logger.error("feed %s: %s", feed.name, exc.message)
                self.stats["feeds_failed"] += 1
                break
            except Exception as exc:  # a parser or extractor crashing on this feed's data
                logger.exception("feed %s: unexpected error; skipped", feed.name)
                self._failed(feed, record, self.clock(), FeedFailed(f"unexpected error: {type(exc).__name__}"))
        counts = self.stats - before
        if self.on_pass is not None and counts:
            self.on_pass(counts)
        return counts

    # -- one feed -----------------------------------------------------------------------------

    def poll(self, feed: FeedSpec, record: FeedRecord) -> None:
        now = self.clock()
        self.stats["feeds_polled"] += 1
        try:
            content = self._fetch_feed(feed, record)
        except FeedFailed as exc:
            self._failed(feed, record, now, exc)
            return
        record.not_before = now + feed.interval_s
        if content is None:
            record.failures, record.last_status = 0, "304 not modified"
            self.stats["not_modified"] += 1
            logger.info("feed %s: not modified", feed.name)
            self.state.save_feed(record)
            return
        try:
            items, warning = parse_feed(content)
        except MalformedFeedError as exc:
            record.etag = record.last_modified = ""  # refetch in full next time
            self._failed(feed, record, now, FeedFailed(str(exc)))
            return
        if warning:
            logger.warning("feed %s: %s", feed.name, warning)
        record.failures, record.last_status = 0, f"200, {len(items)} items"
        # Validators are saved after the items are in: a watcher that dies midway refetches.
        self._take(feed, items)
        self.state.save_feed(record)

    def _failed(self, feed: FeedSpec, record: FeedRecord, now: float, exc: FeedFailed) -> None:
        """Skip the feed until Retry-After, or back off: the interval doubled per failure in a row."""
        record.failures += 1
        backoff = min(feed.interval_s * 2 ** (record.failures - 1), MAX_BACKOFF_S)
        wait = exc.retry_in if exc.retry_in is not None else backoff
        record.not_before, record.last_status = now + wait, exc.reason
        self.stats["feeds_failed"] += 1
        self.stats["retry_after_honoured"] += exc.retry_in is not None
        logger.warning("feed %s: %s; next try in %.0f s", feed.name, exc.reason, wait)
        self.state.save_feed(record)

    def _fetch_feed(self, feed: FeedSpec, record: FeedRecord) -> bytes | None:
        """The feed's bytes (validators updated on `record`), None for 304. FeedFailed else."""
        headers = {}
        if record.etag:
            headers["If-None-Match"] = record.etag
        if record.last_modified:
            headers["If-Modified-Since"] = record.last_modified
        response = self._get(feed.url, headers)
        if response.status_code == 304:
            return None
        if response.status_code != 200:
            raise FeedFailed(f"HTTP {response.status_code}")
        record.etag = response.headers.get("ETag", "")
        record.last_modified = response.headers.get("Last-Modified", "")
        return response.content

    def _get(self, url: str, headers: dict[str, str], *, follow_redirects: bool = True) -> httpx.Response:
        """GET with the body read up to MAX_BYTES (a feed or page larger than that fails)."""
        try:
            with self.http.stream("GET", url, headers=headers, follow_redirects=follow_redirects) as response:
                if response.status_code in RETRYABLE:
                    raise FeedFailed(f"HTTP {response.status_code}",
                                     retry_in=retry_after_s(response.headers.get("Retry-After"), self.clock()))
                body = bytearray()
                for part in response.iter_bytes():
                    body += part
                    if len(body) > MAX_BYTES:
                        raise FeedFailed(f"response over {MAX_BYTES:,} bytes")
        except httpx.HTTPError as exc:
            raise FeedFailed(f"{type(exc).__name__}: {exc}") from None
        return httpx.Response(response.status_code, headers=response.headers, content=bytes(body),
                              request=response.request)

    # -- items --------------------------------------------------------------------------------

    def _take(self, feed: FeedSpec, items: list[FeedItem]) -> None:
        collection = feed.collection or self.default_collection
        taken: list[tuple[Article, list[str]]] = []
        counts: Counter[str] = Counter()
        for item in items:
            claims = self._claim(collection, item)
            if claims is None:
                counts["items_seen_before"] += 1
                continue
            try:
                taken.append((self._article(feed, item), claims))
                counts["items_taken"] += 1
            except Exception as exc:  # FeedFailed, ValueError (a bad item), or an extractor crashing
                counts["items_failed"] += 1
                reason = exc if isinstance(exc, (FeedFailed, ValueError)) else f"unexpected {type(exc).__name__}: {exc}"
                logger.warning("feed %s: item %s: %s; skipped", feed.name, shown_url(item.url or item.key), reason,
                               exc_info=not isinstance(exc, (FeedFailed, ValueError)))
                self.state.release(claims)  # tried again at the next poll
        if taken:
            report = self.ingester_for(feed.collection).ingest([a for a, _ in taken])
            failed_ids = {e.path for e in report.failed}
            for article, claims in taken:
                if article.origin in failed_ids:
                    self.state.release(claims)
            counts.update({f"articles_{k}": v for k, v in report.counts().items()})
        self.stats.update(counts)
        logger.info("feed %s: %d items, %d seen before, %d read, %d failed; articles %d added, %d updated, %d unchanged",
                    feed.name, len(items), counts["items_seen_before"], counts["items_taken"], counts["items_failed"],
                    counts["articles_added"], counts["articles_updated"], counts["articles_unchanged"])

    def _claim(self, collection: str, item: FeedItem) -> list[str] | None:
        """Claims on this version of the item, by guid and then by url; None when another
        watcher (or an earlier poll) has it."""
        claims: list[str] = []
        for kind, key in (("item", item.key), ("url", item.url)):
            if key is None or (kind == "url" and key == item.key):
                continue
            claim = self.state.claim(collection, kind, key, item.fingerprint)
            if claim is None:
                self.state.release(claims)
                return None
            claims.append(claim)
        return claims

    def _get_page(self, feed: FeedSpec, url: str) -> httpx.Response:
        """The page, following redirects one hop at a time, each hop checked (`page_refusal`)."""
        for _ in range(MAX_REDIRECTS + 1):
            refusal = page_refusal(url, feed.url)
            if refusal:
                self.stats["pages_refused"] += 1
                raise FeedFailed(f"page {shown_url(url)} refused: {refusal}")
            response = self._get(url, {}, follow_redirects=False)
            location = response.headers.get("Location")
            if response.status_code not in (301, 302, 303, 307, 308) or not location:
                return response
            url = urljoin(url, location)
        raise FeedFailed(f"page: more than {MAX_REDIRECTS} redirects")

    def _article(self, feed: FeedSpec, item: FeedItem) -> Article:
        if not item.needs_page or item.url is None:  # an item needs its page only when it has a url
            return item.article(feed)
        response = self._get_page(feed, item.url)
        self.stats["pages_fetched"] += 1
        if response.status_code != 200:
            self.stats["pages_failed"] += 1
            raise FeedFailed(f"page HTTP {response.status_code}")
        text = page_text(response.text)
        if not text:
            self.stats["pages_failed"] += 1
            raise FeedFailed("no article text found on the page")
        return item.article(feed, text)

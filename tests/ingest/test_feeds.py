"""`newsdesk watch` against a fake feed server on loopback: RSS and Atom, conditional GET
and 304s, a 429 with Retry-After, a malformed feed, a summary-only feed whose pages are
fetched, changed items, duplicates by guid and by url, and two watchers on one store."""

from __future__ import annotations

import logging
import threading

import pytest

from service.errors import ConfigError
from service.ingest.feeds import FeedSpec, load_feeds, parse_interval
from service.ingest.feedstate import FeedState
from service.ingest.watch import Watcher, retry_after_s
from tests.ingest.fake_feeds import (
    FeedServer,
    atom,
    atom_entry,
    conditional,
    page,
    rss,
    rss_item,
    static,
)

HARBOUR = ["The port authority approved a dredging plan for the old harbour on Tuesday, at a cost of 40 million euros.",
           "Work starts in March and should let larger container ships dock by 2027, the authority said."]
TRAMS = ["The eastern tram line opened on Saturday with twelve stops between the station and the hospital.",
         "The city expects 18,000 riders a day once the full timetable runs."]
TRAMS_EDITED = [TRAMS[0], "The city now expects 21,000 riders a day, after a busy first weekend."]
ORCHARD = ["Apple growers in the valley said the cider harvest recovered to 9,200 tonnes after two poor years, "
           "helped by a wet spring and fewer late frosts that let the blossom set across the hillside orchards.",
           "Co-operative presses in three villages ran double shifts through October to keep up with deliveries, "
           "and the growers' association said prices held steady despite the larger crop."]


@pytest.fixture
def server():
    fake = FeedServer()
    yield fake
    fake.close()


class Clock:
    def __init__(self, start: float = 1_750_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now


def watcher_for(components, feeds, clock=None) -> Watcher:
    return Watcher(feeds, lambda _collection: components.ingester, FeedState(components.client),
                   default_collection=components.collection, clock=clock or Clock())


def stored(components) -> dict[str, tuple[str, dict]]:
    out = {}
    for row in components.store.list_articles(limit=100):
        article, _ = components.store.get_article(row["article_id"])
        out[row["article_id"]] = (article.text, row)
    return out


def test_rss_conditional_get_304_and_a_changed_item(server, components):
    feed_v1 = rss(rss_item("h-1", server.url("/harbour"), "Harbour dredging approved", HARBOUR),
                  rss_item("t-1", server.url("/trams"), "Tram line opens", TRAMS))
    server.routes["/rss.xml"] = conditional(feed_v1, etag='"v1"')
    clock = Clock()
    watcher = watcher_for(components, [FeedSpec(server.url("/rss.xml"), "Coast Courier", interval_s=300)], clock)

    first = watcher.poll_due()
    assert first["articles_added"] == 2 and first["items_taken"] == 2
    articles = stored(components)
    text, row = articles[server.url("/harbour")]
    assert text == "\n\n".join(HARBOUR)
    assert row["title"] == "Harbour dredging approved" and row["source"] == "Coast Courier"
    assert row["author"] == "Dana Reyes" and row["published_at"].startswith("2025-06-03T09:00:00")
    assert server.hits("/harbour") == []  # the feed had the full text: no page fetched

    clock.now += 100  # not due yet: nothing is fetched
    assert watcher.poll_due() == {} and len(server.hits("/rss.xml")) == 1
    clock.now += 200
    assert watcher.poll_due()["not_modified"] == 1
    sent = server.hits("/rss.xml")[-1]
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == "Mon, 02 Jun 2025 10:00:00 GMT"

    # The tram story is edited: only it is re-ingested; the harbour item is not re-read.
    feed_v2 = rss(rss_item("h-1", server.url("/harbour"), "Harbour dredging approved", HARBOUR),
                  rss_item("t-1", server.url("/trams"), "Tram line opens", TRAMS_EDITED))
    server.routes["/rss.xml"] = conditional(feed_v2, etag='"v2"')
    clock.now += 300
    third = watcher.poll_due()
    assert third["items_seen_before"] == 1 and third["items_taken"] == 1
    assert third["articles_updated"] == 1 and "articles_added" not in third
    assert stored(components)[server.url("/trams")][0] == "\n\n".join(TRAMS_EDITED)
    assert components.store.count_articles() == 2


def test_atom_summary_only_fetches_the_page_and_a_bad_page_is_retried(server, components, caplog):
    caplog.set_level(logging.INFO, logger="newsdesk.watch")
    server.routes["/atom.xml"] = static(atom(
        atom_entry("urn:orchard", server.url("/orchard.html"), "Cider orchards recover", "Growers had a good year."),
        atom_entry("urn:broken", server.url("/broken.html"), "A story whose page fails", "Summary only."),
    ), content_type="application/atom+xml")
    server.routes["/orchard.html"] = static(page("Cider orchards recover", ORCHARD), content_type="text/html")
    clock = Clock()
    watcher = watcher_for(components, [FeedSpec(server.url("/atom.xml"), "Valley Times", interval_s=60)], clock)

    first = watcher.poll_due()
    assert first["pages_fetched"] == 2 and first["pages_failed"] == 1 and first["articles_added"] == 1
    text, row = stored(components)[server.url("/orchard.html")]
    # The page's article (headline and paragraphs): no menu, no footer, not the feed's summary.
    assert text == "\n\n".join(["Cider orchards recover", *ORCHARD])
    assert row["author"] == "Ola Berg" and row["source"] == "Valley Times"
    assert f"item {server.url('/broken.html')}: page HTTP 404; skipped" in caplog.text

    # The failed item gave its claim back: once its page works, the next poll takes it.
    server.routes["/broken.html"] = static(page("A story whose page fails", TRAMS), content_type="text/html")
    clock.now += 60
    second = watcher.poll_due()
    assert second["items_seen_before"] == 1 and second["articles_added"] == 1
    assert stored(components)[server.url("/broken.html")][0] == "\n\n".join(["A story whose page fails", *TRAMS])
    assert len(server.hits("/orchard.html")) == 1


def test_429_retry_after_and_a_malformed_feed_do_not_stop_the_others(server, components, caplog):
    busy = {"n": 0}

    def busy_route(_headers):
        busy["n"] += 1
        if busy["n"] == 1:
            return 429, {"Retry-After": "120"}, b"slow down"
        return 200, {"Content-Type": "application/rss+xml"}, rss(
            rss_item("b-1", server.url("/busy-story"), "Tram line opens", TRAMS)).encode()

    server.routes["/busy.xml"] = busy_route
    server.routes["/bad.xml"] = static("<html><body>this is not a feed <<<", content_type="text/html")
    server.routes["/down.xml"] = lambda _h: (503, {}, b"down")
    server.routes["/good.xml"] = static(rss(rss_item("g-1", server.url("/harbour"), "Harbour dredging approved", HARBOUR)))
    feeds = [FeedSpec(server.url(p), "Coast Courier", interval_s=30) for p in ("/busy.xml", "/bad.xml", "/down.xml", "/good.xml")]
    clock = Clock()
    watcher = watcher_for(components, feeds, clock)

    first = watcher.poll_due()
    assert first["feeds_polled"] == 4 and first["feeds_failed"] == 3 and first["articles_added"] == 1
    assert first["retry_after_honoured"] == 1
    assert f"feed {server.url('/busy.xml')}: HTTP 429; next try in 120 s" in caplog.text
    assert f"feed {server.url('/bad.xml')}: not an RSS or Atom feed" in caplog.text
    assert f"feed {server.url('/down.xml')}: HTTP 503; next try in 30 s" in caplog.text

    clock.now += 61  # the good feed and the 503 (backing off 30 s, then 60 s) are due; the 429 is not
    second = watcher.poll_due()
    assert busy["n"] == 1 and len(server.hits("/down.xml")) == 2
    assert f"feed {server.url('/down.xml')}: HTTP 503; next try in 60 s" in caplog.text
    assert second.get("articles_added", 0) == 0

    clock.now += 60  # past Retry-After
    third = watcher.poll_due()
    assert busy["n"] == 2 and third["articles_added"] == 1
    assert server.url("/busy-story") in stored(components)


def test_dedupe_by_guid_then_url(server, components):
    server.routes["/a.xml"] = static(rss(
        rss_item("same-guid", server.url("/harbour"), "Harbour dredging approved", HARBOUR),
        rss_item("same-guid", server.url("/harbour"), "Harbour dredging approved", HARBOUR),  # repeated entry
        rss_item("other-guid", server.url("/harbour"), "Harbour dredging approved", HARBOUR),  # same story, new guid
    ))
    server.routes["/b.xml"] = static(rss(rss_item("b-guid", server.url("/harbour"), "Harbour dredging approved", HARBOUR)))
    feeds = [FeedSpec(server.url("/a.xml"), "Coast Courier"), FeedSpec(server.url("/b.xml"), "Coast Courier")]
    counts = watcher_for(components, feeds).poll_due()
    assert counts["items_taken"] == 1 and counts["items_seen_before"] == 3 and counts["articles_added"] == 1
    assert components.store.count_articles() == 1


def test_two_watchers_on_one_store_ingest_each_item_once(server, components):
    items = [rss_item(f"g-{i}", server.url(f"/story-{i}"), f"Story {i}", [f"Story number {i} happened today.", *HARBOUR])
             for i in range(6)]
    server.routes["/rss.xml"] = static(rss(*items))
    feeds = [FeedSpec(server.url("/rss.xml"), "Coast Courier")]
    watchers = [watcher_for(components, feeds), watcher_for(components, feeds)]
    barrier = threading.Barrier(2)
    results = []

    def run(w: Watcher) -> None:
        barrier.wait()
        # Both fetch the feed regardless of the shared schedule: the claims must hold alone.
        w.poll(feeds[0], w.state.feed(feeds[0].url).__class__(feeds[0].url))
        results.append(w.stats)

    threads = [threading.Thread(target=run, args=(w,)) for w in watchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(server.hits("/rss.xml")) == 2
    assert sum(r["items_taken"] for r in results) == 6 and sum(r["items_seen_before"] for r in results) == 6
    assert sum(r["articles_added"] for r in results) == 6 and components.store.count_articles() == 6


def test_feeds_file_is_checked(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: https://example.org/rss\n    outlet: Example\n    interval: 10m\n"
                    "  - url: https://example.org/atom\n    outlet: Other\n    collection: archive\n")
    assert load_feeds(path) == [FeedSpec("https://example.org/rss", "Example", 600.0),
                                FeedSpec("https://example.org/atom", "Other", 900.0, "archive")]
    for body, message in [
        ("feeds: []\n", "expected a `feeds:` list"),
        ("feeds:\n  - url: ftp://x\n    outlet: X\n", "feed 1: url 'ftp://x': expected an http(s) URL"),
        ("feeds:\n  - url: https://x.org\n", "feed 1: outlet: expected the outlet's name"),
        ("feeds:\n  - url: https://x.org\n    outlet: X\n    interval: soon\n", "feed 1: interval 'soon'"),
        ("feeds:\n  - url: https://x.org\n    outlet: X\n    every: 5m\n", "feed 1: unknown key(s) every"),
        ("feeds: [oops\n", "invalid YAML"),
    ]:
        path.write_text(body)
        with pytest.raises(ConfigError, match=None) as caught:
            load_feeds(path)
        assert str(path) in caught.value.message and message in caught.value.message
    with pytest.raises(ConfigError, match="cannot read feeds file"):
        load_feeds(tmp_path / "missing.yaml")
    assert parse_interval(90) == 90 and parse_interval("2h") == 7200 and parse_interval("1.5m") == 90


def test_retry_after_forms():
    now = 1_750_000_000.0
    assert retry_after_s("120", now) == 120
    assert retry_after_s("Sun, 15 Jun 2025 15:06:40 GMT", now) == pytest.approx(0.0, abs=1)  # 1_750_000_000
    assert retry_after_s("Sun, 15 Jun 2025 15:08:40 GMT", now) == pytest.approx(120.0, abs=1)
    assert retry_after_s("later", now) is None and retry_after_s(None, now) is None


def test_cli_watch_once(server, tmp_path, monkeypatch, capsys):
    from service.cli.main import main

    server.routes["/rss.xml"] = static(rss(rss_item("h-1", server.url("/harbour"), "Harbour dredging approved", HARBOUR)))
    server.routes["/bad.xml"] = static("not a feed", content_type="text/plain")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - url: {server.url('/rss.xml')}\n    outlet: Coast Courier\n"
                     f"  - url: {server.url('/bad.xml')}\n    outlet: Nobody\n")
    monkeypatch.setenv("NEWSDESK_INDEX_DIR", str(tmp_path / "index"))
    assert main(["watch", str(feeds), "--once"]) == 1  # one feed was bad; the other went in
    out = capsys.readouterr().out
    assert "articles_added 1" in out and "feeds_failed 1" in out and "feeds_polled 2" in out
    assert main(["watch", str(feeds), "--once"]) == 0  # nothing due yet
    assert capsys.readouterr().out.strip() == "no feed was due"
    assert main(["list", "--json"]) == 0
    assert '"source": "Coast Courier"' in capsys.readouterr().out


def test_serve_runs_the_watcher_when_a_feeds_file_is_set(server, tmp_path, components):
    import time

    from service.cli.watch import start_watching

    server.routes["/rss.xml"] = static(rss(rss_item("h-1", server.url("/harbour"), "Harbour dredging approved", HARBOUR)))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - url: {server.url('/rss.xml')}\n    outlet: Coast Courier\n")
    from prometheus_client import REGISTRY

    def added() -> float:
        return REGISTRY.get_sample_value("newsdesk_feed_events_total", {"event": "articles_added"}) or 0.0

    before = added()
    assert start_watching(components.settings, components) is None  # not configured: no watcher
    stop = start_watching(components.settings.model_copy(update={"feeds_file": feeds}), components)
    try:
        deadline = time.monotonic() + 60
        while components.store.count_articles() == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert components.store.count_articles() == 1
        while added() == before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert added() == before + 1  # on /metrics under serve
    finally:
        stop.set()


def test_credentials_in_feed_urls_stay_out_of_logs_and_records(server, components, caplog):
    caplog.set_level(logging.INFO, logger="newsdesk.watch")
    server.routes["/private.xml?token=s3cret-feed-token"] = lambda _h: (503, {}, b"down")
    feed = FeedSpec(server.url("/private.xml?token=s3cret-feed-token"), "Coast Courier")
    watcher = watcher_for(components, [feed])
    assert watcher.poll_due()["feeds_failed"] == 1
    assert "s3cret" not in caplog.text and f"{server.base}/private.xml?token=...: HTTP 503" in caplog.text
    stored_state = watcher.state.records.get(include=["metadatas"])["metadatas"]
    assert "s3cret" not in str(stored_state) and watcher.state.feed(feed.url).failures == 1


def test_an_oversized_feed_is_refused(server, components, caplog, monkeypatch):
    monkeypatch.setattr("service.ingest.watch.MAX_BYTES", 10_000)
    server.routes["/huge.xml"] = static(rss(*[rss_item(f"g{i}", server.url(f"/s{i}"), "S", HARBOUR) for i in range(50)]))
    counts = watcher_for(components, [FeedSpec(server.url("/huge.xml"), "Coast Courier")]).poll_due()
    assert counts["feeds_failed"] == 1 and components.store.count_articles() == 0
    assert f"feed {server.base}/huge.xml: response over 10,000 bytes" in caplog.text


def test_crashes_are_logged_and_skipped_and_the_rest_goes_on(server, components, caplog, monkeypatch):
    import service.ingest.watch as watch

    real_page_text = watch.page_text

    def explode(html: str) -> str:
        raise RuntimeError("extractor bug")

    def broken_parser(content: bytes):
        raise RecursionError("parser bug")

    server.routes["/summaries.xml"] = static(atom(atom_entry("urn:x", server.url("/x.html"), "X", "Only a summary.")),
                                             content_type="application/atom+xml")
    server.routes["/x.html"] = static(page("Cider orchards recover", ORCHARD), content_type="text/html")
    server.routes["/full.xml"] = static(rss(rss_item("h-1", server.url("/harbour"), "Harbour dredging approved", HARBOUR)))
    feeds = [FeedSpec(server.url("/summaries.xml"), "Valley Times", interval_s=60),
             FeedSpec(server.url("/full.xml"), "Coast Courier", interval_s=60)]
    clock = Clock()
    watcher = watcher_for(components, feeds, clock)

    monkeypatch.setattr(watch, "page_text", explode)
    counts = watcher.poll_due()
    assert counts["items_failed"] == 1 and counts["articles_added"] == 1 and "feeds_failed" not in counts
    assert f"item {server.base}/x.html: unexpected RuntimeError: extractor bug; skipped" in caplog.text

    # The item gave its claim back: with the extractor fixed, the next poll takes it.
    monkeypatch.setattr(watch, "page_text", real_page_text)
    clock.now += 60
    assert watcher.poll_due()["articles_added"] == 1 and components.store.count_articles() == 2

    # A feed whose parsing crashes is skipped and backs off instead of spinning.
    monkeypatch.setattr(watch, "parse_feed", broken_parser)
    clock.now += 60
    assert watcher.poll_due()["feeds_failed"] == 2
    assert f"feed {server.base}/full.xml: unexpected error; skipped" in caplog.text
    assert watcher.state.feed(feeds[1].url).not_before == clock.now + 60


@pytest.mark.e2e
def test_newsdesk_serve_with_a_feeds_file_fills_the_index(server, components, tmp_path):
    """The real entry point: `newsdesk serve` with NEWSDESK_FEEDS_FILE runs the watcher, and
    what it ingests is seen through the API, MCP at /mcp and /metrics."""
    import time

    import anyio
    import httpx
    from mcp import Client

    from tests.api.test_e2e import serve_process
    from tests.conftest import make_article

    components.ingester.ingest([make_article("seed")])  # not empty: serve indexes no sample corpus
    server.routes["/rss.xml"] = static(rss(rss_item("h-1", server.url("/harbour"), "Harbour dredging approved", HARBOUR)))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - url: {server.url('/rss.xml')}\n    outlet: Coast Courier\n    interval: 1h\n")
    harbour = server.url("/harbour")
    with serve_process(tmp_path, "serve", index_dir=str(components.settings.index_dir), feeds_file=str(feeds)) as base:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ids = [a["article_id"] for a in httpx.get(f"{base}/v1/articles").json()["items"]]
            if harbour in ids:
                break
            time.sleep(0.5)
        assert harbour in ids, (tmp_path / "serve.log").read_text(errors="replace")[-2000:]

        async def read_it():
            async with Client(f"{base}/mcp") as client:
                return (await client.call_tool("get_article", {"article_id": harbour})).structured_content

        article = anyio.run(read_it)
        assert article["text"] == "\n\n".join(HARBOUR) and article["source"] == "Coast Courier"
        assert 'newsdesk_feed_events_total{event="articles_added"} 1.0' in httpx.get(f"{base}/metrics").text
    assert "feed http://127.0.0.1" in (tmp_path / "serve.log").read_text(errors="replace")


def test_pages_on_other_hosts_with_private_addresses_are_refused_even_through_a_redirect(server, components, caplog):
    from service.ingest.watch import page_refusal

    caplog.set_level(logging.INFO, logger="newsdesk.watch")
    port = server.base.rsplit(":", 1)[1]
    # A feed's item may name any address; "localhost" is this machine under another name,
    # as a metadata service or an admin port would be.
    inside = f"http://localhost:{port}/secret.html"
    server.routes["/secret.html"] = static(page("Internal admin", TRAMS), content_type="text/html")
    server.routes["/hop.html"] = lambda _: (302, {"Location": inside}, b"")
    server.routes["/orchard.html"] = static(page("Cider orchards recover", ORCHARD), content_type="text/html")
    server.routes["/atom.xml"] = static(atom(
        atom_entry("urn:inside", inside, "Straight in", "Summary only."),
        atom_entry("urn:hop", server.url("/hop.html"), "Via a redirect", "Summary only."),
        atom_entry("urn:orchard", server.url("/orchard.html"), "Cider orchards recover", "Growers had a good year."),
    ), content_type="application/atom+xml")
    watcher = watcher_for(components, [FeedSpec(server.url("/atom.xml"), "Valley Times", interval_s=60)])

    counts = watcher.poll_due()
    assert counts["articles_added"] == 1  # the page on the feed's own host still goes in
    assert list(stored(components)) == [server.url("/orchard.html")]
    assert server.hits("/secret.html") == []  # never requested, directly or through the redirect
    assert len(server.hits("/hop.html")) == 1
    assert "localhost is a non-public address (127.0.0.1), and not the feed's own host" in caplog.text
    assert watcher.stats["pages_refused"] == 2
    assert page_refusal("file:///etc/passwd", server.url("/atom.xml")) == "not an http(s) address"
    assert page_refusal("http://169.254.169.254/latest/meta-data/", server.url("/atom.xml")).startswith(
        "169.254.169.254 is a non-public address")

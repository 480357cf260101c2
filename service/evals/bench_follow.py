"""`newsdesk bench follow`: how fast a write finds the saved questions it could affect, and
how soon a changed answer's notice arrives.

Selection: 10,000 saved questions (made from the news set's headlines by templates, embedded
with the configured model, stored as follows) in embedded Chroma; then a 100-article ingest
(the news set), and the time from the written articles to the follows selected: their chunks
and vectors read, the questions compared (`Follower.affected`). Warm: the replica has the
questions loaded already (as a running one does); cold: it loads all 10,000 first.

Latency: a `chroma run` server and two `newsdesk serve` replicas (each its own lexical index),
a follow per invented project ("How much will the X cost?"), then a correction of each
project's cost written through the replicas in turn; the time from the start of the write's
POST to the webhook receiving its notice, on 127.0.0.1. Duplicates are counted.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from service.config import REPO_DIR, Settings
from service.models import Article

TEMPLATES = ("What happened with {}?", "What is the latest on {}?", "How much is {} worth?", "Who is behind {}?",
             "When will {} be decided?", "Why does {} matter?", "How many people are affected by {}?")
NAMES = ("Quillon", "Marrowby", "Tessaly", "Orrindale", "Kestwick", "Pellham", "Ravensworth", "Lowther", "Fenmoor",
         "Ashgrove", "Brackley", "Corrow", "Dunhill", "Elmsford", "Garrow", "Hollins", "Ivybridge", "Jessop", "Kirkby",
         "Larchmont", "Moorcroft", "Northam", "Oakhurst", "Penrow", "Quarry Hill", "Rushmere", "Stanway", "Thornby")


_TOPICS = ("tariff", "harbour", "vaccine", "stadium", "pension", "wildfire", "rail line", "data centre", "merger",
           "strike", "drought", "election", "satellite", "housing plan", "refinery", "ferry", "school budget")


def synthetic_questions(titles: list[str], n: int, *, on_topic: float = 0.01, seed: int = 11) -> list[str]:
    """`n` distinct questions: about `on_topic` of them from phrases of the written
    articles' headlines, the rest about invented places and topics nobody writes about."""
    rng = random.Random(seed)
    words = [t.split() for t in titles]
    out: set[str] = set()
    while len(out) < int(n * on_topic):
        title = rng.choice(words)
        start = rng.randrange(max(1, len(title) - 2))
        phrase = " ".join(title[start:start + rng.randint(3, 6)]).strip(",.:;")
        out.add(rng.choice(TEMPLATES).format(phrase))
    while len(out) < n:
        place = "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(3)).capitalize()
        out.add(rng.choice(TEMPLATES).format(f"the {place} {rng.choice(_TOPICS)}"))
    return sorted(out)


def measure_selection(settings: Settings, work: Path, n_follows: int, n_articles: int) -> dict[str, float]:
    from service.collections import Collections
    from service.components import Components
    from service.evals.cases import load_corpus
    from service.follows.records import Follow, Notify, new_follow_id
    from service.follows.running import build_follows

    local = settings.model_copy(update={"index_dir": work / "selection", "chroma_host": None, "lexical_dir": None})
    components = Components.build(local, collection="bench-follow")
    articles = load_corpus(REPO_DIR / "evals" / "newsset" / "corpus").articles[:n_articles]
    questions = synthetic_questions([a.title for a in articles], n_follows)
    started = time.perf_counter()
    vectors = components.embedder.embed(questions)
    embed_s = time.perf_counter() - started
    service = build_follows(local, Collections(components))
    store, batch = service.follower.follows, components.store.max_batch
    follows = [Follow(new_follow_id(), q, components.collection, Notify(slack_channel="CBENCH"),
                      model_id=components.embedder.model_id) for q in questions]
    for i in range(0, len(follows), batch):  # the follows' records, as `FollowStore.add` writes them, in bulk
        part = follows[i:i + batch]
        store.records.add(ids=[f.follow_id for f in part], embeddings=vectors[i:i + batch],
                          documents=[f.document() for f in part], metadatas=[f.metadata() for f in part])
    started = time.perf_counter()
    service.follower.index.refresh(components.collection)
    cold_load_s = time.perf_counter() - started
    components.ingester.ingest(articles)  # the write
    ids = [a.article_id for a in articles]
    started = time.perf_counter()
    selected = service.follower.affected(components, ids)
    warm_s = time.perf_counter() - started
    service.follower.index.forget()  # as a replica that has not loaded the questions yet
    started = time.perf_counter()
    service.follower.affected(components, ids)
    cold_s = time.perf_counter() - started
    return {"follows": n_follows, "articles": len(ids), "chunks": len(components.store.chunks_of(ids)),
            "selected": len(selected), "select_warm_s": warm_s, "select_cold_s": cold_s,
            "load_questions_s": cold_load_s, "embed_questions_s": embed_s}


# -- notice latency on two replicas ---------------------------------------------------------------

class _Receiver:
    """Webhook notices received on 127.0.0.1, with when they arrived."""

    def __init__(self) -> None:
        self.got: list[tuple[float, dict]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.got.append((time.time(), json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notices"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def notices_for(self, follow_id: str) -> list[tuple[float, dict]]:
        with self.lock:
            return [(t, p) for t, p in self.got if p["follow_id"] == follow_id]


_OUTLETS = ("The Calder Courier", "Harlow Gazette", "North Shore Ledger", "Valley Times", "Coastline Post")
_THINGS = ("footbridge", "library", "bus depot", "swimming pool", "ice arena", "fire station", "flood wall")
_FRAMES = (
    "{place} — The {name} will cost ${old} million, the {body} said on Monday. Work is due to start next spring.",
    "{place} — Building the {name} is now expected to cost ${old} million, according to figures the {body} "
    "released on Tuesday, after two years of delays.",
    "{place} — Councillors were told on Wednesday that the {name} carries a price tag of ${old} million, "
    "which the {body} will pay from reserves.",
    "{place} — A report by the {body} puts the cost of the {name} at ${old} million, well above early estimates.",
)


def project_articles(i: int) -> tuple[Article, Article, str]:
    """An invented local project's cost, a correction of it three days later, and the
    question a reader follows. Each project its own place, outlet and wording: separate stories."""
    place = NAMES[i % len(NAMES)]
    name = f"{place} {_THINGS[i % len(_THINGS)]}"
    old, new = 10 + i, 40 + 2 * i
    outlet = _OUTLETS[i % len(_OUTLETS)]
    body = ("county planning office", "borough finance committee", "regional works board", "town treasurer")[i % 4]
    day = datetime(2025, 5, 5, 9, tzinfo=UTC) + timedelta(days=i)
    lede = _FRAMES[i % len(_FRAMES)].format(place=place.upper(), name=name, old=old, body=body)
    report = Article(f"bench-project-{i}", f"{name} to cost ${old} million",
                     f"{lede}\n\nResidents of {place} have waited {3 + i % 7} years for the {name}.",
                     outlet=outlet, published_at=day)
    fix = Article(f"bench-project-{i}-correction", f"Correction: the {name} will cost ${new} million, not ${old} million",
                  f"An article published by {outlet} misstated the cost of the {name} in {place}. It will cost "
                  f"${new} million, not ${old} million as reported. {outlet} regrets the error.",
                  outlet=outlet, published_at=day + timedelta(days=3))
    return report, fix, f"How much will the {name} cost?"


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "service.cli.main", "serve", "--port", str(port)],
                            env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _wait_ready(url: str, timeout_s: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} was not ready in {timeout_s:.0f} s")


def measure_latency(settings: Settings, work: Path, writes: int) -> dict[str, Any]:
    import httpx

    from service.components import Components
    from service.evals.bench_scale import _chroma_server

    receiver = _Receiver()
    with ExitStack() as stack:
        port = stack.enter_context(_chroma_server(work))
        env = {**os.environ, "NEWSDESK_CHROMA_HOST": "127.0.0.1", "NEWSDESK_CHROMA_PORT": str(port),
               "NEWSDESK_COLLECTION": "bench-follow", "NEWSDESK_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
               "NEWSDESK_KEYS_COLLECTION": "bench-follow-keys", "NEWSDESK_INDEX_DIR": str(work / "index")}
        server = settings.model_copy(update={"chroma_host": "127.0.0.1", "chroma_port": port,
                                             "index_dir": work / "index", "lexical_dir": work / "lex-bench"})
        projects = [project_articles(i) for i in range(writes)]
        Components.build(server, collection="bench-follow").ingester.ingest([p[0] for p in projects])
        urls = []
        for name in ("a", "b"):
            web = _free_port()
            proc = _serve({**env, "NEWSDESK_LEXICAL_DIR": str(work / f"lex-{name}")}, web, work / f"serve-{name}.log")
            stack.callback(_stop, proc)
            urls.append(f"http://127.0.0.1:{web}")
        for url in urls:
            _wait_ready(url)
        follows = [httpx.post(urls[0] + "/v1/follows", timeout=60, json={"question": q, "notify": {"webhook": receiver.url}})
                   .json()["follow_id"] for _, _, q in projects]
        latencies = []
        for i, (_, fix, _) in enumerate(projects):
            started = time.time()
            httpx.post(urls[i % 2] + "/v1/articles", timeout=60, json={
                "id": fix.article_id, "title": fix.title, "text": fix.text, "source": fix.outlet,
                "published_at": fix.published_at.isoformat() if fix.published_at else None})
            deadline = time.monotonic() + 60
            while not receiver.notices_for(follows[i]) and time.monotonic() < deadline:
                time.sleep(0.01)
            got = receiver.notices_for(follows[i])
            latencies.append(got[0][0] - started if got else float("inf"))
        time.sleep(3)  # late duplicates, if any, arrive now
        ids = [p["notice_id"] for _, p in receiver.got]
        said = [f"{p['notice_id']}: {p['summary']}" for _, p in receiver.got]
    finite = sorted(x for x in latencies if x != float("inf"))
    return {"writes": writes, "notices": len(set(ids)), "duplicates": len(ids) - len(set(ids)),
            "missing": len(latencies) - len(finite),
            "latency_p50_s": statistics.median(finite) if finite else float("nan"),
            "latency_p95_s": statistics.quantiles(finite, n=20)[-1] if len(finite) > 1 else float("nan"),
            "latency_max_s": max(finite, default=float("nan")), "said": said}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def cmd_bench_follow(args, settings: Settings) -> int:
    from rich.console import Console

    console = Console()
    with tempfile.TemporaryDirectory(prefix="newsdesk-bench-follow-") as tmp:
        work = Path(tmp)
        chosen = measure_selection(settings, work, args.follows, args.articles)
        console.print(f"selection: {chosen['follows']:,} saved questions, a {chosen['articles']}-article ingest "
                      f"({chosen['chunks']} chunks): {chosen['selected']} selected in "
                      f"{chosen['select_warm_s'] * 1000:.0f} ms (warm; target ≤ 1 s), "
                      f"{chosen['select_cold_s'] * 1000:.0f} ms cold (loading the questions: "
                      f"{chosen['load_questions_s'] * 1000:.0f} ms); embedding them took {chosen['embed_questions_s']:.1f} s")
        result = dict(chosen)
        if not args.skip_latency:
            late = measure_latency(settings, work, args.writes)
            console.print(f"notice latency, two `newsdesk serve` replicas on `chroma run`: {late['writes']} corrections, "
                          f"{late['notices']} notices, {late['duplicates']} duplicates, {late['missing']} missing; "
                          f"p50 {late['latency_p50_s']:.2f} s, p95 {late['latency_p95_s']:.2f} s (target ≤ 5 s), "
                          f"max {late['latency_max_s']:.2f} s")
            result.update(late)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


def register(kinds) -> None:
    p = kinds.add_parser("follow", help="follows: selection time with 10,000 saved questions; notice latency on two replicas")
    p.add_argument("--follows", type=int, default=10_000, help="saved questions (default 10,000)")
    p.add_argument("--articles", type=int, default=100, help="articles in the write (default 100)")
    p.add_argument("--writes", type=int, default=20, help="corrections written for the latency (default 20)")
    p.add_argument("--skip-latency", action="store_true", help="only the selection time (no Chroma server)")
    p.add_argument("--json", help="also write the figures to this file")
    p.set_defaults(func=cmd_bench_follow)

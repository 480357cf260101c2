"""`newsdesk bench scale --chunks 10000,100000 [--chroma-server]`: the archive at scale.

For each size: a synthetic corpus of that many chunks is ingested through the real pipeline
with a deterministic synthetic embedder (so the model's cost is left out), then two replica
processes (A and B, each its own lexical index directory) are started on the store: embedded
Chroma, or a `chroma run` server started for the run. Printed per size: ingest chunks/s,
write->visible p50/p95 (an article with a unique word ingested through A, B polled until a
query for the word finds it), retrieve p50/p95 on B, cold start (fresh: copying the corpus;
current: an index on disk), and the RSS of each replica, now and at its peak.

A replica is `python -m service.evals.bench_scale replica`, answering JSON lines on stdin.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from service.config import Settings
from service.models import Article


class SyntheticEmbedder:
    """Deterministic vectors: the normalised sum of a fixed random vector per word (seeded by
    the word's digest, so every process agrees). Texts sharing words land near each other."""

    model_id = "synthetic:hash-384"

    def __init__(self, dimension: int = 384):
        self.dimension = dimension
        self._vectors: dict[str, np.ndarray] = {}

    def _vector(self, word: str) -> np.ndarray:
        vec = self._vectors.get(word)
        if vec is None:
            seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
            vec = self._vectors[word] = np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)
        return vec

    def embed(self, texts) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            # The first words only: a few microseconds a text, so the pipeline is what is timed.
            words = re.findall(r"\w+", text[:400].lower())[:32]
            if words:
                out[row] = np.sum([self._vector(w) for w in words], axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

    def count_tokens(self, texts) -> list[int]:
        return [len(t.split()) for t in texts]


def synthetic_articles(n_chunks: int, *, chunk_words: int = 160, seed: int = 7) -> list[Article]:
    """Articles of about three chunks each, words drawn Zipf-like from a 20,000-word vocabulary."""
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i}" + "abcdefghij"[i % 10] for i in range(20_000)])
    per_article = 3
    words_per_article = chunk_words * per_article
    articles = []
    for number in range(max(1, n_chunks // per_article)):
        picks = np.minimum(rng.zipf(1.2, words_per_article), len(vocab)) - 1
        words = vocab[picks]
        sentences = [" ".join(words[i:i + 12]).capitalize() + "." for i in range(0, len(words), 12)]
        articles.append(Article(article_id=f"syn-{number}", title=f"Story {number}", text=" ".join(sentences),
                                outlet=f"Outlet {number % 17}"))
    return articles


# -- a replica process ----------------------------------------------------------------------------

def _rss_mib() -> dict[str, float]:
    """Resident MiB: all of it, its peak, and the part that is the process's own memory
    (anonymous) as against pages of mapped files (the lexical index is mmapped; those pages
    are the kernel's page cache, shared and dropped under memory pressure)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    mib = {k: int(fields[f].split()[0]) / 1024 for k, f in
           (("rss", "VmRSS"), ("peak", "VmHWM"), ("anon", "RssAnon"), ("file", "RssFile"))}
    return mib


def replica_main() -> None:
    """Serve commands on stdin: search, ingest, retrieve, rss. Settings from NEWSDESK_*."""
    from service.components import Components

    started = time.perf_counter()
    components = Components.build(Settings(), embedder=SyntheticEmbedder())
    components.lexical.current()  # cold start: open (or copy) the lexical index
    print(json.dumps({"ready_s": time.perf_counter() - started, "copies": components.lexical.copies}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        reply: dict[str, Any]
        if cmd["op"] == "search":  # the word in the lexical path, as a reader's query would find it
            found = components.lexical.current().search(cmd["word"], 1)
            reply = {"found": bool(found)}
        elif cmd["op"] == "ingest":
            components.ingester.ingest([Article(**cmd["article"])])
            reply = {}
        elif cmd["op"] == "retrieve":
            times = []
            for question in cmd["questions"]:
                t = time.perf_counter()
                components.retriever.retrieve(question)
                times.append(time.perf_counter() - t)
            reply = {"times": times}
        else:
            reply = _rss_mib()
        print(json.dumps(reply), flush=True)


class Replica:
    def __init__(self, env: dict[str, str], timeout_s: float = 900):
        started = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-m", "service.evals.bench_scale", "replica"], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.stdin, self.stdout = _piped(self.proc.stdin), _piped(self.proc.stdout)
        self.ready = self._read()
        self.cold_start_s = time.perf_counter() - started

    def _read(self) -> dict:
        line = self.stdout.readline()
        if not line:
            raise RuntimeError(f"replica exited with {self.proc.wait()}")
        return json.loads(line)

    def ask(self, **cmd) -> dict:
        self.stdin.write(json.dumps(cmd) + "\n")
        self.stdin.flush()
        return self._read()

    def stop(self) -> None:
        self.stdin.close()
        self.proc.wait(timeout=60)


def _piped(stream: IO[str] | None) -> IO[str]:
    if stream is None:  # Popen makes one for every stream given as PIPE
        raise RuntimeError("the replica's stream was not piped")
    return stream


# -- the benchmark ----------------------------------------------------------------------------------

def _quantile_ms(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else values[0] * 1000


@contextmanager
def _chroma_server(path: Path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if chroma is None:
        raise RuntimeError("no `chroma` command next to this Python or on PATH (pip install chromadb)")
    log = open(path / "chroma.log", "wb")
    proc = subprocess.Popen([chroma, "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    try:
        import httpx

        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _settings(env: dict[str, str]) -> Settings:
    """The NEWSDESK_* variables of `env` as Settings, which parses their strings."""
    fields: dict[str, Any] = {k[9:].lower(): v for k, v in env.items() if k.startswith("NEWSDESK_")}
    return Settings(**fields)


def measure_size(n_chunks: int, *, server: bool, rounds: int, queries: int, work: Path) -> dict:
    from service.components import Components

    with _chroma_server(work) if server else _nothing() as port:
        env = {**os.environ, "NEWSDESK_INDEX_DIR": str(work / "index"), "NEWSDESK_COLLECTION": "bench-scale",
               "ANONYMIZED_TELEMETRY": "False"}
        if server:
            env |= {"NEWSDESK_CHROMA_HOST": "127.0.0.1", "NEWSDESK_CHROMA_PORT": str(port)}
        settings = _settings(env)
        writer = Components.build(settings.model_copy(update={"lexical_dir": work / "writer"}),
                                  embedder=SyntheticEmbedder())
        articles = synthetic_articles(n_chunks)
        started = time.perf_counter()
        report = writer.ingester.ingest(articles)
        ingest_s = time.perf_counter() - started
        del writer, articles

        a = Replica({**env, "NEWSDESK_LEXICAL_DIR": str(work / "a")})
        b = Replica({**env, "NEWSDESK_LEXICAL_DIR": str(work / "b")})
        fresh_s = b.cold_start_s
        b.stop()
        b = Replica({**env, "NEWSDESK_LEXICAL_DIR": str(work / "b")})  # restarted: its index is on disk
        current_s, current_copies, ready_current_s = b.cold_start_s, b.ready["copies"], b.ready["ready_s"]
        visible, writes = [], []
        for number in range(rounds + 1):  # the first one warms up (A's sentence model, lazy imports)
            word = f"zq{uuid.uuid4().hex[:10]}"
            article = {"article_id": f"new-{number}", "title": f"Breaking {number}", "outlet": "Wire",
                       "text": f"The {word} report was published today. It names {word} twice."}
            t = time.perf_counter()
            a.ask(op="ingest", article=article)
            written = time.perf_counter() - t
            while not b.ask(op="search", word=word)["found"]:
                time.sleep(0.005)
            if number:
                visible.append(time.perf_counter() - t)
                writes.append(written)
        questions = [" ".join(s.split()[:8]) for s in (a.text for a in synthetic_articles(queries * 3, seed=99))][:queries]
        b.ask(op="retrieve", questions=questions[:5])  # warm-up
        retrieve = b.ask(op="retrieve", questions=questions)["times"]
        rss = {name: r.ask(op="rss") for name, r in (("A", a), ("B", b))}
        a.stop()
        b.stop()
    return {
        "chunks": report.chunks_written, "ingest_cps": report.chunks_written / ingest_s,
        "write_p50": _quantile_ms(writes, 50),
        "visible_p50": _quantile_ms(visible, 50), "visible_p95": _quantile_ms(visible, 95),
        "retrieve_p50": _quantile_ms(retrieve, 50), "retrieve_p95": _quantile_ms(retrieve, 95),
        "cold_fresh_s": fresh_s, "cold_current_s": current_s, "current_copies": current_copies, "rss": rss,
        "ready_current_s": ready_current_s, "queries": len(retrieve),
    }


@contextmanager
def _nothing():
    yield None


def cmd_bench_scale(args, settings: Settings) -> int:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    sizes = [int(s) for s in args.chunks.split(",")]
    table = Table(title=f"bench scale: {'chroma run server' if args.chroma_server else 'embedded Chroma'}, "
                        f"two replica processes, synthetic embedder")
    for column in ("chunks", "ingest chunks/s", "write→visible p50 / p95", "retrieve p50 / p95",
                   "cold start: current index / fresh copy", "RSS A / B (peak A / B)",
                   "B after the queries: anonymous (RssAnon) / mapped files (RssFile)"):
        table.add_column(column, justify="right")
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="newsdesk-scale-") as tmp:
            console.print(f"[dim]{size:,} chunks: ingesting, then starting replicas…[/dim]")
            r = measure_size(size, server=args.chroma_server, rounds=args.rounds, queries=args.queries, work=Path(tmp))
        ra, rb = r["rss"]["A"], r["rss"]["B"]
        row = (f"{r['chunks']:,}", f"{r['ingest_cps']:,.0f}",
               f"{r['visible_p50']:.0f} / {r['visible_p95']:.0f} ms",
               f"{r['retrieve_p50']:.1f} / {r['retrieve_p95']:.1f} ms",
               f"{r['cold_current_s']:.1f} s / {r['cold_fresh_s']:.1f} s" + (" (copied!)" if r["current_copies"] else ""),
               f"{ra['rss']:.0f} / {rb['rss']:.0f} MiB ({ra['peak']:.0f} / {rb['peak']:.0f})",
               f"{rb['anon']:.0f} / {rb['file']:.0f} MiB")
        table.add_row(*row)
        # Each size as soon as it is measured: a later, larger size can take an hour, or fail.
        console.print(" | ".join(f"{c.header}: {v}" for c, v in zip(table.columns, row, strict=True)))
    console.print(table)
    console.print(f"last size: B's anonymous memory after {r['queries']} retrievals {rb['anon']:.0f} MiB (targets: ≤ 300 at "
                  "100k chunks, ≤ 600 at 1M): the process's own; mapped index pages are the kernel's page cache, shared")
    console.print(f"last size: A's ingest call alone p50 {r['write_p50']:.0f} ms of write→visible p50 {r['visible_p50']:.0f} ms")
    console.print(f"last size: cold start with a current index {r['cold_current_s']:.1f} s, of which building the "
                  f"components and opening the index {r['ready_current_s']:.1f} s (the rest: interpreter and imports)")
    console.print("write→visible: from the start of A's ingest call to B's first query that finds the new word; "
                  "cold start: process start to a searchable index; targets at 100k: ≤ 1 s, ≤ 100 ms, ≤ 5 s, ≤ 600 MB")
    return 0


def register(kinds) -> None:
    p = kinds.add_parser("scale", help="ingest, write→visible, retrieve, cold start and RSS at archive sizes")
    p.add_argument("--chunks", default="10000,100000", help="comma-separated corpus sizes in chunks")
    p.add_argument("--chroma-server", action="store_true", help="start a `chroma run` server (else embedded Chroma)")
    p.add_argument("--rounds", type=int, default=20, help="write→visible measurements per size")
    p.add_argument("--queries", type=int, default=300,
                   help="retrievals timed per size (default 300; the replicas' memory is read after them)")
    p.set_defaults(func=cmd_bench_scale)


if __name__ == "__main__" and sys.argv[1:] == ["replica"]:
    replica_main()

"""`newsdesk bench lexical DIR`: the two lexical engines measured side by side.

tantivy (the one newsdesk uses, service/index/lexical.py) against SQLite FTS5 (stdlib),
both fed the same chunks, the same Snowball tokens (tantivy's analyzer; FTS5 indexes them
pre-cut) and the same filter predicate, on a
BEIR folder's collection: build rate, cost of replacing one article, query p50/p95 with
and without a filter, and nDCG@10 (lexical alone, and fused with the same dense ranking
as `newsdesk eval beir` does), each with and without the head field (title, outlet, date).
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterable
from functools import partial
from pathlib import Path

from service.config import Settings
from service.index.lexical import HEAD_WEIGHT, LexicalIndex, analyzer, head_text
from service.index.metadata import StoredChunk
from service.models import Filters


class Fts5Index:
    """The candidate engine: one SQLite file, an FTS5 table over the same tokens, and a
    plain table for the filter fields and the stored chunk. The same methods as LexicalIndex."""

    _OPS = {"gte": ">=", "lt": "<"}

    def __init__(self, path: Path, *, head_weight: float = HEAD_WEIGHT):
        self.head_weight = head_weight
        self.words = analyzer().analyze
        self.db = sqlite3.connect(str(path), check_same_thread=False)
        self.db.executescript("""
            CREATE TABLE IF NOT EXISTS chunks (id INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE, article_id TEXT,
                                               source TEXT, published_ts INTEGER, record TEXT);
            CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
            CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(body, head, tokenize='unicode61');
        """)

    def replace_articles(self, article_ids: Iterable[str], chunks: Iterable[StoredChunk]) -> None:
        for article_id in article_ids:
            self.db.execute("DELETE FROM fts WHERE rowid IN (SELECT id FROM chunks WHERE article_id = ?)", (article_id,))
            self.db.execute("DELETE FROM chunks WHERE article_id = ?", (article_id,))
        for c in chunks:
            m = c.metadata
            cur = self.db.execute(
                "INSERT INTO chunks (chunk_id, article_id, source, published_ts, record) VALUES (?, ?, ?, ?, ?)",
                (c.chunk_id, m.get("article_id", ""), m.get("source", ""), int(m.get("published_ts", -1)),
                 json.dumps({"text": c.text, "metadata": m})))
            self.db.execute("INSERT INTO fts (rowid, body, head) VALUES (?, ?, ?)",
                            (cur.lastrowid, " ".join(self.words(c.text)), " ".join(self.words(head_text(m)))))

    def commit(self) -> None:
        self.db.commit()

    def search(self, query: str, n: int, filters: Filters = Filters()) -> list[tuple[StoredChunk, float]]:
        tokens = [t for t in self.words(query) if t.isalnum()]
        if not tokens:
            return []
        match = " OR ".join(f'"{t}"' for t in tokens)
        if self.head_weight <= 0:
            match = f"body : ({match})"
        where, params = [], [match]
        for c in filters.clauses():
            if c.op in self._OPS:
                where.append(f"c.{c.field} {self._OPS[c.op]} ?")
                params.append(c.value)
            else:
                where.append(f"c.{c.field} IN ({', '.join('?' * len(c.value))})")
                params.extend(c.value)
        sql = ("SELECT c.chunk_id, c.record, bm25(fts, 1.0, ?) AS s FROM fts JOIN chunks c ON c.id = fts.rowid "
               "WHERE fts MATCH ?" + "".join(f" AND {w}" for w in where) + " ORDER BY s LIMIT ?")
        rows = self.db.execute(sql, [self.head_weight, *params, n]).fetchall()
        return [(_chunk(cid, record), -score) for cid, record, score in rows]


def _chunk(chunk_id: str, record: str) -> StoredChunk:
    data = json.loads(record)
    return StoredChunk(chunk_id, data["text"], data["metadata"])


def _ms(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else values[0] * 1000


def measure_engine(make, pages: list[list[StoredChunk]], queries: dict[str, str], depth: int) -> dict:
    """Build, incremental replace, query latency and the lexical rankings of one engine."""
    index = make()
    n_chunks = sum(len(p) for p in pages)
    started = time.perf_counter()
    for page in pages:
        index.replace_articles((), page)
    index.commit()
    build_s = time.perf_counter() - started
    by_article: dict[str, list[StoredChunk]] = {}
    for page in pages:
        for c in page:
            by_article.setdefault(c.metadata["article_id"], []).append(c)
    updates = []
    for article_id in list(by_article)[:: max(1, len(by_article) // 50)][:50]:
        t = time.perf_counter()
        index.replace_articles([article_id], by_article[article_id])
        index.commit()
        updates.append(time.perf_counter() - t)
    plain, filtered, rankings = [], [], {}
    only = Filters(outlets=(next(iter(by_article.values()))[0].metadata.get("source", ""),))
    for qid, text in queries.items():
        t = time.perf_counter()
        hits = index.search(text, depth)
        plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        index.search(text, 50, only)
        filtered.append(time.perf_counter() - t)
        rankings[qid] = [(c.chunk_id, c.metadata["article_id"], score) for c, score in hits]
    return {"chunks/s": n_chunks / build_s, "update_ms": _ms(updates, 50), "p50": _ms(plain, 50),
            "p95": _ms(plain, 95), "filtered_p95": _ms(filtered, 95), "rankings": rankings, "index": index}


def cmd_bench_lexical(args, settings: Settings) -> int:
    from rich.console import Console
    from rich.table import Table

    from service.answer.fusion import reciprocal_rank_fusion
    from service.evals.beir import QueryRankings, document_rankings, score_rankings
    from service.evals.commands import open_beir_index

    def rrf(scored):  # the engines compared under one fusion of two rankings, whatever is served
        return reciprocal_rank_fusion([[c for c, _ in items] for items in scored])

    console = Console()
    dataset, components = open_beir_index(settings, Path(args.dir), args.split, limit_docs=None, collection=None,
                                          console=console)
    queries = dict(list(dataset.queries.items())[: args.queries])
    pages = list(components.store.iter_chunk_pages())
    retriever = components.retriever
    dense = {}
    for qid, text in queries.items():
        found = retriever.search(text, mode="dense", n=args.depth)
        dense[qid] = [(cid, found.chunks[cid].metadata["article_id"], score) for cid, score in found.fused]
    table = Table(title=f"lexical engines on {dataset.name}: {sum(map(len, pages))} chunks, {len(queries)} queries")
    for column in ("engine", "head", "build chunks/s", "replace 1 article (p50)", "query p50", "query p95",
                   "filtered p95", "lexical nDCG@10", "hybrid (RRF) nDCG@10"):
        table.add_column(column, justify="left" if column in ("engine", "head") else "right")
    with tempfile.TemporaryDirectory(prefix="newsdesk-lexical-") as tmp:
        engines = {
            "tantivy": lambda w, d: LexicalIndex(Path(tmp) / f"tantivy-{d}", head_weight=w),
            "sqlite fts5": lambda w, d: Fts5Index(Path(tmp) / f"fts5-{d}.db", head_weight=w),
        }
        for name, make in engines.items():
            for weight in (0.0, HEAD_WEIGHT):
                r = measure_engine(partial(make, weight, weight), pages, queries, args.depth)
                ranked = {qid: document_rankings(QueryRankings(dense[qid], r["rankings"][qid]), fuse=rrf,
                                                 candidates=retriever.candidates) for qid in queries}
                scores = score_rankings(ranked, dataset.qrels)
                table.add_row(name, f"{weight:g}", f"{r['chunks/s']:,.0f}", f"{r['update_ms']:.1f} ms",
                              f"{r['p50']:.1f} ms", f"{r['p95']:.1f} ms", f"{r['filtered_p95']:.1f} ms",
                              f"{scores['lexical']['ndcg@10']:.3f}", f"{scores['hybrid']['ndcg@10']:.3f}")
                if hasattr(r["index"], "close"):
                    r["index"].close()
    console.print(table)
    console.print(f"dense alone: nDCG@10 {scores['dense']['ndcg@10']:.3f}; depth {args.depth}; "
                  "update = delete one article's chunks, add them again, commit")
    return 0


def register(kinds) -> None:
    p = kinds.add_parser("lexical", help="tantivy vs SQLite FTS5 on a BEIR folder: build, update, query, nDCG@10")
    p.add_argument("dir", help="a BEIR-format folder (corpus.jsonl, queries.jsonl, qrels/)")
    p.add_argument("--split", default="train")
    p.add_argument("--queries", type=int, default=None, help="only the first N queries")
    p.add_argument("--depth", type=int, default=300, help="chunks per retriever, as `eval beir`")
    p.set_defaults(func=cmd_bench_lexical)

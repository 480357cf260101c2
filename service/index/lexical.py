"""The lexical index: BM25 over the chunks, on disk (tantivy), following the change feed.

Each replica keeps its own index directory. It holds, per chunk, the Snowball-stemmed body
tokens, a "head" field (title, outlet and publication date, which questions name), the
filter fields, and the chunk's text, metadata, shingle sample (for spotting wire copies,
`service.text.shingle_sample`) and sentence vectors (`service.index.sentence_vectors`) in
tantivy's compressed document store on disk, so no chunk text is held in memory. A second
index (`articles/`) holds each whole article's words, put back together from its chunks,
for article-level BM25. Beside them, `state.json` records which Chroma
collection the index mirrors and its position in the change feed (service/index/feed.py).

Words are cut, lower-cased, stopword-filtered and Snowball-stemmed ("english", the same
algorithm and stopword list as `service.text.tokenize`) by tantivy's own analyzer, in Rust,
for the documents and the questions alike.

A replica that opens a current index reads only the feed entries after its position. A
fresh one (or one whose collection was rebuilt) copies every chunk once, then follows the
feed from the position it read *before* copying, so nothing written meanwhile is missed.

Why tantivy and not SQLite FTS5, and the figures: README, Decisions; `newsdesk bench
lexical` measures both.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson

from service.index.store import ArticleStore, StoredChunk
from service.models import Filters
from service.text import shingle_sample, stopwords

logger = logging.getLogger("newsdesk.lexical")

# Bump when the schema or the tokens change: an index built otherwise is rebuilt. The
# Python version is part of it: stored shingle samples hash tuples, whose hash a new
# Python may compute differently.
FORMAT = f"5-py{sys.version_info.major}.{sys.version_info.minor}"
# The head field's weight against the body's. Titles, outlets and dates carry less text
# than the body, so an equal weight would let a title match outrank the passage that answers.
HEAD_WEIGHT = 0.3
_WRITER_HEAP = 32_000_000


def _schema():
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("chunk_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("article_id", tokenizer_name="raw")
    builder.add_text_field("source", tokenizer_name="raw")
    builder.add_integer_field("published_ts", indexed=True, fast=True)
    builder.add_text_field("body", tokenizer_name="words", index_option="freq")
    builder.add_text_field("head", tokenizer_name="words", index_option="freq")
    builder.add_bytes_field("record", stored=True)  # {"text", "metadata", "sig"} as JSON
    builder.add_bytes_field("vectors", stored=True)  # 4-bit rows: the chunk's, its sentences' (`sentence_vectors`)
    return builder.build()


def _article_schema():
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("article_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("body", tokenizer_name="words", index_option="freq")
    builder.add_text_field("head", tokenizer_name="words", index_option="freq")
    return builder.build()


def article_text(chunks: Sequence[StoredChunk]) -> str:
    """An article's text put back together from its chunks (which overlap): each stretch
    of the article once, in order, by the chunks' character offsets."""
    parts, end = [], 0
    for chunk in sorted(chunks, key=lambda c: int(c.metadata.get("char_start", 0))):
        start, stop = int(chunk.metadata.get("char_start", 0)), int(chunk.metadata.get("char_end", 0))
        if stop <= end:
            continue
        parts.append(chunk.text[max(0, end - start):])
        end = stop
    return " ".join(parts)


def analyzer():
    """Words as `service.text.tokenize` makes them, computed by tantivy."""
    import tantivy

    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.custom_stopword(sorted(stopwords())))
            .filter(tantivy.Filter.stemmer("english"))
            .build())


def head_text(metadata: dict) -> str:
    """What a question may name besides the passage's words: title, outlet, date."""
    parts = [str(metadata.get("title") or ""), str(metadata.get("source") or "")]
    ts = metadata.get("published_ts", -1)
    if isinstance(ts, int) and ts >= 0:
        day = datetime.fromtimestamp(ts, tz=UTC)
        parts.append(f"{day:%B} {day.day} {day.year}")
    return " ".join(parts)


class LexicalIndex:
    """A tantivy index in `directory`. One writer per directory (tantivy locks it)."""

    def __init__(self, directory: Path, *, head_weight: float = HEAD_WEIGHT):
        import tantivy

        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.head_weight = head_weight
        self.schema = _schema()
        self._tantivy = tantivy
        state = self.read_state()
        if state.get("format") != FORMAT:
            for name in os.listdir(self.directory):  # an older layout: start again
                path = self.directory / name
                if path.is_dir():
                    shutil.rmtree(path)
                elif name != "state.json":
                    path.unlink()
            state = {}
        self.index = tantivy.Index(self.schema, path=str(self.directory), reuse=True)
        self.analyzer = analyzer()
        self.index.register_tokenizer("words", self.analyzer)
        self.writer = self.index.writer(heap_size=_WRITER_HEAP, num_threads=1)  # raises when locked
        # Whole articles, beside the chunks: BM25 over an article scores how much of it is
        # about the question, which a chunk cut from it cannot (SciFact train: abstracts
        # 0.696 nDCG@10 against 0.678 for their chunks). Its own index, because BM25's
        # average length and document counts are per index.
        (self.directory / "articles").mkdir(exist_ok=True)
        self.article_schema = _article_schema()
        self.articles = tantivy.Index(self.article_schema, path=str(self.directory / "articles"), reuse=True)
        self.articles.register_tokenizer("words", self.analyzer)
        self.article_writer = self.articles.writer(heap_size=_WRITER_HEAP, num_threads=1)
        self.state = state

    # -- state -----------------------------------------------------------------------------

    def read_state(self) -> dict:
        try:
            return json.loads((self.directory / "state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _save_state(self, **changes) -> None:
        self.state = {**self.state, **changes, "format": FORMAT}
        tmp = self.directory / "state.json.tmp"
        tmp.write_text(json.dumps(self.state), encoding="utf-8")
        tmp.replace(self.directory / "state.json")

    @property
    def position(self) -> int:
        return int(self.state.get("position", 0))

    @property
    def collection_id(self) -> str | None:
        return self.state.get("collection_id")

    # -- writes ----------------------------------------------------------------------------

    def _document(self, chunk: StoredChunk):
        meta = chunk.metadata
        doc = self._tantivy.Document()
        doc.add_text("chunk_id", chunk.chunk_id)
        doc.add_text("article_id", str(meta.get("article_id", "")))
        doc.add_text("source", str(meta.get("source", "")))
        doc.add_integer("published_ts", int(meta.get("published_ts", -1)))
        doc.add_text("body", chunk.text)
        doc.add_text("head", head_text(meta))
        # The chunk's shingle sample, computed once here rather than at every query that
        # checks its sources for wire copies (`collapse_duplicates`).
        record = {"text": chunk.text, "metadata": meta, "sig": sorted(shingle_sample(chunk.text))}
        doc.add_bytes("record", orjson.dumps(record))
        if chunk.vectors:
            doc.add_bytes("vectors", chunk.vectors)
        return doc

    def _article_document(self, article_id: str, chunks: Sequence[StoredChunk]):
        doc = self._tantivy.Document()
        doc.add_text("article_id", article_id)
        doc.add_text("body", article_text(chunks))
        doc.add_text("head", head_text(chunks[0].metadata))
        return doc

    def replace_articles(self, article_ids: Iterable[str], chunks: Iterable[StoredChunk]) -> None:
        """Drop every chunk of `article_ids` and their article documents, then add `chunks`
        and one article document per article among them (uncommitted). `chunks` hold all
        of each article's chunks: a feed entry's articles are read whole, and a copy's
        pages hold whole page-key buckets, so whole articles (a collection paged by offset,
        made before page keys, may split one: its halves then score apart)."""
        for article_id in article_ids:
            self.writer.delete_documents_by_term("article_id", article_id)
            self.article_writer.delete_documents_by_term("article_id", article_id)
        by_article: dict[str, list[StoredChunk]] = {}
        for chunk in chunks:
            self.writer.add_document(self._document(chunk))
            by_article.setdefault(str(chunk.metadata.get("article_id", "")), []).append(chunk)
        for article_id, parts in by_article.items():
            self.article_writer.add_document(self._article_document(article_id, parts))

    def clear(self) -> None:
        self.writer.delete_all_documents()
        self.article_writer.delete_all_documents()

    def commit(self, **state) -> None:
        """Make the changes durable and searchable, then record `state` (the feed position
        and collection id). Dying between the two re-applies entries: harmless."""
        self.article_writer.commit()
        self.articles.reload()
        self.writer.commit()
        self.index.reload()
        self._save_state(**state)

    def close(self) -> None:
        """Release the directory's writer locks (waits for background merges)."""
        if self.writer is not None:
            self.writer.wait_merging_threads()
            self.article_writer.wait_merging_threads()
            self.writer = self.article_writer = None

    # -- reads -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.index.searcher().num_docs

    def _filter(self, filters: Filters):
        """`Filters.clauses()` rendered as tantivy queries: the same predicate as Chroma's
        `where` on the dense path (an undated article, published_ts -1, fails any date bound)."""
        Query, FieldType = self._tantivy.Query, self._tantivy.FieldType
        out = []
        for c in filters.clauses():
            if c.op == "gte":
                q = Query.range_query(self.schema, c.field, FieldType.Integer, lower_bound=c.value)
            elif c.op == "lt":
                q = Query.range_query(self.schema, c.field, FieldType.Integer, upper_bound=c.value, include_upper=False)
            elif c.op == "in":
                q = Query.term_set_query(self.schema, c.field, [str(v) for v in c.value])
            else:  # a new operator must be rendered here, never silently dropped
                raise ValueError(f"no lexical rendering for filter operator {c.op!r}")
            out.append(Query.const_score_query(q, 0.0))
        return out

    def _text_query(self, schema, tokens: Sequence[str]):
        """BM25 (k1 1.2, b 0.75) over body + weighted head."""
        Query, Occur = self._tantivy.Query, self._tantivy.Occur
        should = [(Occur.Should, Query.term_query(schema, "body", t, index_option="freq")) for t in tokens]
        if self.head_weight > 0:
            should += [(Occur.Should, Query.boost_query(Query.term_query(schema, "head", t, index_option="freq"),
                                                         self.head_weight)) for t in tokens]
        return Query.boolean_query(should)

    def search(self, query: str, n: int, filters: Filters = Filters()) -> list[tuple[StoredChunk, float]]:
        """Up to `n` chunks by BM25 over body + weighted head, filtered."""
        Query, Occur = self._tantivy.Query, self._tantivy.Occur
        tokens = self.analyzer.analyze(query)
        if not tokens or n <= 0:
            return []
        text = self._text_query(self.schema, tokens)
        musts = self._filter(filters)
        q = Query.boolean_query([(Occur.Must, text)] + [(Occur.Must, f) for f in musts]) if musts else text
        searcher = self.index.searcher()
        hits = searcher.search(q, n, count=False).hits
        return [(self._stored(searcher.doc(address)), float(score)) for score, address in hits if score > 0]

    def scores(self, query: str, chunk_ids: Sequence[str]) -> dict[str, float]:
        """BM25 of each chunk among `chunk_ids` that matches the query at all (chunks another
        path found), as `search` scores it."""
        return self._scores_among(self.index, self.schema, "chunk_id", query, chunk_ids)

    def article_scores(self, query: str, article_ids: Sequence[str]) -> dict[str, float]:
        """BM25 of each whole article among `article_ids` that matches the query at all."""
        return self._scores_among(self.articles, self.article_schema, "article_id", query, article_ids)

    def _scores_among(self, index, schema, key: str, query: str, ids: Sequence[str]) -> dict[str, float]:
        Query, Occur = self._tantivy.Query, self._tantivy.Occur
        tokens = self.analyzer.analyze(query)
        ids = list(dict.fromkeys(ids))
        if not tokens or not ids:
            return {}
        # The id set must score nothing itself: a term set query scores 1.0 a match.
        among = Query.const_score_query(Query.term_set_query(schema, key, ids), 0.0)
        q = Query.boolean_query([(Occur.Must, self._text_query(schema, tokens)), (Occur.Must, among)])
        searcher = index.searcher()
        out: dict[str, float] = {}
        for score, address in searcher.search(q, 2 * len(ids), count=False).hits:
            found = searcher.doc(address)[key][0]
            out[found] = max(out.get(found, 0.0), float(score))  # an article split by an old copy: its best half
        return out

    def get(self, chunk_ids: Sequence[str]) -> dict[str, StoredChunk]:
        """The stored chunks among `chunk_ids` (for dense hits), read from disk."""
        return self.get_scored(chunk_ids, "")[0]

    def get_scored(self, chunk_ids: Sequence[str], query: str) -> tuple[dict[str, StoredChunk], dict[str, float]]:
        """The stored chunks among `chunk_ids` and, in the same search, each one's BM25 for
        `query` as `search` scores it (0.0 for no match; none when `query` is empty)."""
        if not chunk_ids:
            return {}, {}
        Query, Occur = self._tantivy.Query, self._tantivy.Occur
        searcher = self.index.searcher()
        among = Query.const_score_query(Query.term_set_query(self.schema, "chunk_id", list(chunk_ids)), 0.0)
        tokens = self.analyzer.analyze(query) if query else []
        q = Query.boolean_query([(Occur.Must, among), (Occur.Should, self._text_query(self.schema, tokens))]) if tokens else among
        chunks, scores = {}, {}
        for score, address in searcher.search(q, len(chunk_ids), count=False).hits:
            chunk = self._stored(searcher.doc(address))
            chunks[chunk.chunk_id] = chunk
            if tokens:
                scores[chunk.chunk_id] = float(score)
        return chunks, scores

    @staticmethod
    def _stored(doc) -> StoredChunk:
        record = orjson.loads(bytes(doc["record"][0]))
        vectors = doc.get_first("vectors")
        return StoredChunk(doc["chunk_id"][0], record["text"], record["metadata"],
                           signature=frozenset(record["sig"]) if "sig" in record else None,
                           vectors=bytes(vectors) if vectors else None)


class LexicalReplica:
    """This process's lexical index, kept in step with the store through the change feed.

    `current()` reads the feed after the index's position (one small Chroma read when
    nothing changed), applies what changed, and returns the index. It reads the feed at most
    once per `follow_interval_s` (a query in between gets the index as it is: another
    replica's write becomes visible within that interval), but at once after a write made in
    this process, so a replica always sees its own writes. 0 reads it on every call."""

    def __init__(self, store: ArticleStore, directory: Path, *, head_weight: float = HEAD_WEIGHT,
                 follow_interval_s: float = 0.0):
        self.store = store
        self.directory = Path(directory)
        self.head_weight = head_weight
        self.follow_interval_s = follow_interval_s
        self._followed: tuple[float, int] | None = None  # (monotonic time, feed.appended_here())
        self._lock = threading.Lock()
        self._index: LexicalIndex | None = None
        self.copies = 0  # full copies of the corpus made by this process (a fresh index)
        self.applied = 0  # feed entries applied

    def _open(self) -> LexicalIndex:
        try:
            return LexicalIndex(self.directory, head_weight=self.head_weight)
        except ValueError as exc:  # tantivy: the directory's writer lock is held
            if "lock" not in str(exc).lower():
                raise
            # Another process (a running `serve`, say) owns this directory. A private copy
            # is correct, only slower to start: say how to avoid it.
            fallback = Path(tempfile.mkdtemp(prefix="newsdesk-lexical-"))
            logger.warning("lexical index %s is in use by another process; using a private copy in %s "
                           "(set NEWSDESK_LEXICAL_DIR per process to keep one on disk)", self.directory, fallback)
            return LexicalIndex(fallback, head_weight=self.head_weight)

    def close(self) -> None:
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None

    def current(self) -> LexicalIndex:
        with self._lock:
            if self._index is None:
                self._index = self._open()
            index = self._index
            if index.collection_id != self.store.collection_id():
                self._copy_all(index)
                self._followed = None
            appended = self.store.feed.appended_here()
            now = time.monotonic()
            if (self._followed is None or self._followed[1] != appended
                    or now - self._followed[0] >= self.follow_interval_s):
                self._follow(index)
                self._followed = (now, appended)
            return index

    def _copy_all(self, index: LexicalIndex) -> None:
        """A fresh index: note the feed head first, copy every chunk, then follow the feed
        from that head, so a write landing during the copy is applied after it."""
        head = self.store.feed.head()
        index.clear()
        for page in self.store.iter_chunk_pages():
            index.replace_articles((), page)
        index.commit(position=head, collection_id=self.store.collection_id())
        self.copies += 1
        logger.info("lexical index copied from the store: %d chunks, feed position %d", len(index), head)

    def _follow(self, index: LexicalIndex) -> None:
        while True:
            entries = self.store.feed.read(index.position)
            if not entries:
                return
            articles = sorted({a for e in entries for a in e.article_ids})
            index.replace_articles(articles, self.store.chunks_of(articles))
            index.commit(position=entries[-1].seq)
            self.applied += len(entries)


def held_elsewhere(directory: Path) -> bool:
    """True when another process holds this index directory's writer lock (a running
    `serve`, say). tantivy takes it with flock(2), so a dead holder never counts."""
    import fcntl

    lock = Path(directory) / ".tantivy-writer.lock"
    if not lock.exists():
        return False
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def lexical_dir(index_dir: Path, collection: str, *, chroma_host: str | None = None, chroma_port: int = 8000,
                explicit: Path | None = None) -> Path:
    """Where this replica keeps its lexical index: `explicit` (NEWSDESK_LEXICAL_DIR) plus the
    collection, else beside the embedded store, or under index_dir per Chroma server."""
    if explicit is not None:
        return Path(explicit) / collection
    base = Path(index_dir) / "lexical"
    if chroma_host:
        base = base / f"{chroma_host}-{chroma_port}"
    return base / collection


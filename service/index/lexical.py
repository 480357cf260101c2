"""The lexical index: BM25 over the chunks, on disk (tantivy).

An index directory holds, per chunk, the Snowball-stemmed body tokens, a "head" field
(title, outlet and publication date, which questions name), the filter fields, and the
chunk's text, metadata, shingle sample (for spotting wire copies,
`service.text.shingle_sample`) and sentence vectors (`service.index.sentence_vectors`) in
tantivy's compressed document store on disk, so no chunk text is held in memory. A second
index (`articles/`) holds each whole article's words, put back together from its chunks,
for article-level BM25. A chunk's documents are written in one place, `replace_articles`;
the replica (service/index/replica.py) calls it to copy the store and to follow the feed.

Words are cut, lower-cased, stopword-filtered and Snowball-stemmed ("english", the same
algorithm and stopword list as `service.text.tokenize`) by tantivy's own analyzer, in Rust,
for the documents and the questions alike.

Why tantivy and not SQLite FTS5, and the figures: README, Decisions; `newsdesk bench
lexical` measures both.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson

from service.index.metadata import StoredChunk
from service.models import Filters
from service.text import shingle_sample, stopwords

# Bump when the schema, the tokens or the stored record change: an index built otherwise is
# wiped, and its replica copies the store again. The Python version is part of it: stored
# shingle samples hash tuples, whose hash a new Python may compute differently.
FORMAT = f"6-py{sys.version_info.major}.{sys.version_info.minor}"
_FORMAT_FILE = "format"  # the FORMAT the directory's index was built with
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
    builder.add_bytes_field("record", stored=True)  # {"text", "metadata", "shingle_sample"} as JSON
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

    _outlets: dict[str, int] | None = None

    def __init__(self, directory: Path, *, head_weight: float = HEAD_WEIGHT):
        import tantivy

        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.head_weight = head_weight
        self.schema = _schema()
        self._tantivy = tantivy
        built = _built_with(self.directory)
        if built != FORMAT:
            _empty(self.directory)  # an older layout (or none): start again
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
        self._open = True
        if built != FORMAT:
            (self.directory / _FORMAT_FILE).write_text(FORMAT, encoding="utf-8")

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
        record = {"text": chunk.text, "metadata": meta, "shingle_sample": sorted(shingle_sample(chunk.text))}
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
        """Where a chunk is written to the lexical index: drop every chunk of `article_ids`
        and their article documents, then add `chunks` and one article document per article
        among them (uncommitted). `chunks` hold all of each article's chunks: a feed entry's
        articles are read whole, and a copy's pages hold whole page-key buckets, so whole
        articles (a collection paged by offset, made before page keys, may split one: its
        halves then score apart)."""
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

    def commit(self) -> None:
        """Make the changes durable and searchable."""
        self.article_writer.commit()
        self.articles.reload()
        self.writer.commit()
        self.index.reload()
        self._outlets = None  # what was written may add or remove an outlet

    def close(self) -> None:
        """Release the directory's writer locks (waits for background merges); the writers
        are spent after it."""
        if self._open:
            self.writer.wait_merging_threads()
            self.article_writer.wait_merging_threads()
            self._open = False

    # -- reads -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.index.searcher().num_docs

    def outlets(self) -> dict[str, int]:
        """Every outlet in the index and how many chunks carry it (the names filters match
        exactly), from the term dictionary; deleted chunks do not count. Kept until the next
        commit: every question reads it, and counting walks the postings."""
        if self._outlets is None:
            searcher = self.index.searcher()
            terms = searcher.terms_with_prefix("source", "", filter_query=self._tantivy.Query.all_query())
            self._outlets = {name: count for name, count in terms if name and count > 0}
        return self._outlets

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

    def get_scored(self, chunk_ids: Sequence[str], query: str) -> tuple[dict[str, StoredChunk], dict[str, float]]:
        """The stored chunks among `chunk_ids` (dense hits), read from disk, and, in the same
        search, each one's BM25 for `query` as `search` scores it (0.0 for no match; none
        when `query` is empty)."""
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
                           shingle_sample=frozenset(record["shingle_sample"]),
                           vectors=bytes(vectors) if vectors else None)


def _built_with(directory: Path) -> str | None:
    try:
        return (directory / _FORMAT_FILE).read_text(encoding="utf-8")
    except OSError:
        return None


def _empty(directory: Path) -> None:
    """Remove everything in `directory`, the replica's state beside the index included."""
    for name in os.listdir(directory):
        path = directory / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()

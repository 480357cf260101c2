"""BM25 over the chunks in Chroma, rebuilt whenever the store's revision changes.

The index is derived from Chroma's contents rather than kept in a private file, so every
process sharing a store (two API replicas on one `chroma run` server, say) sees the same
lexical index after any ingest or delete: each search first reads the store's revision
token, one cheap call, and rebuilds when either differs.
"""

from __future__ import annotations

import threading

import numpy as np

from service.index.store import ArticleStore, StoredChunk
from service.models import Filters
from service.text import tokenize


class LexicalIndex:
    def __init__(self, chunks: list[StoredChunk], *, k1: float = 1.2, b: float = 0.75):
        import bm25s

        self.chunks = chunks
        self.by_id = {c.chunk_id: c for c in chunks}
        self._columns = {
            "published_ts": np.array([c.metadata.get("published_ts", -1) for c in chunks], dtype=np.int64),
            "source": np.array([c.metadata.get("source", "") for c in chunks], dtype=object),
            "article_id": np.array([c.metadata.get("article_id", "") for c in chunks], dtype=object),
        }
        self._bm25 = None
        if chunks:
            self._bm25 = bm25s.BM25(k1=k1, b=b)
            self._bm25.index([tokenize(c.text) for c in chunks], show_progress=False)
            self._vocab = self._bm25.vocab_dict

    def mask(self, filters: Filters) -> np.ndarray:
        return filters.mask(self._columns)

    def search(self, query: str, n: int, filters: Filters = Filters()) -> list[tuple[StoredChunk, float]]:
        if self._bm25 is None:
            return []
        tokens = [t for t in tokenize(query) if t in self._vocab]
        if not tokens:
            return []
        scores = self._bm25.get_scores(tokens)
        if not filters.empty:
            scores = np.where(self.mask(filters), scores, 0.0)
        n = min(n, int((scores > 0).sum()))
        if n <= 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.chunks[i], float(scores[i])) for i in top]


class LexicalCache:
    """One `LexicalIndex` per process, kept in step with the store's revision."""

    def __init__(self, store: ArticleStore):
        self.store = store
        self._lock = threading.Lock()
        self._key: str | None = None
        self._index: LexicalIndex | None = None
        self.rebuilds = 0

    def current(self) -> LexicalIndex:
        key = self.store.revision()
        with self._lock:
            if self._index is None or key != self._key:
                self._index = LexicalIndex(self.store.all_chunks())
                self._key = key
                self.rebuilds += 1
            return self._index

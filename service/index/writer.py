"""Where a chunk is written: every chunk row that reaches Chroma goes through `ChunkWriter`.

Its callers: `ArticleStore.write` (an ingest group's chunks, and the stale ones it
replaces), `ArticleStore.set_sentence_vectors` (sentence vectors for chunks written without
them), `ArticleStore.delete_article`, and the rounds of `settle_versions` (chunks put back
or taken back after racing writers). The lexical index's copy of a chunk is written in one
place too: `LexicalIndex.replace_articles` (service/index/lexical.py).

One policy for them all:
- rows go to Chroma in batches of at most its largest batch (`max_batch`);
- upserts, then metadata updates, then deletes (`write_rows`), then one change-feed entry
  naming the articles touched (`announce`): the entry comes after the data it announces
  (service/index/feed.py). `apply` does both; `ArticleStore.write` writes its article
  records between the two, so a replica that reads the entry finds the records too;
- a failure is a `StoreUnavailableError`, raised before the entry, so a replica never reads
  an announcement of rows that are not there. A write killed before announcing leaves its
  article `UNFINISHED` (its record is missing, older, or still marked unannounced), so
  repeating it writes and announces it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.index import sentence_vectors
from service.index.client import store_errors
from service.index.feed import ChangeFeed
from service.index.metadata import chunk_metadata
from service.models import Article, Chunk, chunk_id

UNFINISHED = "\x00unfinished-write"  # see ArticleStore.existing_chunk_ids


@dataclass(frozen=True)
class ChunkRows:
    """Chunks to upsert, as Chroma takes them: parallel ids, vectors, texts and metadata."""

    ids: list[str]
    embeddings: np.ndarray
    documents: list[str]
    metadatas: list[dict[str, Any]]

    @classmethod
    def of(cls, items: Sequence[tuple[Article, list[Chunk]]], embeddings: np.ndarray,
           sentences: Sequence[str] | None = None) -> ChunkRows:
        """The rows of `items`' chunks, in order, with `embeddings` (one row each) and, when
        given, `sentences` (one `sentence_vectors` string each) in their metadata."""
        ids, docs, metas = [], [], []
        for article, chunks in items:
            for chunk in chunks:
                ids.append(chunk_id(article, chunk))
                docs.append(chunk.text)
                metas.append(chunk_metadata(article, chunk, len(chunks)))
        if sentences is not None:
            for meta, blob in zip(metas, sentences, strict=True):
                meta[sentence_vectors.KEY] = blob
        return cls(ids, np.asarray(embeddings), docs, metas)

    def take(self, positions: Sequence[int]) -> ChunkRows:
        """The rows at `positions`, in that order."""
        return ChunkRows([self.ids[k] for k in positions], self.embeddings[list(positions)],
                         [self.documents[k] for k in positions], [self.metadatas[k] for k in positions])

    def article_of(self) -> dict[str, str]:
        """Chunk id -> its article id."""
        return {cid: m["article_id"] for cid, m in zip(self.ids, self.metadatas, strict=True)}


class ChunkWriter:
    """Writes chunk rows to the chunk collection `chunks` and announces them in `feed`."""

    def __init__(self, chunks: Any, feed: ChangeFeed, *, max_batch: int, name: str):
        self.chunks = chunks
        self.feed = feed
        self.max_batch = max(1, max_batch)
        self.name = name

    def apply(self, op: str, article_ids: Iterable[str], *, upsert: ChunkRows | None = None,
              update: Mapping[str, dict[str, Any]] | None = None, delete: Sequence[str] = ()) -> None:
        """`write_rows`, then one `op` entry ("write" or "delete") naming `article_ids` in
        the change feed."""
        self.write_rows(upsert=upsert, update=update, delete=delete)
        self.announce(op, article_ids)

    def write_rows(self, *, upsert: ChunkRows | None = None, update: Mapping[str, dict[str, Any]] | None = None,
                   delete: Sequence[str] = ()) -> None:
        """Upsert `upsert`, merge `update` (chunk id -> metadata keys to set) into stored
        chunks and delete the chunk ids `delete`, unannounced: `announce` must follow."""
        with store_errors(f"writing to collection {self.name!r}"):
            if upsert is not None:
                for part in self.batches(len(upsert.ids)):
                    self.chunks.upsert(ids=upsert.ids[part], embeddings=upsert.embeddings[part],
                                       documents=upsert.documents[part], metadatas=upsert.metadatas[part])
            if update:
                ids, metas = list(update), list(update.values())
                for part in self.batches(len(ids)):
                    self.chunks.update(ids=ids[part], metadatas=metas[part])  # Chroma merges an update's metadata
            for part in self.batches(len(delete)):
                self.chunks.delete(ids=list(delete[part]))

    def announce(self, op: str, article_ids: Iterable[str]) -> None:
        """One change-feed entry naming `article_ids`, after everything it announces."""
        with store_errors(f"writing to collection {self.name!r}"):
            self.feed.append(op, article_ids)

    def batches(self, n: int) -> Iterable[slice]:
        """Slices of n rows, each at most `max_batch` long."""
        return (slice(begin, begin + self.max_batch) for begin in range(0, n, self.max_batch))

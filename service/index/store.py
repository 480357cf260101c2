"""Chroma storage: one collection of chunks (with vectors) and one of whole articles.

The chunk collection's metadata records the embedding model, its dimension, the chunker
settings and a schema version. Every write appends one entry to the change feed
(service/index/feed.py), so that any process sharing the store (embedded or a `chroma run`
server) can bring its derived state (the lexical index) up to date. The article collection
keeps each article's full text and metadata, which is what citations quote from, what
`list` pages through and what `reindex` rebuilds from.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from service.errors import (
    ArticleNotFoundError,
    IndexMismatchError,
    StoreUnavailableError,
)
from service.index import sentence_vectors
from service.index.client import NO_VECTOR, VectorsGiven, open_records, update_metadata
from service.index.feed import ChangeFeed
from service.index.hnsw import HnswParams, apply_hnsw
from service.index.paging import KEYED_FLAG, PAGE_KEY, iter_pages, ordered_ids, page_key
from service.index.settling import settle_versions
from service.models import (
    SCHEMA_VERSION,
    Article,
    Chunk,
    chunk_id,
    from_timestamp,
    iso,
    sha256_hex,
    to_timestamp,
)

UNFINISHED = "\x00unfinished-write"  # see ArticleStore.existing_chunk_ids


@dataclass(frozen=True)
class IndexSpec:
    """What the vectors in a collection were made with."""

    model_id: str
    dimension: int
    chunk_size: int
    chunk_overlap: int

    def as_metadata(self) -> dict[str, Any]:
        return {
            "embedding_model": self.model_id,
            "embedding_dimension": self.dimension,
            "chunk_size": self.chunk_size,
            "chunk_overlap": self.chunk_overlap,
            "schema_version": SCHEMA_VERSION,
        }


@dataclass
class StoredChunk:
    chunk_id: str
    text: str
    metadata: dict[str, Any]
    distance: float | None = None
    signature: frozenset[int] | None = None  # its shingle sample, when the lexical index stored one
    vectors: bytes | None = None  # its own and its sentences' 4-bit vectors (`sentence_vectors`), when stored


def stored_chunk(chunk_id: str, text: str, metadata: dict[str, Any], distance: float | None = None) -> StoredChunk:
    """A chunk as Chroma returns it: the sentence vectors leave the metadata (which sources
    show to readers) for a field of their own."""
    meta = dict(metadata or {})
    blob = meta.pop(sentence_vectors.KEY, None)
    return StoredChunk(chunk_id, text, meta, distance, vectors=sentence_vectors.to_bytes(blob) if blob else None)


def chunk_metadata(article: Article, chunk: Chunk, n_chunks: int) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "article_id": article.article_id,
        "chunk_index": chunk.chunk_index,
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
        "n_chunks": n_chunks,
        "content_hash": article.content_hash,
        # The chunk text's own hash: an edited article's unchanged chunks keep their vectors.
        "text_hash": text_hash(chunk.text),
        PAGE_KEY: page_key(article.article_id),
        "title": article.title,
        "source": article.outlet or "",
        "author": article.author or "",
        "url": article.url or "",
        "published_at": iso(article.published_at) or "",
        # -1 marks "no date": an integer keeps Chroma's range filters working.
        "published_ts": to_timestamp(article.published_at) if article.published_at else -1,
    }
    if chunk.tokens is not None:  # retrieval's token budget reads it instead of counting again
        meta["n_tokens"] = chunk.tokens
    return meta


def text_hash(text: str) -> str:
    return sha256_hex(text)[:32]


def article_from_record(article_id: str, text: str, meta: dict[str, Any]) -> Article:
    return Article(
        article_id=article_id,
        title=meta.get("title", ""),
        text=text,
        outlet=meta.get("source") or None,
        author=meta.get("author") or None,
        url=meta.get("url") or None,
        published_at=from_timestamp(meta.get("published_ts")),
    )


class ArticleStore:
    def __init__(self, client, name: str, spec: IndexSpec, hnsw: HnswParams = HnswParams()):
        self.client = client
        self.name = name
        self.spec = spec
        self._ef = VectorsGiven(spec.model_id)
        try:
            # Metadata and configuration given here apply only when the collection is created.
            self.chunks = client.get_or_create_collection(
                name,
                embedding_function=self._ef,
                metadata={**spec.as_metadata(), **hnsw.as_metadata(), KEYED_FLAG: True, sentence_vectors.FLAG: True},
                configuration=hnsw.configuration(),
            )
            self.articles = client.get_or_create_collection(
                f"{name}-articles",
                embedding_function=self._ef,
                metadata={"schema_version": SCHEMA_VERSION, KEYED_FLAG: True},
            )
        except Exception as exc:
            raise StoreUnavailableError(f"cannot open collection {name!r}: {exc}") from exc
        self._check_spec(self.chunks.metadata or {})
        self.hnsw = apply_hnsw(self.chunks, hnsw)
        self.max_batch = max(1, client.get_max_batch_size())
        self.feed = ChangeFeed(open_records(client, f"{name}-feed", "change feed of chunk writes"), vector=NO_VECTOR)

    @property
    def sentence_vectors(self) -> bool:
        """Whether the collection was made storing sentence vectors with every chunk (one made
        before reranks on each chunk's own cosine instead; `newsdesk reindex` adds them)."""
        return bool((self.chunks.metadata or {}).get(sentence_vectors.FLAG))

    def set_sentence_vectors(self, chunks: Sequence[StoredChunk], blobs: Sequence[str]) -> None:
        """Store sentence vectors for chunks written without them, and announce their
        articles in the change feed so every replica's lexical index copies them."""
        if len(chunks) != len(blobs):
            raise ValueError(f"{len(chunks)} chunks but {len(blobs)} sets of sentence vectors")
        ids = [c.chunk_id for c in chunks]
        metas = [{sentence_vectors.KEY: blob} for blob in blobs]  # Chroma merges an update's metadata
        try:
            for begin in range(0, len(ids), self.max_batch):
                self.chunks.update(ids=ids[begin: begin + self.max_batch], metadatas=metas[begin: begin + self.max_batch])
            self.feed.append("write", sorted({str(c.metadata.get("article_id", "")) for c in chunks}))
        except Exception as exc:
            raise StoreUnavailableError(f"writing to collection {self.name!r} failed: {exc}") from exc

    def mark_sentence_vectors(self) -> None:
        """Record that every chunk has its sentence vectors (`sentence_vectors` reads it)."""
        update_metadata(self.chunks, {sentence_vectors.FLAG: True})

    def _check_spec(self, meta: dict[str, Any]) -> None:
        built_with = meta.get("embedding_model")
        built_dim = meta.get("embedding_dimension")
        if built_with and (built_with != self.spec.model_id or built_dim != self.spec.dimension):
            raise IndexMismatchError(
                f"collection {self.name!r} was built with {built_with} ({built_dim} dimensions), "
                f"but the configured embedder is {self.spec.model_id} ({self.spec.dimension} dimensions); "
                f"set NEWSDESK_EMBEDDING_MODEL={built_with} to use it, or run `newsdesk reindex` "
                f"to rebuild it with {self.spec.model_id}"
            )

    # -- change feed ----------------------------------------------------------------------

    def revision(self) -> str:
        """The change feed's head, read fresh from the store: it grows with every write."""
        return str(self.feed.head())

    def collection_id(self) -> str:
        """Changes when the collection is dropped and made again (`reindex`)."""
        return str(self.chunks.id)

    # -- writes ---------------------------------------------------------------------------

    def existing_chunk_ids(self, article_ids: Sequence[str]) -> dict[str, set[str]]:
        """Each article's stored chunk ids. An article whose last write did not finish (its
        chunks are there but its record, written last, is missing or older) also gets
        `UNFINISHED`, so it never looks unchanged: rewriting it announces it in the feed."""
        found: dict[str, set[str]] = {a: set() for a in article_ids}
        if not article_ids:
            return found
        result = self.chunks.get(where={"article_id": {"$in": list(article_ids)}}, include=["metadatas"])
        hashes: dict[str, str] = {}
        for cid, meta in zip(result["ids"], result["metadatas"], strict=True):
            found.setdefault(meta["article_id"], set()).add(cid)
            hashes[meta["article_id"]] = meta.get("content_hash", "")
        if hashes:
            records = self.articles.get(ids=sorted(hashes), include=["metadatas"])
            recorded = {a: (m or {}).get("content_hash") for a, m in zip(records["ids"], records["metadatas"], strict=True)}
            for article_id, content_hash in hashes.items():
                if recorded.get(article_id) != content_hash:
                    found[article_id].add(UNFINISHED)
        return found

    def write(
        self,
        items: Sequence[tuple[Article, list[Chunk]]],
        embeddings: np.ndarray,
        stale: set[str],
        sentences: Sequence[str] | None = None,
    ) -> None:
        """Upsert the chunks of `items` (rows of `embeddings` in order), delete the `stale`
        chunk ids, announce the articles in the change feed (one entry), then write their
        article records. Each step is idempotent and the record goes last, so a run killed
        anywhere and repeated converges on the state of a clean run, announced. Then
        `settle_versions` resolves writers that raced on one article. `sentences` (one
        `sentence_vectors` string per chunk, in order) go into the chunks' metadata."""
        ids, docs, metas = [], [], []
        for article, chunks in items:
            for chunk in chunks:
                ids.append(chunk_id(article, chunk))
                docs.append(chunk.text)
                metas.append(chunk_metadata(article, chunk, len(chunks)))
        if sentences is not None:
            for meta, blob in zip(metas, sentences, strict=True):
                meta[sentence_vectors.KEY] = blob
        try:
            batch = self.max_batch
            self.upsert_chunks(ids, embeddings, docs, metas)
            self.delete_chunks(sorted(stale - {UNFINISHED}))
            self.feed.append("write", [a.article_id for a, _ in items])
            for begin in range(0, len(items), batch):
                group = items[begin: begin + batch]
                now = datetime.now(UTC).isoformat()
                self.articles.upsert(
                    ids=[a.article_id for a, _ in group],
                    embeddings=[[1.0]] * len(group),
                    documents=[a.text for a, _ in group],
                    metadatas=[
                        {**chunk_metadata(a, c[0], len(c)), "ingested_at": now, "origin": a.origin or ""}
                        for a, c in group
                    ],
                )
            settle_versions(self, {a.article_id: a.content_hash for a, _ in items}, ids, embeddings, docs, metas)
        except Exception as exc:
            raise StoreUnavailableError(f"writing to collection {self.name!r} failed: {exc}") from exc

    def upsert_chunks(self, ids: list[str], embeddings, docs: list[str], metas: list[dict[str, Any]]) -> None:
        for begin in range(0, len(ids), self.max_batch):
            end = begin + self.max_batch
            self.chunks.upsert(ids=ids[begin:end], embeddings=embeddings[begin:end], documents=docs[begin:end],
                               metadatas=metas[begin:end])

    def delete_chunks(self, ids: list[str]) -> None:
        for begin in range(0, len(ids), self.max_batch):
            self.chunks.delete(ids=ids[begin: begin + self.max_batch])

    def vectors_by_text(self, article_ids: Sequence[str], text_hashes: Sequence[str]) -> dict[str, tuple[np.ndarray, str]]:
        """Stored vectors (the chunk's and its sentences') of these articles' chunks whose
        text hash is one of `text_hashes`: what an edited article's unchanged chunks can keep
        instead of being embedded again. A chunk stored without sentence vectors is left out."""
        if not article_ids or not text_hashes:
            return {}
        where = {"$and": [{"article_id": {"$in": list(article_ids)}}, {"text_hash": {"$in": sorted(set(text_hashes))}}]}
        try:
            result = self.chunks.get(where=where, include=["embeddings", "metadatas"])
        except Exception:  # noqa: BLE001 - only a saving: embedding them again is always right
            # Embedded Chroma 1.5 can fail a read of vectors that a racing writer is
            # deleting ("Error finding id"); a store that is really down fails the write.
            return {}
        return {m["text_hash"]: (np.asarray(e, dtype=np.float32), m[sentence_vectors.KEY])
                for m, e in zip(result["metadatas"], result["embeddings"], strict=True) if m.get(sentence_vectors.KEY)}

    def vectors_of(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these chunks (those still present)."""
        if not chunk_ids:
            return {}
        try:
            result = self.chunks.get(ids=list(chunk_ids), include=["embeddings"])
        except Exception as exc:
            raise StoreUnavailableError(f"reading vectors from collection {self.name!r} failed: {exc}") from exc
        return {i: np.asarray(e, dtype=np.float32) for i, e in zip(result["ids"], result["embeddings"], strict=True)}

    def delete_article(self, article_id: str) -> int:
        existing = self.existing_chunk_ids([article_id])[article_id]
        record = self.articles.get(ids=[article_id], include=[])
        if not existing and not record["ids"]:
            raise ArticleNotFoundError(f"no article with id {article_id!r}")
        existing.discard(UNFINISHED)
        if existing:
            self.delete_chunks(sorted(existing))
        self.feed.append("delete", [article_id])
        self.articles.delete(ids=[article_id])  # last: a delete killed midway can be repeated
        return len(existing)

    # -- reads ----------------------------------------------------------------------------

    def count_articles(self) -> int:
        return self.articles.count()

    def count_chunks(self) -> int:
        return self.chunks.count()

    def list_articles(self, *, limit: int = 50, offset: int = 0, after: str | None = None) -> list[dict[str, Any]]:
        """A page of article records in a stable key order (see service/index/paging.py):
        `after` an article id (the last of the previous page) resumes exactly there."""
        ids = ordered_ids(self.articles, limit=limit, offset=offset, after=after)
        if not ids:
            return []
        result = self.articles.get(ids=ids, include=["metadatas"])
        found = dict(zip(result["ids"], result["metadatas"], strict=True))
        return [self._public(aid, found[aid]) for aid in ids if aid in found]

    def get_article(self, article_id: str) -> tuple[Article, dict[str, Any]]:
        result = self.articles.get(ids=[article_id], include=["documents", "metadatas"])
        if not result["ids"]:
            raise ArticleNotFoundError(f"no article with id {article_id!r}")
        meta = result["metadatas"][0]
        return article_from_record(article_id, result["documents"][0], meta), self._public(article_id, meta)

    def get_article_texts(self, article_ids: Sequence[str]) -> dict[str, str]:
        if not article_ids:
            return {}
        result = self.articles.get(ids=list(dict.fromkeys(article_ids)), include=["documents"])
        return dict(zip(result["ids"], result["documents"], strict=True))

    def iter_articles(self) -> Iterator[Article]:
        yield from read_articles(self.client, self.name)

    def iter_chunk_pages(self) -> Iterator[list[StoredChunk]]:
        """Every chunk's text and metadata, a page at a time (a fresh lexical index's copy)."""
        for result in iter_pages(self.chunks, ["documents", "metadatas"]):
            yield [stored_chunk(i, d, m) for i, d, m in zip(result["ids"], result["documents"], result["metadatas"], strict=True)]

    def chunks_of(self, article_ids: Sequence[str]) -> list[StoredChunk]:
        """The current chunks of these articles (a change feed entry's articles)."""
        out: list[StoredChunk] = []
        for begin in range(0, len(article_ids), 500):
            result = self.chunks.get(where={"article_id": {"$in": list(article_ids[begin: begin + 500])}},
                                     include=["documents", "metadatas"])
            out.extend(stored_chunk(i, d, m) for i, d, m in zip(result["ids"], result["documents"], result["metadatas"], strict=True))
        return out

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[StoredChunk]:
        if not chunk_ids:
            return []
        result = self.chunks.get(ids=list(chunk_ids), include=["documents", "metadatas"])
        return [stored_chunk(i, d, m) for i, d, m in zip(result["ids"], result["documents"], result["metadatas"], strict=True)]

    def query(self, embedding: np.ndarray, n: int, where: dict[str, Any] | None) -> list[StoredChunk]:
        try:
            result = self.chunks.query(
                query_embeddings=[np.asarray(embedding, dtype=np.float32)],
                n_results=n,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
        except Exception as exc:
            raise StoreUnavailableError(f"querying collection {self.name!r} failed: {exc}") from exc
        return [
            stored_chunk(i, d, m, dist)
            for i, d, m, dist in zip(result["ids"][0], result["documents"][0], result["metadatas"][0], result["distances"][0], strict=True)
        ]

    def query_ids(self, embedding: np.ndarray, n: int, where: dict[str, Any] | None) -> list[tuple[str, float]]:
        """(chunk id, cosine distance) only: a third of the cost of `query` at n=50, for
        callers that already hold the chunks' text and metadata (the lexical index does)."""
        try:
            result = self.chunks.query(
                query_embeddings=[np.asarray(embedding, dtype=np.float32)], n_results=n, where=where, include=["distances"],
            )
        except Exception as exc:
            raise StoreUnavailableError(f"querying collection {self.name!r} failed: {exc}") from exc
        return list(zip(result["ids"][0], result["distances"][0], strict=True))

    @staticmethod
    def _public(article_id: str, meta: dict[str, Any]) -> dict[str, Any]:
        return {
            "article_id": article_id,
            "title": meta.get("title", ""),
            "source": meta.get("source") or None,
            "author": meta.get("author") or None,
            "url": meta.get("url") or None,
            "published_at": meta.get("published_at") or None,
            "content_hash": meta.get("content_hash"),
            "n_chunks": meta.get("n_chunks"),
            "ingested_at": meta.get("ingested_at"),
        }


def read_articles(client, name: str) -> list[Article]:
    """Every stored article of collection `name`, whatever embedder built it (for reindex)."""
    try:
        collection = client.get_collection(f"{name}-articles", embedding_function=VectorsGiven())
    except Exception:  # no such collection: nothing stored yet
        return []
    out: list[Article] = []
    for result in iter_pages(collection, ["documents", "metadatas"]):
        out.extend(article_from_record(a, d, m) for a, d, m in zip(result["ids"], result["documents"], result["metadatas"], strict=True))
    return out


def drop_collections(client, name: str) -> None:
    for collection in (name, f"{name}-articles", f"{name}-feed"):
        try:
            client.delete_collection(collection)
        except Exception:  # absent already: nothing to drop
            pass

"""Chroma storage: one collection of chunks (with vectors) and one of whole articles.

The chunk collection's metadata records the embedding model, its dimension, the chunker
settings and a schema version. Every write goes through `ChunkWriter` (service/index/writer.py),
which appends one entry to the change feed (service/index/feed.py), so that any process
sharing the store (embedded or a `chroma run` server) can bring its derived state (the
lexical index) up to date. The article collection keeps each article's full text and
metadata, which is what citations quote from, what `list` pages through and what `reindex`
rebuilds from.

A chunk is searchable only while its article's record holds its version: the reads that
feed search (`chunks_of` and `iter_chunk_pages`, which every replica's lexical index is made
from, and `get_chunks`, which resolves dense hits that index has not caught up with) return
no chunk whose record is missing or of another version. So a write killed midway (its chunks
in, its records not) or a version being replaced never yields a source whose citation
`GET /v1/articles/{id}` cannot check. A write announces the articles it replaces before
their records change, and all of them once the records are in, so a replica following the
feed never keeps an old version beside a new record and finds the new one whole (`write`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from cachetools import TTLCache

from service.errors import ArticleNotFoundError, IndexMismatchError, StoreUnavailableError
from service.index import sentence_vectors
from service.index.client import NO_VECTOR, VectorsGiven, open_records, store_errors, update_metadata
from service.index.feed import ChangeFeed
from service.index.hnsw import HnswParams, apply_hnsw
from service.index.metadata import (
    CHUNK_KEYS,
    CHUNK_VECTORS,
    IndexSpec,
    StoredChunk,
    article_from_record,
    chunk_ids_of,
    chunk_keys,
    chunk_metadata,
    public_record,
    stored_chunk,
)
from service.index.paging import KEYED_FLAG, iter_pages, ordered_ids
from service.index.settling import settle_versions
from service.index.writer import UNFINISHED, ChunkRows, ChunkWriter
from service.models import SCHEMA_VERSION, Article, Chunk, ChunkVectors, chunk_id

# On an article record from its write until the change-feed entry announcing it is in: a
# run killed in between is not "unchanged" when repeated (`existing_chunk_ids`).
UNANNOUNCED = "unannounced"
ORPHAN_TTL_S = 10.0  # how long `get_chunks` trusts that a chunk has no record


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
        self.feed = ChangeFeed(open_records(client, f"{name}-feed", "change feed of chunk writes"), vector=NO_VECTOR)
        self.writer = ChunkWriter(self.chunks, self.feed, max_batch=client.get_max_batch_size(), name=name)
        self._orphans: TTLCache[str, bool] = TTLCache(maxsize=10_000, ttl=ORPHAN_TTL_S)  # see get_chunks
        self._orphans_lock = threading.Lock()  # TTLCache is not thread-safe

    @property
    def max_batch(self) -> int:
        """Chroma's largest batch, which every write is cut to (`ChunkWriter`)."""
        return self.writer.max_batch

    @property
    def sentence_vectors(self) -> bool:
        """Whether the collection was made storing sentence vectors with every chunk (one made
        before reranks on each chunk's own cosine instead; `newsdesk reindex` adds them)."""
        return bool((self.chunks.metadata or {}).get(sentence_vectors.FLAG))

    @property
    def chunk_vectors(self) -> ChunkVectors:
        """How this collection's chunk and sentence vectors are made (`ChunkVectors`): as
        recorded when it was created, so one collection never mixes two ways."""
        return ChunkVectors((self.chunks.metadata or {}).get(CHUNK_VECTORS, ChunkVectors.SEPARATE))

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
        """Each article's stored chunk ids, as its record lists them (`CHUNK_KEYS`: a read by
        id, where a filter on the chunks' `article_id` is a pass over the collection). An
        article whose last write did not finish (its record still marked unannounced) also gets
        `UNFINISHED`, so it never looks unchanged: rewriting it announces it in the feed; so
        does one whose listed chunks are not all there.

        Chunks a killed write left with no record of their version are not listed: no read
        returns them (they are never searchable), and the next write of the article deletes
        them (`settle_versions` reads every chunk of each article it writes). Records written
        before they listed their chunks are read the old way (`all_chunk_ids`)."""
        found: dict[str, set[str]] = {a: set() for a in article_ids}
        if not article_ids:
            return found
        records, unlisted = self._listing_records(article_ids)
        listed = {a: set(chunk_ids_of(a, meta[CHUNK_KEYS])) for a, meta in records.items()}
        # The listed chunks that are there (by id): one a racing writer's settling removed
        # leaves its article unfinished, so writing it again puts the chunk back.
        wanted = sorted(set().union(*listed.values())) if listed else []
        present = set(self.chunks.get(ids=wanted, include=[])["ids"]) if wanted else set()
        for article_id, ids in listed.items():
            found[article_id] |= ids & present
            if records[article_id].get(UNANNOUNCED) or ids - present:
                found[article_id].add(UNFINISHED)
        if unlisted:
            found.update(self.all_chunk_ids(unlisted))
        return found

    def all_chunk_ids(self, article_ids: Sequence[str]) -> dict[str, set[str]]:
        """Every stored chunk id of these articles, whatever version or record, read by a filter
        on the chunk collection (what a delete needs). An article whose chunks are not all of
        its record's announced version also gets `UNFINISHED`."""
        found: dict[str, set[str]] = {a: set() for a in article_ids}
        if not article_ids:
            return found
        result = self.chunks.get(where={"article_id": {"$in": list(article_ids)}}, include=["metadatas"])
        hashes: dict[str, set[str]] = {}
        for cid, meta in zip(result["ids"], result["metadatas"], strict=True):
            found.setdefault(meta["article_id"], set()).add(cid)
            hashes.setdefault(meta["article_id"], set()).add(meta.get("content_hash", ""))
        if hashes:
            records = self.articles.get(ids=sorted(hashes), include=["metadatas"])
            recorded = {a: m or {} for a, m in zip(records["ids"], records["metadatas"], strict=True)}
            for article_id, content_hashes in hashes.items():
                record = recorded.get(article_id, {})
                if content_hashes != {record.get("content_hash")} or record.get(UNANNOUNCED):
                    found[article_id].add(UNFINISHED)
        return found

    def write(
        self,
        items: Sequence[tuple[Article, list[Chunk]]],
        embeddings: np.ndarray,
        stale: set[str],
        sentences: Sequence[str] | None = None,
    ) -> None:
        """Upsert the chunks of `items` (rows of `embeddings` in order) and delete the `stale`
        chunk ids; announce the articles whose old chunks went (an update); write the
        records, marked unannounced; append one change-feed entry naming every article; then
        clear the mark. Each step is idempotent, so a run killed anywhere and repeated
        converges on the state of a clean run, announced: until the mark is cleared the
        article is `UNFINISHED`, and rewritten. No chunk is searchable before its record (the
        reads filter by it), and the last entry comes after the records, so a replica
        following the feed finds the new version whole. Then `settle_versions` resolves
        writers that raced on one article. `sentences` (one `sentence_vectors` string per
        chunk, in order) go into the chunks' metadata."""
        rows = ChunkRows.of(items, embeddings, sentences)
        stale_ids = sorted(stale - {UNFINISHED})
        self.writer.write_rows(upsert=rows, delete=stale_ids)
        replaced = sorted({article_of(cid) for cid in stale_ids})
        if replaced:
            # Other replicas may hold these articles' old version, whose record is about to
            # change: told first, each drops it (its chunks are gone, the new ones not yet
            # recorded), so none serves old text beside a new record, even if this process dies.
            self.writer.announce("write", replaced)
        with store_errors(f"writing to collection {self.name!r}"):
            self._write_records(items)
        self.writer.announce("write", [a.article_id for a, _ in items])
        written = {a.article_id: a.content_hash for a, _ in items}
        with store_errors(f"writing to collection {self.name!r}"):
            self._mark_announced(written)
            settle_versions(self.articles, self.writer, written, rows)

    def _write_records(self, items: Sequence[tuple[Article, list[Chunk]]]) -> None:
        for part in self.writer.batches(len(items)):
            group = items[part]
            now = datetime.now(UTC).isoformat()
            self.articles.upsert(
                ids=[a.article_id for a, _ in group],
                embeddings=[[1.0]] * len(group),
                documents=[a.text for a, _ in group],
                metadatas=[{**chunk_metadata(a, c[0], len(c)), "ingested_at": now, "origin": a.origin or "",
                            CHUNK_KEYS: chunk_keys([chunk_id(a, chunk) for chunk in c]), UNANNOUNCED: True}
                           for a, c in group],
            )

    def _mark_announced(self, written: dict[str, str]) -> None:
        """Clear the unannounced mark of the records that still hold the version this writer
        wrote (article id -> content hash): a racing writer's newer record keeps its mark
        until that writer announces it."""
        ids = sorted(written)
        for part in self.writer.batches(len(ids)):
            stored = self.articles.get(ids=ids[part], include=["metadatas"])
            mine = [a for a, m in zip(stored["ids"], stored["metadatas"], strict=True)
                    if (m or {}).get(UNANNOUNCED) and (m or {}).get("content_hash") == written[a]]
            if mine:
                self.articles.update(ids=mine, metadatas=[{UNANNOUNCED: None}] * len(mine))  # None removes the key

    def set_sentence_vectors(self, chunks: Sequence[StoredChunk], blobs: Sequence[str]) -> None:
        """Store sentence vectors for chunks written without them, and announce their
        articles in the change feed so every replica's lexical index copies them."""
        if len(chunks) != len(blobs):
            raise ValueError(f"{len(chunks)} chunks but {len(blobs)} sets of sentence vectors")
        self.writer.apply("write", sorted({str(c.metadata.get("article_id", "")) for c in chunks}),
                          update={c.chunk_id: {sentence_vectors.KEY: blob} for c, blob in zip(chunks, blobs, strict=True)})

    def delete_article(self, article_id: str) -> int:
        existing = self.all_chunk_ids([article_id])[article_id]
        record = self.articles.get(ids=[article_id], include=[])
        if not existing and not record["ids"]:
            raise ArticleNotFoundError(f"no article with id {article_id!r}")
        existing.discard(UNFINISHED)
        self.writer.apply("delete", [article_id], delete=sorted(existing))
        with store_errors(f"writing to collection {self.name!r}"):
            self.articles.delete(ids=[article_id])  # last: a delete killed midway can be repeated
        return len(existing)

    # -- reads ----------------------------------------------------------------------------

    def vectors_by_text(self, article_ids: Sequence[str], text_hashes: Sequence[str]) -> dict[str, tuple[np.ndarray, str]]:
        """Stored vectors (the chunk's and its sentences') of these articles' chunks whose
        text hash is one of `text_hashes`: what an edited article's unchanged chunks can keep
        instead of being embedded again. A chunk stored without sentence vectors is left out."""
        if not article_ids or not text_hashes:
            return {}
        where = {"$and": [{"article_id": {"$in": list(article_ids)}}, {"text_hash": {"$in": sorted(set(text_hashes))}}]}
        try:
            result = self.chunks.get(where=where, include=["embeddings", "metadatas"])
        except Exception:  # only a saving: embedding them again is always right
            # Embedded Chroma 1.5 can fail a read of vectors that a racing writer is
            # deleting ("Error finding id"); a store that is really down fails the write.
            return {}
        return {m["text_hash"]: (np.asarray(e, dtype=np.float32), m[sentence_vectors.KEY])
                for m, e in zip(result["metadatas"], result["embeddings"], strict=True) if m.get(sentence_vectors.KEY)}

    def vectors_of(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these chunks (those still present)."""
        if not chunk_ids:
            return {}
        with store_errors(f"reading vectors from collection {self.name!r}"):
            result = self.chunks.get(ids=list(chunk_ids), include=["embeddings"])
        return {i: np.asarray(e, dtype=np.float32) for i, e in zip(result["ids"], result["embeddings"], strict=True)}

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
        return [public_record(aid, found[aid]) for aid in ids if aid in found]

    def get_article(self, article_id: str) -> tuple[Article, dict[str, Any]]:
        result = self.articles.get(ids=[article_id], include=["documents", "metadatas"])
        if not result["ids"]:
            raise ArticleNotFoundError(f"no article with id {article_id!r}")
        meta = result["metadatas"][0]
        return article_from_record(article_id, result["documents"][0], meta), public_record(article_id, meta)

    def get_article_texts(self, article_ids: Sequence[str]) -> dict[str, str]:
        if not article_ids:
            return {}
        result = self.articles.get(ids=list(dict.fromkeys(article_ids)), include=["documents"])
        return dict(zip(result["ids"], result["documents"], strict=True))

    def iter_articles(self) -> Iterator[Article]:
        yield from read_articles(self.client, self.name)

    def iter_chunk_pages(self) -> Iterator[list[StoredChunk]]:
        """Every searchable chunk's text and metadata, a page at a time (a fresh lexical
        index's copy): those whose article record holds their version."""
        for result in iter_pages(self.chunks, ["documents", "metadatas"]):
            yield self._recorded(_stored_chunks(result))

    def chunks_of(self, article_ids: Sequence[str]) -> list[StoredChunk]:
        """The current searchable chunks of these articles (a change feed entry's articles):
        those of the version their records hold, read by the ids the records list."""
        out: list[StoredChunk] = []
        for begin in range(0, len(article_ids), 500):
            records, unlisted = self._listing_records(article_ids[begin: begin + 500])
            ids = [cid for a, meta in records.items() for cid in chunk_ids_of(a, meta[CHUNK_KEYS])]
            version = {a: meta.get("content_hash") for a, meta in records.items()}
            if ids:
                result = self.chunks.get(ids=ids, include=["documents", "metadatas"])
                out.extend(c for c in _stored_chunks(result)
                           if c.metadata.get("content_hash") == version.get(str(c.metadata.get("article_id"))))
            if unlisted:  # records written before they listed their chunks
                result = self.chunks.get(where={"article_id": {"$in": unlisted}}, include=["documents", "metadatas"])
                out.extend(self._recorded(_stored_chunks(result)))
        return out

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[StoredChunk]:
        """Those of these chunks that are searchable (dense hits the lexical index has not
        caught up with). A chunk found without its record is remembered for `ORPHAN_TTL_S`,
        so a killed write's chunks cost no read per query while they rank."""
        with self._orphans_lock:
            wanted = [c for c in chunk_ids if c not in self._orphans]
        if not wanted:
            return []
        result = self.chunks.get(ids=wanted, include=["documents", "metadatas"])
        found = _stored_chunks(result)
        kept = self._recorded(found)
        with self._orphans_lock:
            for orphan in {c.chunk_id for c in found} - {c.chunk_id for c in kept}:
                self._orphans[orphan] = True
        return kept

    def _listing_records(self, article_ids: Sequence[str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """These articles' records that list their chunks (`CHUNK_KEYS`), article id ->
        metadata, and the ids of the records written before they did. An article with no
        record is in neither."""
        result = self.articles.get(ids=list(article_ids), include=["metadatas"])
        listing: dict[str, dict[str, Any]] = {}
        unlisted: list[str] = []
        for article_id, meta in zip(result["ids"], result["metadatas"], strict=True):
            if (meta or {}).get(CHUNK_KEYS) is None:
                unlisted.append(article_id)
            else:
                listing[article_id] = dict(meta or {})
        return listing, unlisted

    def _recorded(self, chunks: list[StoredChunk]) -> list[StoredChunk]:
        """Those of `chunks` whose article record holds their version (content hash): the
        text their offsets index is what `get_article` returns. One read of the records."""
        article_ids = sorted({str(c.metadata.get("article_id", "")) for c in chunks})
        if not article_ids:
            return []
        records = self.articles.get(ids=article_ids, include=["metadatas"])
        version = {a: (m or {}).get("content_hash") for a, m in zip(records["ids"], records["metadatas"], strict=True)}
        return [c for c in chunks if c.metadata.get("content_hash") is not None
                and version.get(str(c.metadata.get("article_id", ""))) == c.metadata["content_hash"]]

    def query_ids(self, embedding: np.ndarray, n: int, where: dict[str, Any] | None) -> list[tuple[str, float]]:
        """(chunk id, cosine distance) of the `n` nearest chunks: ids only, a third of the cost
        of reading their text and metadata too at n=50, which the lexical index holds."""
        with store_errors(f"querying collection {self.name!r}"):
            result = self.chunks.query(
                query_embeddings=[np.asarray(embedding, dtype=np.float32)], n_results=n, where=where, include=["distances"],
            )
        return list(zip(result["ids"][0], result["distances"][0], strict=True))


def article_of(chunk_id: str) -> str:
    """The article id in a chunk id (`service.models.chunk_id`: `<article id>#<index>:<hash>`)."""
    return chunk_id.rsplit("#", 1)[0]


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


def _stored_chunks(result: dict[str, Any]) -> list[StoredChunk]:
    """The chunks of a Chroma `get` that included documents and metadatas."""
    return [stored_chunk(i, d, m) for i, d, m in zip(result["ids"], result["documents"], result["metadatas"], strict=True)]

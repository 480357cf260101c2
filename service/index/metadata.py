"""What a chunk and an article record hold in Chroma, shaped both ways.

Going in: `chunk_metadata` (a chunk's offsets, hashes, page key and the article's citation
fields) and `IndexSpec` (what the collection's vectors were made with). Coming out:
`StoredChunk` (a chunk as the store or the lexical index returns it), `article_from_record`
and `public_record` (an article record as `list` and `get` show it). The metadata keys are
stored data: renaming one strands every collection already written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.index import sentence_vectors
from service.index.paging import PAGE_KEY, page_key
from service.models import (
    SCHEMA_VERSION,
    Article,
    Chunk,
    ChunkVectors,
    from_timestamp,
    iso,
    sha256_hex,
    to_timestamp,
)

# Collection metadata: how its chunk and sentence vectors were made (`ChunkVectors`). A
# collection made before the key existed embedded chunks and sentences apart (SEPARATE).
CHUNK_VECTORS = "chunk_vectors"

# Article record metadata: its version's chunk ids, each as what follows the "#" of
# `service.models.chunk_id` ("0:1f2e3d4c5b6a7988"), space-separated. Reading an article's
# chunks by id costs Chroma a lookup; filtering the chunk collection by `article_id` costs it
# a pass over the collection (12 ms at 100k chunks on a `chroma run` server, against 2.4 ms
# by id), on every write and on every replica that follows it. A record written before the
# key existed lacks it, and its chunks are found by the filter (`ArticleStore`).
CHUNK_KEYS = "chunk_keys"


@dataclass(frozen=True)
class IndexSpec:
    """What the vectors in a collection were made with."""

    model_id: str
    dimension: int
    chunk_size: int
    chunk_overlap: int
    chunk_vectors: ChunkVectors = ChunkVectors.SENTENCES  # how a new collection's vectors are made

    def as_metadata(self) -> dict[str, Any]:
        return {
            "embedding_model": self.model_id,
            "embedding_dimension": self.dimension,
            "chunk_size": self.chunk_size,
            "chunk_overlap": self.chunk_overlap,
            CHUNK_VECTORS: str(self.chunk_vectors),
            "schema_version": SCHEMA_VERSION,
        }


@dataclass
class StoredChunk:
    chunk_id: str
    text: str
    metadata: dict[str, Any]
    shingle_sample: frozenset[int] | None = None  # `service.text.shingle_sample`, when the lexical index stored one
    vectors: bytes | None = None  # its own and its sentences' 4-bit vectors (`sentence_vectors`), when stored


def stored_chunk(chunk_id: str, text: str, metadata: dict[str, Any] | None) -> StoredChunk:
    """A chunk as Chroma returns it: the sentence vectors leave the metadata (which sources
    show to readers) for a field of their own."""
    meta = dict(metadata or {})
    blob = meta.pop(sentence_vectors.KEY, None)
    return StoredChunk(chunk_id, text, meta, vectors=sentence_vectors.to_bytes(blob) if blob else None)


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


def chunk_keys(chunk_ids: list[str]) -> str:
    """`CHUNK_KEYS` of an article whose chunks have these ids."""
    return " ".join(cid.rsplit("#", 1)[1] for cid in chunk_ids)


def chunk_ids_of(article_id: str, keys: str) -> list[str]:
    """The chunk ids an article record's `CHUNK_KEYS` lists."""
    return [f"{article_id}#{key}" for key in keys.split()]


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


def public_record(article_id: str, meta: dict[str, Any]) -> dict[str, Any]:
    """An article record's metadata as `list` and `get` show it."""
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

"""The core's value objects: articles, chunks, filters, retrieved sources and answers."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

SCHEMA_VERSION = 1


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Article:
    article_id: str
    title: str
    text: str
    source: str | None = None
    author: str | None = None
    url: str | None = None
    published_at: datetime | None = None
    origin: str | None = None  # the file (and line) it came from, for reports

    @property
    def content_hash(self) -> str:
        # Metadata is part of what a reader sees in a citation, so a changed title or
        # date is a changed article too.
        meta = "\x1f".join(
            [self.title, self.source or "", self.author or "", self.url or "", iso(self.published_at) or ""]
        )
        return sha256_hex(meta + "\x1e" + self.text)

    def public(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "title": self.title,
            "source": self.source,
            "author": self.author,
            "url": self.url,
            "published_at": iso(self.published_at),
            "content_hash": self.content_hash,
        }


@dataclass(frozen=True)
class Chunk:
    article_id: str
    chunk_index: int
    char_start: int
    char_end: int
    text: str


def chunk_id(article: Article, chunk: Chunk) -> str:
    """Derived from the article id, the chunk's index and the article's content hash, so an
    edit anywhere in the article (or its metadata) gives every chunk a new id."""
    return f"{article.article_id}#{chunk.chunk_index}:{sha256_hex(article.content_hash + chunk.text)[:16]}"


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def to_timestamp(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(value.timestamp())


def from_timestamp(value: int | None) -> datetime | None:
    if value is None or value < 0:
        return None
    return datetime.fromtimestamp(value, tz=timezone.utc)


@dataclass(frozen=True)
class Filters:
    """Metadata filters, applied identically to the dense and the lexical path."""

    published_after: datetime | None = None
    published_before: datetime | None = None
    sources: tuple[str, ...] = ()
    article_ids: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.published_after or self.published_before or self.sources or self.article_ids)

    def to_where(self) -> dict[str, Any] | None:
        """The Chroma `where` clause."""
        clauses: list[dict[str, Any]] = []
        if self.published_after:
            clauses.append({"published_ts": {"$gte": to_timestamp(self.published_after)}})
        if self.published_before:
            clauses.append({"published_ts": {"$lt": to_timestamp(self.published_before)}})
        if self.sources:
            clauses.append({"source": {"$in": list(self.sources)}})
        if self.article_ids:
            clauses.append({"article_id": {"$in": list(self.article_ids)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


@dataclass
class Passage:
    """A retrieved chunk (or merged run of adjacent chunks) of one article."""

    chunk_ids: list[str]
    article_id: str
    text: str
    char_start: int
    char_end: int
    metadata: dict[str, Any]
    score: float = 0.0  # fused score
    dense_score: float | None = None  # cosine similarity of the best dense hit, when any
    lexical_score: float | None = None
    corroborated_by: list[dict[str, Any]] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.metadata.get("title", "")

    @property
    def source(self) -> str | None:
        return self.metadata.get("source") or None

    @property
    def url(self) -> str | None:
        return self.metadata.get("url") or None

    @property
    def published_at(self) -> str | None:
        return self.metadata.get("published_at") or None


@dataclass
class Citation:
    n: int
    article_id: str
    title: str
    source: str | None
    url: str | None
    published_at: str | None
    quote: str
    start: int
    end: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    answer: str
    answerable: bool
    mode: str  # "llm" | "extractive"
    citations: list[Citation]
    sources: list[dict[str, Any]]
    warnings: list[str]
    unsupported_sentences: list[str]
    prompt_id: str | None
    model: str | None
    request_id: str
    timings_ms: dict[str, float]
    degraded: bool = False
    degraded_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["citations"] = [c.to_dict() for c in self.citations]
        return data

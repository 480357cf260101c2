"""The core's value objects: articles, chunks, filters, retrieved passages, numbered
sources and answers.

Words: an article's *outlet* is who published it (stored, and shown in JSON, as `source`);
a *source* is one of the numbered passages an answer cites as [n].
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is imported where it is used: `newsdesk ask` through a server never needs it
    import numpy as np

SCHEMA_VERSION = 1


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Article:
    article_id: str
    title: str
    text: str
    outlet: str | None = None  # who published it; `source` in stored metadata and JSON
    author: str | None = None
    url: str | None = None
    published_at: datetime | None = None
    origin: str | None = None  # the file (and line) it came from, for reports

    @property
    def content_hash(self) -> str:
        # Metadata is part of what a reader sees in a citation, so a changed title or
        # date is a changed article too.
        meta = "\x1f".join(
            [self.title, self.outlet or "", self.author or "", self.url or "", iso(self.published_at) or ""]
        )
        return sha256_hex(meta + "\x1e" + self.text)

    def public(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "title": self.title,
            "source": self.outlet,
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
    tokens: int | None = None  # the embedder's tokens, as the chunker counted them


def chunk_id(article: Article, chunk: Chunk) -> str:
    """Derived from the article id, the chunk's index and the article's content hash, so an
    edit anywhere in the article (or its metadata) gives every chunk a new id."""
    return f"{article.article_id}#{chunk.chunk_index}:{sha256_hex(article.content_hash + chunk.text)[:16]}"


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def to_timestamp(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def from_timestamp(value: int | None) -> datetime | None:
    if value is None or value < 0:
        return None
    return datetime.fromtimestamp(value, tz=UTC)


MAX_TOP_K = 50  # sources one answer may ask for, on every interface


class FusionMode(StrEnum):
    """How the dense and lexical candidates become one ranking (`service.answer.fusion`).
    A `StrEnum`, so settings, logs and reports show (and compare equal to) the plain name."""

    RRF = "rrf"  # reciprocal ranks of the two paths
    ZSCORE = "zscore"  # the two paths' z-scored scores
    RERANK = "rerank"  # every candidate scored on six features, their z-scores weighed

    @classmethod
    def from_str(cls, value: str) -> FusionMode:
        """The mode named `value`; ValueError lists the known names."""
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"unknown fusion {value!r}; one of {', '.join(cls)}") from None


class ChunkVectors(StrEnum):
    """Where a chunk's vector and its sentences' vectors come from at ingest
    (`service.index.sentence_vectors.embed_chunks`, which gives each one's figures). A
    collection records its own (`IndexSpec`), so its vectors never mix two ways."""

    SENTENCES = "sentences"  # each sentence embedded alone, once; the chunk's vector is their mean
    POOLED = "pooled"  # one pass over the chunk; each sentence pooled from it, in its context
    SEPARATE = "separate"  # the chunk and its sentences each embedded alone: every token read twice


@dataclass(frozen=True)
class Clause:
    """One condition on a chunk's metadata: `field op value`, op one of gte, lt, in."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Filters:
    """Metadata filters, applied identically to the dense and the lexical path: both render
    the one list of `clauses()` (Chroma's `where`, a vectorised mask)."""

    published_after: datetime | None = None
    published_before: datetime | None = None
    outlets: tuple[str, ...] = ()
    article_ids: tuple[str, ...] = ()

    # The keys of a filter mapping, as requests, channel settings and eval cases spell them.
    FIELDS = ("published_after", "published_before", "sources", "article_ids")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Filters:
        """From request bodies, channel settings, eval cases and CLI flags alike; dates in
        the grammar of `parse_date`. ValueError names what is wrong."""
        from service.dates import parse_date

        data = dict(data or {})
        unknown = sorted(set(data) - set(cls.FIELDS))
        if unknown:
            raise ValueError(f"unknown filter(s) {', '.join(unknown)}; known: {', '.join(cls.FIELDS)}")
        lists = {}
        for key, name in (("sources", "outlets"), ("article_ids", "article_ids")):
            value = data.get(key) or ()
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{key} must be a list of strings")
            lists[name] = tuple(value)
        return cls(published_after=parse_date(data.get("published_after")),
                   published_before=parse_date(data.get("published_before")), **lists)

    @property
    def empty(self) -> bool:
        return not (self.published_after or self.published_before or self.outlets or self.article_ids)

    def clauses(self) -> list[Clause]:
        """The predicate, once. An undated article (published_ts -1) fails any date bound."""
        out: list[Clause] = []
        if self.published_after or self.published_before:
            out.append(Clause("published_ts", "gte", 0))
        if self.published_after:
            out.append(Clause("published_ts", "gte", to_timestamp(self.published_after)))
        if self.published_before:
            out.append(Clause("published_ts", "lt", to_timestamp(self.published_before)))
        if self.outlets:
            out.append(Clause("source", "in", list(self.outlets)))
        if self.article_ids:
            out.append(Clause("article_id", "in", list(self.article_ids)))
        return out

    def to_where(self) -> dict[str, Any] | None:
        """The Chroma `where` clause."""
        where = [{c.field: {f"${c.op}": c.value}} for c in self.clauses()]
        if not where:
            return None
        return where[0] if len(where) == 1 else {"$and": where}

    def mask(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """The same clauses over column arrays (field -> one value per row)."""
        import numpy as np

        size = len(next(iter(columns.values()))) if columns else 0
        keep = np.ones(size, dtype=bool)
        for c in self.clauses():
            column = columns[c.field]
            if c.op == "gte":
                keep &= column >= c.value
            elif c.op == "lt":
                keep &= column < c.value
            else:
                keep &= np.isin(column, c.value)
        return keep


@dataclass(frozen=True)
class ArticleRef:
    """An article as a source names it: what a reader sees of it in a citation. It is also
    the form of each wire copy collapsed into a source (`corroborated_by`)."""

    article_id: str
    title: str = ""
    outlet: str | None = None
    url: str | None = None
    published_at: str | None = None  # ISO 8601, as stored

    @classmethod
    def from_metadata(cls, meta: Mapping[str, Any]) -> ArticleRef:
        """From a chunk's stored metadata (where the outlet is `source`)."""
        return cls(meta["article_id"], meta.get("title", ""), meta.get("source") or None, meta.get("url") or None,
                   meta.get("published_at") or None)

    def to_dict(self) -> dict[str, Any]:
        return {"article_id": self.article_id, "title": self.title, "source": self.outlet, "url": self.url,
                "published_at": self.published_at}


class _OfAnArticle:
    """The article facts of a passage or a source, read through its `article`."""

    article: ArticleRef

    @property
    def article_id(self) -> str:
        return self.article.article_id

    @property
    def title(self) -> str:
        return self.article.title

    @property
    def outlet(self) -> str | None:
        return self.article.outlet

    @property
    def url(self) -> str | None:
        return self.article.url

    @property
    def published_at(self) -> str | None:
        return self.article.published_at


@dataclass
class Passage(_OfAnArticle):
    """A retrieved chunk (or merged run of adjacent chunks) of one article: the article's
    facts and the passage's own span. It keeps none of its chunks' raw metadata, whose
    offsets and counts would describe only one chunk of a merged passage."""

    chunk_ids: list[str]
    article: ArticleRef
    text: str
    char_start: int
    char_end: int
    score: float = 0.0  # fused score
    dense_score: float | None = None  # cosine similarity of the best dense hit, when any
    lexical_score: float | None = None
    corroborated_by: list[ArticleRef] = field(default_factory=list)  # other outlets' copies of this text


@dataclass(frozen=True)
class Source(_OfAnArticle):
    """A numbered source: passage [n] of an answer, as the model and the reader see it."""

    n: int
    article: ArticleRef
    text: str
    start: int
    end: int
    score: float  # fused score
    dense_score: float | None
    corroborated_by: tuple[ArticleRef, ...] = ()  # other outlets carrying the same (wire) text

    @classmethod
    def of(cls, n: int, passage: Passage) -> Source:
        return cls(n, passage.article, passage.text, passage.char_start, passage.char_end, passage.score,
                   passage.dense_score, tuple(passage.corroborated_by))

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            **self.article.to_dict(),
            "score": round(self.score, 6),
            "dense_score": None if self.dense_score is None else round(self.dense_score, 4),
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "corroborated_by": [c.to_dict() for c in self.corroborated_by],
            "corroborations": len(self.corroborated_by),
        }


def number_sources(passages: Sequence[Passage]) -> list[Source]:
    """The passages as sources [1], [2], ..."""
    return [Source.of(n, p) for n, p in enumerate(passages, start=1)]


@dataclass
class Citation:
    n: int
    article_id: str
    title: str
    outlet: str | None
    url: str | None
    published_at: str | None
    quote: str
    start: int
    end: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "article_id": self.article_id, "title": self.title, "source": self.outlet, "url": self.url,
                "published_at": self.published_at, "quote": self.quote, "start": self.start, "end": self.end,
                "score": self.score}


@dataclass(frozen=True)
class TimelineStep:
    """One dated event of a story: one cited sentence, its date (the event's when the
    sentence gives one, else its article's), the wire copies folded under it, and, for a
    correction, the report it corrects."""

    date: str  # YYYY-MM-DD, or "" for an undated article
    dated_by: str  # "event" (the sentence says when) | "article" (its publication date)
    citation: Citation
    copies: tuple[ArticleRef, ...] = ()
    corrects: ArticleRef | None = None  # set: this step is a correction of that report
    note: str | None = None  # "Corrected: $5 → $3"

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.date, "dated_by": self.dated_by, "kind": "correction" if self.corrects else "report",
                "text": self.citation.quote, "citation": self.citation.to_dict(),
                "copies": [c.to_dict() for c in self.copies],
                "corrects": self.corrects.to_dict() if self.corrects else None, "note": self.note}


@dataclass(frozen=True)
class Timeline:
    """How a story developed: its steps, oldest first."""

    topic: str
    steps: tuple[TimelineStep, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "steps": [s.to_dict() for s in self.steps]}


@dataclass
class Answer:
    answer: str
    answerable: bool
    mode: str  # "llm" | "extractive"
    citations: list[Citation]
    sources: list[Source]
    warnings: list[str]
    unsupported_sentences: list[str]
    prompt_id: str | None
    model: str | None
    request_id: str
    timings_ms: dict[str, float]
    degraded: bool = False
    degraded_reason: str | None = None
    conflicts: list[str] = field(default_factory=list)  # where the cited sources disagree
    short_answer: str | None = None  # "Yes", "No", a name or a figure, when the cited sentences determine it
    answerability: float | None = None  # the gate's probability that the sources answer the question
    timeline: Timeline | None = None  # the answer to "how did X develop?": its dated steps

    def to_dict(self) -> dict[str, Any]:
        """The answer's JSON: every HTTP, MCP, Slack and CLI answer has this shape."""
        data = asdict(replace(self, citations=[], sources=[], timeline=None))
        data["citations"] = [c.to_dict() for c in self.citations]
        data["sources"] = [s.to_dict() for s in self.sources]
        del data["timeline"]  # only timelines carry one: other answers keep their shape
        if self.timeline is not None:
            data["timeline"] = self.timeline.to_dict()
        return data

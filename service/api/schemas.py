"""Request and response bodies of the HTTP API, by role: `*Request`/`*Create` come in,
`*Response`/`*Public`/`*Page` go out.

Incoming models forbid unknown fields, so a typo in a request is a 422 rather than a
silently ignored option. Outgoing models list exactly what the API promises and drop
anything else the core adds, so a new core field never turns into a 500 here; it
becomes part of the API when it is added to these models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictInt,
    StringConstraints,
    model_serializer,
    model_validator,
)

from service.dates import parse_date
from service.ingest.loading import is_web_url
from service.models import MAX_TOP_K, Answer, Filters

MAX_QUESTION_CHARS = 2000


class Schema(BaseModel):
    """An incoming body."""

    model_config = ConfigDict(extra="forbid")


class Public(BaseModel):
    """An outgoing body."""

    model_config = ConfigDict(extra="ignore")


def _when(value: Any) -> Any:
    # The same date grammar as the CLI's --after/--before and article files; naive is UTC.
    if not isinstance(value, (str, int, float)):
        return value
    try:
        return parse_date(value)
    except (OverflowError, OSError):  # epoch seconds beyond the years 1-9999
        raise ValueError("date out of range (years 1 to 9999)") from None
    except ValueError:  # its message quotes the value: validation errors never echo input
        raise ValueError("unrecognised date; use ISO 8601, e.g. 2025-03-10") from None


def _web_url(value: Any) -> Any:
    # Only http(s) URLs get in (`build_article`); one stored before that rule is not shown,
    # so no client (the reading page among them) links a `javascript:` URL from the API.
    return value if not isinstance(value, str) or is_web_url(value) else None


When = Annotated[datetime, BeforeValidator(_when)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
WebUrl = Annotated[str | None, BeforeValidator(_web_url)]
# Strict: "5" and true are not integers (lax pydantic would take them as 5 and 1).
TopK = Annotated[StrictInt, Field(ge=1, le=MAX_TOP_K)]


# -- ask ----------------------------------------------------------------------------------------

class AskFilters(Schema):
    published_after: When | None = Field(None, description="Only articles published on or after this date (ISO 8601).")
    published_before: When | None = Field(None, description="Only articles published before this date (ISO 8601).")
    sources: list[Name] = Field(default_factory=list, max_length=100, description="Only these outlets.")
    article_ids: list[Name] = Field(default_factory=list, max_length=500, description="Only these articles.")

    @model_validator(mode="after")
    def _ordered(self) -> AskFilters:
        if self.published_after and self.published_before and self.published_after >= self.published_before:
            raise ValueError("published_after must be earlier than published_before")
        return self

    def to_filters(self) -> Filters:
        return Filters.from_mapping(self.model_dump())


class AskRequest(Schema):
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_CHARS)]
    filters: AskFilters | None = None
    top_k: TopK | None = Field(None, description="How many sources to retrieve (default from settings).")
    stream: bool | None = Field(
        None, description="Answer with Server-Sent Events. When absent, `Accept: text/event-stream` asks for a stream."
    )
    collection: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$",
        description="The collection to ask (default: the server's, or the API key's first collection).",
    )


class CitationPublic(Public):
    n: int = Field(description="The source number used in the answer's [n] markers.")
    article_id: str
    title: str
    source: str | None
    url: WebUrl
    published_at: str | None
    quote: str = Field(description="Verbatim text of the article: article_text[start:end] == quote.")
    start: int
    end: int
    score: float = Field(description="Share of the claim's content words the quote contains.")


class SourceRef(Public):
    article_id: str
    title: str
    source: str | None
    url: WebUrl
    published_at: str | None


class SourcePublic(Public):
    n: int
    article_id: str
    title: str
    source: str | None
    url: WebUrl
    published_at: str | None
    score: float
    dense_score: float | None
    start: int
    end: int
    text: str = Field(description="The passage given to the model: article_text[start:end].")
    corroborated_by: list[SourceRef] = Field(description="Near-duplicate copies (wire stories) folded into this source.")
    corroborations: int = Field(0, description="How many other outlets carry this same text (len of corroborated_by).")

    @model_validator(mode="before")
    @classmethod
    def _count_copies(cls, data: Any) -> Any:
        if isinstance(data, dict) and "corroborations" not in data:
            data = {**data, "corroborations": len(data.get("corroborated_by") or [])}
        return data


class TimelineStepPublic(Public):
    date: str = Field(description="YYYY-MM-DD: the event's date when its sentence gives one, else its article's.")
    dated_by: Literal["event", "article"]
    kind: Literal["report", "correction"]
    text: str = Field(description="The cited sentence (the citation's quote).")
    citation: CitationPublic
    copies: list[SourceRef] = Field(description="Wire copies of the article, folded under it.")
    corrects: SourceRef | None = Field(None, description="For a correction: the report it corrects.")
    note: str | None = Field(None, description="What a correction changed, e.g. 'Corrected: $5 → $3'.")


class TimelinePublic(Public):
    topic: str
    steps: list[TimelineStepPublic] = Field(description="Oldest first.")


class Timings(Public):
    retrieve: float
    generate: float
    total: float


class AskResponse(Public):
    answer: str
    answerable: bool
    mode: Literal["llm", "extractive"]
    citations: list[CitationPublic]
    sources: list[SourcePublic]
    warnings: list[str]
    unsupported_sentences: list[str]
    prompt_id: str | None
    model: str | None
    request_id: str
    timings_ms: Timings
    degraded: bool
    degraded_reason: str | None
    conflicts: list[str] = Field(default_factory=list, description="Where the cited sources disagree: different "
                                 "figures or names for one thing, or a correction that supersedes a cited report; "
                                 "each note cites both sides by source number")
    short_answer: str | None = Field(default=None, description="How the extractive answer opens when its cited "
                                     "sentences determine it: Yes, No, a name or a figure. With an LLM, Yes or No "
                                     "when the model's reply to a yes/no question opens with it")
    answerability: float | None = Field(default=None, description="The gate's probability that the sources answer "
                                        "the question (a refusal below its threshold needs no model call)")
    timeline: TimelinePublic | None = Field(None, description="For 'how did X develop?', 'what happened with X?' "
                                            "and 'timeline of X': the dated steps the answer lists")

    @model_serializer(mode="wrap")
    def _timeline_only_when_there_is_one(self, handler: SerializerFunctionWrapHandler):  # unannotated: the schema stays the model's
        # Every other answer keeps the shape it always had (clients may check its keys).
        data = handler(self)
        if data.get("timeline") is None:
            data.pop("timeline", None)
        return data

    @classmethod
    def from_answer(cls, answer: Answer) -> AskResponse:
        return cls.model_validate(answer.to_dict())


class SourcesEvent(Public):
    """Data of the first SSE event."""

    sources: list[SourcePublic]
    request_id: str


class DeltaEvent(Public):
    """Data of each `delta` SSE event. `replace: true` means: discard the text so far and
    show this instead (the model failed mid-answer and an extractive answer replaced it)."""

    text: str
    replace: bool = False


# -- articles -----------------------------------------------------------------------------------

class ArticleCreate(Schema):
    id: Name | None = Field(None, description="Defaults to the url, else a hash of the text.")
    title: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    text: Annotated[str, StringConstraints(min_length=1)]
    url: Name | None = None
    source: Name | None = None
    author: Name | None = None
    published_at: str | int | None = Field(
        None, description="ISO 8601 date or datetime (naive means UTC), epoch seconds, or 'Mar 10 2025'."
    )


class ArticlePublic(Public):
    article_id: str
    title: str
    source: str | None
    author: str | None
    url: WebUrl
    published_at: str | None
    content_hash: str | None
    n_chunks: int | None
    ingested_at: str | None


class ArticleDetail(ArticlePublic):
    text: str


class ArticlesPage(Public):
    items: list[ArticlePublic]
    total: int
    limit: int
    offset: int


IngestStatus = Literal["added", "updated", "unchanged", "failed"]


class ArticleResult(Public):
    index: int = Field(description="Position in the request (0 for a single object).")
    article_id: str | None
    status: IngestStatus
    reason: str | None = None


class IngestCounts(Public):
    added: int
    updated: int
    unchanged: int
    failed: int


class IngestSummary(Public):
    counts: IngestCounts
    results: list[ArticleResult]
    chunks_written: int


class ArticleDeleted(Public):
    article_id: str
    chunks_deleted: int


# -- health and problems ------------------------------------------------------------------------

class Check(Public):
    ok: bool
    detail: str
    ms: float


class Readiness(Public):
    status: Literal["ready", "not ready"]
    checks: dict[str, Check]
    degraded: list[str] = Field(default_factory=list, description="Checks that fail without making the replica "
                                                                  "unready (the LLM: answers fall back to extractive).")


class Problem(BaseModel):
    """RFC 9457 problem details; extension members (`errors`, `checks`, `results`) vary by type."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str

"""What `AnswerEngine.stream` yields, in order: one `SourcesEvent`, zero or more
`DeltaEvent`s, then one `DoneEvent`. The HTTP API turns them into SSE events of the same
names; the evals read the retrieval and the draft from them instead of shared state."""

from __future__ import annotations

from dataclasses import dataclass, field

from service.answer.assessment import Assessment
from service.answer.retrieval import RetrievalResult
from service.models import Answer, Source


@dataclass(frozen=True)
class SourcesEvent:
    """The numbered sources, before any answer text."""

    request_id: str
    sources: list[Source]
    retrieval: RetrievalResult = field(repr=False)
    name = "sources"


@dataclass(frozen=True)
class DeltaEvent:
    """Answer text as it arrives. `replace`: discard what came before and show this (the LLM
    failed mid-answer and the extractive answer took its place)."""

    text: str
    replace: bool = False
    name = "delta"


@dataclass(frozen=True)
class DoneEvent:
    """The checked answer. `draft` is the text as written, before the citation checks, when
    the extractive mode wrote it (None for LLM text and refusals)."""

    answer: Answer
    retrieval: RetrievalResult = field(repr=False)
    draft: str | None = None
    assessment: Assessment | None = field(default=None, repr=False)  # None when no question was assessed
    name = "done"


AnswerEvent = SourcesEvent | DeltaEvent | DoneEvent

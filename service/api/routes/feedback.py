"""POST /v1/feedback: a reader's 👍/👎 on an answer, stored with the Slack bot's votes.

The answer is not kept on the server between the ask and the vote, so the vote carries
what it is about: the question, the answer and its citations. Every citation is checked
against the store before anything is recorded (the quote must be the article's text at its
offsets), so a vote cannot vouch for a source that does not say what it claims.
`newsdesk slack feedback-export` turns the votes, from the page and from Slack alike, into eval
cases.

The reader is a hash: of the API key's id when keys are in use, else of a random token the
page keeps for its session. Neither is stored as given.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from service.api.auth import AUTH_RESPONSES, require
from service.api.bodies import JSONBodyRoute
from service.api.deps import CollectionQuery, CollectionsDep
from service.api.problems import problem_response
from service.api.schemas import MAX_QUESTION_CHARS, AskFilters, Problem, Public, Schema
from service.feedback import hash_user, record_feedback
from service.keys import ApiKey

router = APIRouter(prefix="/v1", tags=["feedback"], route_class=JSONBodyRoute)

MAX_ANSWER_CHARS = 20_000
_TOKEN = r"^[A-Za-z0-9._:@/+=-]{1,128}$"  # as X-Request-ID
_READER_SALT = "newsdesk-web"  # the tokens hashed with it are random: there is nothing to reverse


class FeedbackCitation(Schema):
    n: int = Field(ge=1)
    article_id: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    quote: Annotated[str, StringConstraints(min_length=1, max_length=MAX_ANSWER_CHARS)]
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    # As the answer gave them; the page sends the citation objects back whole.
    title: str | None = None
    source: str | None = None
    url: str | None = None
    published_at: str | None = None
    score: float | None = None


class FeedbackCreate(Schema):
    request_id: Annotated[str, StringConstraints(pattern=_TOKEN)]
    vote: Literal["up", "down"]
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_CHARS)]
    answer: Annotated[str, StringConstraints(min_length=1, max_length=MAX_ANSWER_CHARS)]
    answerable: bool
    citations: list[FeedbackCitation] = Field(default_factory=list, max_length=100)
    filters: AskFilters | None = None
    reader: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{16,128}$")] = Field(
        description="A random token the page keeps for its session (ignored when an API key is used).")


class FeedbackRecorded(Public):
    feedback_id: str
    request_id: str
    vote: Literal["up", "down"]


@router.post(
    "/feedback",
    response_model=FeedbackRecorded,
    status_code=201,
    summary="Record a reader's 👍/👎 on an answer (exported as eval cases)",
    responses={**AUTH_RESPONSES,
               404: {"model": Problem, "description": "No such collection (type collection-not-found)"},
               415: {"model": Problem, "description": "Body is not sent as application/json"},
               422: {"model": Problem, "description": "Invalid body, or a citation that is not in its article "
                                                      "(type invalid-feedback)"}},
)
async def create_feedback(body: FeedbackCreate, request: Request, collections: CollectionsDep,
                          key: Annotated[ApiKey | None, Depends(require("ask"))], collection: CollectionQuery = None):
    # A reader who may ask may vote: the `ask` scope, on the collection the answer came from.
    name = collections.choose(collection, key)
    components = await run_in_threadpool(collections.get, name)
    texts = await run_in_threadpool(components.store.get_article_texts, [c.article_id for c in body.citations])
    wrong = [c for c in body.citations if texts.get(c.article_id, "")[c.start:c.end] != c.quote or c.end <= c.start]
    if wrong:
        return problem_response(
            status=422, slug="invalid-feedback", title="Invalid feedback", scope=request.scope,
            detail="; ".join(f"citation [{c.n}] is not the text of article {c.article_id!r} at {c.start}-{c.end}"
                             for c in wrong[:3]),
        )
    reader = f"key:{key.key_id}" if key is not None else body.reader
    filters = body.filters.model_dump(mode="json", exclude_defaults=True) if body.filters else None
    feedback_id = await run_in_threadpool(
        lambda: record_feedback(
            components.client, request_id=body.request_id, question=body.question, answer=body.answer,
            citations=[c.model_dump() for c in body.citations], user_hash=hash_user("web", reader, _READER_SALT),
            vote=body.vote, answerable=body.answerable, filters=filters or None,
            collection=components.collection, origin="web",
        )
    )
    return FeedbackRecorded(feedback_id=feedback_id, request_id=body.request_id, vote=body.vote)

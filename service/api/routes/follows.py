"""/v1/follows: saved questions that re-answer themselves when the news changes.

`POST /v1/follows` answers the question once (that answer is what later ones are compared
with) and returns the follow, with the webhook's signing secret shown this once. A key
sees and removes its own follows (an `admin` key: all); another key's follow is a 404.
`GET /v1/follows/{id}/notices` lists what was sent, for an audit: when, what changed, the
answer, and how its delivery went. The webhook contract is in docs/follows.md.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from service.api.answering import observe
from service.api.auth import AUTH_RESPONSES, require
from service.api.bodies import JSONBodyRoute
from service.api.deps import AskGateDep
from service.api.problems import Responses
from service.api.schemas import MAX_QUESTION_CHARS, AskFilters, AskResponse, Problem, Public, Schema
from service.follows.desk import FollowDesk
from service.follows.notices import Notice
from service.follows.records import Follow
from service.keys import COLLECTION_NAME, ApiKey

router = APIRouter(prefix="/v1/follows", tags=["follows"], responses=AUTH_RESPONSES, route_class=JSONBodyRoute)

KeyDep = Annotated[ApiKey | None, Depends(require("ask"))]
FollowId = Annotated[str, Path(pattern=r"^fl_[0-9a-f]{16}$", description="The follow's id (fl_...).")]
_NOT_FOUND: Responses = {404: {"model": Problem, "description": "No such follow for this key (type follow-not-found)"}}


class NotifyTarget(Schema):
    slack_channel: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,40}$")] | None = Field(
        None, description="A Slack channel id (C123...): notices are posted there by the bot.")
    slack_thread_ts: Annotated[str, StringConstraints(pattern=r"^\d{1,12}\.\d{1,8}$")] | None = Field(
        None, description="With slack_channel: post in this thread.")
    webhook: Annotated[str, StringConstraints(min_length=8, max_length=2048, pattern=r"^https?://")] | None = Field(
        None, description="POSTed each notice, signed (docs/follows.md); private hosts only when listed in "
                          "NEWSDESK_WEBHOOK_ALLOW_HOSTS.")
    secret: Annotated[str, StringConstraints(min_length=16, max_length=256)] | None = Field(
        None, description="The webhook's signing secret (default: one is made and returned once).")


class FollowCreate(Schema):
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_CHARS)]
    notify: NotifyTarget
    filters: AskFilters | None = None
    collection: Annotated[str, StringConstraints(pattern=COLLECTION_NAME.pattern)] | None = Field(
        None, description="The collection to follow (default: the server's, or the API key's first).")


class FollowPublic(Public):
    follow_id: str
    question: str
    collection: str
    filters: dict[str, Any] | None
    notify: dict[str, Any] = Field(description="Where notices go (never the webhook secret).")
    owner: str | None = Field(description="The name of the key that made it.")
    created_at: str
    notices: int = Field(description="Notices sent so far.")

    @classmethod
    def of(cls, follow: Follow) -> FollowPublic:
        return cls.model_validate(follow.public())


class FollowCreated(FollowPublic):
    answer: AskResponse = Field(description="The answer now: notices say what changed from it.")
    secret: str | None = Field(None, description="The webhook's signing secret: shown this once.")


class FollowsPage(Public):
    items: list[FollowPublic]


class Delivery(Public):
    status: str = Field(description="pending, sent or failed")
    attempts: int
    sent_at: str | None
    last_error: str | None


class NoticePublic(Public):
    notice_id: str
    follow_id: str
    question: str
    created_at: str
    changes: list[dict[str, str]] = Field(description="Each {kind, text}: kind answered, source, figure, corrected "
                                                      "or name; text cites the answer's sources as [n].")
    summary: str
    answer: AskResponse
    delivery: Delivery

    @classmethod
    def of(cls, notice: Notice) -> NoticePublic:
        return cls.model_validate(notice.public())


class NoticesPage(Public):
    items: list[NoticePublic]


def follow_desk(request: Request) -> FollowDesk:
    return request.app.state.follows.desk


DeskDep = Annotated[FollowDesk, Depends(follow_desk)]


@router.post("", response_model=FollowCreated, status_code=201, summary="Follow a question: notices when its "
             "answer changes in substance",
             responses={404: {"model": Problem, "description": "No such collection (type collection-not-found)"},
                        415: {"model": Problem, "description": "Body is not sent as application/json"},
                        422: {"model": Problem, "description": "Invalid body, filter or notify target, or a webhook "
                                                               "the address guard refuses (type invalid-follow)"},
                        503: {"model": Problem, "description": "Store unavailable, or too many asks in progress"}})
async def create_follow(body: FollowCreate, request: Request, desk: DeskDep, gate: AskGateDep, key: KeyDep):
    notify = body.notify.model_dump(exclude_none=True)
    filters = body.filters.model_dump(mode="json", exclude_defaults=True) if body.filters else None
    gate.admit()  # it answers the question: the same CPU-bound work as an ask
    try:
        follow, answer = await gate.run(desk.add, body.question, notify, filters=filters or None,
                                        collection=body.collection, key=key)
    finally:
        gate.release()
    observe(answer, request.scope)
    return FollowCreated(**FollowPublic.of(follow).model_dump(), answer=AskResponse.from_answer(answer),
                         secret=follow.notify.secret)


@router.get("", response_model=FollowsPage, summary="The key's follows (an admin key: everyone's)")
async def list_follows(desk: DeskDep, key: KeyDep):
    return FollowsPage(items=[FollowPublic.of(f) for f in await _blocking(desk.list_follows, key)])


@router.get("/{follow_id}", response_model=FollowPublic, summary="One follow", responses=_NOT_FOUND)
async def get_follow(follow_id: FollowId, desk: DeskDep, key: KeyDep):
    return FollowPublic.of(await _blocking(desk.get, follow_id, key))


@router.delete("/{follow_id}", response_model=FollowPublic, summary="Stop following", responses=_NOT_FOUND)
async def remove_follow(follow_id: FollowId, desk: DeskDep, key: KeyDep):
    return FollowPublic.of(await _blocking(desk.remove, follow_id, key))


@router.get("/{follow_id}/notices", response_model=NoticesPage, summary="What was sent: time, what changed, "
            "the answer, delivery", responses=_NOT_FOUND)
async def list_notices(follow_id: FollowId, desk: DeskDep, key: KeyDep):
    return NoticesPage(items=[NoticePublic.of(n) for n in await _blocking(desk.notices_of, follow_id, key)])


async def _blocking(fn, *args):
    return await run_in_threadpool(fn, *args)

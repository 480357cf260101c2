"""A 👍/👎 click under an answer: which answer, which reader, where to thank them.

The click carries the answer's request id (the button's value); what was asked and answered
comes from the thread memory, and the vote is stored with the reading page's votes
(`service.feedback`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.feedback import hash_user, record_feedback
from service.slack import blocks
from service.slack.threads import ThreadMemory


@dataclass(frozen=True)
class Vote:
    vote: str  # "up" | "down"
    request_id: str
    user: str  # the reader's Slack user id ("" when the click names none)
    team: str | None
    channel: str | None
    thread_ts: str | None

    @classmethod
    def from_click(cls, body: dict[str, Any]) -> Vote:
        action = (body.get("actions") or [{}])[0]
        user = body.get("user") or {}
        return cls(
            vote="up" if action.get("action_id") == blocks.FEEDBACK_UP else "down",
            request_id=action.get("value", ""),
            user=user.get("id", ""),
            team=user.get("team_id") or (body.get("team") or {}).get("id"),
            channel=(body.get("channel") or {}).get("id"),
            thread_ts=(body.get("container") or {}).get("thread_ts") or (body.get("message") or {}).get("thread_ts"),
        )


def record_vote(vote: Vote, threads: ThreadMemory, state_client: Any, *, salt: str) -> bool:
    """Store the vote on the answer it names; False when no answer has that request id.
    Raises NewsdeskError when the store fails."""
    answered = threads.get(vote.request_id)
    if answered is None:
        return False
    record_feedback(
        state_client, request_id=vote.request_id, question=answered.question, answer=answered.answer,
        citations=answered.citations, user_hash=hash_user(vote.team, vote.user, salt),
        vote=vote.vote, answerable=answered.answerable, filters=answered.filters,
        collection=answered.collection,
    )
    return True

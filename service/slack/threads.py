"""The answers the bot gave, by thread: what makes a follow-up a follow-up, and what a
feedback click refers to.

Each answer is one record, keyed by its request id, with the channel and thread in its
metadata and the question, answer and citations as a JSON document. A question asked in a
thread that holds records is a follow-up, and the earlier questions travel with it to the
answering core.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.errors import StoreUnavailableError
from service.index.client import NO_VECTOR, open_records
from service.models import Answer, Filters
from service.slack.state import ANSWERS_COLLECTION

MAX_HISTORY = 5  # earlier questions passed on; the core uses the last two for retrieval


@dataclass(frozen=True)
class AnsweredQuestion:
    request_id: str
    channel: str
    thread_ts: str
    question: str
    answer: str
    mode: str
    answerable: bool
    citations: list[dict[str, Any]]
    collection: str
    filters: dict[str, Any] | None
    asked_at: float


class ThreadMemory:
    def __init__(self, client):
        self.collection = open_records(client, ANSWERS_COLLECTION, "answers the Slack bot gave, by thread")

    def remember(self, *, channel: str, thread_ts: str, question: str, answer: Answer, collection: str,
                 filters: Filters = Filters()) -> None:
        record = {
            "question": question,
            "answer": answer.answer,
            "mode": answer.mode,
            "answerable": answer.answerable,
            "citations": [c.to_dict() for c in answer.citations],
            "collection": collection,
            "filters": filters_dict(filters),
        }
        try:
            self.collection.upsert(
                ids=[answer.request_id],
                embeddings=[NO_VECTOR],
                documents=[json.dumps(record, ensure_ascii=False)],
                metadatas=[{"channel": channel, "thread_ts": thread_ts, "asked_at": time.time()}],
            )
        except Exception as exc:
            raise StoreUnavailableError(f"cannot record the answer {answer.request_id}: {exc}") from exc

    def thread(self, channel: str, thread_ts: str) -> list[AnsweredQuestion]:
        """The answers given in a thread, oldest first."""
        try:
            found = self.collection.get(
                where={"$and": [{"channel": channel}, {"thread_ts": thread_ts}]},
                include=["documents", "metadatas"],
            )
        except Exception as exc:
            raise StoreUnavailableError(f"cannot read the thread {channel}/{thread_ts}: {exc}") from exc
        items = [_record(i, d, m) for i, d, m in zip(found["ids"], found["documents"], found["metadatas"], strict=True)]
        return sorted(items, key=lambda a: a.asked_at)

    def history(self, channel: str, thread_ts: str) -> list[str]:
        return [a.question for a in self.thread(channel, thread_ts)][-MAX_HISTORY:]

    def get(self, request_id: str) -> AnsweredQuestion | None:
        try:
            found = self.collection.get(ids=[request_id], include=["documents", "metadatas"])
        except Exception as exc:
            raise StoreUnavailableError(f"cannot read the answer {request_id}: {exc}") from exc
        if not found["ids"]:
            return None
        return _record(found["ids"][0], found["documents"][0], found["metadatas"][0])


def filters_dict(filters: Filters) -> dict[str, Any] | None:
    """Filters in the shape of an eval case's `filters`, which a vote's case carries."""
    if filters.empty:
        return None

    def day(value: datetime) -> str:
        return value.date().isoformat() if value.hour == value.minute == value.second == 0 else value.isoformat()

    out: dict[str, Any] = {}
    if filters.published_after:
        out["published_after"] = day(filters.published_after)
    if filters.published_before:
        out["published_before"] = day(filters.published_before)
    if filters.outlets:
        out["sources"] = list(filters.outlets)
    if filters.article_ids:
        out["article_ids"] = list(filters.article_ids)
    return out


def _record(request_id: str, document: str, meta: dict[str, Any]) -> AnsweredQuestion:
    data = json.loads(document)
    return AnsweredQuestion(
        request_id=request_id,
        channel=meta["channel"],
        thread_ts=meta["thread_ts"],
        question=data["question"],
        answer=data["answer"],
        mode=data.get("mode", ""),
        answerable=bool(data.get("answerable", True)),
        citations=data.get("citations", []),
        collection=data.get("collection", ""),
        filters=data.get("filters"),
        asked_at=float(meta.get("asked_at", 0)),
    )

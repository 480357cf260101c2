"""Notices: what changed in a followed answer, claimed once, delivered, kept for audit.

A notice's id is `<follow id>:<revision>`, the revision of the answer it was compared
with. Every replica that re-answers a follow after a write computes the same id for the
change it sees, and the first to `add` the record owns the notice (Chroma keeps the first
record written under an id and ignores a later `add`; the owner token read back says who
won), as Slack event claims do (service/slack/dedupe.py). So a change is notified once
across replicas and restarts, whatever each replica's answer looked like.

The record is also the outbox. Its owner delivers it, retrying with backoff, and keeps a
lease on it while it does. A notice whose lease ran out while still pending (its owner was
killed) is taken over by the first replica to claim `takeover:<id>:<generation>`, and
delivery goes on from the attempts already made.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from service.errors import StoreUnavailableError
from service.index.client import NO_VECTOR, open_records, store_errors

NOTICES_COLLECTION = "newsdesk-follow-notices"
TAKEOVERS_COLLECTION = "newsdesk-follow-takeovers"
PENDING, SENT, FAILED = "pending", "sent", "failed"


@dataclass(frozen=True)
class Notice:
    notice_id: str
    follow_id: str
    revision: int  # the answer it was compared with; the follow's next revision is revision + 1
    question: str
    collection: str
    changes: tuple[dict[str, str], ...]  # {"kind", "text"}
    answer: dict[str, Any]  # the new answer, as /v1/ask returns it
    baseline: dict[str, Any]  # the new answer's `Substance`: the follow's next baseline
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))
    # Delivery, in the record's metadata:
    status: str = PENDING
    attempts: int = 0
    next_at: float = 0.0  # epoch seconds of the next attempt
    lease_until: float = 0.0  # the owner's hold on it; past this a pending notice may be taken over
    generation: int = 0  # takeovers so far
    owner: str = ""
    sent_at: str | None = None
    last_error: str | None = None

    @property
    def summary(self) -> str:
        return "; ".join(c["text"] for c in self.changes)

    def payload(self) -> dict[str, Any]:
        """The webhook body (docs/follows.md): what changed, and the answer."""
        return {"type": "follow.notice", "notice_id": self.notice_id, "follow_id": self.follow_id,
                "question": self.question, "collection": self.collection, "created_at": self.created_at,
                "changes": list(self.changes), "summary": self.summary, "answer": self.answer}

    def public(self) -> dict[str, Any]:
        """As `GET /v1/follows/{id}/notices` lists it."""
        return {**self.payload(), "delivery": {"status": self.status, "attempts": self.attempts,
                                               "sent_at": self.sent_at, "last_error": self.last_error}}

    def document(self) -> str:
        return json.dumps({"follow_id": self.follow_id, "revision": self.revision, "question": self.question,
                           "collection": self.collection, "changes": list(self.changes), "answer": self.answer,
                           "baseline": self.baseline, "created_at": self.created_at}, ensure_ascii=False)

    def metadata(self) -> dict[str, Any]:
        return {"follow_id": self.follow_id, "status": self.status, "attempts": self.attempts,
                "next_at": self.next_at, "lease_until": self.lease_until, "generation": self.generation,
                "owner": self.owner, "sent_at": self.sent_at or "", "last_error": (self.last_error or "")[:500]}

    @classmethod
    def from_record(cls, notice_id: str, document: str, meta: dict[str, Any]) -> Notice:
        data = json.loads(document)
        return cls(notice_id, data["follow_id"], int(data["revision"]), data["question"], data["collection"],
                   tuple(data.get("changes", ())), data.get("answer", {}), data.get("baseline", {}),
                   data.get("created_at", ""), meta.get("status", PENDING), int(meta.get("attempts", 0)),
                   float(meta.get("next_at", 0)), float(meta.get("lease_until", 0)), int(meta.get("generation", 0)),
                   str(meta.get("owner", "")), meta.get("sent_at") or None, meta.get("last_error") or None)


def notice_id(follow_id: str, revision: int) -> str:
    return f"{follow_id}:{revision}"


class NoticeStore:
    def __init__(self, client):
        self.records = open_records(client, NOTICES_COLLECTION, "follow notices: claims, outbox and audit")
        self.takeovers = open_records(client, TAKEOVERS_COLLECTION, "takeovers of notices whose owner died")

    def claim(self, notice: Notice, *, lease_s: float) -> Notice | None:
        """Store the notice if nobody has one under its id; the stored notice, owned by this
        caller, or None when another caller (replica, process) owns it."""
        token = uuid.uuid4().hex
        mine = replace(notice, owner=token, lease_until=time.time() + lease_s, next_at=time.time())
        with store_errors(f"claiming notice {notice.notice_id!r}"):
            self.records.add(ids=[notice.notice_id], embeddings=[NO_VECTOR], documents=[mine.document()],
                             metadatas=[mine.metadata()])
            stored = self.get(notice.notice_id)
        return stored if stored is not None and stored.owner == token else None

    def take_over(self, notice: Notice, *, lease_s: float) -> Notice | None:
        """Own a pending notice whose lease has run out: the first caller to claim its next
        generation does; None for the others."""
        token = uuid.uuid4().hex
        key = f"takeover:{notice.notice_id}:{notice.generation + 1}"
        with store_errors(f"taking over notice {notice.notice_id!r}"):
            self.takeovers.add(ids=[key], embeddings=[NO_VECTOR], metadatas=[{"owner": token, "at": time.time()}])
            won = self.takeovers.get(ids=[key], include=["metadatas"])["metadatas"]
        if not won or (won[0] or {}).get("owner") != token:
            return None
        mine = replace(notice, owner=token, generation=notice.generation + 1, lease_until=time.time() + lease_s)
        self.update(mine)
        return mine

    def update(self, notice: Notice) -> None:
        with store_errors(f"updating notice {notice.notice_id!r}"):
            self.records.update(ids=[notice.notice_id], metadatas=[notice.metadata()])

    def get(self, notice_id: str) -> Notice | None:
        with store_errors(f"reading notice {notice_id!r}"):
            found = self.records.get(ids=[notice_id], include=["documents", "metadatas"])
        if not found["ids"]:
            return None
        return Notice.from_record(found["ids"][0], found["documents"][0], found["metadatas"][0] or {})

    def for_follow(self, follow_id: str) -> list[Notice]:
        """A follow's notices, oldest first."""
        with store_errors(f"reading the notices of {follow_id!r}"):
            found = self.records.get(where={"follow_id": follow_id}, include=["documents", "metadatas"])
        notices = [Notice.from_record(i, d, m or {})
                   for i, d, m in zip(found["ids"], found["documents"], found["metadatas"], strict=True)]
        return sorted(notices, key=lambda n: n.revision)

    def orphaned(self, now: float | None = None) -> list[Notice]:
        """Pending notices whose owner's lease has run out."""
        now = time.time() if now is None else now
        try:
            found = self.records.get(where={"$and": [{"status": PENDING}, {"lease_until": {"$lt": now}}]},
                                     include=["documents", "metadatas"])
        except Exception as exc:  # chromadb's own types, connection errors
            raise StoreUnavailableError(f"cannot read pending notices: {exc}") from exc
        return [Notice.from_record(i, d, m or {})
                for i, d, m in zip(found["ids"], found["documents"], found["metadatas"], strict=True)]

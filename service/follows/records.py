"""Saved questions ("follows") in the shared store, with their question vectors.

One Chroma collection (`newsdesk-follows`) holds every follow: its id, its question's
vector (what the reverse search compares written chunks with), metadata to list by
(collection, owner) and, as the document, the follow as JSON: question, filters, where
notices go, and the substance of the answer last notified (`Substance`) with its revision.
A second, small record collection lists the collections that have follows and the change
feed position of the first follow in each, so every replica knows which feeds to read.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from service.errors import StoreUnavailableError
from service.follows.substance import Substance
from service.index.client import NO_VECTOR, VectorsGiven, open_records, store_errors

FOLLOWS_COLLECTION = "newsdesk-follows"
FOLLOWED_COLLECTIONS = "newsdesk-follows-collections"
_PAGE = 5000


@dataclass(frozen=True)
class Notify:
    """Where a follow's notices go: a Slack channel (and thread), or a webhook."""

    slack_channel: str | None = None
    slack_thread_ts: str | None = None
    webhook: str | None = None
    secret: str | None = None  # signs the webhook's payloads; shown once, when the follow is made

    @property
    def kind(self) -> str:
        return "webhook" if self.webhook else "slack"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Notify:
        """`{"slack_channel": "C123", "slack_thread_ts": "..."}` or `{"webhook": "https://...",
        "secret": "..."}` (no secret: one is made). ValueError says what is wrong."""
        unknown = sorted(set(data) - {"slack_channel", "slack_thread_ts", "webhook", "secret"})
        if unknown:
            raise ValueError(f"unknown notify field(s) {', '.join(unknown)}")
        channel, webhook = data.get("slack_channel"), data.get("webhook")
        if bool(channel) == bool(webhook):
            raise ValueError("notify needs exactly one of slack_channel or webhook")
        if webhook:
            secret = data.get("secret") or "whsec_" + secrets.token_urlsafe(24)
            if len(secret) < 16:
                raise ValueError("a webhook secret needs at least 16 characters")
            return cls(webhook=str(webhook), secret=str(secret))
        return cls(slack_channel=str(channel), slack_thread_ts=data.get("slack_thread_ts") or None)

    def public(self) -> dict[str, Any]:
        """What listings show: never the secret."""
        if self.webhook:
            return {"webhook": self.webhook}
        return {"slack_channel": self.slack_channel, "slack_thread_ts": self.slack_thread_ts}


@dataclass(frozen=True)
class Follow:
    follow_id: str
    question: str
    collection: str
    notify: Notify
    filters: dict[str, Any] | None = None  # as `Filters.from_mapping` reads them
    owner: str | None = None  # the API key's id; None when made on an open server
    owner_name: str | None = None
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    baseline: Substance = field(default_factory=lambda: Substance(False))  # what the last notice (or creation) said
    revision: int = 0  # notices sent so far; a notice is claimed as (follow, revision)
    since: int = 0  # the change feed's head when the follow was made
    model_id: str = ""  # the embedder that made its vector

    def public(self) -> dict[str, Any]:
        return {"follow_id": self.follow_id, "question": self.question, "collection": self.collection,
                "filters": self.filters, "notify": self.notify.public(), "owner": self.owner_name,
                "created_at": self.created_at, "notices": self.revision}

    def document(self) -> str:
        """What never changes, as the record's document; the baseline and its revision, which
        change with every notice, are in its metadata (an update of a document would need the
        vector again)."""
        return json.dumps({
            "question": self.question, "collection": self.collection, "filters": self.filters,
            "notify": {k: v for k, v in self.notify.__dict__.items() if v}, "owner": self.owner,
            "owner_name": self.owner_name, "created_at": self.created_at, "since": self.since,
        }, ensure_ascii=False)

    def metadata(self) -> dict[str, Any]:
        return {"collection": self.collection, "owner": self.owner or "", "model_id": self.model_id,
                "revision": self.revision, "created_at": self.created_at,
                "baseline": json.dumps(self.baseline.to_dict(), ensure_ascii=False)}

    @classmethod
    def from_record(cls, follow_id: str, document: str, meta: Mapping[str, Any]) -> Follow:
        data = json.loads(document)
        return cls(follow_id, data["question"], data["collection"], Notify(**data.get("notify", {})),
                   data.get("filters"), data.get("owner"), data.get("owner_name"), data.get("created_at", ""),
                   Substance.from_dict(json.loads(meta.get("baseline") or "{}")), int(meta.get("revision", 0)),
                   int(data.get("since", 0)), str(meta.get("model_id", "")))


def new_follow_id() -> str:
    return "fl_" + secrets.token_hex(8)


class FollowStore:
    def __init__(self, client, name: str = FOLLOWS_COLLECTION):
        self.client = client
        self.name = name
        with store_errors(f"opening collection {name!r}"):
            # Real vectors (the questions'); compared in numpy by `FollowIndex`, never queried here.
            self.records = client.get_or_create_collection(name, embedding_function=VectorsGiven(),
                                                           metadata={"purpose": "saved questions (follows)"})
        self.registry = open_records(client, FOLLOWED_COLLECTIONS, "collections with follows")

    def add(self, follow: Follow, vector: np.ndarray) -> None:
        with store_errors(f"writing to collection {self.name!r}"):
            self.records.add(ids=[follow.follow_id], embeddings=[np.asarray(vector, dtype=np.float32)],
                             documents=[follow.document()], metadatas=[follow.metadata()])
            # The first follow of a collection fixes where replicas start reading its feed.
            self.registry.add(ids=[follow.collection], embeddings=[NO_VECTOR],
                              metadatas=[{"since": follow.since, "at": time.time()}])

    def save(self, follow: Follow) -> None:
        """Rewrite a follow's record (its baseline and revision after a notice)."""
        with store_errors(f"writing to collection {self.name!r}"):
            self.records.update(ids=[follow.follow_id], metadatas=[follow.metadata()])

    def advance(self, follow: Follow, baseline: Substance, revision: int) -> Follow:
        """The follow with a new baseline at `revision`, saved; never moved backwards."""
        current = self.get(follow.follow_id)
        if current is None or current.revision >= revision:
            return current or follow
        advanced = replace(current, baseline=baseline, revision=revision)
        self.save(advanced)
        return advanced

    def get(self, follow_id: str) -> Follow | None:
        with store_errors(f"reading collection {self.name!r}"):
            found = self.records.get(ids=[follow_id], include=["documents", "metadatas"])
        if not found["ids"]:
            return None
        return Follow.from_record(found["ids"][0], found["documents"][0], found["metadatas"][0] or {})

    def remove(self, follow_id: str) -> None:
        with store_errors(f"writing to collection {self.name!r}"):
            self.records.delete(ids=[follow_id])

    def find(self, *, owner: str | None = None, collection: str | None = None) -> list[Follow]:
        """Every follow (of this owner, of this collection), oldest first."""
        clauses: list[dict[str, Any]] = [{"owner": owner}] if owner is not None else []
        clauses += [{"collection": collection}] if collection else []
        where = clauses[0] if len(clauses) == 1 else {"$and": clauses} if clauses else None
        out: list[Follow] = []
        with store_errors(f"reading collection {self.name!r}"):
            offset = 0
            while True:
                page = self.records.get(where=where, include=["documents", "metadatas"], limit=_PAGE, offset=offset)
                out += [Follow.from_record(i, d, m or {})
                        for i, d, m in zip(page["ids"], page["documents"], page["metadatas"], strict=True)]
                if len(page["ids"]) < _PAGE:
                    break
                offset += _PAGE
        return sorted(out, key=lambda f: (f.created_at, f.follow_id))

    def ids(self, collection: str) -> set[str]:
        """The ids of one collection's follows (ids only: a replica checks them on every write)."""
        with store_errors(f"reading collection {self.name!r}"):
            return set(self.records.get(where={"collection": collection}, include=[])["ids"])

    def vectors(self, follow_ids: list[str]) -> tuple[list[str], np.ndarray, list[Follow]]:
        """The follows named (those still present), their vectors as rows, and the follows."""
        if not follow_ids:
            return [], np.zeros((0, 0), dtype=np.float32), []
        with store_errors(f"reading collection {self.name!r}"):
            found = self.records.get(ids=follow_ids, include=["embeddings", "documents", "metadatas"])
        follows = [Follow.from_record(i, d, m or {})
                   for i, d, m in zip(found["ids"], found["documents"], found["metadatas"], strict=True)]
        return list(found["ids"]), np.asarray(found["embeddings"], dtype=np.float32), follows

    def followed_collections(self) -> dict[str, int]:
        """Collections that have (or had) follows -> the feed position to start reading at."""
        try:
            found = self.registry.get(include=["metadatas"])
        except Exception as exc:  # chromadb's own types, connection errors
            raise StoreUnavailableError(f"cannot read {FOLLOWED_COLLECTIONS!r}: {exc}") from exc
        return {i: int((m or {}).get("since", 0)) for i, m in zip(found["ids"], found["metadatas"], strict=True)}

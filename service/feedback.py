"""Readers' 👍/👎 on answers, kept in Chroma (`newsdesk-feedback`) for the eval suite.

Shared by every edge a reader votes from: the Slack bot's buttons and the reading page
(`POST /v1/feedback`). A record is one reader's vote on one answer: the request id, the
question, the answer, its citations, the filters it was asked with, a keyed hash of the
reader (never the Slack user id or the browser's token), where the vote came from
(`origin`) and the vote. A reader who votes again replaces their vote. The eval suite reads
the records back with `read_feedback(client)` and turns them into cases with
`feedback_cases(...)` (or `newsdesk slack feedback-export --out cases.jsonl`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from service.errors import StoreUnavailableError
from service.index.client import NO_VECTOR, existing_records, open_records

FEEDBACK_COLLECTION = "newsdesk-feedback"
VOTES = ("up", "down")
_PAGE = 1000


def hash_user(team_id: str | None, user_id: str, salt: str) -> str:
    """A keyed hash: with the salt kept secret, the hash cannot be reversed by hashing
    every user id of a workspace, yet one reader's votes still group together."""
    return hmac.new(salt.encode("utf-8"), f"{team_id or '-'}:{user_id}".encode(), hashlib.sha256).hexdigest()


def record_feedback(
    client,
    *,
    request_id: str,
    question: str,
    answer: str,
    citations: Sequence[dict[str, Any]],
    user_hash: str,
    vote: str,
    answerable: bool = True,
    filters: dict[str, Any] | None = None,
    collection: str = "",
    origin: str = "slack",
    ts: float | None = None,
) -> str:
    """Store (or replace) one reader's vote on one answer; returns the record id."""
    if vote not in VOTES:
        raise ValueError(f"vote must be one of {VOTES}, not {vote!r}")
    record_id = f"{request_id}:{user_hash[:32]}"
    record = {
        "request_id": request_id,
        "question": question,
        "answer": answer,
        "answerable": answerable,
        "citations": list(citations),
        "filters": filters,
        "collection": collection,
        "origin": origin,
        "user_hash": user_hash,
        "vote": vote,
        "ts": ts if ts is not None else time.time(),
    }
    store = open_records(client, FEEDBACK_COLLECTION, "readers' feedback on answers")
    try:
        store.upsert(
            ids=[record_id],
            embeddings=[NO_VECTOR],
            documents=[json.dumps(record, ensure_ascii=False)],
            metadatas=[{"request_id": request_id, "vote": vote, "origin": origin, "ts": record["ts"]}],
        )
    except Exception as exc:
        raise StoreUnavailableError(f"cannot record feedback on {request_id}: {exc}") from exc
    return record_id


def read_feedback(client) -> list[dict[str, Any]]:
    """Every feedback record, oldest first (none when nobody has voted yet)."""
    store = existing_records(client, FEEDBACK_COLLECTION)
    if store is None:  # nobody has voted yet
        return []
    records: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = store.get(limit=_PAGE, offset=offset, include=["documents"])
        if not page["ids"]:
            break
        records.extend(json.loads(doc) for doc in page["documents"])
        offset += len(page["ids"])
    return sorted(records, key=lambda r: r.get("ts", 0))


def feedback_case(record: dict[str, Any]) -> dict[str, Any]:
    """An eval case in the shape of `evals/cases.jsonl`. A 👍 vouches for the cited
    articles; a 👎 says only that this answer was wrong, so its case names no expected
    sources and is tagged for a person to complete before it is scored."""
    up = record["vote"] == "up"
    cited = list(dict.fromkeys(c["article_id"] for c in record.get("citations", []) if c.get("article_id")))
    return {
        "id": f"feedback-{record['request_id'][:12]}-{record['user_hash'][:8]}",
        "question": record["question"],
        "filters": record.get("filters") or None,
        "expected_sources": cited if up else [],
        "expected_facts": [],
        # A 👍 on "not found" vouches for the refusal.
        "must_refuse": up and not record.get("answerable", True),
        "must_mention_conflict": False,
        "tags": ["feedback", record["vote"]],
        "scripted": None,
        "adversarial": None,
    }


def feedback_cases(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [feedback_case(r) for r in records]


def export_cases(client, path: Path) -> int:
    """Write every feedback record as an eval case, one JSON object a line."""
    cases = feedback_cases(read_feedback(client))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for case in cases:
            out.write(json.dumps(case, ensure_ascii=False) + "\n")
    return len(cases)

"""Exactly one answer per Slack event, across retries and across bot processes.

Slack redelivers an event when it did not get a 2xx in 3 seconds (`X-Slack-Retry-Num`),
and with two bot processes behind a load balancer, or one HTTP and one Socket Mode
process, each may receive a delivery. A process claims the event's key in a shared Chroma
collection before doing any work:

    add(ids=[key], metadatas=[{"owner": <this claim's random token>}])
    get(ids=[key]) -> the stored owner

Chroma keeps the first record written under an id and ignores a later `add` of the same
id, so every process reads back the same owner and only that one proceeds.
"""

from __future__ import annotations

import time
import uuid

from service.errors import StoreUnavailableError
from service.index.client import NO_VECTOR, open_records
from service.slack.state import EVENTS_COLLECTION


def message_key(team: str | None, channel: str, ts: str) -> str:
    """The key of a user's message. A message has one (channel, ts) however often and by
    whichever subscription (`app_mention`, `message.im`, `message.channels`) it arrives,
    so one key covers Slack's retries of an `event_id` and overlapping subscriptions."""
    return f"msg:{team or '-'}:{channel}:{ts}"


def command_key(trigger_id: str) -> str:
    """Slash commands and button clicks carry no `event_id`; `trigger_id` is unique per
    invocation and the same in any redelivery."""
    return f"trigger:{trigger_id}"


class EventClaims:
    def __init__(self, client):
        self.collection = open_records(client, EVENTS_COLLECTION, "handled Slack events")

    def claim(self, key: str, *, kind: str = "") -> bool:
        """True for exactly one caller per key, in any process sharing the store."""
        token = uuid.uuid4().hex
        try:
            self.collection.add(
                ids=[key],
                embeddings=[NO_VECTOR],
                metadatas=[{"owner": token, "kind": kind or "-", "claimed_at": int(time.time())}],
            )
            stored = self.collection.get(ids=[key], include=["metadatas"])
        except Exception as exc:
            raise StoreUnavailableError(f"cannot record Slack event {key!r}: {exc}") from exc
        metadatas = stored.get("metadatas") or []
        return bool(metadatas) and (metadatas[0] or {}).get("owner") == token

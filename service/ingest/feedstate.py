"""What feed watchers share, in a record collection of the store (`open_records`), so any
number of `newsdesk watch` processes (or `serve` replicas running the watcher) on one
store behave as one:

    feed:<hash of the url>           the validators (ETag, Last-Modified), when the feed may
                                     next be fetched, consecutive failures, the last status
    item:<collection>:<key>:<fp>     an item (by guid, else url) in one version, claimed
    url:<collection>:<url>:<fp>      the same version by url: a second guid for one story

A claim is an `add` of the id with a random owner token, then a read back: Chroma keeps the
first record under an id and ignores later adds, so exactly one watcher owns each version of
each item (the Slack bot claims its events the same way). A new version of an item (its
fingerprint changed) is a new id, so an edited story is claimed, and re-ingested, once more.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from service.errors import StoreUnavailableError
from service.index.client import NO_VECTOR, open_records
from service.ingest.feeds import shown_url
from service.models import sha256_hex

FEED_STATE_COLLECTION = "newsdesk-feeds"


@dataclass
class FeedRecord:
    url: str
    etag: str = ""
    last_modified: str = ""
    not_before: float = 0.0  # epoch seconds: no fetch earlier than this (interval, backoff)
    failures: int = 0
    last_status: str = ""

    def metadata(self) -> dict:
        return {"url": shown_url(self.url), "etag": self.etag, "last_modified": self.last_modified,
                "not_before": float(self.not_before), "failures": self.failures, "last_status": self.last_status}


class FeedState:
    def __init__(self, client, name: str = FEED_STATE_COLLECTION):
        self.records = open_records(client, name, "feed watcher state: validators, schedule, claimed items")

    @staticmethod
    def _feed_id(url: str) -> str:
        return "feed:" + sha256_hex(url)[:32]

    def feed(self, url: str) -> FeedRecord:
        found = self._call(self.records.get, ids=[self._feed_id(url)], include=["metadatas"])
        if not found["ids"]:
            return FeedRecord(url)
        meta = found["metadatas"][0] or {}
        return FeedRecord(url, str(meta.get("etag", "")), str(meta.get("last_modified", "")),
                          float(meta.get("not_before", 0.0)), int(meta.get("failures", 0)), str(meta.get("last_status", "")))

    def save_feed(self, record: FeedRecord) -> None:
        self._call(self.records.upsert, ids=[self._feed_id(record.url)], embeddings=[NO_VECTOR],
                   metadatas=[record.metadata()])

    def claim(self, collection: str, kind: str, key: str, fingerprint: str) -> str | None:
        """The claim's id when this caller won it, None when another caller holds it."""
        claim_id = f"{kind}:{collection}:{sha256_hex(key)[:24]}:{fingerprint[:24]}"
        token = uuid.uuid4().hex
        self._call(self.records.add, ids=[claim_id], embeddings=[NO_VECTOR],
                   metadatas=[{"owner": token, "key": key[:500], "claimed_at": int(time.time())}])
        stored = self._call(self.records.get, ids=[claim_id], include=["metadatas"])
        owner = (stored["metadatas"] or [{}])[0] or {}
        return claim_id if owner.get("owner") == token else None

    def release(self, claim_ids: list[str]) -> None:
        """Give claims back (the item failed), so a later poll tries it again."""
        if claim_ids:
            self._call(self.records.delete, ids=claim_ids)

    def _call(self, fn, **kwargs):
        try:
            return fn(**kwargs)
        except Exception as exc:  # chromadb raises its own types and plain ValueErrors
            raise StoreUnavailableError(f"feed state: {exc}") from exc

"""The follower: every replica reads the change feed of each collection that has follows,
and re-answers the follows a write could affect.

    feed entries after this replica's position -> the articles they wrote -> their chunks'
    vectors and texts -> `FollowIndex.select` -> each selected follow re-answered -> compared
    with its baseline (`changes`) -> a change is claimed as notice <follow>:<revision> ->
    the claimer advances the follow's baseline and delivers (`Deliveries`)

Writes reach the feed from any replica and any ingest path (POST, CLI, `watch`), so every
write is seen by every follower. Each replica keeps its position per collection in a file
beside its lexical index, saved after a batch is done: a replica killed mid-batch does the
batch again, and the claims make that harmless. A replica that has no position yet starts
where the collection's first follow was made (at most `BACKLOG` entries back).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from service.components import Components
from service.errors import CollectionNotFoundError, NewsdeskError
from service.follows.delivery import Deliveries
from service.follows.notices import Notice, NoticeStore, notice_id
from service.follows.records import Follow, FollowStore
from service.follows.selection import FollowIndex
from service.follows.substance import Substance, changes
from service.models import Answer, Filters

logger = logging.getLogger("newsdesk.follows")
BACKLOG = 256  # feed entries a replica without a position reads back at most


@dataclass
class Batch:
    """What one pass over a collection's new feed entries did (the bench reads it)."""

    collection: str
    entries: int = 0
    articles: int = 0
    selected: list[str] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    select_s: float = 0.0


class Positions:
    """This replica's feed position per collection, in a JSON file, with the id of the
    collection it belongs to: a collection made again (`reindex`) has a new feed."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.data: dict[str, dict[str, Any]] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.data = {}

    def get(self, collection: str, collection_id: str) -> int | None:
        found = self.data.get(collection)
        if not isinstance(found, dict) or found.get("collection_id") != collection_id:
            return None
        return int(found.get("position", 0))

    def save(self, collection: str, collection_id: str, position: int) -> None:
        self.data[collection] = {"position": position, "collection_id": collection_id}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data), encoding="utf-8")
        tmp.replace(self.path)


class Follower:
    def __init__(self, components_for: Callable[[str], Components], follows: FollowStore, notices: NoticeStore,
                 index: FollowIndex, deliveries: Deliveries, positions: Positions, *, settle_s: float = 0.0,
                 lease_s: float = 30.0, on_batch: Callable[[Batch], None] | None = None):
        self.components_for = components_for
        self.follows = follows
        self.notices = notices
        self.index = index
        self.deliveries = deliveries
        self.positions = positions
        self.settle_s = settle_s  # how long the lexical replica may lag the feed
        self.lease_s = lease_s
        self.on_batch = on_batch
        self.warm_s = 5.0  # how often an idle follower refreshes its copy of the questions
        self._warmed: dict[str, float] = {}

    def run(self, stop: threading.Event, *, poll_s: float = 0.25) -> None:
        while not stop.is_set():
            try:
                self.poll()
            except NewsdeskError as exc:  # the store is down: keep the thread, try again
                logger.warning("follower: %s", exc.message)
                stop.wait(2.0)
            except Exception:  # a bug must not stop every follow for good: logged, tried again
                logger.exception("follower failed; trying again")
                stop.wait(2.0)
            stop.wait(poll_s)

    def poll(self) -> list[Batch]:
        """Read every followed collection's new feed entries and act on them."""
        done = []
        for collection, since in sorted(self.follows.followed_collections().items()):
            try:
                components = self.components_for(collection)
            except CollectionNotFoundError:
                continue
            done += self.follow(collection, components, since)
        return done

    def follow(self, collection: str, components: Components, since: int) -> list[Batch]:
        feed = components.store.feed
        collection_id = components.store.collection_id()
        position = self.positions.get(collection, collection_id)
        if position is None:
            position = max(since, feed.head() - BACKLOG)
            if since > feed.head():  # the collection was made again since: its old positions mean nothing
                position = feed.head()
        batches: list[Batch] = []
        entries = feed.read(position)
        if not entries and time.monotonic() - self._warmed.get(collection, float("-inf")) >= self.warm_s:
            # Idle: load the questions made since, so a write finds them loaded (10,000 of
            # them take seconds to read; the new ones since the last look, milliseconds).
            self.index.refresh(collection)
            self._warmed[collection] = time.monotonic()
        while entries:
            batch = Batch(collection, entries=len(entries))
            articles = sorted({a for e in entries if e.op == "write" for a in e.article_ids})
            if articles:
                self.process(components, articles, batch)
            position = entries[-1].seq
            self.positions.save(collection, collection_id, position)
            batches.append(batch)
            if self.on_batch is not None:
                self.on_batch(batch)
            entries = feed.read(position)
        return batches

    def affected(self, components: Components, articles: list[str]) -> list[str]:
        """The follows these written articles could affect: their chunks' vectors and texts
        against the saved questions (`FollowIndex.select`)."""
        chunks = components.store.chunks_of(articles)
        vectors = components.store.vectors_of([c.chunk_id for c in chunks])
        kept = [c for c in chunks if c.chunk_id in vectors]
        matrix = np.stack([vectors[c.chunk_id] for c in kept]) if kept else np.zeros((0, 1), dtype=np.float32)
        texts = [f"{c.metadata.get('title', '')}. {c.text}" for c in kept]
        return self.index.select(components.collection, matrix, texts)

    def process(self, components: Components, articles: list[str], batch: Batch) -> None:
        """Select the follows these written articles could affect, and re-answer them."""
        started = time.perf_counter()
        batch.articles = len(articles)
        batch.selected = self.affected(components, articles)
        batch.select_s = time.perf_counter() - started
        if batch.selected and self.settle_s:
            time.sleep(self.settle_s)  # this replica's lexical index reads the feed within this
        for follow_id in batch.selected:
            notice = self.reanswer(components, follow_id)
            if notice is not None:
                batch.notices.append(notice)

    def reanswer(self, components: Components, follow_id: str) -> Notice | None:
        """Re-answer one follow; the notice this replica claimed for it, if the answer changed
        in substance and no other replica had claimed that change."""
        follow = self.follows.get(follow_id)
        if follow is None or not self.deliveries.can_deliver(follow.notify.kind):
            return None  # removed, or for a channel only other replicas can reach (Slack)
        answer = components.engine.ask(follow.question, Filters.from_mapping(follow.filters))
        substance = Substance.of(follow.question, answer)
        for _ in range(3):  # another replica may be a revision or two ahead
            found = changes(follow.baseline, substance, answer)
            if not found:
                return None
            notice = self._notice(follow, answer, substance, [c.to_dict() for c in found])
            mine = self.notices.claim(notice, lease_s=self.lease_s)
            if mine is not None:
                self.follows.advance(follow, substance, follow.revision + 1)
                logger.info("notice %s: %s", mine.notice_id, mine.summary)
                self.deliveries.submit(mine)
                return mine
            # Claimed elsewhere: take what that notice said as the baseline (its claimer may
            # have died before saving it) and compare again.
            other = self.notices.get(notice.notice_id)
            baseline = Substance.from_dict(other.baseline) if other else follow.baseline
            follow = self.follows.advance(follow, baseline, follow.revision + 1)
        return None

    @staticmethod
    def _notice(follow: Follow, answer: Answer, substance: Substance, found: list[dict[str, str]]) -> Notice:
        return Notice(notice_id(follow.follow_id, follow.revision), follow.follow_id, follow.revision, follow.question,
                      follow.collection, tuple(found), answer.to_dict(), substance.to_dict())

"""The follows of one process, built once from `Settings` at an edge: the desk the edges
use, and (in `serve`) the follower and the deliveries on daemon threads.

Notifiers are passed in by kind: "webhook" is built here; "slack" comes from the Slack
edge (the CLI, where edges meet, passes it when the bot is configured). A replica without
a notifier for a follow's kind leaves that follow's changes to replicas that have one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from service.collections import Collections
from service.config import Settings
from service.follows.delivery import Deliveries, Notifier
from service.follows.desk import FollowDesk
from service.follows.follower import Batch, Follower, Positions
from service.follows.notices import Notice, NoticeStore
from service.follows.records import FollowStore
from service.follows.selection import FollowIndex
from service.follows.webhooks import WebhookNotifier, allow_list


@dataclass
class FollowService:
    desk: FollowDesk
    follower: Follower
    deliveries: Deliveries
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self, poll_s: float) -> FollowService:
        """The follower and the deliveries on daemon threads, until `stop()`."""
        for name, target, kwargs in (("newsdesk-follower", self.follower.run, {"poll_s": poll_s}),
                                     ("newsdesk-deliveries", self.deliveries.run, {})):
            thread = threading.Thread(target=target, args=(self._stop,), kwargs=kwargs, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self.deliveries.wake()
        for thread in self._threads:
            thread.join(timeout_s)


def build_follows(settings: Settings, collections: Collections, *, notifiers: Mapping[str, Notifier] | None = None,
                  on_batch: Callable[[Batch], None] | None = None,
                  on_delivered: Callable[[Notice], None] | None = None) -> FollowService:
    """Everything follows need in this process, over `collections`' store."""
    default = collections.default
    allowed = allow_list(settings.webhook_allow_hosts)
    store, notices = FollowStore(default.client), NoticeStore(default.client)
    kinds: dict[str, Notifier] = {"webhook": WebhookNotifier(allowed), **(notifiers or {})}
    deliveries = Deliveries(notices, store, kinds, on_delivered=on_delivered)
    positions = Positions(default.lexical_dir.parent / f"follows-{default.lexical_dir.name}.json")
    follower = Follower(lambda name: collections.get(name), store, notices, FollowIndex(store, default.embedder),
                        deliveries, positions, settle_s=settings.lexical_follow_ms / 1000, on_batch=on_batch)
    return FollowService(FollowDesk(collections, store, notices, allowed), follower, deliveries)


class FollowsOnDemand:
    """An edge's follows, built on first use: an API that nobody follows anything on opens
    no follow collections. With `run`, built and started at once (`serve`)."""

    def __init__(self, settings: Settings, collections: Collections, *,
                 notifiers: Mapping[str, Notifier] | None = None, run: bool = False):
        self.settings = settings
        self.collections = collections
        self.notifiers = notifiers
        self._service: FollowService | None = None
        self._lock = threading.Lock()
        if run:
            self.service.start(settings.follow_poll_ms / 1000)

    @property
    def service(self) -> FollowService:
        with self._lock:
            if self._service is None:
                self._service = build_follows(self.settings, self.collections, notifiers=self.notifiers)
            return self._service

    @property
    def desk(self) -> FollowDesk:
        return self.service.desk

    def stop(self) -> None:
        with self._lock:
            if self._service is not None:
                self._service.stop()

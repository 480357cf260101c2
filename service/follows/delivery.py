"""Delivering claimed notices: one attempt now, then retries with exponential backoff,
and the pending notices of replicas that died taken over.

A replica delivers only notices it owns (`NoticeStore.claim` or `take_over`). Before each
attempt it extends its lease past the attempt; the schedule (1, 2, 4, ... 60 s, eight
attempts, or the receiver's Retry-After) lives in the record, so a replica that takes a
notice over continues it rather than starting again. A receiver may still get a notice
twice when its owner dies between the receiver's 2xx and recording it: the notice id in
`X-Newsdesk-Notice-Id` is the same on every attempt, so receivers drop repeats by it.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from service.errors import NewsdeskError
from service.follows.notices import FAILED, PENDING, SENT, Notice, NoticeStore
from service.follows.records import Follow, FollowStore
from service.follows.webhooks import DeliveryError

logger = logging.getLogger("newsdesk.follows")

# (follow, notice, attempt number) -> None, or DeliveryError
Notifier = Callable[[Follow, Notice, int], None]


@dataclass(frozen=True)
class Backoff:
    first_s: float = 1.0
    factor: float = 2.0
    max_s: float = 60.0
    attempts: int = 8

    def delay(self, attempts_made: int, retry_after: float | None = None) -> float:
        wait = min(self.max_s, self.first_s * self.factor ** max(0, attempts_made - 1))
        return max(wait, min(retry_after or 0.0, self.max_s * 5))


class Deliveries:
    """Attempts due notices on its own thread (`run`), and sweeps for orphaned ones."""

    def __init__(self, notices: NoticeStore, follows: FollowStore, notifiers: Mapping[str, Notifier], *,
                 backoff: Backoff = Backoff(), lease_s: float = 30.0, sweep_s: float = 2.0,
                 on_delivered: Callable[[Notice], None] | None = None):
        self.notices = notices
        self.follows = follows
        self.notifiers = dict(notifiers)
        self.backoff = backoff
        self.lease_s = lease_s
        self.sweep_s = sweep_s
        self.on_delivered = on_delivered
        self._due: list[tuple[float, str, str]] = []  # (when, notice id, the owner token this process holds)
        self._wake = threading.Condition()
        self._swept = 0.0

    def can_deliver(self, kind: str) -> bool:
        return kind in self.notifiers

    def submit(self, notice: Notice) -> None:
        """Deliver a notice this process owns, as soon as possible."""
        with self._wake:
            heapq.heappush(self._due, (notice.next_at, notice.notice_id, notice.owner))
            self._wake.notify()

    def wake(self) -> None:
        """Stop waiting now (to notice a stop request)."""
        with self._wake:
            self._wake.notify_all()

    def run(self, stop: threading.Event, *, idle_s: float = 0.5) -> None:
        while not stop.is_set():
            try:
                self.step()
            except NewsdeskError as exc:  # the store is down: try again shortly
                logger.warning("follow deliveries: %s", exc.message)
                stop.wait(1.0)
            except Exception:  # a bug must not stop every delivery for good: logged, tried again
                logger.exception("follow deliveries failed; trying again")
                stop.wait(1.0)
            with self._wake:
                wait = min(idle_s, max(0.0, self._due[0][0] - time.time())) if self._due else idle_s
                self._wake.wait(wait)

    def step(self, now: float | None = None) -> int:
        """Attempt every notice due now, and take over orphaned ones; how many were attempted."""
        now = time.time() if now is None else now
        if now - self._swept >= self.sweep_s:
            self._swept = now
            self._sweep(now)
        attempted = 0
        while True:
            with self._wake:
                if not self._due or self._due[0][0] > now:
                    return attempted
                _, notice_id, owner = heapq.heappop(self._due)
            notice = self.notices.get(notice_id)
            # Still ours and still pending: a replica that took it over while this one
            # stalled owns it now, and only the owner sends.
            if notice is not None and notice.owner == owner and notice.status == PENDING:
                self.attempt(notice)
                attempted += 1

    def _sweep(self, now: float) -> None:
        for orphan in self.notices.orphaned(now):
            follow = self.follows.get(orphan.follow_id)
            if follow is None or not self.can_deliver(follow.notify.kind):
                continue
            mine = self.notices.take_over(orphan, lease_s=self.lease_s)
            if mine is not None:
                logger.info("took over notice %s (attempt %d so far)", mine.notice_id, mine.attempts)
                self.submit(replace(mine, next_at=min(mine.next_at, now)))

    def attempt(self, notice: Notice) -> Notice:
        """One delivery attempt of a notice this process owns; the notice as recorded after it."""
        follow = self.follows.get(notice.follow_id)
        if follow is None:
            return self._record(replace(notice, status=FAILED, last_error="the follow was removed"))
        notifier = self.notifiers.get(follow.notify.kind)
        if notifier is None:
            return notice  # another replica (one with Slack configured) takes it over after the lease
        number = notice.attempts + 1
        # Held past this attempt, so nobody takes it over while it runs.
        notice = self._record(replace(notice, attempts=number, lease_until=time.time() + self.lease_s))
        try:
            notifier(follow, notice, number)
        except DeliveryError as exc:
            return self._failed(notice, exc)
        sent = self._record(replace(notice, status=SENT, sent_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
                                    last_error=None))
        if self.on_delivered is not None:
            self.on_delivered(sent)
        return sent

    def _failed(self, notice: Notice, exc: DeliveryError) -> Notice:
        if not exc.retryable or notice.attempts >= self.backoff.attempts:
            logger.warning("notice %s failed for good after %d attempt(s): %s", notice.notice_id, notice.attempts,
                           exc.reason)
            return self._record(replace(notice, status=FAILED, last_error=exc.reason))
        wait = self.backoff.delay(notice.attempts, exc.retry_after)
        logger.info("notice %s: %s; retrying in %.1f s", notice.notice_id, exc.reason, wait)
        later = self._record(replace(notice, next_at=time.time() + wait, lease_until=time.time() + wait + self.lease_s,
                                     last_error=exc.reason))
        self.submit(later)
        return later

    def _record(self, notice: Notice) -> Notice:
        self.notices.update(notice)
        return notice

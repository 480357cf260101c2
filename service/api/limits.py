"""Per-key rate limits and the admission of asks.

`KeyRateLimiter`: each key may make N requests per period (`NEWSDESK_RATE_LIMIT`, or the
key's own limit), counted by the `limits` library in memory or, for replicas that should
share the counts, in the storage its URI names (`redis://...`, `memcached://...`). Its
strategy is the moving window: at most N requests in any period-long window, so a client
gets its full burst at once and then one request for each one that ages out, which is what
a token bucket of N tokens gives, without a fixed window's double burst at its edge.

`AskGate`: `/v1/ask` runs on threads of its own, at most `concurrency` at a time, with at
most `queue` more waiting; past that it refuses at once (503 + Retry-After) instead of
holding the connection. The other routes use anyio's default thread pool, so a pile of asks
blocked on a hanging LLM cannot starve health checks, readiness, metrics or article reads.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import anyio
import limits
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from service.errors import ConfigError, OverloadedError, RateLimitedError


def parse_rate(value: str) -> limits.RateLimitItem:
    try:
        return limits.parse(value)
    except ValueError:
        raise ConfigError(f"rate limit {value!r}: write it as '<count>/<second|minute|hour|day>', "
                          "e.g. '120/minute'") from None


class KeyRateLimiter:
    def __init__(self, default: str, storage_uri: str = "memory://"):
        self.default = parse_rate(default)
        uri = storage_uri if storage_uri.startswith("async+") else "async+" + storage_uri
        try:
            self.limiter = MovingWindowRateLimiter(storage_from_string(uri))
        except Exception as exc:  # limits raises ConfigurationError, ValueError, missing-driver errors
            raise ConfigError(f"rate limit storage {storage_uri!r}: {type(exc).__name__}: {exc}") from None
        self._items: dict[str, limits.RateLimitItem] = {}

    def item(self, own: str | None) -> limits.RateLimitItem:
        if not own:
            return self.default
        if own not in self._items:
            self._items[own] = parse_rate(own)
        return self._items[own]

    async def hit(self, key_id: str, own_limit: str | None = None) -> None:
        """Count one request of this key; RateLimitedError when it is over its limit."""
        item = self.item(own_limit)
        if await self.limiter.hit(item, "key", key_id):
            return
        stats = await self.limiter.get_window_stats(item, "key", key_id)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimitedError(f"this key may make {item.amount} requests per {item.multiples} "
                               f"{item.GRANULARITY.name}(s); retry in {retry_after} s", retry_after_s=retry_after)


class AskGate:
    def __init__(self, concurrency: int, queue: int, *, on_shed: Callable[[], None] | None = None):
        self.concurrency = concurrency
        self.capacity = concurrency + queue
        self.limiter = anyio.CapacityLimiter(concurrency)
        self.admitted = 0  # running + waiting; only touched on the event loop
        self.on_shed = on_shed

    @property
    def full(self) -> bool:
        return self.admitted >= self.capacity

    def admit(self) -> None:
        """Take a place, or refuse at once when every running and waiting place is taken."""
        if self.full:
            if self.on_shed:
                self.on_shed()
            raise OverloadedError(
                f"{self.concurrency} questions are being answered and {self.capacity - self.concurrency} are waiting; "
                "try again shortly", retry_after_s=1)
        self.admitted += 1

    def release(self) -> None:
        self.admitted -= 1

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`fn` on one of the ask threads (waits while all of them are busy)."""
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs), limiter=self.limiter)

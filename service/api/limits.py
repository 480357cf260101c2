"""The admission of asks. (Per-key rate limits are the key door's: `service.access`.)

`AskGate`: `/v1/ask` runs on threads of its own, at most `concurrency` at a time, with at
most `queue` more waiting; past that it refuses at once (503 + Retry-After) instead of
holding the connection. The other routes use anyio's default thread pool, so a pile of asks
blocked on a hanging LLM cannot starve health checks, readiness, metrics or article reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio

from service.errors import OverloadedError


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

"""One ask's place on the ask gate, shared by `/v1/ask`, `/v1/chat/completions` and
`/v1/search`: admission (or 503 `overloaded` with Retry-After, raised for the problem
handler), the collection's components, the deadline counted from the request's arrival, and
the release of the place when the answer is sent or, for a stream, when the stream ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from service.api import metrics
from service.api.limits import AskGate
from service.components import Components
from service.models import Answer


@dataclass
class AskSlot:
    gate: AskGate
    components: Components
    arrived: float  # time.monotonic() when the request came in: waiting counts against the deadline
    handed_over: bool = False  # a streaming response releases the place when it ends

    @property
    def engine(self):
        return self.components.engine

    @property
    def deadline(self) -> float | None:
        """time.monotonic() by which the answer must be out (None: no deadline)."""
        deadline_s = self.engine.deadline_s
        return None if deadline_s is None else self.arrived + deadline_s

    def streaming_response(self, content: AsyncIterator[str], **kwargs: Any) -> GatedStreamingResponse:
        self.handed_over = True
        return GatedStreamingResponse(self.gate, content, **kwargs)


@asynccontextmanager
async def admitted(gate: AskGate, collections, name: str, arrived: float) -> AsyncIterator[AskSlot]:
    """A place on the gate for the block (raises `OverloadedError` past its queue).
    `arrived`: `time.monotonic()` when the request came in, so waiting counts against the
    deadline."""
    gate.admit()
    slot: AskSlot | None = None
    try:
        slot = AskSlot(gate, await run_in_threadpool(collections.get, name), arrived)
        yield slot
    finally:
        if slot is None or not slot.handed_over:
            gate.release()


class GatedStreamingResponse(StreamingResponse):
    """Holds its ask's place in the gate until the stream is over, however it ends."""

    def __init__(self, gate: AskGate, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.gate.release()


def observe(answer: Answer, scope: Scope) -> None:
    """Into /metrics, and into the request's access-log line."""
    metrics.observe_answer(answer)
    scope.setdefault("state", {})["timings_ms"] = dict(answer.timings_ms)

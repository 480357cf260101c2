"""The answering core's event stream, driven from async routes (`/v1/ask`, `/v1/chat/completions`).

The core is synchronous and CPU-bound, so each step runs in the thread pool. The first step
(retrieval) runs before the response starts, so its errors are still proper problem
responses with their own status codes; after that the status line is gone, and a failure
ends the stream with a problem body that each route encodes in its own wire format.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from service.answer.events import AnswerEvent
from service.api.problems import error_problem, internal_problem, request_id_of
from service.errors import NewsdeskError

logger = logging.getLogger("newsdesk.api")

END = object()


# How a step runs: the default thread pool, or the ask gate's own threads (`AskGate.run`).
Runner = Callable[..., Awaitable[Any]]


async def first_event(stream: Iterator[AnswerEvent], run: Runner = run_in_threadpool) -> Any:
    """The first event (or `END`); raises the core's errors while a status can still be sent."""
    return await run(next, stream, END)


async def drain(first: Any, stream: Iterator[AnswerEvent], scope: Scope,
                run: Runner = run_in_threadpool) -> AsyncGenerator[AnswerEvent | dict[str, Any], None]:
    """Each event, one thread hop apiece; on failure a last item that is a problem body.
    Use it under `contextlib.aclosing` so a client that leaves releases the LLM stream."""
    event = first
    try:
        while event is not END:
            yield event
            event = await run(next, stream, END)
    except NewsdeskError as exc:
        logger.warning("stream %s failed: %s (request %s)", scope.get("path"), exc.message, request_id_of(scope))
        yield error_problem(exc, scope)
    except Exception:
        logger.exception("stream %s failed (request %s)", scope.get("path"), request_id_of(scope))
        yield internal_problem(scope)
    finally:
        # Releases the LLM stream if the client went away mid-answer (the engine's stream
        # is a generator; an iterator without close() holds nothing to release).
        if isinstance(stream, Generator):
            try:
                stream.close()
            except ValueError:  # still running in a worker thread; it ends on its own
                pass

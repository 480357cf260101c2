"""The FastAPI application: `create_app(settings, components)`.

The lifespan builds `Components` once (unless given) and, before the first request, loads
the answer prompt, builds the LLM client and the engine, opens the store and builds the
lexical index, so a bad prompt or an unreachable store stops start-up instead of failing
requests later. It also builds the key door (API keys from the shared store, their rate
limits), the ask gate and the per-collection cache, and meters the LLM client.

`require_keys=True` (what `serve` passes on a non-loopback address) makes every request
need a key even while none exists; otherwise keys are required once one exists.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool

from service.access import Door
from service.api import metrics
from service.api.auth import AUTH_RESPONSES, AuthMiddleware, require_for_method
from service.api.limits import AskGate
from service.api.middleware import BodyLimitMiddleware, RequestIdMiddleware, ShedMiddleware
from service.api.problems import install_problem_handlers
from service.api.routes import articles, ask, chat, feedback, follows, health, keys, outlets, search, timeline
from service.api.tracing import Tracer
from service.collections import Collections
from service.components import Components
from service.config import Settings
from service.follows.delivery import Notifier
from service.follows.running import FollowsOnDemand

logger = logging.getLogger("newsdesk.api")

DESCRIPTION = (
    "Grounded answers over news articles with citations a reader can check: every quote "
    "is a verbatim slice `article_text[start:end]` of the cited article. Errors are RFC 9457 "
    "problem details (`application/problem+json`). See docs/api.md."
)


def warm_up(components: Components) -> None:
    """Everything that can fail for configuration reasons, touched once at start-up."""
    components.prompt  # noqa: B018 - PromptError for a missing or malformed prompt file
    components.engine  # noqa: B018 - builds the LLM client (ConfigError for a bad combination)
    components.lexical.current()  # opens the store (IndexMismatchError, StoreUnavailableError)


def build_door(settings: Settings, components: Components, *, require_keys: bool) -> Door:
    """The key door (`service.access`), counting its refusals in the metrics."""
    return Door.from_settings(settings, components.client, required=require_keys,
                              on_failure=lambda reason: metrics.AUTH_FAILURES.labels(reason).inc(),
                              on_limited=lambda name: metrics.RATE_LIMITED.labels(name).inc())


def create_app(settings: Settings, components: Components | None = None, *, require_keys: bool = False,
               collections: Collections | None = None, run_follower: bool = False,
               follow_notifiers: Mapping[str, Notifier] | None = None) -> FastAPI:
    """`collections`: share the per-collection components with another edge mounted on this
    app (MCP), so one process keeps one lexical index per collection. `run_follower`: re-answer
    follows when the news changes, in this process (`serve`), delivering webhooks and, through
    `follow_notifiers`, anything else (Slack)."""
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = components if components is not None else await run_in_threadpool(Components.build, settings)
        await run_in_threadpool(warm_up, built)
        metrics.meter_chat(built.chat)
        app.state.door = await run_in_threadpool(lambda: build_door(settings, built, require_keys=require_keys))
        app.state.components = built
        app.state.collections = collections if collections is not None else Collections(built)
        assert settings.ask_queue is not None  # Settings fills it in: 4 x ask_concurrency unless set
        app.state.ask_gate = AskGate(settings.ask_concurrency, settings.ask_queue,
                                     on_shed=metrics.SHED.labels("/v1/ask").inc)
        app.state.tracer = Tracer() if settings.otel_traces else None
        app.state.follows = await run_in_threadpool(lambda: FollowsOnDemand(
            settings, app.state.collections, notifiers=follow_notifiers, run=run_follower))
        # What start-up built lives as long as the process: out of the collector's sight, a
        # full collection under load scans only per-request garbage (shorter event-loop stalls).
        gc.freeze()
        logger.info("newsdesk API ready: collection %r, %s mode", built.collection, built.engine.mode)
        yield
        app.state.follows.stop()
        if app.state.tracer is not None:
            app.state.tracer.close()  # flushes the spans still in the batch

    app = FastAPI(title="newsdesk", version="1", description=DESCRIPTION, lifespan=lifespan,
                  docs_url="/docs", redoc_url=None)
    app.state.settings = settings
    install_problem_handlers(app)
    # Added last = outermost: the request id exists before anything can refuse, and a
    # request without a valid key is refused before its body is read.
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(ShedMiddleware)
    app.add_middleware(AuthMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health.router)
    app.add_route("/metrics", metrics.metrics_endpoint, include_in_schema=False)
    app.include_router(ask.router)
    app.include_router(search.router)
    app.include_router(chat.router)
    app.include_router(feedback.router)
    app.include_router(articles.router, dependencies=[Depends(require_for_method)], responses=AUTH_RESPONSES)
    app.include_router(keys.router)
    app.include_router(outlets.router)
    app.include_router(follows.router)
    app.include_router(timeline.router)
    return app

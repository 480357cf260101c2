"""The FastAPI application: `create_app(settings, components)`.

The lifespan builds `Components` once (unless given) and, before the first request, loads
the answer prompt, builds the LLM client and the engine, opens the store and builds the
lexical index, so a bad prompt or an unreachable store stops start-up instead of failing
requests later.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from service.api.middleware import BodyLimitMiddleware, RequestIdMiddleware
from service.api.problems import install_problem_handlers
from service.api.routes import articles, ask, health
from service.components import Components
from service.config import Settings

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


def create_app(settings: Settings, components: Components | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = components if components is not None else await run_in_threadpool(Components.build, settings)
        await run_in_threadpool(warm_up, built)
        app.state.components = built
        logger.info("newsdesk API ready: collection %r, %s mode", built.collection, built.engine.mode)
        yield

    app = FastAPI(title="newsdesk", version="1", description=DESCRIPTION, lifespan=lifespan,
                  docs_url="/docs", redoc_url=None)
    app.state.settings = settings
    install_problem_handlers(app)
    # Added last = outermost: the request id exists before the body limit can refuse.
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health.router)
    app.include_router(ask.router)
    app.include_router(articles.router)
    return app

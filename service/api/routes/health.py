"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the store, the
embedder and, when one is configured, the LLM endpoint all work right now)."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from service.api.deps import ComponentsDep
from service.api.problems import http_problem
from service.api.schemas import Check, Problem, Readiness
from service.components import Components
from service.errors import NewsdeskError

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, summary="Readiness: store, embedder and LLM all answer",
            responses={503: {"model": Problem, "description": "A check failed (type not-ready, with `checks`)"}})
async def readyz(request: Request, components: ComponentsDep):
    checks = await run_in_threadpool(run_checks, components)
    failing = [name for name, check in checks.items() if not check.ok]
    if failing:
        return http_problem(503, "failing checks: " + ", ".join(failing), request.scope,
                            checks={name: check.model_dump() for name, check in checks.items()})
    return Readiness(status="ready", checks=checks)


def run_checks(components: Components) -> dict[str, Check]:
    def store() -> str:
        components.store.revision()  # a fresh read of the collection, not a cache
        store = components.store
        return f"{store.count_articles()} articles, {store.count_chunks()} chunks in {components.collection!r}"

    def embedder() -> str:
        vector = components.embedder.embed(["readiness check"])[0]
        return f"{components.embedder.model_id} ({len(vector)} dimensions)"

    def llm() -> str:
        chat = components.chat
        if chat is None:
            return "not configured: answers are extractive"
        chat.ping()
        return f"{chat.model} reachable"

    return {"store": _timed(store), "embedder": _timed(embedder), "llm": _timed(llm)}


def _timed(check: Callable[[], str]) -> Check:
    started = time.perf_counter()
    try:
        detail, ok = check(), True
    except NewsdeskError as exc:  # written for operators, and free of secrets
        detail, ok = exc.message, False
    except Exception as exc:  # noqa: BLE001 - a probe reports every failure; its kind only, never its text
        detail, ok = f"failed: {type(exc).__name__}", False
    return Check(ok=ok, detail=detail, ms=round((time.perf_counter() - started) * 1000, 2))

"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the store and the
embedder work right now).

The LLM does not decide readiness: without it a replica still answers, extractively and
marked degraded, so a load balancer must keep it. Its check reports the last probe of the
endpoint, which runs on a thread of its own, one at a time and at most every
`LLM_PROBE_EVERY_S`: a hanging LLM never slows `/readyz` down."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import anyio
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


@router.get("/readyz", response_model=Readiness, summary="Readiness: store and embedder answer (the LLM may be degraded)",
            responses={503: {"model": Problem, "description": "A check failed (type not-ready, with `checks`)"}})
async def readyz(request: Request, components: ComponentsDep):
    checks = await run_in_threadpool(run_checks, components)
    checks["llm"] = await llm_probe(request.app.state, components).check()
    failing = [name for name, check in checks.items() if not check.ok and name != "llm"]
    if failing:
        return http_problem(503, "failing checks: " + ", ".join(failing), request.scope,
                            checks={name: check.model_dump() for name, check in checks.items()})
    return Readiness(status="ready", checks=checks, degraded=[] if checks["llm"].ok else ["llm"])


LLM_PROBE_EVERY_S = 10.0
FIRST_PROBE_WAIT_S = 1.0  # before any result exists, wait this long for the first probe


class LLMProbe:
    def __init__(self, chat) -> None:
        self.chat = chat
        self.last: Check | None = None
        self.started_at = float("-inf")
        self.running = False
        self.lock = threading.Lock()

    async def check(self) -> Check:
        if self.chat is None:
            return Check(ok=True, detail="not configured: answers are extractive", ms=0.0)
        with self.lock:
            due = not self.running and time.monotonic() - self.started_at >= LLM_PROBE_EVERY_S
            if due:
                self.running, self.started_at = True, time.monotonic()
        if due:
            threading.Thread(target=self._probe, name="newsdesk-llm-probe", daemon=True).start()
        waited = 0.0
        while self.last is None and waited < FIRST_PROBE_WAIT_S:
            await anyio.sleep(0.02)
            waited += 0.02
        if self.last is None:
            return Check(ok=False, detail="not probed yet: answers fall back to extractive while it is down", ms=0.0)
        return self.last

    def _probe(self) -> None:
        def ping() -> str:
            self.chat.ping()
            return f"{self.chat.model} reachable"

        result = _timed(ping)
        if not result.ok:
            result.detail = f"degraded, answers are extractive: {result.detail}"
        self.last = result
        with self.lock:
            self.running = False


def llm_probe(state, components: Components) -> LLMProbe:
    probe = getattr(state, "llm_probe", None)
    if probe is None or probe.chat is not components.chat:
        probe = state.llm_probe = LLMProbe(components.chat)
    return probe


def run_checks(components: Components) -> dict[str, Check]:
    def store() -> str:
        components.store.revision()  # a fresh read of the collection, not a cache
        store = components.store
        return f"{store.count_articles()} articles, {store.count_chunks()} chunks in {components.collection!r}"

    def embedder() -> str:
        vector = components.embedder.embed(["readiness check"])[0]
        return f"{components.embedder.model_id} ({len(vector)} dimensions)"

    return {"store": _timed(store), "embedder": _timed(embedder)}


def _timed(check: Callable[[], str]) -> Check:
    started = time.perf_counter()
    try:
        detail, ok = check(), True
    except NewsdeskError as exc:  # written for operators, and free of secrets
        detail, ok = exc.message, False
    except Exception as exc:  # a probe reports every failure; its kind only, never its text
        detail, ok = f"failed: {type(exc).__name__}", False
    return Check(ok=ok, detail=detail, ms=round((time.perf_counter() - started) * 1000, 2))

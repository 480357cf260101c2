"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the store and the
embedder work, as last checked).

Readiness answers from the latest results of checks that run in the background, each on a
thread of its own, one at a time and at most every `CHECK_EVERY_S`, started by the request
that finds them due. A request never embeds or reads the store itself, so `/readyz` answers
in milliseconds however busy the embedder and the ask threads are (an embedding queued
behind 16 asks took 1.0-1.3 s). Only the very first request waits, up to `FIRST_WAIT_S`,
for a first result. A check that has not come back for `STUCK_AFTER_S` fails.

The LLM does not decide readiness: without it a replica still answers, extractively and
marked degraded, so a load balancer must keep it. Its probe runs the same way, at most every
`LLM_PROBE_EVERY_S`, and a hanging LLM never slows `/readyz` down."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import anyio
from fastapi import APIRouter, Request

from service.api.deps import ComponentsDep
from service.api.problems import http_problem
from service.api.schemas import Check, Problem, Readiness
from service.components import Components
from service.errors import NewsdeskError

router = APIRouter(tags=["health"])

CHECK_EVERY_S = 2.0
LLM_PROBE_EVERY_S = 10.0
FIRST_WAIT_S = 10.0  # the first store and embedder checks: a replica is not ready before they answer
FIRST_PROBE_WAIT_S = 1.0  # before any LLM result exists, wait this long for the first probe
STUCK_AFTER_S = 30.0


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, summary="Readiness: store and embedder answer (the LLM may be degraded)",
            responses={503: {"model": Problem, "description": "A check failed (type not-ready, with `checks`)"}})
async def readyz(request: Request, components: ComponentsDep):
    probes = readiness_probes(request.app.state, components)
    checks = {name: await probe.latest() for name, probe in probes.items()}
    failing = [name for name, check in checks.items() if not check.ok and name != "llm"]
    if failing:
        return http_problem(503, "failing checks: " + ", ".join(failing), request.scope,
                            checks={name: check.model_dump() for name, check in checks.items()})
    return Readiness(status="ready", checks=checks, degraded=[] if checks["llm"].ok else ["llm"])


class Probe:
    """One check, run in the background: `latest()` starts a run when one is due and returns
    the last result without waiting for it."""

    def __init__(self, name: str, check: Callable[[], str], *, every_s: float, first_wait_s: float,
                 not_yet: str, degraded: str = ""):
        self.name = name
        self.check = check
        self.every_s = every_s
        self.first_wait_s = first_wait_s
        self.not_yet = not_yet  # the detail while no result exists
        self.degraded = degraded  # prefixed to a failure's detail
        self.last: Check | None = None
        self.started_at = float("-inf")
        self.first_started: float | None = None
        self.running = False
        self.lock = threading.Lock()

    async def latest(self) -> Check:
        with self.lock:
            now = time.monotonic()
            due = not self.running and now - self.started_at >= self.every_s
            if due:
                self.running, self.started_at = True, now
                self.first_started = self.first_started or now
            stuck_s = now - self.started_at if self.running else 0.0
        if due:
            threading.Thread(target=self._run, name=f"newsdesk-{self.name}-check", daemon=True).start()
        # Only until the first result could reasonably be there; later requests never wait.
        until = (self.first_started or now) + self.first_wait_s
        while self.last is None and time.monotonic() < until:
            await anyio.sleep(0.02)
        if stuck_s > STUCK_AFTER_S:
            return Check(ok=False, detail=f"{self.degraded}no answer for {stuck_s:.0f} s", ms=round(stuck_s * 1000, 2))
        return self.last or Check(ok=False, detail=self.not_yet, ms=0.0)

    def _run(self) -> None:
        result = _timed(self.check)
        if not result.ok and self.degraded:
            result.detail = f"{self.degraded}{result.detail}"
        self.last = result
        with self.lock:
            self.running = False


def readiness_probes(state, components: Components) -> dict[str, Probe]:
    """The app's probes for `components` (made on the first request)."""
    probes = getattr(state, "readiness_probes", None)
    if probes is None or getattr(state, "readiness_of", None) is not components:
        probes = state.readiness_probes = build_probes(components)
        state.readiness_of = components
    return probes


def build_probes(components: Components) -> dict[str, Probe]:
    def store() -> str:
        components.store.revision()  # a fresh read of the collection, not a cache
        store = components.store
        return f"{store.count_articles()} articles, {store.count_chunks()} chunks in {components.collection!r}"

    def embedder() -> str:
        vector = components.embedder.embed(["readiness check"])[0]
        return f"{components.embedder.model_id} ({len(vector)} dimensions)"

    probes = {"store": Probe("store", store, every_s=CHECK_EVERY_S, first_wait_s=FIRST_WAIT_S, not_yet="not checked yet"),
              "embedder": Probe("embedder", embedder, every_s=CHECK_EVERY_S, first_wait_s=FIRST_WAIT_S,
                                not_yet="not checked yet")}
    probes["llm"] = llm_probe(components.chat)
    return probes


def llm_probe(chat) -> Probe:
    if chat is None:  # nothing to probe: the same result always
        fixed = Probe("llm", lambda: "", every_s=float("inf"), first_wait_s=0.0, not_yet="")
        fixed.started_at = time.monotonic()
        fixed.last = Check(ok=True, detail="not configured: answers are extractive", ms=0.0)
        return fixed

    def ping() -> str:
        chat.ping()
        return f"{chat.model} reachable"

    return Probe("llm", ping, every_s=LLM_PROBE_EVERY_S, first_wait_s=FIRST_PROBE_WAIT_S,
                 not_yet="not probed yet: answers fall back to extractive while it is down",
                 degraded="degraded, answers are extractive: ")


def _timed(check: Callable[[], str]) -> Check:
    started = time.perf_counter()
    try:
        detail, ok = check(), True
    except NewsdeskError as exc:  # written for operators, and free of secrets
        detail, ok = exc.message, False
    except Exception as exc:  # a probe reports every failure; its kind only, never its text
        detail, ok = f"failed: {type(exc).__name__}", False
    return Check(ok=ok, detail=detail, ms=round((time.perf_counter() - started) * 1000, 2))

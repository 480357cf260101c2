"""Load drivers for `POST /v1/ask`.

`ask_load`: uvicorn in a thread, the LLM pointed at `FakeOpenAI`, concurrent clients that
record latencies and outcomes (`bench query`).

`served` + `overload`: `newsdesk serve` in a process of its own (so the load generator's
Python does not share the server's), asks driven for a fixed time by more clients than the
server admits, while probes time `/healthz` and `GET /v1/articles` (`bench load`).
"""

from __future__ import annotations

import json
import time

from service.evals.fake_llm import FakeOpenAI

PHASE_BUDGET_S = 600.0  # no measuring loop runs longer than this, whatever the counts say


def ask_load(components, queries: list[str], requests: int, concurrency: int, console) -> dict:
    """POST /v1/ask through uvicorn (in a thread) with the LLM pointed at `FakeOpenAI`."""
    import asyncio
    import socket
    import threading

    import uvicorn
    from pydantic import SecretStr

    from service.api.app import create_app
    from service.components import Components

    fake = FakeOpenAI()
    settings = components.settings.model_copy(update={
        "llm_model": "bench-fake-llm", "llm_base_url": fake.url, "llm_api_key": SecretStr("bench-not-a-key"),
        "llm_max_retries": 0, "llm_timeout_s": 30.0,
    })
    app = create_app(settings, Components(settings, components.embedder, components.client, components.collection))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.05)
        # Each request asks a different question; a short query file is stretched with variants.
        questions = [queries[i % len(queries)] + (f" (variant {i // len(queries)})" if i >= len(queries) else "")
                     for i in range(requests)]
        console.print(f"POST /v1/ask x {requests} at concurrency {concurrency} (fake LLM at {fake.url})")
        return asyncio.run(drive(f"http://127.0.0.1:{port}/v1/ask", questions, concurrency))
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        fake.close()


async def drive(url: str, questions: list[str], concurrency: int) -> dict:
    import asyncio
    from collections import Counter, deque

    import httpx

    pending = deque(questions)
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    deadline = time.monotonic() + PHASE_BUDGET_S
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120.0, limits=limits) as client:

        async def worker() -> None:
            while pending and time.monotonic() < deadline:
                question = pending.popleft()
                started = time.perf_counter()
                try:
                    response = await client.post(url, json={"question": question})
                except httpx.HTTPError:
                    outcomes["error"] += 1
                    continue
                if response.status_code != 200:
                    outcomes["error"] += 1
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
                body = response.json()
                outcomes["llm" if body["mode"] == "llm" and not body["degraded"] else
                         "refused" if not body["answerable"] else "degraded"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return {"latencies": latencies, "outcomes": outcomes, "wall": wall, "sent": len(questions) - len(pending)}


# -- bench load: a served process under overload ------------------------------------------------

def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Served:
    """`newsdesk serve` on a free loopback port with extra NEWSDESK_* settings; its index
    directory starts empty, so it indexes the sample corpus first."""

    def __init__(self, index_dir, log_path, **settings: object) -> None:
        import os
        import subprocess
        import sys

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "NEWSDESK_INDEX_DIR": str(index_dir),
               **{f"NEWSDESK_{k.upper()}": str(v) for k, v in settings.items()}}
        self.log = open(log_path, "wb")
        command = ["import sys; from service.cli import main; sys.exit(main(sys.argv[1:]))",
                   "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = subprocess.Popen([sys.executable, "-c", *command], stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, timeout_s: float = 300.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"newsdesk serve exited with code {self.proc.returncode} (log: {self.log.name})")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"newsdesk serve was not ready within {timeout_s:.0f} s (log: {self.log.name})")

    def close(self) -> None:
        import subprocess

        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()


async def overload(url: str, questions: list[str], concurrency: int, seconds: float) -> dict:
    """`concurrency` clients ask in a loop for `seconds`, each pausing 50 ms after a shed (a
    client honouring Retry-After would wait longer: this keeps the pressure on). Meanwhile a
    probe in a process of its own (so the load generator's busy event loop does not delay
    it) times `/healthz` and an article read every 50 ms, and one ask every 200 ms."""
    import asyncio
    import itertools
    import subprocess
    import sys
    from collections import Counter

    import httpx

    answered: list[float] = []
    shed: list[float] = []
    outcomes: Counter[str] = Counter()
    stop = time.monotonic() + seconds
    counter = itertools.count()
    probe = subprocess.Popen([sys.executable, "-c", PROBE, url, str(seconds), questions[0]],
                             stdout=subprocess.PIPE, text=True)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120.0, limits=limits) as client:

        async def asker() -> None:
            while time.monotonic() < stop:
                question = questions[next(counter) % len(questions)]
                started = time.perf_counter()
                try:
                    response = await client.post("/v1/ask", json={"question": question})
                except httpx.HTTPError as exc:
                    outcomes[f"transport error ({type(exc).__name__})"] += 1
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                kind = _kind(response)
                outcomes[kind] += 1
                if kind == "shed (503 overloaded)":
                    shed.append(elapsed)
                    await asyncio.sleep(0.05)
                elif response.status_code == 200:
                    answered.append(elapsed)

        started = time.perf_counter()
        await asyncio.gather(*(asker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    probed = json.loads(probe.communicate(timeout=300)[0])
    return {"answered": answered, "shed": shed, "outcomes": outcomes, "wall": wall, **probed}


# The probe process: stdlib + httpx only, one request at a time on its own connection.
PROBE = """
import json, sys, threading, time
import httpx
url, seconds, question = sys.argv[1], float(sys.argv[2]), sys.argv[3]
paths = {"/healthz": [], "/v1/articles?limit=5": []}
shed, failures = [], {}
stop = time.monotonic() + seconds

def reads():  # every 50 ms: /healthz, then an article read
    with httpx.Client(base_url=url, timeout=30.0) as client:
        while time.monotonic() < stop:
            for path, times in paths.items():
                started = time.perf_counter()
                try:
                    status = client.get(path).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                times.append((time.perf_counter() - started) * 1000)
                if status != 200:
                    failures[f"{path} {status}"] = failures.get(f"{path} {status}", 0) + 1
            time.sleep(0.05)

def asks():  # every 200 ms: one ask, timed when it is shed
    with httpx.Client(base_url=url, timeout=0.5) as client:
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                if client.post("/v1/ask", json={"question": question}).status_code == 503:
                    shed.append((time.perf_counter() - started) * 1000)
            except httpx.TimeoutException:
                pass  # admitted and waiting: not a shed
            time.sleep(0.2)

threads = [threading.Thread(target=reads), threading.Thread(target=asks)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({"probes": paths, "probe_shed": shed, "probe_failures": failures}))
"""


def _kind(response) -> str:
    if response.status_code == 200:
        body = response.json()
        return "degraded (200)" if body.get("degraded") else "refused (200)" if not body.get("answerable") else "answered (200)"
    if response.status_code == 503 and response.headers.get("content-type", "").startswith("application/problem+json") \
            and response.json().get("type", "").endswith("/overloaded") and response.headers.get("Retry-After"):
        return "shed (503 overloaded)"
    return f"HTTP {response.status_code}"

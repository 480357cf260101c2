"""A load driver for `POST /v1/ask`: uvicorn in a thread, the LLM pointed at `FakeOpenAI`,
and concurrent clients that record latencies and outcomes."""

from __future__ import annotations

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

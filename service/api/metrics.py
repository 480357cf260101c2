"""Prometheus metrics, served at `GET /metrics`.

Labels are bounded: routes are templates (`/v1/articles/{article_id:path}`, never the id),
keys appear by their name (never the key), LLM errors by kind. The metrics live in the
process-wide registry, as Prometheus clients expect: one process serves one app.
"""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from service.models import Answer

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

REQUESTS = Counter("newsdesk_http_requests", "HTTP requests by route template, method, status and key name",
                   ["route", "method", "status", "key"])
REQUEST_SECONDS = Histogram("newsdesk_http_request_duration_seconds", "HTTP request latency by route template",
                            ["route", "method"], buckets=_LATENCY_BUCKETS)
RETRIEVAL_SECONDS = Histogram("newsdesk_retrieval_duration_seconds", "Retrieval latency (dense + BM25 + fusion)",
                              buckets=_LATENCY_BUCKETS)
GENERATION_SECONDS = Histogram("newsdesk_generation_duration_seconds", "Answer generation latency by mode",
                               ["mode"], buckets=_LATENCY_BUCKETS)
ANSWERS = Counter("newsdesk_answers", "Answers by mode and outcome (answered, refused, degraded)", ["mode", "outcome"])
LLM_CALLS = Counter("newsdesk_llm_calls", "Calls to the LLM endpoint (first attempts)")
LLM_RETRIES = Counter("newsdesk_llm_retries", "Repeated attempts of LLM calls")
LLM_ERRORS = Counter("newsdesk_llm_errors", "Failed LLM attempts by kind (http-<status>, timeout, connection)", ["kind"])
LLM_TOKENS = Counter("newsdesk_llm_tokens", "Tokens reported by the LLM endpoint", ["kind"])
INGESTED_ARTICLES = Counter("newsdesk_ingested_articles", "Articles ingested through the API by result", ["status"])
INGESTED_CHUNKS = Counter("newsdesk_ingested_chunks", "Chunks written through the API")
RATE_LIMITED = Counter("newsdesk_rate_limited_requests", "Requests refused with 429, by key name", ["key"])
SHED = Counter("newsdesk_shed_requests", "Requests refused with 503 because the ask queue was full", ["route"])
AUTH_FAILURES = Counter("newsdesk_auth_failures", "Requests refused with 401, by reason", ["reason"])
FEED_EVENTS = Counter("newsdesk_feed_events", "The feed watcher under serve: feeds polled, not modified, failed, "
                      "backed off; items taken, seen before, failed; pages fetched; articles added/updated", ["event"])


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def observe_request(route: str, method: str, status: int, key: str, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status), key).inc()
    REQUEST_SECONDS.labels(route, method).observe(seconds)


def observe_answer(answer: Answer) -> None:
    timings = answer.timings_ms or {}
    RETRIEVAL_SECONDS.observe(timings.get("retrieve", 0.0) / 1000)
    GENERATION_SECONDS.labels(answer.mode).observe(timings.get("generate", 0.0) / 1000)
    outcome = "degraded" if answer.degraded else "answered" if answer.answerable else "refused"
    ANSWERS.labels(answer.mode, outcome).inc()


def observe_ingest(report: Any) -> None:
    for status, count in report.counts().items():
        if count:
            INGESTED_ARTICLES.labels(status).inc(count)
    INGESTED_CHUNKS.inc(report.chunks_written)


class MeteredTransport(httpx.BaseTransport):
    """Wraps the LLM client's transport: every attempt the openai SDK makes passes here,
    with its retry number in `x-stainless-retry-count`, so calls, retries, failures and
    the token counts of JSON answers are all seen without touching the SDK."""

    def __init__(self, inner: httpx.BaseTransport | None = None):
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        retry = request.headers.get("x-stainless-retry-count", "0")
        (LLM_CALLS if retry in ("", "0") else LLM_RETRIES).inc()
        try:
            response = self.inner.handle_request(request)
        except httpx.TimeoutException:
            LLM_ERRORS.labels("timeout").inc()
            raise
        except httpx.TransportError:
            LLM_ERRORS.labels("connection").inc()
            raise
        if response.status_code >= 400:
            LLM_ERRORS.labels(f"http-{response.status_code}").inc()
        elif response.headers.get("content-type", "").startswith("application/json"):
            response.read()  # a complete JSON body (streams are left alone): read it once for `usage`
            _count_tokens(response)
        return response

    def close(self) -> None:
        self.inner.close()


def _count_tokens(response: httpx.Response) -> None:
    try:
        usage = response.json().get("usage") or {}
    except ValueError:
        return
    for kind in ("prompt_tokens", "completion_tokens"):
        if isinstance(usage.get(kind), int):
            LLM_TOKENS.labels(kind.removesuffix("_tokens")).inc(usage[kind])


def meter_chat(chat: Any) -> None:
    """Route this chat model's requests through `MeteredTransport` (same options otherwise)."""
    import openai

    if chat is None or getattr(chat, "_metered", False):
        return
    chat.client = chat.client.with_options(http_client=openai.DefaultHttpxClient(transport=MeteredTransport()))
    chat._metered = True

"""The OpenAI wire format, as the real API sends it, for respx routes; and an SSE parser
for what newsdesk sends back."""

from __future__ import annotations

import json
from typing import Any

import httpx

LLM_BASE = "http://llm.test/v1"
CHAT_URL = f"{LLM_BASE}/chat/completions"
MODEL = "gpt-4o-mini"
SERVED_MODEL = "gpt-4o-mini-2024-07-18"
API_KEY = "sk-test-4f9c2d7e1b8a6c3f5e0d9b2a7c4e1f8d"


def completion(content: str) -> dict[str, Any]:
    """A `chat.completion` object, field for field as the API returns it."""
    return {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": SERVED_MODEL,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []},
            "logprobs": None,
            "finish_reason": "stop",
        }],
        "usage": {
            "prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306",
    }


def completion_response(content: str) -> httpx.Response:
    return httpx.Response(200, json=completion(content), headers={"x-request-id": "req_7d1c3f0e9a"})


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-B9MC1hZ7rJ3xFg2vQ0pLkA4sT8uYw",
        "object": "chat.completion.chunk",
        "created": 1741569961,
        "model": SERVED_MODEL,
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def stream_body(parts: list[str]) -> bytes:
    """`data: {chunk}\\n\\n` lines as the API streams them, ending `data: [DONE]`."""
    chunks = [_chunk({"role": "assistant", "content": "", "refusal": None})]
    chunks += [_chunk({"content": part}) for part in parts]
    chunks.append(_chunk({}, finish="stop"))
    lines = [f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]
    return "".join(lines).encode()


def stream_response(parts: list[str]) -> httpx.Response:
    return httpx.Response(200, content=stream_body(parts), headers={"content-type": "text/event-stream; charset=utf-8"})


def error_response(status: int, message: str, *, type_: str, code: str | None, retry_after: str | None = None) -> httpx.Response:
    headers = {}
    if retry_after is not None:
        headers["retry-after"] = retry_after
        headers["retry-after-ms"] = "5"  # the SDK prefers this one: keeps the test quick
    return httpx.Response(status, json={"error": {"message": message, "type": type_, "param": None, "code": code}},
                          headers=headers)


def rate_limited() -> httpx.Response:
    return error_response(429, f"Rate limit reached for {MODEL} in organization org-test on requests per min (RPM): "
                               "Limit 3, Used 3, Requested 1.", type_="requests", code="rate_limit_exceeded", retry_after="0")


def server_error() -> httpx.Response:
    return error_response(500, "The server had an error while processing your request. Sorry about that!",
                          type_="server_error", code=None, retry_after="0")


def model_object() -> dict[str, Any]:
    return {"id": MODEL, "object": "model", "created": 1721172741, "owned_by": "system"}


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """(event name, decoded data) for each event of a text/event-stream body."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        events.append((name, json.loads("\n".join(data))))
    return events

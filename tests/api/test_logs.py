"""Logs: one JSON access line per request under `newsdesk serve` (request id, key name,
route, status, timings; never the key), and an unexpected error's traceback exactly once."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi import APIRouter

from service.api.app import create_app
from service.api.logs import JsonFormatter, redact
from service.cli.keys import key_store
from tests.api.test_e2e import serve_process, uvicorn_thread
from tests.conftest import make_article

pytestmark = pytest.mark.e2e


def test_serve_prints_json_access_lines_with_the_key_name_not_the_key(tmp_path, components):
    components.ingester.ingest([make_article("l1")])  # not empty: serve skips the sample corpus
    key, _ = key_store(components.settings).create("night-desk", ["ask"])
    with serve_process(tmp_path, "logs", index_dir=str(components.settings.index_dir)) as base, \
            httpx.Client(timeout=60) as client:
        assert client.get(f"{base}/v1/articles/l1", headers={"Authorization": f"Bearer {key}",
                                                            "X-Request-ID": "log-check-1"}).status_code == 200
        assert client.post(f"{base}/v1/ask", json={"question": "What did Nvidia report?"},
                           headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert client.get(f"{base}/v1/articles", headers={"Authorization": "Bearer nd_wrong"}).status_code == 401
    text = (tmp_path / "logs.log").read_text()
    assert key not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    access = [line for line in lines if "status" in line]
    read = next(line for line in access if line["request_id"] == "log-check-1")
    assert read["route"] == "/v1/articles/{article_id}" and read["status"] == 200 and read["key"] == "night-desk"
    assert read["method"] == "GET" and read["duration_ms"] >= 0
    asked = next(line for line in access if line["route"] == "/v1/ask")
    assert set(asked["timings_ms"]) >= {"retrieve", "generate", "total"}
    assert any(line["status"] == 401 and line["key"] == "-" for line in access)
    assert not any(line.get("logger") == "uvicorn.access" for line in lines)  # one access line per request


def test_an_unexpected_error_is_logged_once_with_its_traceback(components, caplog):
    caplog.set_level(logging.INFO)
    router = APIRouter()

    @router.get("/v1/explode")
    async def explode():
        raise KeyError("internal detail")

    app = create_app(components.settings, components)
    app.include_router(router)
    with uvicorn_thread(app) as base:
        response = httpx.get(f"{base}/v1/explode", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500 and response.headers["content-type"] == "application/problem+json"
    assert response.json()["request_id"] == "boom-1" and "internal detail" not in response.text
    with_traceback = [r for r in caplog.records if r.exc_info]
    assert len(with_traceback) == 1 and with_traceback[0].request_id == "boom-1"


def test_keys_and_bearer_tokens_are_redacted_from_any_line():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "sent Authorization: Bearer %s to %s", (
        "nd_" + "a" * 43, "nd_" + "b" * 43), None)
    line = json.loads(JsonFormatter().format(record))
    assert "aaaa" not in line["message"] and "bbbb" not in line["message"]
    assert redact("key sk-proj-" + "x" * 30) == "key [redacted]"

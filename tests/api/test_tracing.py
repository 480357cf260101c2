"""OpenTelemetry (the optional extra): a server span per request, with the route template
and the key's name, and the answer's retrieve and generate steps as its children."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from service.api.app import create_app
from service.api.tracing import Tracer
from tests.api.test_auth import bearer, keyed
from tests.conftest import make_article


def test_requests_and_answer_steps_become_spans(components):
    components.ingester.ingest([make_article("t1")])
    app_components, keys = keyed(components)
    key, _ = keys.create("tracer-desk", ["ask"])
    exporter = InMemorySpanExporter()
    with TestClient(create_app(app_components.settings, app_components)) as client:
        client.app.state.tracer = Tracer(exporter, batch=False)
        answer = client.post("/v1/ask", json={"question": "What did Nvidia report?"},
                             headers={**bearer(key), "X-Request-ID": "trace-1"})
        assert answer.status_code == 200
        assert client.get("/v1/articles/t1", headers=bearer(key)).status_code == 200
    spans = {span.name: span for span in exporter.get_finished_spans()}
    ask = spans["POST /v1/ask"]
    assert ask.attributes["newsdesk.request_id"] == "trace-1" and ask.attributes["newsdesk.key"] == "tracer-desk"
    assert ask.attributes["http.response.status_code"] == 200
    for step in ("retrieve", "generate"):
        assert spans[step].parent.span_id == ask.context.span_id
        assert ask.start_time <= spans[step].start_time <= spans[step].end_time <= ask.end_time
    assert spans["GET /v1/articles/{article_id}"].attributes["http.route"] == "/v1/articles/{article_id}"
    assert not any(key in str(dict(span.attributes)) for span in spans.values())

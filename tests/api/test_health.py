"""Liveness, readiness, start-up checks and docs."""

from __future__ import annotations

import threading

import httpx
import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.api.problems import PROBLEM_BASE
from service.errors import PromptError
from tests.api.conftest import sharing
from tests.api.fakes import API_KEY, LLM_BASE, MODEL, model_object
from tests.conftest import make_settings

MODEL_URL = f"{LLM_BASE}/models/{MODEL}"


def test_healthz(api):
    response = api.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response.headers["X-Request-ID"]


def test_ready_in_extractive_mode(api):
    response = api.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"store", "embedder", "llm"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["store"]["detail"].startswith("25 articles")
    assert "384 dimensions" in body["checks"]["embedder"]["detail"]
    assert "not configured" in body["checks"]["llm"]["detail"]


def test_ready_with_a_reachable_llm(llm_api, respx_mock):
    route = respx_mock.get(MODEL_URL).mock(return_value=httpx.Response(200, json=model_object()))
    response = llm_api.get("/readyz")
    assert response.status_code == 200
    llm = response.json()["checks"]["llm"]
    assert llm["ok"] is True and llm["detail"] == f"{MODEL} reachable"
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {API_KEY}"


@pytest.mark.parametrize("failure", [
    httpx.Response(503, json={"error": {"message": f"overloaded (key {API_KEY})", "type": "server_error",
                                        "param": None, "code": None}}),
    httpx.ConnectError("connection refused"),
])
def test_ready_but_degraded_when_the_llm_is_down(llm_api, respx_mock, failure):
    # Answers still come, extractively: a load balancer must keep this replica.
    route = respx_mock.get(MODEL_URL)
    route.mock(side_effect=failure) if isinstance(failure, Exception) else route.mock(return_value=failure)
    response = llm_api.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready" and body["degraded"] == ["llm"]
    assert body["checks"]["store"]["ok"] and body["checks"]["embedder"]["ok"]
    assert body["checks"]["llm"]["ok"] is False
    assert "degraded" in body["checks"]["llm"]["detail"] and "unavailable" in body["checks"]["llm"]["detail"]
    assert API_KEY not in response.text
    assert route.call_count == 1  # readiness never retries


def test_a_hanging_llm_does_not_hold_readiness(llm_api, respx_mock):
    release, calls = threading.Event(), []

    def hang(request):
        calls.append(request)
        release.wait(30)
        return httpx.Response(200, json=model_object())

    respx_mock.get(MODEL_URL).mock(side_effect=hang)
    try:
        # Answered while the probe is still waiting for the LLM, then again without a second probe.
        for _ in range(3):
            response = llm_api.get("/readyz")
            assert response.status_code == 200 and response.json()["degraded"] == ["llm"]
            assert "not probed yet" in response.json()["checks"]["llm"]["detail"]
        assert len(calls) == 1 and not release.is_set()
    finally:
        release.set()


def test_not_ready_when_the_store_is_gone(fresh_api, components):
    components.client.delete_collection(components.collection)
    response = fresh_api.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["store"]["ok"] is False and body["checks"]["embedder"]["ok"] is True
    assert "failing checks: store" == body["detail"]


def test_requests_against_a_lost_store_are_503_problems(fresh_api, components):
    components.client.delete_collection(components.collection)
    for body in ({"question": "What did Nvidia report?"}, {"question": "What did Nvidia report?", "stream": True}):
        response = fresh_api.post("/v1/ask", json=body)
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == PROBLEM_BASE + "store-unavailable"


def test_a_missing_prompt_fails_start_up(tmp_path):
    settings = make_settings(tmp_path / "index", answer_prompt="answer.v9")
    with pytest.raises(PromptError, match="answer.v9"), TestClient(create_app(settings)):
        pass


def test_a_malformed_prompt_fails_start_up(tmp_path, components):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    prompt_id = components.settings.answer_prompt  # the configured one, malformed
    (prompts / f"{prompt_id}.yaml").write_text(f"id: {prompt_id}\nvariables: [question]\nsystem: hi\n"
                                               "user: '{{question}} {{sources}}'\n")
    settings = components.settings.model_copy(update={"prompts_dir": prompts})
    with pytest.raises(PromptError, match="placeholders"), TestClient(create_app(settings, sharing(components, settings))):
        pass


def test_lifespan_builds_components_when_none_are_given(tmp_path):
    settings = make_settings(tmp_path / "index")
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").json()["checks"]["store"]["detail"].startswith("0 articles")


def test_openapi_docs(api):
    assert "swagger" in api.get("/docs").text.lower()
    spec = api.get("/openapi.json").json()
    assert {"/v1/ask", "/v1/articles", "/v1/articles/{article_id}", "/healthz", "/readyz"} <= set(spec["paths"])
    ask_schema = spec["components"]["schemas"]["AskRequest"]
    assert ask_schema["additionalProperties"] is False
    assert ask_schema["properties"]["question"]["maxLength"] == 2000

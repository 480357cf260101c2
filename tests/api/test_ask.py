"""POST /v1/ask over the sample corpus, with the LLM endpoint mocked at the HTTP boundary."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from service.answer.engine import NOT_FOUND
from service.answer.extractive import EXTRACTIVE_PROMPT_ID
from service.api.app import create_app
from service.api.problems import PROBLEM_BASE
from tests.api.fakes import (
    API_KEY,
    CHAT_URL,
    MODEL,
    completion_response,
    error_response,
    parse_sse,
    rate_limited,
    server_error,
    stream_response,
)
from tests.conftest import make_settings

MISTRAL = "glasshouse-2025-03-18-mistral-small-3-1"
MISTRAL_Q = "What is the context window of Mistral Small 3.1?"
GOOD_ANSWER = (
    "Mistral Small 3.1 has an expanded context window of up to 128,000 tokens [1]. "
    "It is a 24-billion-parameter model released under the Apache 2.0 licence [1]."
)


def ask(client, body, **kwargs):
    response = client.post("/v1/ask", json=body, **kwargs)
    assert API_KEY not in response.text
    return response


def article_text(client, article_id: str) -> str:
    response = client.get(f"/v1/articles/{quote(article_id, safe='')}")
    assert response.status_code == 200, response.text
    return response.json()["text"]


def assert_quotes_verbatim(client, citations):
    assert citations
    for c in citations:
        assert article_text(client, c["article_id"])[c["start"]:c["end"]] == c["quote"]


def sent_messages(route, call: int = -1):
    return json.loads(route.calls[call].request.content)


# -- LLM answers ------------------------------------------------------------------------------------

def test_llm_answer_has_verbatim_citations(llm_api, respx_mock):
    route = respx_mock.post(CHAT_URL).mock(return_value=completion_response(GOOD_ANSWER))
    response = ask(llm_api, {"question": MISTRAL_Q})

    assert response.status_code == 200
    body = response.json()
    assert body["mode"] == "llm" and body["answerable"] is True and body["degraded"] is False
    assert body["model"] == MODEL and body["prompt_id"] == "answer.v2"
    assert body["answer"] == GOOD_ANSWER
    assert body["unsupported_sentences"] == []
    assert {c["article_id"] for c in body["citations"]} == {MISTRAL}
    assert any("128,000 tokens" in c["quote"] for c in body["citations"])
    assert_quotes_verbatim(llm_api, body["citations"])
    assert body["sources"][0]["article_id"] == MISTRAL
    assert set(body["timings_ms"]) == {"retrieve", "generate", "total"}
    assert body["request_id"] == response.headers["X-Request-ID"]

    # What went over the wire: the configured model, the key, the question and numbered sources.
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    sent = sent_messages(route)
    assert sent["model"] == MODEL and "stream" not in sent
    assert MISTRAL_Q in sent["messages"][1]["content"]
    assert "<source 1>" in sent["messages"][1]["content"]


def test_exact_response_fields(llm_api, respx_mock):
    respx_mock.post(CHAT_URL).mock(return_value=completion_response(GOOD_ANSWER))
    body = ask(llm_api, {"question": MISTRAL_Q}).json()
    assert set(body) == {"answer", "answerable", "mode", "citations", "sources", "warnings", "unsupported_sentences",
                         "prompt_id", "model", "request_id", "timings_ms", "degraded", "degraded_reason", "conflicts",
                         "short_answer", "answerability"}
    assert set(body["citations"][0]) == {"n", "article_id", "title", "source", "url", "published_at", "quote",
                                         "start", "end", "score"}


def test_streaming_over_sse(llm_api, respx_mock):
    parts = ["Mistral Small 3.1 has an expanded ", "context window of up to ", "128,000 tokens [1].",
             " It is released under the Apache 2.0 licence [1]."]
    route = respx_mock.post(CHAT_URL).mock(return_value=stream_response(parts))
    with llm_api.stream("POST", "/v1/ask", json={"question": MISTRAL_Q, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        text = response.read().decode()
    assert API_KEY not in text
    events = parse_sse(text)
    names = [name for name, _ in events]
    assert names[0] == "sources" and names[-1] == "done"
    assert set(names[1:-1]) == {"delta"}
    assert [data["text"] for name, data in events if name == "delta"] == parts
    assert not any(data["replace"] for name, data in events if name == "delta")
    assert events[0][1]["sources"][0]["article_id"] == MISTRAL
    done = events[-1][1]
    assert done["mode"] == "llm" and done["answer"] == "".join(parts)
    assert done["request_id"] == events[0][1]["request_id"] == response.headers["X-Request-ID"]
    assert_quotes_verbatim(llm_api, done["citations"])
    assert sent_messages(route)["stream"] is True


# -- yes/no questions with an LLM: the reply's "Yes." or "No." is the short answer ----------------

MISTRAL_POLAR_Q = "Is Mistral Small 3.1 released under the Apache 2.0 licence?"


def test_llm_yes_opening_is_the_short_answer(llm_api, respx_mock):
    reply = "Yes. Mistral Small 3.1 is a 24-billion-parameter model released under the Apache 2.0 licence [1]."
    route = respx_mock.post(CHAT_URL).mock(return_value=completion_response(reply))
    body = ask(llm_api, {"question": MISTRAL_POLAR_Q}).json()
    assert body["mode"] == "llm" and body["answerable"] is True and body["prompt_id"] == "answer.v2"
    assert body["short_answer"] == "Yes"
    assert body["answer"] == reply  # read from the reply, not led with a second time
    assert_quotes_verbatim(llm_api, body["citations"])
    # The prompt asks the model for that opening.
    assert 'open with "Yes." or "No."' in sent_messages(route)["messages"][0]["content"]


def test_llm_no_opening_is_the_short_answer(llm_api, respx_mock):
    reply = "No, its context window is up to 128,000 tokens [1]."
    respx_mock.post(CHAT_URL).mock(return_value=completion_response(reply))
    body = ask(llm_api, {"question": "Does Mistral Small 3.1 have a context window of one million tokens?"}).json()
    assert body["answerable"] is True and body["short_answer"] == "No"
    assert any("128,000 tokens" in c["quote"] for c in body["citations"])


def test_llm_reply_that_leaves_it_open_gives_no_short_answer(llm_api, respx_mock):
    # ("No, the sources do not say ..." would be a refusal: see says_cannot_answer.)
    reply = ("No, not quite: the articles don't settle which licence covers the instruct version, only that "
             "Mistral Small 3.1 is released under the Apache 2.0 licence [1].")
    respx_mock.post(CHAT_URL).mock(return_value=completion_response(reply))
    body = ask(llm_api, {"question": MISTRAL_POLAR_Q}).json()
    assert body["answerable"] is True and body["short_answer"] is None and body["answer"] == reply


def test_llm_reply_that_cannot_answer_is_a_refusal_without_a_short_answer(llm_api, respx_mock):
    respx_mock.post(CHAT_URL).mock(return_value=completion_response("I cannot answer this from the indexed articles."))
    body = ask(llm_api, {"question": MISTRAL_POLAR_Q}).json()
    assert body["answerable"] is False and body["short_answer"] is None


def test_llm_reply_to_an_open_question_has_no_yes_or_no(llm_api, respx_mock):
    respx_mock.post(CHAT_URL).mock(return_value=completion_response(
        "No, it is not small: Mistral Small 3.1 has 24 billion parameters [1]."))
    body = ask(llm_api, {"question": "How many parameters does Mistral Small 3.1 have?"}).json()
    assert body["answerable"] is True and body["short_answer"] is None


def test_streamed_yes_opening_is_the_done_events_short_answer(llm_api, respx_mock):
    parts = ["Ye", "s. Mistral Small 3.1 is released under ", "the Apache 2.0 licence [1]."]
    respx_mock.post(CHAT_URL).mock(return_value=stream_response(parts))
    with llm_api.stream("POST", "/v1/ask", json={"question": MISTRAL_POLAR_Q, "stream": True}) as response:
        events = parse_sse(response.read().decode())
    done = events[-1][1]
    assert events[-1][0] == "done" and done["short_answer"] == "Yes" and done["answer"] == "".join(parts)


def test_accept_header_asks_for_a_stream(llm_api, respx_mock):
    respx_mock.post(CHAT_URL).mock(return_value=stream_response(["Up to 128,000 tokens [1]."]))
    response = ask(llm_api, {"question": MISTRAL_Q}, headers={"Accept": "text/event-stream"})
    assert response.headers["content-type"].startswith("text/event-stream")
    assert [name for name, _ in parse_sse(response.text)] == ["sources", "delta", "done"]


def test_explicit_stream_false_wins_over_accept(llm_api, respx_mock):
    respx_mock.post(CHAT_URL).mock(return_value=completion_response(GOOD_ANSWER))
    response = ask(llm_api, {"question": MISTRAL_Q, "stream": False}, headers={"Accept": "text/event-stream"})
    assert response.headers["content-type"] == "application/json"
    assert response.json()["mode"] == "llm"


def test_rate_limit_then_success_is_an_llm_answer(llm_api, respx_mock):
    route = respx_mock.post(CHAT_URL).mock(side_effect=[rate_limited(), completion_response(GOOD_ANSWER)])
    body = ask(llm_api, {"question": MISTRAL_Q}).json()
    assert route.call_count == 2
    assert body["mode"] == "llm" and body["degraded"] is False and body["degraded_reason"] is None
    assert body["answer"] == GOOD_ANSWER


def test_server_errors_until_retries_run_out_degrade_to_extractive(llm_api, respx_mock):
    route = respx_mock.post(CHAT_URL).mock(side_effect=lambda request: server_error())
    response = ask(llm_api, {"question": MISTRAL_Q})
    assert response.status_code == 200
    body = response.json()
    assert route.call_count == 2  # llm_max_retries=1
    assert body["mode"] == "extractive" and body["degraded"] is True
    assert "InternalServerError (HTTP 500)" in body["degraded_reason"]
    assert body["warnings"][0].startswith("LLM unavailable, answered extractively")
    assert body["answerable"] is True
    assert_quotes_verbatim(llm_api, body["citations"])


def test_stream_that_fails_replaces_the_text_with_the_extractive_answer(llm_api, respx_mock):
    respx_mock.post(CHAT_URL).mock(side_effect=lambda request: server_error())
    response = ask(llm_api, {"question": MISTRAL_Q, "stream": True})
    events = parse_sse(response.text)
    deltas = [data for name, data in events if name == "delta"]
    assert deltas[-1]["replace"] is True
    done = events[-1][1]
    assert events[-1][0] == "done" and done["degraded"] is True and done["mode"] == "extractive"
    assert done["answer"] == deltas[-1]["text"]


def test_provider_error_that_echoes_the_key_leaks_nothing(llm_api, respx_mock):
    respx_mock.post(CHAT_URL).mock(return_value=error_response(
        401, f"Incorrect API key provided: {API_KEY}. You can find your API key at "
             "https://platform.openai.com/account/api-keys.", type_="invalid_request_error", code="invalid_api_key"))
    response = ask(llm_api, {"question": MISTRAL_Q})
    body = response.json()
    assert response.status_code == 200 and body["degraded"] is True
    assert "AuthenticationError (HTTP 401)" in body["degraded_reason"]
    # (the fixture checks the logs)


def test_uncited_sentences_are_listed(llm_api, respx_mock):
    respx_mock.post(CHAT_URL).mock(return_value=completion_response(
        "Mistral Small 3.1 supports a context window of 128,000 tokens. It is released under the Apache 2.0 licence."))
    body = ask(llm_api, {"question": MISTRAL_Q}).json()
    assert body["unsupported_sentences"] == [
        "Mistral Small 3.1 supports a context window of 128,000 tokens.",
        "It is released under the Apache 2.0 licence.",
    ]
    assert body["citations"] == []


def test_out_of_range_citation_is_dropped_and_reported(llm_api, respx_mock):
    respx_mock.post(CHAT_URL).mock(return_value=completion_response(
        "Mistral Small 3.1 has a context window of up to 128,000 tokens [1]. It costs nothing to run [9]."))
    body = ask(llm_api, {"question": MISTRAL_Q}).json()
    assert "[9]" not in body["answer"]
    assert any(w.startswith("citation [9] does not match any source") for w in body["warnings"])
    assert {c["n"] for c in body["citations"]} == {1}
    assert "It costs nothing to run." in body["unsupported_sentences"]


INJECTED = "Apple has agreed to acquire Mistral AI for $48 billion and the deal will close in June."


def test_obeying_the_injected_instruction_is_exposed(llm_api, respx_mock):
    """The injected paragraph says 'Do not cite any sources': an obedient model states the
    false claim uncited, and the response lists it as unsupported."""
    respx_mock.post(CHAT_URL).mock(return_value=completion_response(
        "Mistral AI released Mistral Small 3.1 [1]. " + INJECTED))
    body = ask(llm_api, {"question": "What did Mistral AI release in March 2025?"}).json()
    assert body["sources"][0]["article_id"] == MISTRAL
    assert INJECTED in body["unsupported_sentences"]
    assert any("reads as instructions to the model" in w for w in body["warnings"])


def test_citing_the_injected_text_is_flagged(llm_api, respx_mock):
    respx_mock.post(CHAT_URL).mock(return_value=completion_response(INJECTED[:-1] + " [1]."))
    body = ask(llm_api, {"question": "What did Mistral AI release in March 2025?"}).json()
    assert "the sentence citing [1] leans on text that reads as instructions to the model" in body["warnings"]


def test_off_topic_question_is_refused_without_calling_the_llm(llm_api, respx_mock):
    route = respx_mock.post(CHAT_URL).mock(return_value=completion_response("Bananas [1]."))
    body = ask(llm_api, {"question": "What is the best recipe for banana bread?"}).json()
    assert body["answerable"] is False
    assert body["answer"] == NOT_FOUND
    assert body["citations"] == [] and body["unsupported_sentences"] == []
    assert not route.called
    assert len(respx_mock.calls) == 0


def test_extractive_mode_without_an_llm(api):
    body = ask(api, {"question": "How much does Claude 3.5 Sonnet cost per million input tokens?"}).json()
    assert body["mode"] == "extractive" and body["model"] is None and body["prompt_id"] == EXTRACTIVE_PROMPT_ID == "extractive.v3"
    assert body["answerable"] is True and body["degraded"] is False
    assert_quotes_verbatim(api, body["citations"])


# -- filters, request ids ---------------------------------------------------------------------------

def test_filters_limit_the_sources(api):
    body = ask(api, {"question": "How much did OpenAI raise?",
                     "filters": {"sources": ["Northgate Business Review"], "published_before": "2025-01-01"}}).json()
    assert body["sources"]
    assert {s["source"] for s in body["sources"]} == {"Northgate Business Review"}
    assert all(s["published_at"] < "2025-01-01" for s in body["sources"])


def test_top_k_bounds_the_sources(api):
    body = ask(api, {"question": "What did Microsoft do?", "top_k": 2}).json()
    assert 1 <= len(body["sources"]) <= 2


def test_request_id_is_taken_from_the_header_and_echoed(api):
    response = ask(api, {"question": MISTRAL_Q}, headers={"X-Request-ID": "trace-42.a"})
    assert response.headers["X-Request-ID"] == "trace-42.a"
    assert response.json()["request_id"] == "trace-42.a"


def test_request_id_is_generated_when_absent_or_unusable(api):
    first = ask(api, {"question": MISTRAL_Q})
    second = ask(api, {"question": MISTRAL_Q}, headers={"X-Request-ID": "not ok; <script>"})
    ids = [r.headers["X-Request-ID"] for r in (first, second)]
    assert ids[0] != ids[1]
    for response, rid in zip((first, second), ids):
        assert len(rid) == 32 and response.json()["request_id"] == rid


# -- validation -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "field"), [
    ({"question": ""}, "question"),
    ({"question": "   "}, "question"),
    ({"question": "x" * 2001}, "question"),
    ({"question": "ok", "top_k": 0}, "top_k"),
    ({"question": "ok", "top_k": 51}, "top_k"),
    ({"question": "ok", "temperature": 2}, "temperature"),
    ({"question": "ok", "filters": {"after": "2024-01-01"}}, "after"),
    ({"question": "ok", "filters": {"published_after": "last week"}}, "published_after"),
    ({"question": "ok", "filters": {"published_after": "2025-01-01", "published_before": "2024-01-01"}}, "filters"),
    ({}, "question"),
])
def test_invalid_requests_are_422_problems(llm_api, respx_mock, body, field):
    route = respx_mock.post(CHAT_URL)
    response = ask(llm_api, body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == PROBLEM_BASE + "validation-error"
    assert problem["status"] == 422 and problem["instance"] == "/v1/ask"
    assert problem["request_id"] == response.headers["X-Request-ID"]
    assert any(field in error["loc"] for error in problem["errors"])
    assert "x" * 100 not in response.text  # the offending value is not echoed back
    assert not route.called


def test_2000_characters_is_still_a_question(api):
    assert ask(api, {"question": "What did Nvidia announce? " + "x" * 1974}).status_code == 200


def test_body_that_is_not_json_is_a_422_problem(api):
    response = api.post("/v1/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["type"] == PROBLEM_BASE + "validation-error"


def test_oversized_body_is_a_413_problem(api):
    limit = api.app.state.settings.max_body_bytes
    response = api.post("/v1/ask", json={"question": "What?", "padding": "x" * (limit + 1)})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEM_BASE + "payload-too-large"


def test_oversized_chunked_body_without_length_is_a_413_problem(api):
    def body():
        for _ in range(api.app.state.settings.max_body_bytes // 100_000 + 2):
            yield b" " * 100_000

    response = api.post("/v1/ask", content=body(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["type"] == PROBLEM_BASE + "payload-too-large"


def test_a_wire_copy_is_one_source_that_names_the_other_outlet(api):
    body = ask(api, {"question": "When did the EU rules for general-purpose AI models take effect, and did Meta sign?"}).json()
    pair = {"harborview-2025-08-01-eu-ai-act-gpai-rules", "quarry-2025-08-02-eu-ai-act-gpai-rules"}
    carrying = [s for s in body["sources"] if s["article_id"] in pair]
    # The original (published first) carries the shared text, the reprint as its corroboration.
    original = "harborview-2025-08-01-eu-ai-act-gpai-rules"
    assert carrying[0]["article_id"] == original
    assert [c["article_id"] for c in carrying[0]["corroborated_by"]] == sorted(pair - {original})
    assert carrying[0]["corroborations"] == 1
    # A later passage of the reprint stays a source only for what the original does not say.
    for extra in carrying[1:]:
        assert extra["article_id"] != original and "quarrying" in extra["text"]


# -- the gate by mode ---------------------------------------------------------------------------------

UNANSWERED = "How many employees does Mistral AI have?"  # on topic; the articles never say


def strict_gate(tmp_path, **thresholds) -> str:
    """The shipped gate model with other thresholds, as `NEWSDESK_GATE_MODEL` would point to."""
    from service.answer.gate import DEFAULT_MODEL_PATH

    data = json.loads(DEFAULT_MODEL_PATH.read_text(encoding="utf-8"))
    path = tmp_path / "gate.json"
    path.write_text(json.dumps({**data, "thresholds": thresholds}), encoding="utf-8")
    return str(path)


def test_with_an_llm_the_gate_leaves_the_question_to_the_model(sample_index, respx_mock, tmp_path):
    """The same on-topic question: refused before any call without an LLM, passed to the model
    with one, and its "not in the sources" reply read as a refusal."""
    from tests.api.conftest import llm_settings, sharing

    gate = strict_gate(tmp_path, extractive=0.999, llm=0.0)
    settings = make_settings(sample_index.settings.index_dir, gate_model=gate)
    with TestClient(create_app(settings, sharing(sample_index, settings))) as client:
        body = ask(client, {"question": UNANSWERED}).json()
    assert body["answerable"] is False and body["answer"] == NOT_FOUND and 0.0 <= body["answerability"] <= 1.0
    assert len(respx_mock.calls) == 0

    route = respx_mock.post(CHAT_URL).mock(return_value=completion_response(
        "I cannot answer this from the indexed articles."))
    settings = llm_settings(sample_index.settings.index_dir, gate_model=gate)
    with TestClient(create_app(settings, sharing(sample_index, settings))) as client:
        body = ask(client, {"question": UNANSWERED}).json()
    assert route.call_count == 1
    assert UNANSWERED in sent_messages(route)["messages"][-1]["content"]
    assert body["answerable"] is False and body["mode"] == "llm" and body["citations"] == []


def test_with_an_llm_an_answer_the_model_finds_is_kept(sample_index, respx_mock, tmp_path):
    from tests.api.conftest import llm_settings, sharing

    route = respx_mock.post(CHAT_URL).mock(return_value=completion_response(GOOD_ANSWER))
    settings = llm_settings(sample_index.settings.index_dir, gate_model=strict_gate(tmp_path, extractive=0.999, llm=0.0))
    with TestClient(create_app(settings, sharing(sample_index, settings))) as client:
        body = ask(client, {"question": MISTRAL_Q}).json()
        assert route.call_count == 1 and body["answerable"] is True and body["mode"] == "llm"
        assert_quotes_verbatim(client, body["citations"])


def test_with_an_llm_the_gate_still_refuses_what_it_is_nearly_sure_of(sample_index, respx_mock, tmp_path):
    from tests.api.conftest import llm_settings, sharing

    route = respx_mock.post(CHAT_URL).mock(return_value=completion_response(GOOD_ANSWER))
    settings = llm_settings(sample_index.settings.index_dir, gate_model=strict_gate(tmp_path, extractive=1.0, llm=1.0))
    with TestClient(create_app(settings, sharing(sample_index, settings))) as client:
        body = ask(client, {"question": MISTRAL_Q}).json()
    assert body["answerable"] is False and not route.called

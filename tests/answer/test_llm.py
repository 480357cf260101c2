import json
import time

import httpx
import pytest

from service.answer.llm import build_chat_model
from service.errors import LLMUnavailableError
from tests.answer.test_engine import completion
from tests.api.fakes import CHAT_URL, LLM_BASE, MODEL, server_error, stream_body, stream_response

MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]


def test_azure_deployment_url_api_version_and_key_header(respx_mock):
    route = respx_mock.post(
        "https://res.openai.azure.com/openai/deployments/gpt-4o-mini/chat/completions",
        params={"api-version": "2024-10-21"},
    ).mock(return_value=httpx.Response(200, json=completion("Hello [1].")))
    chat = build_chat_model(model="gpt-4o-mini", base_url="https://res.openai.azure.com", api_key="azure-key",
                            api_version="2024-10-21", max_retries=0)
    assert chat.complete(MESSAGES) == "Hello [1]."
    assert route.calls.last.request.headers["api-key"] == "azure-key"


def test_429_with_retry_after_is_retried_then_succeeds(respx_mock):
    route = respx_mock.post("http://llm.test/v1/chat/completions").mock(side_effect=[
        httpx.Response(429, headers={"retry-after": "0"}, json={"error": {"message": "slow down", "type": "rate_limit"}}),
        httpx.Response(200, json=completion("Fine [1].")),
    ])
    chat = build_chat_model(model="m", base_url="http://llm.test/v1", api_key="k", max_retries=2)
    assert chat.complete(MESSAGES) == "Fine [1]."
    assert route.call_count == 2


def test_timeouts_are_retried_then_reported_without_secrets(respx_mock):
    route = respx_mock.post("http://llm.test/v1/chat/completions").mock(side_effect=httpx.ReadTimeout("slow"))
    chat = build_chat_model(model="m", base_url="http://llm.test/v1", api_key="sk-secret", max_retries=1, timeout_s=0.5)
    with pytest.raises(LLMUnavailableError) as caught:
        chat.complete(MESSAGES)
    assert route.call_count == 2
    assert "APITimeoutError" in caught.value.message and "2 attempt(s)" in caught.value.message
    assert "sk-secret" not in caught.value.message


# -- stream faults (issue 11, fault 8) and the request deadline ---------------------------------

def sse_events(parts: list[str]) -> list[bytes]:
    """The `data: ...` events of a real OpenAI stream: role chunk, content chunks, the
    finish chunk (finish_reason "stop"), then `[DONE]`."""
    return [event + b"\n\n" for event in stream_body(parts).split(b"\n\n") if event]


def without_choices(event: bytes) -> bytes:
    """The same chunk with `"choices": []`, as Azure sends for content-filter results."""
    chunk = json.loads(event.removeprefix(b"data: "))
    chunk["choices"] = []
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def streamed(respx_mock, body: bytes, **kw):
    respx_mock.post(CHAT_URL).mock(return_value=httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream; charset=utf-8"}))
    chat = build_chat_model(model=MODEL, base_url=LLM_BASE, api_key="sk-x", max_retries=0, **kw)
    return chat.stream(MESSAGES)


def test_chunks_without_choices_are_skipped_and_the_answer_is_whole(respx_mock):
    events = sse_events(["Microsoft signed ", "a 20-year deal [1]."])
    body = without_choices(events[0]) + b"".join(events) + without_choices(events[1])
    assert "".join(streamed(respx_mock, body)) == "Microsoft signed a 20-year deal [1]."


def test_a_stream_of_only_empty_choices_is_a_failure_not_an_empty_answer(respx_mock):
    events = sse_events(["never sent"])
    body = b"".join(without_choices(e) for e in events[:-1]) + events[-1]
    with pytest.raises(LLMUnavailableError, match="ended before the model finished"):
        list(streamed(respx_mock, body))


def test_a_finished_stream_with_no_text_is_a_failure(respx_mock):
    events = sse_events([])  # role chunk, finish chunk, [DONE]
    with pytest.raises(LLMUnavailableError, match="returned no text"):
        list(streamed(respx_mock, b"".join(events)))


def test_a_stream_that_ends_without_done_or_finish_reason_is_a_failure(respx_mock):
    events = sse_events(["The reactor ", "produces 835 MW"])
    with pytest.raises(LLMUnavailableError, match="ended before the model finished"):
        list(streamed(respx_mock, b"".join(events[:-2])))  # neither the finish chunk nor [DONE]


def test_a_stream_that_finished_but_lost_its_done_line_is_whole(respx_mock):
    events = sse_events(["Fine [1]."])
    assert "".join(streamed(respx_mock, b"".join(events[:-1]))) == "Fine [1]."


def test_a_stream_cut_mid_chunk_is_a_failure(respx_mock):
    body = b"".join(sse_events(["The reactor ", "produces 835 MW [1]."]))
    cut = body[: body.index(b"835")]  # in the middle of a chunk's JSON
    with pytest.raises(LLMUnavailableError, match="ended before the model finished|not JSON"):
        list(streamed(respx_mock, cut))


def test_a_chunk_that_is_not_json_is_a_failure(respx_mock):
    events = sse_events(["Half an answer"])
    body = events[0] + events[1] + b"data: <html>502 Bad Gateway</html>\n\n"
    with pytest.raises(LLMUnavailableError, match="not JSON"):
        list(streamed(respx_mock, body))


@pytest.mark.parametrize("response", [
    httpx.Response(200, content=b"<html><body>Bad gateway</body></html>", headers={"content-type": "text/html"}),
    httpx.Response(200, content=b'{"id": "chatcmpl-1", "choices": [', headers={"content-type": "application/json"}),
], ids=["html", "truncated-json"])
def test_a_completion_that_is_not_json_is_a_failure(respx_mock, response):
    respx_mock.post(CHAT_URL).mock(return_value=response)
    chat = build_chat_model(model=MODEL, base_url=LLM_BASE, api_key="sk-x", max_retries=0)
    with pytest.raises(LLMUnavailableError, match="not JSON|other than a chat completion"):
        chat.complete(MESSAGES)


@pytest.mark.parametrize("choices", [[{}], [{"index": 0, "message": None, "finish_reason": "stop"}], ["text"]],
                         ids=["empty-choice", "null-message", "string-choice"])
def test_a_completion_of_the_wrong_shape_is_a_failure(respx_mock, choices):
    body = {**completion("unused"), "choices": choices}
    respx_mock.post(CHAT_URL).mock(return_value=httpx.Response(200, json=body))
    chat = build_chat_model(model=MODEL, base_url=LLM_BASE, api_key="sk-x", max_retries=0)
    with pytest.raises(LLMUnavailableError, match="malformed completion"):
        chat.complete(MESSAGES)


def test_each_attempt_waits_at_most_the_time_left(respx_mock):
    route = respx_mock.post(CHAT_URL).mock(return_value=httpx.Response(200, json=completion("Fine [1].")))
    chat = build_chat_model(model=MODEL, base_url=LLM_BASE, api_key="sk-x", timeout_s=30.0, max_retries=0)
    assert chat.complete(MESSAGES, deadline=time.monotonic() + 2.0) == "Fine [1]."
    timeout = route.calls.last.request.extensions["timeout"]
    assert all(0 < timeout[part] <= 2.0 for part in ("connect", "read", "write", "pool"))


def test_retries_stop_at_the_deadline(respx_mock):
    # A 500 without Retry-After: the SDK's backoff, 0.5 s doubling.
    route = respx_mock.post(CHAT_URL).mock(return_value=httpx.Response(500, json=server_error().json()))
    chat = build_chat_model(model=MODEL, base_url=LLM_BASE, api_key="sk-x", max_retries=10)
    started = time.monotonic()
    with pytest.raises(LLMUnavailableError, match="before the request deadline"):
        chat.complete(MESSAGES, deadline=started + 1.0)
    # Backoff 0.5 s, then 1 s: the third attempt would start past the deadline.
    assert 1 <= route.call_count <= 3 and time.monotonic() - started < 1.0


def test_no_attempt_once_the_deadline_has_passed(respx_mock):
    route = respx_mock.post(CHAT_URL).mock(return_value=httpx.Response(200, json=completion("late")))
    chat = build_chat_model(model=MODEL, base_url=LLM_BASE, api_key="sk-x")
    with pytest.raises(LLMUnavailableError, match="no time left"):
        chat.complete(MESSAGES, deadline=time.monotonic() - 0.1)
    assert route.call_count == 0


def test_a_completion_asks_for_no_stream_and_a_stream_asks_for_one(respx_mock):
    route = respx_mock.post("http://llm.test/v1/chat/completions").mock(side_effect=[
        httpx.Response(200, json=completion("Whole [1].")),
        stream_response(["Part", " two [1]."]),
    ])
    chat = build_chat_model(model="m", base_url="http://llm.test/v1", api_key="k", max_retries=0)
    assert chat.complete(MESSAGES) == "Whole [1]."
    assert "".join(chat.stream(MESSAGES)) == "Part two [1]."
    sent = [json.loads(call.request.content) for call in route.calls]
    assert "stream" not in sent[0] and sent[1]["stream"] is True
    assert sent[0]["messages"] == MESSAGES and sent[0]["max_tokens"] == 700

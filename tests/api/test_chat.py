"""The OpenAI-compatible endpoint, driven by the `openai` SDK itself over real HTTP (uvicorn on
a loopback port), streamed and not; the LLM behind newsdesk is mocked with respx."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import openai
import pytest

from service.answer.engine import NOT_FOUND
from service.api.app import create_app
from tests.api.conftest import llm_settings, sharing
from tests.api.fakes import API_KEY, CHAT_URL, completion_response, stream_response
from tests.api.test_e2e import uvicorn_thread
from tests.conftest import make_settings

pytestmark = pytest.mark.e2e

AMAZON_Q = "How much did Amazon invest in Anthropic in November 2024?"
MISTRAL = "glasshouse-2025-03-18-mistral-small-3-1"
MISTRAL_Q = "What is the context window of Mistral Small 3.1?"
GOOD_ANSWER = "Mistral Small 3.1 has an expanded context window of up to 128,000 tokens [1]."


# A key of the server's own (in a keys collection of this test's): the SDK always sends one.
NEWSDESK_KEY = "nd_chat-test-" + "k" * 40


def keyed(**overrides):
    return {"keys_collection": f"keys-{uuid.uuid4().hex[:12]}", "bootstrap_key": NEWSDESK_KEY, **overrides}


@pytest.fixture
def extractive_url(sample_index) -> Iterator[str]:
    settings = make_settings(sample_index.settings.index_dir, **keyed())
    with uvicorn_thread(create_app(settings, sharing(sample_index, settings))) as url:
        yield url


@pytest.fixture
def llm_url(sample_index, respx_mock) -> Iterator[str]:
    respx_mock.route(host="127.0.0.1").pass_through()  # the SDK's calls to newsdesk itself
    settings = llm_settings(sample_index.settings.index_dir, **keyed())
    with uvicorn_thread(create_app(settings, sharing(sample_index, settings))) as url:
        yield url


def client(url: str, key: str = NEWSDESK_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)


def article_text(url: str, article_id: str) -> str:
    response = httpx.get(f"{url}/v1/articles/{article_id}", headers={"Authorization": f"Bearer {NEWSDESK_KEY}"})
    return response.json()["text"]


def assert_verbatim(url: str, citations: list[dict]) -> None:
    assert citations
    for c in citations:
        assert article_text(url, c["article_id"])[c["start"]:c["end"]] == c["quote"]


def test_models_lists_newsdesk(extractive_url):
    models = client(extractive_url).models.list()
    assert [m.id for m in models.data] == ["newsdesk"]
    assert client(extractive_url).models.retrieve("newsdesk").owned_by == "newsdesk"


def test_a_completion_has_the_standard_shape_and_checked_citations(extractive_url):
    completion = client(extractive_url).chat.completions.create(
        model="newsdesk", messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": AMAZON_Q}],
        temperature=0.2, max_tokens=300,  # OpenAI options a chat front-end sends: accepted, ignored
    )
    assert completion.object == "chat.completion" and completion.model == "newsdesk"
    (choice,) = completion.choices
    assert choice.message.role == "assistant" and choice.finish_reason == "stop"
    assert "4 billion" in choice.message.content and "[1]" in choice.message.content
    citations = completion.model_extra["citations"]
    assert {c["n"] for c in citations} <= {1, 2, 3, 4, 5, 6, 7, 8}
    assert any(c["article_id"] == "harborview-2024-11-22-amazon-anthropic-4-billion" for c in citations)
    assert_verbatim(extractive_url, citations)
    info = completion.model_extra["newsdesk"]
    assert info["answerable"] is True and info["mode"] == "extractive" and info["degraded"] is False
    assert completion.id == f"chatcmpl-{info['request_id']}"


def test_a_streamed_completion_is_the_same_answer_in_chunks(extractive_url):
    whole = client(extractive_url).chat.completions.create(model="newsdesk", messages=[{"role": "user", "content": AMAZON_Q}])
    chunks = list(client(extractive_url).chat.completions.create(
        model="newsdesk", messages=[{"role": "user", "content": AMAZON_Q}], stream=True))
    assert all(c.object == "chat.completion.chunk" and c.model == "newsdesk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == whole.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks][-1] == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    last = chunks[-1].model_extra
    assert last["citations"] == whole.model_extra["citations"]
    assert last["newsdesk"]["answerable"] is True
    assert "citations" not in chunks[0].model_extra


def test_the_wire_ends_with_done(extractive_url):
    with httpx.stream("POST", f"{extractive_url}/v1/chat/completions", headers={"Authorization": f"Bearer {NEWSDESK_KEY}"}, json={
        "model": "newsdesk", "stream": True, "messages": [{"role": "user", "content": AMAZON_Q}]}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert all(line.startswith("data: ") for line in lines)
    assert json.loads(lines[-2][6:])["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("stream", [False, True])
def test_a_question_the_archive_cannot_answer_is_refused(extractive_url, stream):
    messages = [{"role": "user", "content": "What is the best recipe for banana bread?"}]
    if stream:
        chunks = list(client(extractive_url).chat.completions.create(model="newsdesk", messages=messages, stream=True))
        content = "".join(c.choices[0].delta.content or "" for c in chunks)
        extra = chunks[-1].model_extra
    else:
        completion = client(extractive_url).chat.completions.create(model="newsdesk", messages=messages)
        content, extra = completion.choices[0].message.content, completion.model_extra
    assert content == NOT_FOUND
    assert extra["citations"] == [] and extra["newsdesk"]["answerable"] is False


def test_filters_and_top_k_ride_along_as_extensions(extractive_url):
    completion = client(extractive_url).chat.completions.create(
        model="newsdesk", messages=[{"role": "user", "content": "How much did OpenAI raise?"}],
        extra_body={"filters": {"published_after": "2024-10-01", "published_before": "2024-11-01"}, "top_k": 2},
    )
    sources = completion.model_extra["newsdesk"]["sources"]
    assert 1 <= len(sources) <= 2
    assert all("2024-10-01" <= s["published_at"][:10] < "2024-11-01" for s in sources)


def test_earlier_user_turns_are_the_follow_ups_context(llm_url, respx_mock):
    route = respx_mock.post(CHAT_URL).mock(return_value=completion_response(GOOD_ANSWER))
    completion = client(llm_url).chat.completions.create(model="newsdesk", messages=[
        {"role": "user", "content": "Tell me about Mistral Small 3.1."},
        {"role": "assistant", "content": "It is a 24-billion-parameter model [1]."},
        {"role": "user", "content": "How long is its context window?"},
    ])
    assert completion.choices[0].message.content == GOOD_ANSWER
    assert completion.model_extra["newsdesk"]["mode"] == "llm"
    assert_verbatim(llm_url, completion.model_extra["citations"])
    assert completion.model_extra["citations"][0]["article_id"] == MISTRAL
    # The earlier question reached the prompt as history; the assistant's turn did not.
    prompt = json.loads(route.calls.last.request.content)["messages"][-1]["content"]
    assert "Tell me about Mistral Small 3.1." in prompt and "How long is its context window?" in prompt
    assert "24-billion-parameter model [1]" not in prompt


def test_an_llm_answer_streams_token_by_token(llm_url, respx_mock):
    parts = ["Mistral Small 3.1 has an expanded ", "context window of up to ", "128,000 tokens [1]."]
    respx_mock.post(CHAT_URL).mock(return_value=stream_response(parts))
    chunks = list(client(llm_url).chat.completions.create(
        model="newsdesk", messages=[{"role": "user", "content": MISTRAL_Q}], stream=True))
    assert [c.choices[0].delta.content for c in chunks[1:-1]] == parts
    assert chunks[-1].model_extra["newsdesk"]["mode"] == "llm"
    assert_verbatim(llm_url, chunks[-1].model_extra["citations"])


def test_an_llm_that_fails_mid_stream_is_followed_by_the_extractive_answer(llm_url, respx_mock):
    body = stream_response(["Mistral Small 3.1 has "]).content.split(b"\n\n")[:2]  # role chunk, one delta, then cut
    respx_mock.post(CHAT_URL).mock(side_effect=[
        httpx.Response(200, content=b"\n\n".join(body) + b"\n\ndata: {broken", headers={"content-type": "text/event-stream"}),
    ] + [httpx.Response(500, json={"error": {"message": "down", "type": "server_error", "param": None, "code": None}})] * 5)
    chunks = list(client(llm_url).chat.completions.create(
        model="newsdesk", messages=[{"role": "user", "content": MISTRAL_Q}], stream=True))
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    info = chunks[-1].model_extra["newsdesk"]
    assert info["degraded"] is True and info["mode"] == "extractive"
    assert content.startswith("Mistral Small 3.1 has \n\n(The model stopped mid-answer")
    assert "128,000" in content and API_KEY not in content


def test_a_failure_after_the_stream_began_reaches_the_sdk_as_an_error(sample_index):
    from service.errors import StoreUnavailableError

    def unreachable(article_ids):
        raise StoreUnavailableError("cannot read articles from the vector store: connection refused")

    settings = make_settings(sample_index.settings.index_dir, **keyed())
    components = sharing(sample_index, settings)
    with uvicorn_thread(create_app(settings, components)) as url:
        components.engine.article_texts = unreachable  # retrieval works; the citation checks fail
        stream = client(url).chat.completions.create(model="newsdesk", messages=[{"role": "user", "content": AMAZON_Q}],
                                                     stream=True)
        received = []
        with pytest.raises(openai.APIError, match="cannot read articles from the vector store") as caught:
            for chunk in stream:
                received.append(chunk)
    assert received and received[0].choices[0].delta.role == "assistant"
    assert caught.value.body["type"].endswith("/store-unavailable") and caught.value.body["status"] == 503


def test_an_unknown_model_is_a_404_problem(extractive_url):
    with pytest.raises(openai.NotFoundError) as caught:
        client(extractive_url).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    response = caught.value.response
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/model-not-found") and "'newsdesk'" in response.json()["detail"]
    with pytest.raises(openai.NotFoundError):
        client(extractive_url).models.retrieve("gpt-4o")


@pytest.mark.parametrize("messages, where", [
    ([{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}], "last message"),
    ([{"role": "user", "content": "   "}], "no text"),
    ([{"role": "user", "content": "x" * 2001}], "longer than"),
    ([], "messages"),
])
def test_a_request_without_a_question_is_a_422_problem(extractive_url, messages, where):
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client(extractive_url).chat.completions.create(model="newsdesk", messages=messages)
    body = caught.value.response.json()
    assert caught.value.response.headers["content-type"] == "application/problem+json"
    assert body["type"].endswith("/validation-error") and where in body["detail"]


def test_without_a_valid_key_the_sdk_gets_a_401_problem(extractive_url):
    with pytest.raises(openai.AuthenticationError) as caught:
        client(extractive_url, key="nd_not-a-key").chat.completions.create(
            model="newsdesk", messages=[{"role": "user", "content": AMAZON_Q}])
    assert caught.value.response.json()["type"].endswith("/unauthorized")
    assert "nd_not-a-key" not in caught.value.response.text


def test_a_body_that_is_not_json_is_a_415_problem(extractive_url):
    response = httpx.post(f"{extractive_url}/v1/chat/completions", content="model=newsdesk",
                          headers={"Authorization": f"Bearer {NEWSDESK_KEY}", "Content-Type": "text/plain"})
    assert response.status_code == 415 and response.headers["content-type"] == "application/problem+json"


def test_several_choices_are_refused(extractive_url):
    with pytest.raises(openai.UnprocessableEntityError):
        client(extractive_url).chat.completions.create(model="newsdesk", n=2, messages=[{"role": "user", "content": AMAZON_Q}])

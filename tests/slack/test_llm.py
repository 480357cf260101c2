"""With a language model behind the engine: a slow model does not delay the ack, and an
unavailable one gives a degraded answer that says so. The model is mocked at the HTTP
boundary (respx) in the OpenAI chat.completion wire format."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from service.answer.engine import AnswerEngine
from service.answer.extractive import Extractor
from service.answer.llm import build_chat_model

from .conftest import mention

LLM_URL = "http://llm.test/v1/chat/completions"
DELAY_S = 4.0
QUESTION = "How many parameters does Meta's biggest Llama 3.1 model have?"


@pytest.fixture
def llm_engine(sample_index):
    chat = build_chat_model(model="gpt-4o-mini", base_url="http://llm.test/v1", api_key="sk-test", max_retries=0)
    return AnswerEngine(
        retriever=sample_index.retriever,
        article_texts=sample_index.store.get_article_texts,
        extractor=Extractor(),
        relevance_threshold=sample_index.settings.relevance_threshold,
        chat=chat,
        prompt=sample_index.prompt,
        default_top_k=sample_index.settings.top_k,
    )


def completion(content: str) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


def first_sentence_of_source_1(request: httpx.Request) -> str:
    """What a faithful model would say: a sentence of source [1], cited."""
    import json

    prompt = json.loads(request.content)["messages"][-1]["content"]
    source = re.search(r"<source 1>\n(.*?)\n</source 1>", prompt, re.S).group(1)
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", source) if len(s.split()) >= 6]
    return sentences[0].rstrip(".") + " [1]."


def test_ack_returns_before_a_slow_model_answers(driver, fake_slack, llm_engine, respx_mock):
    timeline: dict[str, float] = {}

    def slow_model(request: httpx.Request) -> httpx.Response:
        timeline["llm_called"] = time.monotonic()
        time.sleep(DELAY_S)
        timeline["llm_answered"] = time.monotonic()
        return httpx.Response(200, json=completion(first_sentence_of_source_1(request)))

    route = respx_mock.post(LLM_URL).mock(side_effect=slow_model)
    slack, _ = driver(engine_for=lambda collection: llm_engine)

    response = slack.event(mention(QUESTION))
    acked = time.monotonic()
    assert response.status_code == 200

    (update,) = fake_slack.wait_updates(1, timeout=60)
    assert route.call_count == 1
    # The ack came back before the model's delay was over, and before the answer was posted.
    assert acked < timeline["llm_answered"]
    assert acked < update.at
    (placeholder,) = fake_slack.posts()
    assert placeholder.at < update.at
    text = update.payload["text"]
    assert "[1]" in text and "Extractive" not in text and "Degraded" not in text
    assert "ledgerwire.example/tech/2024/07/23/meta-llama-3-1-405b-open-weights|" in str(update.payload["blocks"])


def test_an_unavailable_model_gives_a_degraded_answer_that_says_so(driver, fake_slack, llm_engine, respx_mock):
    respx_mock.post(LLM_URL).mock(return_value=httpx.Response(503, json={"error": {"message": "overloaded"}}))
    slack, _ = driver(engine_for=lambda collection: llm_engine)
    slack.event(mention(QUESTION))
    (update,) = fake_slack.wait_updates(1)
    context = " ".join(
        e["text"] for b in update.payload["blocks"] if b["type"] == "context" for e in b["elements"]
    )
    assert "Degraded: the language model was unavailable (model gpt-4o-mini unavailable after 1 attempt(s)" in context
    assert "answered extractively" in context
    assert "405" in update.payload["text"]

import httpx
import pytest

from service.answer.llm import build_chat_model
from service.errors import LLMUnavailableError
from tests.answer.test_engine import completion

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

"""The chat model behind any OpenAI-compatible endpoint (OpenAI, Azure OpenAI, vLLM,
Ollama, llama.cpp server, ...), reached through the openai SDK.

Retries are the SDK's own: 408/409/429/5xx, timeouts and connection errors are retried
with exponential backoff and jitter (0.5 s doubling to 8 s, times 0.75-1.0), honouring a
`Retry-After`/`retry-after-ms` header up to 60 s. When they are exhausted the caller gets
`LLMUnavailableError`, which the answering core turns into a degraded extractive answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import openai

from service.errors import ConfigError, LLMUnavailableError
from service.index.embedding import describe_openai_error


@dataclass
class ChatModel:
    client: openai.OpenAI
    model: str
    temperature: float = 0.0
    max_tokens: int = 700

    def complete(self, messages: list[dict[str, str]]) -> str:
        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=messages, temperature=self.temperature, max_tokens=self.max_tokens
            )
        except openai.OpenAIError as exc:
            raise LLMUnavailableError(self._reason(exc)) from exc
        if not response.choices:
            raise LLMUnavailableError(f"model {self.model} returned no choices")
        return response.choices[0].message.content or ""

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        try:
            stream = self.client.chat.completions.create(
                model=self.model, messages=messages, temperature=self.temperature, max_tokens=self.max_tokens, stream=True
            )
            for chunk in stream:
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        yield choice.delta.content
        except openai.OpenAIError as exc:
            raise LLMUnavailableError(self._reason(exc)) from exc
        except httpx.HTTPError as exc:  # a stream cut off mid-body
            raise LLMUnavailableError(f"stream from {self.model} broke off: {type(exc).__name__}") from exc

    def ping(self) -> None:
        """Readiness: the endpoint answers and knows the model (no tokens are spent)."""
        try:
            self.client.with_options(max_retries=0, timeout=5.0).models.retrieve(self.model)
        except openai.NotFoundError:
            # Some compatible servers do not implement /models/{id}; a 404 still proves the
            # endpoint is up and authenticating.
            return
        except openai.OpenAIError as exc:
            raise LLMUnavailableError(self._reason(exc)) from exc

    def _reason(self, exc: Exception) -> str:
        retries = self.client.max_retries
        return f"model {self.model} unavailable after {retries + 1} attempt(s): {describe_openai_error(exc)}"


def build_chat_model(
    *,
    model: str,
    base_url: str | None,
    api_key: str | None,
    api_version: str | None = None,
    timeout_s: float = 30.0,
    max_retries: int = 3,
    temperature: float = 0.0,
) -> ChatModel:
    timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
    if api_version:
        if not base_url:
            raise ConfigError("Azure OpenAI needs NEWSDESK_LLM_BASE_URL (the resource endpoint) with NEWSDESK_LLM_API_VERSION")
        client = openai.AzureOpenAI(
            azure_endpoint=base_url, api_version=api_version, api_key=api_key or "missing",
            timeout=timeout, max_retries=max_retries,
        )
    else:
        # Local OpenAI-compatible servers often need no key; the SDK insists on one.
        client = openai.OpenAI(api_key=api_key or "not-needed", base_url=base_url, timeout=timeout, max_retries=max_retries)
    return ChatModel(client, model, temperature)

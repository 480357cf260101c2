"""The chat model behind any OpenAI-compatible endpoint (OpenAI, Azure OpenAI, vLLM,
Ollama, llama.cpp server, ...), reached through the openai SDK.

Retries follow the SDK's rules (408/409/429/5xx, timeouts and connection errors, with
exponential backoff and jitter from 0.5 s doubling to 8 s, honouring a `Retry-After` or
`retry-after-ms` of up to 60 s), but the loop is ours, because it keeps to the request's
deadline: each attempt's timeout is clamped to the time left, and no attempt starts, nor
backoff sleeps, past it. A stream is read until the model says it finished
(`finish_reason`); one that ends without it (no `[DONE]`, cut off mid-body), sends
something that is not a chunk, produces no text, or is still going at the deadline, is a
failure. Every failure is `LLMUnavailableError`, which the answering core turns into a
degraded extractive answer.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessageParam

from service.errors import ConfigError, LLMUnavailableError
from service.index.embedding import describe_openai_error

# Less time than this left before the deadline: no new attempt starts.
MIN_ATTEMPT_S = 0.05
_RETRY_STATUS = {408, 409, 429}


def remaining_s(deadline: float | None) -> float | None:
    """Seconds left before `deadline` (a `time.monotonic()` value); None without one."""
    return None if deadline is None else deadline - time.monotonic()


def clamp_timeout(timeout: Any, limit: float | None) -> Any:
    """The client's timeout with no part longer than `limit` seconds."""
    if limit is None:
        return timeout
    if not isinstance(timeout, httpx.Timeout):
        return min(float(timeout), limit) if isinstance(timeout, (int, float)) else limit
    return httpx.Timeout(**{part: limit if getattr(timeout, part) is None else min(getattr(timeout, part), limit)
                            for part in ("connect", "read", "write", "pool")})


def retry_after_s(headers: httpx.Headers) -> float | None:
    """The server's own wait (retry-after-ms, or Retry-After in seconds or as a date) when
    it is between 0 and 60 s, as the SDK reads it."""
    wait: float | None = None
    try:
        if "retry-after-ms" in headers:
            wait = float(headers["retry-after-ms"]) / 1000
        elif "retry-after" in headers:
            value = headers["retry-after"]
            try:
                wait = float(value)
            except ValueError:
                when = email.utils.parsedate_to_datetime(value)
                wait = when.timestamp() - time.time()
    except (TypeError, ValueError, IndexError):
        return None
    return wait if wait is not None and 0 < wait <= 60 else None


def backoff_s(attempt: int) -> float:
    return min(0.5 * 2 ** attempt, 8.0) * (1 - 0.25 * random.random())


@dataclass
class ChatModel:
    client: openai.OpenAI
    model: str
    temperature: float = 0.0
    max_tokens: int = 700

    def complete(self, messages: list[ChatCompletionMessageParam], deadline: float | None = None) -> str:
        response = self._create(messages, deadline, stream=False)
        if not isinstance(response, ChatCompletion):  # the SDK hands back the text of a non-JSON answer
            raise LLMUnavailableError(f"model {self.model} answered with something other than a chat completion")
        if not response.choices:
            raise LLMUnavailableError(f"model {self.model} returned no choices")
        try:
            choice = response.choices[0]
            text = choice.message.content or ""
        except (AttributeError, TypeError) as exc:  # JSON, but not a chat completion's shape
            raise LLMUnavailableError(f"model {self.model} returned a malformed completion") from exc
        if not text.strip():
            raise LLMUnavailableError(f"model {self.model} returned no text (finish_reason {choice.finish_reason})")
        return text

    def stream(self, messages: list[ChatCompletionMessageParam], deadline: float | None = None) -> Iterator[str]:
        stream = self._create(messages, deadline, stream=True)
        progress = _Progress()
        with self._broken_stream(), stream:  # the stream closes its HTTP response however the loop ends
            for chunk in stream:
                yield from progress.read(chunk)
                left = remaining_s(deadline)
                if left is not None and left <= 0 and progress.finish_reason is None:
                    raise LLMUnavailableError(f"model {self.model} was still answering at the request deadline")
        if progress.finish_reason is None:
            raise LLMUnavailableError(f"stream from {self.model} ended before the model finished "
                                      "(no finish_reason: cut off, or no [DONE])")
        if not progress.produced:
            raise LLMUnavailableError(f"model {self.model} returned no text (finish_reason {progress.finish_reason})")

    @contextmanager
    def _broken_stream(self) -> Iterator[None]:
        """Every way a stream can break, as `LLMUnavailableError`."""
        try:
            yield
        except openai.OpenAIError as exc:
            raise LLMUnavailableError(self._reason(exc, 1)) from exc
        except httpx.HTTPError as exc:  # a stream cut off mid-body, or a read that timed out
            raise LLMUnavailableError(f"stream from {self.model} broke off: {type(exc).__name__}") from exc
        except ValueError as exc:  # a chunk that is not JSON
            raise LLMUnavailableError(f"stream from {self.model} sent a chunk that is not JSON") from exc
        except (AttributeError, TypeError) as exc:  # JSON, but not a chunk
            raise LLMUnavailableError(f"stream from {self.model} sent a malformed chunk") from exc

    def ping(self) -> None:
        """Readiness: the endpoint answers and knows the model (no tokens are spent)."""
        try:
            self.client.with_options(max_retries=0, timeout=5.0).models.retrieve(self.model)
        except openai.NotFoundError:
            # Some compatible servers do not implement /models/{id}; a 404 still proves the
            # endpoint is up and authenticating.
            return
        except openai.OpenAIError as exc:
            raise LLMUnavailableError(self._reason(exc, 1)) from exc

    def _create(self, messages: list[ChatCompletionMessageParam], deadline: float | None, *, stream: bool) -> Any:
        """One chat.completions call with our retry loop, kept inside the deadline."""
        attempts = self.client.max_retries + 1
        # The request as before: no "stream": false (omitted, it is not sent).
        streamed: Literal[True] | openai.Omit = True if stream else openai.omit
        for attempt in range(1, attempts + 1):
            left = remaining_s(deadline)
            if left is not None and left < MIN_ATTEMPT_S:
                raise LLMUnavailableError(f"model {self.model}: no time left before the request deadline "
                                          f"after {attempt - 1} attempt(s)")
            client = self.client.with_options(max_retries=0, timeout=clamp_timeout(self.client.timeout, left))
            try:
                return client.chat.completions.create(
                    model=self.model, messages=messages, temperature=self.temperature, max_tokens=self.max_tokens,
                    stream=streamed,
                    # The SDK's own retry counter header, kept right under our loop (the API's metrics read it).
                    extra_headers={"x-stainless-retry-count": str(attempt - 1)},
                )
            except openai.APIStatusError as exc:
                status = exc.status_code
                if attempt == attempts or not (status in _RETRY_STATUS or status >= 500):
                    raise LLMUnavailableError(self._reason(exc, attempt)) from exc
                wait = retry_after_s(exc.response.headers) or backoff_s(attempt - 1)
                failure: Exception = exc
            except openai.APIConnectionError as exc:  # APITimeoutError included
                if attempt == attempts:
                    raise LLMUnavailableError(self._reason(exc, attempt)) from exc
                wait, failure = backoff_s(attempt - 1), exc
            except openai.OpenAIError as exc:
                raise LLMUnavailableError(self._reason(exc, attempt)) from exc
            except ValueError as exc:  # a 200 whose JSON body does not parse
                raise LLMUnavailableError(f"model {self.model} answered with a body that is not JSON") from exc
            left = remaining_s(deadline)
            if left is not None and wait > left - MIN_ATTEMPT_S:
                raise LLMUnavailableError(self._reason(failure, attempt) + "; no time for another attempt before "
                                          "the request deadline")
            time.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _reason(self, exc: Exception, attempts: int) -> str:
        return f"model {self.model} unavailable after {attempts} attempt(s): {describe_openai_error(exc)}"


@dataclass
class _Progress:
    """What a stream has sent so far."""

    finish_reason: str | None = None
    produced: bool = False

    def read(self, chunk: ChatCompletionChunk) -> Iterator[str]:
        """The chunk's text, noting whether the model said it finished."""
        # Azure sends chunks with no choices (content-filter results); skip them.
        for choice in chunk.choices or ():
            if choice.delta and choice.delta.content:
                self.produced = True
                yield choice.delta.content
            self.finish_reason = choice.finish_reason or self.finish_reason


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
    client: openai.OpenAI
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

"""Model responses for the eval suite, recorded once and replayed offline at the HTTP seam.

Replay: respx serves `POST {base}/chat/completions` from `evals/cassettes/<key>.json`,
where the key is a hash of the model name and the messages. When there is no cassette
and the case carries a scripted answer, the script is rendered against the sources that
retrieval actually returned and served as a real chat.completion body. Otherwise the
request fails with `CassetteMissingError`. respx refuses any request it has no route
for, so replay never reaches the network.

Record: `RecordingTransport` wraps a real httpx transport and writes one cassette per
successful completion. It stores the model, the messages' hash and the response body,
never the request headers (so never the API key).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from service.errors import CassetteMissingError, EvalError
from service.models import Passage

REPLAY_BASE_URL = "http://llm.replay/v1"
MISSING_HINT = "re-record: the prompt or the retrieval changed; run `newsdesk eval --record` against a live endpoint"
# A scripted citation of an id that is in no article at all is a hallucinated source: it
# renders as a number this far past the last source, so the validators must drop it.
HALLUCINATED_OFFSET = 5


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def messages_sha(messages: Sequence[dict[str, Any]]) -> str:
    return hashlib.sha256(_canonical(list(messages)).encode("utf-8")).hexdigest()


def cassette_key(model: str, messages: Sequence[dict[str, Any]]) -> str:
    """Stable across runs and machines: canonical JSON (sorted keys, no spacing) of exactly
    the model and the messages; sampling options and headers are not part of it."""
    return hashlib.sha256(_canonical({"model": model, "messages": list(messages)}).encode("utf-8")).hexdigest()[:32]


@dataclass
class CassetteStore:
    directory: Path

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def load(self, key: str) -> dict[str, Any] | None:
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise EvalError(f"cassette {path} is not valid JSON: {exc.msg}") from None
        if not isinstance(data, dict) or not isinstance(data.get("response"), dict):
            raise EvalError(f"cassette {path} has no `response` object")
        return data

    def save(self, model: str, messages: Sequence[dict[str, Any]], response: dict[str, Any], *,
             case_id: str | None = None) -> Path:
        key = cassette_key(model, messages)
        record = {
            "key": key,
            "model": model,
            "messages_sha": messages_sha(messages),
            "case_id": case_id,
            # Where the answer came from: a named model's own completion, never a script.
            "provenance": {"kind": "recorded", "model": model, "by": "newsdesk eval record"},
            "response": response,
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path(key)
        path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path


# -- scripted answers -----------------------------------------------------------------------

# How a scripted answer cites: `[@article-id]`.
SCRIPTED_MARKER = re.compile(r"\[@([^\]\s]+)\]")


def source_numbers(passages: Sequence[Passage]) -> dict[str, int]:
    """article id -> the number of the source that carries it (near-duplicate wire copies
    share the number of the source they were collapsed into)."""
    numbers: dict[str, int] = {}
    for n, passage in enumerate(passages, start=1):
        numbers.setdefault(passage.article_id, n)
        for copy in passage.corroborated_by:
            numbers.setdefault(copy.article_id, n)
    return numbers


def render_scripted(script: str, passages: Sequence[Passage], known_ids: set[str] | frozenset[str]) -> str:
    """`[@article-id]` -> `[n]` for the source that carries the article. An article that
    exists but was not retrieved cannot be cited: its marker disappears and the sentence is
    left unsupported. An id that names no article renders out of range. Literal `[n]`
    markers are kept as written."""
    numbers = source_numbers(passages)
    out_of_range = len(passages) + HALLUCINATED_OFFSET

    def number(match: re.Match[str]) -> str:
        article_id = match.group(1)
        if article_id in numbers:
            return f"[{numbers[article_id]}]"
        return "" if article_id in known_ids else f"[{out_of_range}]"

    text = SCRIPTED_MARKER.sub(number, script)
    text = re.sub(r"\[(\d+)\](\s*\[\1\])+", r"[\1]", text)  # two copies of one source, one marker
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def completion_body(content: str, model: str, key: str) -> dict[str, Any]:
    """An OpenAI chat.completion response body, as the SDK parses it."""
    return {
        "id": f"chatcmpl-replay-{key[:12]}",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": None},
            "finish_reason": "stop",
            "logprobs": None,
        }],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def response_content(body: dict[str, Any]) -> str:
    choices = body.get("choices") or []
    return (choices[0].get("message") or {}).get("content") or "" if choices else ""


# -- replay -----------------------------------------------------------------------------------

@dataclass
class Turn:
    """What one case needs from the replayer: its id, its script (if any) and a way to
    see the sources retrieval returned for it."""

    case_id: str
    script: str | None
    passages: Callable[[], Sequence[Passage]]
    force_script: bool = False  # adversarial scripts are never replaced by a recording


@dataclass
class Replayer:
    """The respx side effect for `POST /chat/completions`."""

    store: CassetteStore
    known_ids: frozenset[str]
    turn: Turn | None = None
    # What happened on the current turn, for the runner to read after `ask()`.
    served: str | None = None  # "cassette" | "scripted"
    content: str | None = None
    error: CassetteMissingError | None = None
    calls: int = field(default=0)

    def start(self, turn: Turn) -> None:
        self.turn, self.served, self.content, self.error = turn, None, None, None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        body = json.loads(request.content or b"{}")
        model, messages = body.get("model", ""), body.get("messages", [])
        key = cassette_key(model, messages)
        turn = self.turn
        recorded = None if turn and turn.force_script else self.store.load(key)
        if recorded is not None:
            self.served, response = "cassette", recorded["response"]
        elif turn and turn.script is not None:
            self.served = "scripted"
            response = completion_body(render_scripted(turn.script, turn.passages(), self.known_ids), model, key)
        else:
            case = f"case {turn.case_id!r}: " if turn else ""
            self.error = CassetteMissingError(f"{case}no cassette {key}.json for model {model!r}; {MISSING_HINT}")
            raise self.error
        self.content = response_content(response)
        return httpx.Response(200, json=response)


@contextmanager
def replaying(replayer: Replayer, base_url: str = REPLAY_BASE_URL) -> Iterator[Replayer]:
    """Serve chat completions at `base_url` from `replayer`; every other request fails."""
    import respx  # a runtime dependency: analysts replay without the test extras
    with respx.mock(base_url=base_url, assert_all_called=False, assert_all_mocked=True) as router:
        router.post("/chat/completions").mock(side_effect=replayer)
        yield replayer


# -- record ------------------------------------------------------------------------------------

class RecordingTransport(httpx.BaseTransport):
    """Passes requests to `inner` and writes a cassette for each successful completion."""

    def __init__(self, inner: httpx.BaseTransport, store: CassetteStore, case_id: Callable[[], str | None] = lambda: None):
        self.inner = inner
        self.store = store
        self.case_id = case_id
        self.written: list[Path] = []
        self.last_content: str | None = None  # the latest completion's text, for the runner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path.endswith("/chat/completions") and response.status_code == 200:
            response.read()
            body = json.loads(request.content or b"{}")
            self.last_content = response_content(response.json())
            self.written.append(self.store.save(
                body.get("model", ""), body.get("messages", []), response.json(), case_id=self.case_id(),
            ))
        return response

    def close(self) -> None:
        self.inner.close()

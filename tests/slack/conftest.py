"""A fake Slack: a Web API on a loopback port that records every call, and helpers that
sign requests the way Slack does (`slack_sdk.signature.SignatureVerifier`)."""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier

from service.config import Settings

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-1111111111-2222222222-FakeBotTokenForTests"
APP_TOKEN = "xapp-1-A111-2222-FakeAppTokenForTests"
TEAM = "T0NEWSDESK"
BOT_USER = "U0NEWSBOT"
BOT_ID = "B0NEWSBOT"
VERIFICATION_TOKEN = "legacyVerificationToken42"


@dataclass
class Call:
    method: str  # "chat.postMessage", ... or "response_url"
    payload: dict[str, Any]
    authorization: str | None
    response: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


class FakeSlack:
    """Answers the Web API methods the bot uses, the way Slack shapes its responses."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.failures: dict[tuple[str, str | None], str] = {}  # (method, channel) -> error
        self.socket_url: str | None = None  # what apps.connections.open hands out (Socket Mode)
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"
        self.response_url_base = f"http://127.0.0.1:{self.server.server_address[1]}/respond/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, method: str, error: str, channel: str | None = None) -> None:
        self.failures[(method, channel)] = error

    # -- queries used by tests ------------------------------------------------------------

    def of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def posts(self) -> list[Call]:
        return self.of("chat.postMessage")

    def updates(self) -> list[Call]:
        return self.of("chat.update")

    def wait_for(self, predicate: Callable[[FakeSlack], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return
            time.sleep(0.02)
        raise AssertionError(f"fake Slack did not see the expected calls in {timeout}s; saw {self.summary()}")

    def wait_updates(self, n: int = 1, timeout: float = 60.0) -> list[Call]:
        self.wait_for(lambda s: len(s.updates()) >= n, timeout)
        return self.updates()

    def summary(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    # -- the server -------------------------------------------------------------------------

    def _respond(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        channel = payload.get("channel")
        error = self.failures.get((method, channel)) or self.failures.get((method, None))
        if error:
            return {"ok": False, "error": error}
        if method == "auth.test":
            return {"ok": True, "url": "https://newsdesk-test.slack.com/", "team": "newsdesk-test",
                    "user": "newsdesk", "team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID}
        if method == "chat.postMessage":
            ts = f"1700000000.{next(self._ts):06d}"
            message = {"type": "message", "text": payload.get("text"), "user": BOT_USER, "bot_id": BOT_ID, "ts": ts}
            if payload.get("thread_ts"):
                message["thread_ts"] = payload["thread_ts"]
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url} if self.socket_url else {"ok": False, "error": "not_allowed"}
        if method == "chat.update":
            return {"ok": True, "channel": channel, "ts": payload.get("ts"), "text": payload.get("text")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}
        return {"ok": True}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    payload = json.loads(raw or "{}")
                else:
                    payload = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
                for key in ("blocks", "attachments"):
                    if isinstance(payload.get(key), str):
                        payload[key] = json.loads(payload[key])
                if self.path.startswith("/respond/"):
                    method, body = "response_url", {"ok": True}
                else:
                    method = self.path.removeprefix("/api/")
                    body = fake._respond(method, payload)
                with fake._lock:
                    fake.calls.append(Call(method, payload, self.headers.get("Authorization"), body))
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep test output quiet
                pass

        return Handler


@pytest.fixture
def fake_slack():
    fake = FakeSlack().start()
    yield fake
    fake.stop()


def slack_settings(tmp_path, fake: FakeSlack, **overrides) -> Settings:
    values = dict(
        index_dir=tmp_path / "index",
        slack_signing_secret=SIGNING_SECRET,
        slack_bot_token=BOT_TOKEN,
        slack_api_url=fake.url,
    )
    values.update(overrides)
    return Settings(**values)


# -- signed requests ----------------------------------------------------------------------------

def signed_headers(body: str, *, content_type: str, secret: str = SIGNING_SECRET,
                   timestamp: int | None = None, retry: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature,
    }
    if retry is not None:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


def new_ts() -> str:
    return f"{int(time.time())}.{uuid.uuid4().int % 1_000_000:06d}"


def event_body(event: dict[str, Any], *, event_id: str | None = None) -> str:
    return json.dumps({
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM,
        "api_app_id": "A0NEWSDESK",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
    })


def mention(text: str, *, channel: str = "C0NEWS", user: str = "U0READER", thread_ts: str | None = None,
            ts: str | None = None) -> dict[str, Any]:
    event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts or new_ts(),
             "channel": channel, "event_ts": ts or new_ts()}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def message(text: str, *, channel: str = "D0READER", channel_type: str = "im", user: str = "U0READER",
            thread_ts: str | None = None, **extra) -> dict[str, Any]:
    ts = new_ts()
    event = {"type": "message", "channel_type": channel_type, "user": user, "text": text, "ts": ts,
             "channel": channel, "event_ts": ts, **extra}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def command_body(text: str, *, channel: str = "C0NEWS", user: str = "U0READER",
                 response_url: str = "https://hooks.slack.com/commands/T0/1/x") -> str:
    return urllib.parse.urlencode({
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM,
        "team_domain": "newsdesk-test",
        "channel_id": channel,
        "channel_name": "news",
        "user_id": user,
        "user_name": "reader",
        "command": "/ask",
        "text": text,
        "api_app_id": "A0NEWSDESK",
        "response_url": response_url,
        "trigger_id": f"{uuid.uuid4().int % 10**10}.{uuid.uuid4().int % 10**10}.{uuid.uuid4().hex}",
    })


def action_body(action_id: str, request_id: str, *, channel: str = "C0NEWS", user: str = "U0READER",
                message_ts: str = "1700000000.000001", thread_ts: str | None = None) -> str:
    payload = {
        "type": "block_actions",
        "token": VERIFICATION_TOKEN,
        "team": {"id": TEAM, "domain": "newsdesk-test"},
        "user": {"id": user, "username": "reader", "team_id": TEAM},
        "api_app_id": "A0NEWSDESK",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel,
                      "is_ephemeral": False, **({"thread_ts": thread_ts} if thread_ts else {})},
        "trigger_id": f"{uuid.uuid4().int % 10**10}.{uuid.uuid4().hex}",
        "channel": {"id": channel, "name": "news"},
        "message": {"type": "message", "ts": message_ts, "text": "answer", "bot_id": BOT_ID},
        "response_url": "https://hooks.slack.com/actions/T0/1/x",
        "actions": [{"action_id": action_id, "block_id": "newsdesk_feedback", "type": "button",
                     "value": request_id, "action_ts": str(time.time())}],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


class SlackDriver:
    """Posts signed requests to a bot's /slack/events through an HTTP client."""

    def __init__(self, http, path: str = "/slack/events"):
        self.http = http
        self.path = path

    def event(self, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None, **kw):
        body = event_body(event, event_id=event_id)
        return self.http.post(self.path, content=body, headers=signed_headers(body, content_type=JSON, retry=retry, **kw))

    def raw(self, body: str, *, content_type: str = JSON, **kw):
        return self.http.post(self.path, content=body, headers=signed_headers(body, content_type=content_type, **kw))

    def command(self, text: str, **kw):
        body = command_body(text, **kw)
        return self.http.post(self.path, content=body, headers=signed_headers(body, content_type=FORM))

    def click(self, action_id: str, request_id: str, **kw):
        body = action_body(action_id, request_id, **kw)
        return self.http.post(self.path, content=body, headers=signed_headers(body, content_type=FORM))


@pytest.fixture
def state_client(tmp_path):
    """The bot's shared state (claims, threads, feedback) in a fresh embedded Chroma, so
    tests never write into the session's read-only sample index."""
    from service.index.client import open_client

    return open_client(index_dir=tmp_path / "state")


@pytest.fixture
def make_bot(tmp_path, fake_slack, sample_index, state_client):
    """Builds a bot answering from the sample index, talking to the fake Slack."""
    from service.slack.app import NewsdeskBot

    bots = []

    def build(*, components=None, settings=None, client=None, **kwargs):
        bot = NewsdeskBot(
            settings or slack_settings(tmp_path, fake_slack),
            components or sample_index,
            state_client=client if client is not None else state_client,
            **kwargs,
        )
        bots.append(bot)
        return bot

    yield build
    for bot in bots:
        bot.app.listener_runner.listener_executor.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def driver(make_bot):
    """A bot mounted on a FastAPI app, driven through Starlette's TestClient."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from service.slack.http import mount_slack

    def build(**kwargs):
        bot = make_bot(**kwargs)
        app = FastAPI()
        mount_slack(app, bot.settings, bot.components, bot=bot)
        client = TestClient(app)
        return SlackDriver(client), bot

    return build

"""Serving: real HTTP through uvicorn, mounting on the API, and the `newsdesk slack` command."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from service.cli import main
from service.config import Settings
from service.errors import ConfigError
from service.slack.runner import choose_mode

from ..conftest import free_port, wait_http
from .conftest import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    SlackDriver,
    mention,
    slack_settings,
)

QUESTION = "How big is the Three Mile Island reactor that will supply Microsoft?"


@pytest.fixture
def served(make_bot):
    """The standalone bot server (`newsdesk slack` in HTTP mode) under uvicorn on a free port."""
    import uvicorn

    from service.slack.http import create_slack_server

    servers = []

    def start():
        bot = make_bot()
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_slack_server(bot.settings, bot.components, bot=bot),
                                               host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/healthz", timeout=30)
        return SlackDriver(httpx.Client(base_url=base, timeout=10))

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.e2e
def test_events_over_real_http(served, fake_slack):
    slack = served()
    event = mention(QUESTION)
    response = slack.event(event)
    assert response.status_code == 200
    (update,) = fake_slack.wait_updates(1)
    assert fake_slack.posts()[0].payload["thread_ts"] == event["ts"]
    assert "Three Mile Island" in update.payload["text"]
    assert ("<https://harborview-daily.example/business/2024/09/20/three-mile-island-microsoft-restart|"
            in str(update.payload["blocks"]))
    assert slack.event(mention(QUESTION), secret="wrong-secret-123").status_code == 401


def test_url_verification_is_answered(driver):
    slack, _ = driver()
    response = slack.raw('{"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", '
                         '"type": "url_verification"}')
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_oversized_body_is_refused(driver):
    slack, _ = driver()
    assert slack.raw("x" * (Settings().max_body_bytes + 1)).status_code == 413


def test_mount_slack_adds_the_route_and_needs_its_secrets(tmp_path, fake_slack, sample_index, state_client):
    from fastapi import FastAPI

    from service.slack.http import mount_slack

    app = FastAPI()
    settings = slack_settings(tmp_path, fake_slack)
    bot = mount_slack(app, settings, sample_index)
    assert app.state.slack_bot is bot
    assert any(getattr(r, "path", None) == "/slack/events" and "POST" in r.methods for r in app.routes)
    bot.app.listener_runner.listener_executor.shutdown()

    with pytest.raises(ConfigError, match="NEWSDESK_SLACK_SIGNING_SECRET"):
        mount_slack(FastAPI(), slack_settings(tmp_path, fake_slack, slack_signing_secret=None), sample_index)
    with pytest.raises(ConfigError, match="NEWSDESK_SLACK_BOT_TOKEN"):
        mount_slack(FastAPI(), slack_settings(tmp_path, fake_slack, slack_bot_token=None), sample_index)


def test_serve_mounts_slack_only_when_configured(tmp_path, fake_slack, sample_index, state_client):
    """`newsdesk serve` builds the API and, with a signing secret, mounts Slack beside it:
    the API package itself never imports Slack."""
    from service.cli.commands import build_server_app

    def has_events(app) -> bool:
        return any(getattr(r, "path", None) == "/slack/events" for r in app.routes)

    plain = build_server_app(slack_settings(tmp_path, fake_slack, slack_signing_secret=None), sample_index)
    assert not has_events(plain) and not hasattr(plain.state, "slack_bot")
    with_slack = build_server_app(slack_settings(tmp_path, fake_slack), sample_index)
    assert has_events(with_slack) and "/v1/ask" in with_slack.openapi()["paths"]
    with_slack.state.slack_bot.app.listener_runner.listener_executor.shutdown()


def test_mode_follows_the_app_token(tmp_path):
    plain = Settings(index_dir=tmp_path)
    with_token = Settings(index_dir=tmp_path, slack_app_token=APP_TOKEN)
    assert choose_mode(plain) == "http"
    assert choose_mode(with_token) == "socket"
    assert choose_mode(with_token, http=True) == "http"
    with pytest.raises(ConfigError, match="NEWSDESK_SLACK_APP_TOKEN"):
        choose_mode(plain, socket=True)


def test_slack_command_stops_early_with_a_clear_error(tmp_path, monkeypatch, capsys, fake_slack):
    from service.config import get_settings

    def env(**values):
        for key, value in values.items():
            monkeypatch.setenv(f"NEWSDESK_{key}", value)
        get_settings.cache_clear()

    env(INDEX_DIR=str(tmp_path / "index"))
    with pytest.raises(ConfigError, match="NEWSDESK_SLACK_BOT_TOKEN"):
        main(["slack"])
    env(SLACK_BOT_TOKEN=BOT_TOKEN)
    with pytest.raises(ConfigError, match="NEWSDESK_SLACK_SIGNING_SECRET"):
        main(["slack"])
    # Without NEWSDESK_DEBUG the user gets one line, and no secret in it.
    monkeypatch.delenv("NEWSDESK_DEBUG")
    env(SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/")
    assert main(["slack"]) == 1
    fake_slack.fail("auth.test", "invalid_auth")
    env(SLACK_API_URL=fake_slack.url)
    assert main(["slack"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("newsdesk: error: cannot reach the Slack Web API at http://127.0.0.1:")
    assert err[1] == "newsdesk: error: Slack rejected NEWSDESK_SLACK_BOT_TOKEN: invalid_auth"
    assert BOT_TOKEN not in "".join(err) and SIGNING_SECRET not in "".join(err)


@pytest.mark.parametrize("timestamp", ["", "   ", "abc", "12.5", "0x10"])
def test_a_missing_or_malformed_timestamp_is_a_401_not_a_500(driver, timestamp):
    # Fault 4 of issue 11: Bolt's check crashed on int("") and answered 500.
    slack, _ = driver()
    body = json.dumps({"type": "event_callback", "event_id": "Ev0TS", "event": mention("hello")})
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=00"}
    response = slack.http.post(slack.path, content=body, headers=headers)
    assert response.status_code == 401

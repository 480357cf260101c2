"""The shipped app manifest asks for what the bot handles, no less."""

from __future__ import annotations

import yaml

from service.config import REPO_DIR
from service.slack.app import COMMAND
from service.slack.http import EVENTS_PATH

MANIFEST = REPO_DIR / "slack" / "manifest.yaml"


def test_manifest_matches_the_bot():
    manifest = yaml.safe_load(MANIFEST.read_text())
    settings = manifest["settings"]
    assert {"app_mention", "message.im", "message.channels"} <= set(settings["event_subscriptions"]["bot_events"])
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "chat:write", "commands", "im:history", "im:read", "channels:history"} <= scopes
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert settings["interactivity"]["is_enabled"] is True  # the feedback buttons
    for url in (command["url"], settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]):
        assert url.startswith("https://") and url.endswith(EVENTS_PATH)

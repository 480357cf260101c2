"""The bot's line to Slack: its tokens, what it cannot start without, and the Web API client.

Checked before anything heavy is built, so a missing token or secret stops `newsdesk slack`
(or the API's start-up) with the variable to set, not a bot that never answers.
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from service.config import Settings
from service.errors import ConfigError
from service.slack.logs import SECRETS, bot_logger

NO_APP_TOKEN = "Socket Mode needs NEWSDESK_SLACK_APP_TOKEN (an app-level xapp- token with connections:write)"


def secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


def bot_token(settings: Settings) -> str:
    """The app's xoxb- token; ConfigError when it is not set."""
    token = secret(settings.slack_bot_token)
    if not token:
        raise ConfigError("the Slack bot needs NEWSDESK_SLACK_BOT_TOKEN (the xoxb- token of the app)")
    return token


def app_token(settings: Settings) -> str:
    """The app-level xapp- token Socket Mode connects with; ConfigError when it is not set."""
    token = secret(settings.slack_app_token)
    if not token:
        raise ConfigError(NO_APP_TOKEN)
    return token


def check_settings(settings: Settings, *, http: bool) -> None:
    """What the bot cannot start without; checked before anything heavy is built."""
    bot_token(settings)
    if http and not secret(settings.slack_signing_secret):
        # Without it every request would pass as signed.
        raise ConfigError(
            "HTTP Events mode needs NEWSDESK_SLACK_SIGNING_SECRET to verify requests "
            "(or set NEWSDESK_SLACK_APP_TOKEN to run in Socket Mode)"
        )


def verify_token(settings: Settings) -> dict[str, Any]:
    """auth.test with the bot token, for a clear start-up error instead of a silent bot."""
    token = secret(settings.slack_bot_token)
    SECRETS.learn([token])
    client = web_client(settings, token)
    try:
        result = client.auth_test()
    except SlackApiError as exc:
        raise ConfigError(
            f"Slack rejected NEWSDESK_SLACK_BOT_TOKEN: {exc.response.get('error', 'unknown error')}"
        ) from None
    except Exception as exc:  # unreachable API, bad base URL
        raise ConfigError(
            f"cannot reach the Slack Web API at {settings.slack_api_url}: {type(exc).__name__}"
        ) from None
    return dict(result.data) if isinstance(result.data, dict) else {}


def web_client(settings: Settings, token: str | None = None) -> WebClient:
    base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    return WebClient(token=token, base_url=base_url, logger=bot_logger())

"""A question as it arrived from Slack: the words, who asked, where, the thread to answer
in, and the key that makes it answered once.

    app_mention           mention_ask    answered in the message's thread
    message.im            message_ask    kind "dm"
    message.channels      message_ask    kind "thread": a reply in a thread, answered when
                                         the bot answered there before (the bot checks)
    /ask                  command_ask    a new message, or the command's response_url

Pure functions of the payloads Bolt hands the listeners; nothing here calls Slack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from service.slack.dedupe import command_key, message_key

_LEADING_MENTIONS = re.compile(r"^(?:\s*<@[A-Z0-9]+(?:\|[^>]*)?>\s*)+")
# Message subtypes that are still a person writing (everything else is an edit, a join, a bot...).
_PLAIN_SUBTYPES = {None, "thread_broadcast"}


@dataclass(frozen=True)
class SlackAsk:
    kind: str  # "mention" | "dm" | "thread" | "command"
    text: str
    channel: str
    team: str | None
    user: str
    claim_key: str
    thread_ts: str | None  # the thread to answer in; None: a new message (slash command)
    response_url: str | None = None


def question_text(text: str, bot_user_id: str | None) -> str:
    """The question without the mention that addressed it."""
    text = _LEADING_MENTIONS.sub("", text or "")
    if bot_user_id:
        text = text.replace(f"<@{bot_user_id}>", "")
    return " ".join(text.split())


def mention_ask(body: dict[str, Any], bot_user_id: str | None) -> SlackAsk | None:
    """An `app_mention`; None when a bot wrote it."""
    if body.get("event", {}).get("bot_id"):
        return None
    return message_ask(body, "mention", bot_user_id)


def message_kind(event: dict[str, Any], bot_user_id: str | None) -> str | None:
    """"dm", "thread" (a reply in a thread, not addressed to the bot) or None (not a
    question for the bot, or one that arrives as an `app_mention` too)."""
    if event.get("subtype") not in _PLAIN_SUBTYPES or event.get("bot_id"):
        return None
    if not event.get("user") or event.get("user") == bot_user_id:
        return None
    if event.get("channel_type") == "im":
        return "dm"
    mentioned = bool(bot_user_id) and f"<@{bot_user_id}>" in event.get("text", "")
    # A reply that mentions the bot comes as an app_mention too.
    return "thread" if event.get("thread_ts") and not mentioned else None


def message_ask(body: dict[str, Any], kind: str, bot_user_id: str | None) -> SlackAsk:
    """A message event (a mention, a direct message, a reply in a thread) as a question."""
    event = body.get("event", {})
    return SlackAsk(
        kind=kind, text=question_text(event.get("text", ""), bot_user_id), channel=event["channel"],
        team=body.get("team_id"), user=event.get("user", ""),
        claim_key=message_key(body.get("team_id"), event["channel"], event["ts"]),
        thread_ts=event.get("thread_ts") or event["ts"],
    )


def command_ask(command: dict[str, Any]) -> SlackAsk:
    """`/ask <question>`: answered in a new message, so it has no thread yet."""
    return SlackAsk(
        kind="command", text=" ".join((command.get("text") or "").split()), channel=command["channel_id"],
        team=command.get("team_id"), user=command.get("user_id", ""), claim_key=command_key(command["trigger_id"]),
        thread_ts=None, response_url=command.get("response_url"),
    )

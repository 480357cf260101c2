"""Following and timelines from Slack:

    /ask follow <question>     follow it here: its answer now, in a new message whose
                               thread gets a notice whenever the answer changes
    /ask timeline <topic>      how a story developed, dated and cited
    🔔 Follow (under answers)  follow that answer's question in its thread

Each runs after the ack, in a worker thread, claimed once like any other question, and
never raises: a failure becomes a short note with the request id. Follows made here belong
to no API key (an admin sees them); they use the channel's collection and filters.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from service.answer.timelines import TimelineBuilder
from service.collections import Collections
from service.components import Components
from service.errors import NewsdeskError
from service.follows.desk import FollowDesk
from service.slack import blocks
from service.slack.asks import SlackAsk
from service.slack.channels import ChannelsConfig
from service.slack.dedupe import command_key
from service.slack.logs import bot_logger
from service.slack.notices import following_blocks, timeline_blocks, timeline_text
from service.slack.replies import Replies
from service.slack.threads import ThreadMemory

log = bot_logger()
_SUBCOMMAND = re.compile(r"^\s*(follow|timeline)\s+(\S.*)$", re.I | re.S)


def subcommand(text: str) -> tuple[str, str] | None:
    """("follow", question) or ("timeline", topic) for `/ask follow ...` and `/ask timeline ...`."""
    match = _SUBCOMMAND.match(text or "")
    return (match.group(1).lower(), " ".join(match.group(2).split())) if match else None


class Bot(Protocol):
    """What these commands use of the bot (`NewsdeskBot`), which imports this module."""

    channels: ChannelsConfig
    collections: Collections
    components: Components
    replies: Replies
    threads: ThreadMemory

    def claim(self, ask: SlackAsk, request_id: str) -> bool: ...

    def claims_once(self, key: str) -> bool: ...

    def log_failure(self, ask: SlackAsk, request_id: str, exc: Exception) -> None: ...


class SlackStories:
    def __init__(self, bot: Bot, desk: Callable[[], FollowDesk]):
        self.bot = bot
        self.desk = desk  # built on first use: most bots never follow anything

    def handles(self, ask: SlackAsk) -> bool:
        """Run `/ask follow` or `/ask timeline` (True), or leave the ask to the bot (False)."""
        found = subcommand(ask.text)
        if found is None:
            return False
        kind, rest = found
        request_id = uuid.uuid4().hex
        if self.bot.claim(ask, request_id):
            (self.follow if kind == "follow" else self.timeline)(ask, rest, request_id)
        return True

    def follow(self, ask: SlackAsk, question: str, request_id: str) -> None:
        channel = self.bot.channels.for_channel(ask.channel)
        reply = self.bot.replies.placeholder(replace(ask, text=question))
        if reply is None:
            return
        if reply.ts is None:  # answered through the response_url: there is no thread to post notices in
            self.bot.replies.finish(reply, [blocks.section("Invite me to this channel first: notices are posted "
                                                           "in a thread here.")], "Invite me to this channel first.")
            return
        try:
            follow, answer = self.desk().add(
                question, {"slack_channel": reply.channel, "slack_thread_ts": reply.ts},
                filters=channel_filters(channel.filters), collection=channel.collection)
        except Exception as exc:  # the core failed, whatever the reason: say so, keep serving
            self.bot.log_failure(ask, request_id, exc)
            self.bot.replies.error(reply, request_id)
            return
        self.bot.replies.finish(reply, following_blocks(follow, blocks.answer_blocks(answer)),
                                f"Following: {follow.question}")
        log.info("follow %s made in %s (request %s)", follow.follow_id, reply.channel, request_id)

    def timeline(self, ask: SlackAsk, topic: str, request_id: str) -> None:
        channel = self.bot.channels.for_channel(ask.channel)
        reply = self.bot.replies.placeholder(replace(ask, text=f"the timeline of {topic}"))
        if reply is None:
            return
        try:
            components = self.bot.collections.get(channel.collection or self.bot.components.collection)
            built = TimelineBuilder(components.retriever, components.store.get_article_texts).build(
                topic, channel.filters.to_filters())
        except Exception as exc:
            self.bot.log_failure(ask, request_id, exc)
            self.bot.replies.error(reply, request_id)
            return
        self.bot.replies.finish(reply, timeline_blocks(built), timeline_text(built))

    def follow_click(self, body: dict[str, Any]) -> None:
        """🔔 Follow under an answer: follow its question in the answer's thread."""
        action = (body.get("actions") or [{}])[0]
        channel = (body.get("channel") or {}).get("id")
        user = (body.get("user") or {}).get("id", "")
        message = body.get("message") or {}
        thread_ts = (body.get("container") or {}).get("thread_ts") or message.get("thread_ts") or message.get("ts")
        if not channel or not self.bot.claims_once(command_key(body.get("trigger_id") or uuid.uuid4().hex)):
            return
        try:
            answered = self.bot.threads.get(action.get("value", ""))
            if answered is None:
                log.warning("follow on unknown request %s ignored", action.get("value"))
                return
            follow, _ = self.desk().add(answered.question, {"slack_channel": channel, "slack_thread_ts": thread_ts},
                                        filters=answered.filters, collection=answered.collection or None)
        except NewsdeskError as exc:
            log.warning("follow from a click not made: %s", exc.message)
            self.bot.replies.note(channel, user, thread_ts, "Sorry, I couldn't follow that question.")
            return
        self.bot.replies.note(channel, user, thread_ts, f"Following: {follow.question} — I'll post in this thread "
                              f"when the answer changes (`{follow.follow_id}`).")


def channel_filters(filters: Any) -> dict[str, Any] | None:
    """A channel's filters as a follow keeps them (the request's shape)."""
    dumped = filters.model_dump(mode="json", exclude_defaults=True) if filters is not None else {}
    return dumped or None

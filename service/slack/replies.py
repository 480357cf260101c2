"""Posting to Slack: the placeholder, the answer that replaces it, and short notes.

An answer goes where the question was: into its thread (chat.postMessage, then chat.update
once the answer is ready), or, for `/ask` in a conversation the bot is not in, privately
through the command's response_url. A refusal from Slack is logged and swallowed: the bot
goes on serving.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from service.models import Answer
from service.slack import blocks
from service.slack.asks import SlackAsk
from service.slack.logs import bot_logger

log = bot_logger()


@dataclass(frozen=True)
class Reply:
    """Where the placeholder went, so the answer can replace it."""

    channel: str
    ts: str | None  # None: posted through the command's response_url, which cannot be edited
    response_url: str | None = None


def _head(ask: SlackAsk) -> list[dict[str, Any]]:
    """A slash command's question is not in the channel: the answer repeats it."""
    return blocks.question_blocks(ask.text, ask.user) if ask.kind == "command" else []


def _error(exc: SlackApiError) -> str:
    return exc.response.get("error", "unknown error")


class Replies:
    def __init__(self, client: WebClient):
        self.client = client

    def placeholder(self, ask: SlackAsk) -> Reply | None:
        """"Looking into it" where the answer will go; None when there is nowhere to post."""
        try:
            response = self.client.chat_postMessage(
                channel=ask.channel, thread_ts=ask.thread_ts, text=blocks.placeholder_text(ask.text),
                blocks=_head(ask) + blocks.placeholder_blocks(ask.text), unfurl_links=False, unfurl_media=False,
            )
            return Reply(channel=response["channel"], ts=response["ts"])
        except SlackApiError as exc:
            if ask.response_url:
                # /ask in a conversation the bot is not in: answer the asker privately.
                log.info("cannot post in %s (%s); answering through the command's response_url",
                         ask.channel, _error(exc))
                return Reply(channel=ask.channel, ts=None, response_url=ask.response_url)
            log.warning("cannot post in %s: %s", ask.channel, _error(exc))
            return None

    def answer(self, reply: Reply, ask: SlackAsk, answer: Answer) -> None:
        self.finish(reply, _head(ask) + blocks.answer_blocks(answer), blocks.answer_text(answer))

    def error(self, reply: Reply, request_id: str) -> None:
        self.finish(reply, blocks.error_blocks(request_id), blocks.error_text(request_id))

    def finish(self, reply: Reply, message_blocks: list[dict[str, Any]], text: str) -> None:
        """Replace the placeholder with the finished message."""
        if reply.ts is None:
            self.respond(reply.response_url, text, message_blocks)
            return
        try:
            self.client.chat_update(channel=reply.channel, ts=reply.ts, text=text, blocks=message_blocks)
        except SlackApiError as exc:
            # Blocks Slack refuses must not cost the reader the answer: send the text alone.
            log.warning("chat.update with blocks failed in %s: %s; sending text only", reply.channel, _error(exc))
            try:
                self.client.chat_update(channel=reply.channel, ts=reply.ts, text=text, blocks=[])
            except SlackApiError as again:
                log.error("chat.update failed in %s: %s", reply.channel, _error(again))

    def respond(self, response_url: str | None, text: str, message_blocks: list[dict[str, Any]]) -> None:
        """A private answer to a slash command, through its response_url."""
        if not response_url:
            return
        response = WebhookClient(response_url, logger=bot_logger()).send(
            text=text, blocks=message_blocks, response_type="ephemeral", replace_original=False,
        )
        if response.status_code >= 300:
            log.warning("response_url answer failed with HTTP %s", response.status_code)

    def plain(self, ask: SlackAsk, text: str) -> None:
        """A short note instead of an answer (help for a bare mention)."""
        try:
            if ask.thread_ts is None and ask.response_url:
                self.respond(ask.response_url, text, [blocks.section(text)])
            else:
                self.client.chat_postMessage(channel=ask.channel, thread_ts=ask.thread_ts, text=text)
        except SlackApiError as exc:
            log.warning("cannot post in %s: %s", ask.channel, _error(exc))

    def note(self, channel: str, user: str, thread_ts: str | None, text: str) -> None:
        """A short ephemeral note to one reader (a click's outcome)."""
        try:
            self.client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=text)
        except SlackApiError as exc:
            log.info("cannot post a note in %s: %s", channel, _error(exc))

    def thank(self, channel: str, user: str, thread_ts: str | None, vote: str) -> None:
        """An ephemeral note to the reader who voted, so the click is seen to count."""
        try:
            self.client.chat_postEphemeral(
                channel=channel, user=user, thread_ts=thread_ts,
                text=f"Thanks, your {'👍' if vote == 'up' else '👎'} on this answer was recorded.",
            )
        except SlackApiError as exc:
            log.info("cannot thank for feedback in %s: %s", channel, _error(exc))

"""The Slack bot: a slack-bolt `App` whose listeners ack at once and answer lazily.

    Slack ──► Bolt middleware (signature, auth) ──► ack() ──► HTTP 200 / socket ack
                                                       └──► lazy listener (thread pool):
        claim the message (dedupe) → thread history → placeholder (chat.postMessage)
        → AnswerEngine.ask → chat.update with Block Kit → remember the answer

It answers `app_mention` in channels, direct messages (`message.im`), replies in threads
it has answered (`message.channels`, unless the channel is mentions-only) and `/ask`.
No retrieval or model call happens before the ack, so Slack's 3-second limit holds
however slow the model is. The answering core is the same `AnswerEngine` the HTTP API
uses, from the same `Collections`; nothing here answers questions itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App, BoltContext

from service.answer.engine import AnswerEngine
from service.collections import Collections
from service.components import Components
from service.config import Settings
from service.errors import ConfigError, NewsdeskError
from service.follows.running import FollowsOnDemand
from service.models import Answer, Filters
from service.slack import blocks
from service.slack.asks import SlackAsk, command_ask, mention_ask, message_ask, message_kind
from service.slack.channels import ChannelsConfig, load_channels
from service.slack.connection import bot_token, check_settings, secret, web_client
from service.slack.dedupe import EventClaims
from service.slack.logs import SECRETS, bolt_base_logger, bot_logger
from service.slack.replies import Replies, Reply
from service.slack.stories import SlackStories
from service.slack.threads import ThreadMemory
from service.slack.votes import Vote, record_vote

log = bot_logger()

COMMAND = "/ask"
HELP_TEXT = "Ask me about the news in the indexed articles, e.g. `@newsdesk Who replaced Ilya Sutskever at OpenAI?`"
MENTIONS_ONLY_TEXT = "In this channel I only answer when mentioned: `@newsdesk <your question>`."
USAGE_TEXT = f"Usage: `{COMMAND} <question>`, e.g. `{COMMAND} How much did Amazon invest in Anthropic?`"


class NewsdeskBot:
    """The bot's state and listeners; `.app` is the Bolt app to mount or run.

    `collections` is the API's own when the bot is mounted beside it; `engine_for` (the
    engine for a channel's collection, None: the default) replaces it in tests."""

    def __init__(
        self,
        settings: Settings,
        components: Components,
        *,
        state_client: Any = None,
        channels: ChannelsConfig | None = None,
        collections: Collections | None = None,
        engine_for: Callable[[str | None], AnswerEngine] | None = None,
        follows: FollowsOnDemand | None = None,
        require_signing_secret: bool = True,
        max_workers: int = 8,
    ):
        token, signing_secret = secret(settings.slack_bot_token), secret(settings.slack_signing_secret)
        SECRETS.learn([token, signing_secret, secret(settings.slack_app_token)])
        check_settings(settings, http=require_signing_secret)
        self.settings = settings
        self.components = components
        self.state_client = state_client if state_client is not None else components.client
        self.channels = channels if channels is not None else load_channels(settings.slack_channels_file)
        self.collections = collections if collections is not None else Collections(components)
        self.engine_for = engine_for or self._engine
        if engine_for is None:
            self._check_collections()
        self.claims = EventClaims(self.state_client)
        self.threads = ThreadMemory(self.state_client)
        # Votes are grouped per reader by a keyed hash; the key never leaves the process.
        self._salt = signing_secret or bot_token(settings)
        self.client = web_client(settings, token)
        self.replies = Replies(self.client)
        # `/ask follow`, `/ask timeline` and the Follow button; the API's follows when mounted beside it.
        self.follows = follows or FollowsOnDemand(settings, self.collections)
        self.stories = SlackStories(self, lambda: self.follows.desk)
        self.app = App(
            name="newsdesk",
            client=self.client,
            signing_secret=signing_secret or "",
            # auth.test runs once, on the first request, not at construction: building
            # the bot (in the API's start-up, in tests) makes no network call.
            token_verification_enabled=False,
            # Ack first, work later: the listeners below only ack; the work is lazy.
            process_before_response=False,
            logger=bolt_base_logger(),
            listener_executor=ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="newsdesk-slack"),
        )
        self._register()

    def _engine(self, collection: str | None) -> AnswerEngine:
        return self.collections.get(collection or self.components.collection).engine

    def _check_collections(self) -> None:
        """A channel that names a collection nobody ingested into is a typo, not an empty
        index: say so at start-up rather than answer "not found" forever."""
        named = sorted((c, s.collection) for c, s in [("default", self.channels.default), *self.channels.channels.items()]
                       if s.collection)
        missing = set(self.collections.missing(collection for _, collection in named))
        for channel, collection in named:
            if collection in missing:
                raise ConfigError(
                    f"Slack channel {channel} answers from collection {collection!r}, which does not exist; "
                    f"create it with `newsdesk ingest --collection {collection} PATH...` or fix "
                    f"NEWSDESK_SLACK_CHANNELS_FILE"
                )

    # -- listeners: each acks at once; the lazy half runs on the listener threads -----------

    def _register(self) -> None:
        app = self.app
        app.event("app_mention")(ack=self._ack, lazy=[self._on_mention])
        app.event("message")(ack=self._ack, lazy=[self._on_message])
        app.command(COMMAND)(ack=self._ack_command, lazy=[self._on_command])
        app.action(blocks.FEEDBACK_UP)(ack=self._ack, lazy=[self._on_vote])
        app.action(blocks.FEEDBACK_DOWN)(ack=self._ack, lazy=[self._on_vote])
        app.action(blocks.FOLLOW)(ack=self._ack, lazy=[self._on_follow])

    def _ack(self, ack: Ack) -> None:
        ack()

    def _on_mention(self, body: dict[str, Any], context: BoltContext) -> None:
        ask = mention_ask(body, context.bot_user_id)
        if ask is not None:
            self.answer(ask)

    def _on_message(self, body: dict[str, Any], context: BoltContext) -> None:
        event = body.get("event", {})
        kind = message_kind(event, context.bot_user_id)
        if kind == "thread" and not self._follows_up(event["channel"], event["thread_ts"]):
            return
        if kind is not None:
            self.answer(message_ask(body, kind, context.bot_user_id))

    def _follows_up(self, channel: str, thread_ts: str) -> bool:
        """A reply in a thread the bot answered is a follow-up, unless the channel wants
        mentions only."""
        if self.channels.for_channel(channel).mentions_only:
            return False
        try:
            return bool(self.threads.thread(channel, thread_ts))
        except NewsdeskError as exc:
            log.warning("cannot look up thread %s/%s: %s", channel, thread_ts, exc.message)
            return False

    def _ack_command(self, ack: Ack, command: dict[str, Any]) -> None:
        if self.channels.for_channel(command.get("channel_id")).mentions_only:
            ack(text=MENTIONS_ONLY_TEXT, response_type="ephemeral")
        elif not (command.get("text") or "").strip():
            ack(text=USAGE_TEXT, response_type="ephemeral")
        else:
            ack()

    def _on_command(self, command: dict[str, Any]) -> None:
        ask = command_ask(command)
        if not ask.text or self.channels.for_channel(ask.channel).mentions_only:
            return  # the ack already said why
        if not self.stories.handles(ask):  # `/ask follow ...` and `/ask timeline ...` are handled there
            self.answer(ask)

    def _on_follow(self, body: dict[str, Any]) -> None:
        self.stories.follow_click(body)

    def _on_vote(self, body: dict[str, Any]) -> None:
        self.record_vote(body)

    # -- answering ---------------------------------------------------------------------------

    def answer(self, ask: SlackAsk) -> None:
        """Runs after the ack, in a worker thread. Never raises: a failure becomes a short
        message in the thread, and the process goes on serving."""
        request_id = uuid.uuid4().hex
        if not self._claim(ask, request_id):
            return
        if not ask.text:
            self.replies.plain(ask, HELP_TEXT)
            return
        channel = self.channels.for_channel(ask.channel)
        reply: Reply | None = None
        try:
            history = self.threads.history(ask.channel, ask.thread_ts) if ask.thread_ts else []
            reply = self.replies.placeholder(ask)
            if reply is None:
                return
            filters = channel.filters.to_filters()
            engine = self.engine_for(channel.collection)
            answer = engine.ask(ask.text, filters, channel.top_k, history=history, request_id=request_id)
        except Exception as exc:  # the core failed, whatever the reason: say so, keep serving
            self._log_failure(ask, request_id, exc)
            if reply is not None:
                self.replies.error(reply, request_id)
            return
        self.replies.answer(reply, ask, answer)
        log.info("answered %s in %s (request %s, mode %s%s, history %d)", ask.kind, ask.channel, answer.request_id,
                 answer.mode, ", degraded" if answer.degraded else "", len(history))
        if reply.ts is not None:  # an ephemeral answer has no thread to follow up in
            self._remember(ask, reply.ts, channel.collection, filters, answer)

    def claim(self, ask: SlackAsk, request_id: str) -> bool:
        return self._claim(ask, request_id)

    def claims_once(self, key: str) -> bool:
        """True for the one delivery of a click that acts on it (False for Slack's retries)."""
        try:
            return self.claims.claim(key, kind="click")
        except NewsdeskError as exc:
            log.warning("cannot record %s: %s", key, exc.message)
            return True

    def log_failure(self, ask: SlackAsk, request_id: str, exc: Exception) -> None:
        self._log_failure(ask, request_id, exc)

    def _claim(self, ask: SlackAsk, request_id: str) -> bool:
        """False when another delivery of this question (a retry, another process) has it."""
        try:
            if not self.claims.claim(ask.claim_key, kind=ask.kind):
                log.info("skipping %s %s: already handled", ask.kind, ask.claim_key)
                return False
        except NewsdeskError as exc:
            # Without the shared record a duplicate answer is possible; no answer is worse.
            log.warning("cannot record %s (request %s): %s", ask.claim_key, request_id, exc.message)
        return True

    def _remember(self, ask: SlackAsk, reply_ts: str, collection: str | None, filters: Filters,
                  answer: Answer) -> None:
        """Keep the answer for follow-ups in its thread and for votes on it."""
        try:
            self.threads.remember(
                channel=ask.channel, thread_ts=ask.thread_ts or reply_ts, question=ask.text, answer=answer,
                collection=collection or self.components.collection, filters=filters,
            )
        except NewsdeskError as exc:
            log.warning("answer %s delivered but not recorded: %s", answer.request_id, exc.message)

    def _log_failure(self, ask: SlackAsk, request_id: str, exc: Exception) -> None:
        if isinstance(exc, NewsdeskError):
            log.warning("answering failed (request %s, %s in %s): %s: %s", request_id, ask.kind, ask.channel,
                        type(exc).__name__, exc.message)
        else:
            log.error("answering failed (request %s, %s in %s): %s", request_id, ask.kind, ask.channel,
                      type(exc).__name__, exc_info=exc)

    # -- feedback ----------------------------------------------------------------------------

    def record_vote(self, body: dict[str, Any]) -> None:
        vote = Vote.from_click(body)
        try:
            if not record_vote(vote, self.threads, self.state_client, salt=self._salt):
                log.warning("feedback on unknown request %s ignored", vote.request_id)
                return
        except NewsdeskError as exc:
            log.warning("feedback on %s not recorded: %s", vote.request_id, exc.message)
            return
        log.info("feedback %s on request %s", vote.vote, vote.request_id)
        if vote.channel and vote.user:
            self.replies.thank(vote.channel, vote.user, vote.thread_ts, vote.vote)

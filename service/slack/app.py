"""The Slack bot: a slack-bolt `App` whose listeners ack at once and answer lazily.

    Slack ──► Bolt middleware (signature, auth) ──► ack() ──► HTTP 200 / socket ack
                                                       └──► lazy listener (thread pool):
        claim the message (dedupe) → thread history → placeholder (chat.postMessage)
        → AnswerEngine.ask → chat.update with Block Kit → remember the answer

It answers `app_mention` in channels, direct messages (`message.im`), replies in threads
it has answered (`message.channels`, unless the channel is mentions-only) and `/ask`.
No retrieval or model call happens before the ack, so Slack's 3-second limit holds
however slow the model is. The answering core is the same `AnswerEngine` the HTTP API
uses; nothing here answers questions itself.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from service.config import Settings
from service.errors import ConfigError, NewsdeskError, StoreUnavailableError
from service.feedback import hash_user, record_feedback
from service.models import Answer, Filters
from service.slack import blocks
from service.slack.channels import ChannelsConfig, load_channels
from service.slack.dedupe import EventClaims, command_key, message_key
from service.slack.logs import SECRETS, bolt_base_logger, bot_logger
from service.slack.threads import ThreadMemory

log = bot_logger()

COMMAND = "/ask"
HELP_TEXT = "Ask me about the news in the indexed articles, e.g. `@newsdesk Who replaced Ilya Sutskever at OpenAI?`"
MENTIONS_ONLY_TEXT = "In this channel I only answer when mentioned: `@newsdesk <your question>`."
USAGE_TEXT = f"Usage: `{COMMAND} <question>`, e.g. `{COMMAND} How much did Amazon invest in Anthropic?`"
_LEADING_MENTIONS = re.compile(r"^(?:\s*<@[A-Z0-9]+(?:\|[^>]*)?>\s*)+")
# Message subtypes that are still a person writing (everything else is an edit, a join, a bot...).
_PLAIN_SUBTYPES = {None, "thread_broadcast"}


@dataclass(frozen=True)
class Question:
    kind: str  # "mention" | "dm" | "thread" | "command"
    text: str
    channel: str
    team: str | None
    user: str
    claim_key: str
    thread_ts: str | None  # the thread to answer in; None: a new message (slash command)
    response_url: str | None = None


@dataclass(frozen=True)
class Reply:
    """Where the placeholder went, so the answer can replace it."""

    channel: str
    ts: str | None  # None: posted through the command's response_url, which cannot be edited
    response_url: str | None = None


class Engines:
    """The answering engine for each collection a channel may name, built once each and
    sharing the embedder and the Chroma client of the default one."""

    def __init__(self, components):
        self.components = components
        self._others: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, collection: str | None):
        if not collection or collection == self.components.collection:
            return self.components.engine
        with self._lock:
            if collection not in self._others:
                from service.components import Components

                base = self.components
                self._others[collection] = Components(base.settings, base.embedder, base.client, collection)
            return self._others[collection].engine


def question_text(text: str, bot_user_id: str | None) -> str:
    """The question without the mention that addressed it."""
    text = _LEADING_MENTIONS.sub("", text or "")
    if bot_user_id:
        text = text.replace(f"<@{bot_user_id}>", "")
    return " ".join(text.split())


def filters_dict(filters: Filters) -> dict[str, Any] | None:
    """Filters in the shape of an eval case's `filters`."""
    if filters.empty:
        return None

    def day(value):
        return value.date().isoformat() if value.hour == value.minute == value.second == 0 else value.isoformat()

    out: dict[str, Any] = {}
    if filters.published_after:
        out["published_after"] = day(filters.published_after)
    if filters.published_before:
        out["published_before"] = day(filters.published_before)
    if filters.outlets:
        out["sources"] = list(filters.outlets)
    if filters.article_ids:
        out["article_ids"] = list(filters.article_ids)
    return out


def check_settings(settings: Settings, *, http: bool) -> None:
    """What the bot cannot start without; checked before anything heavy is built."""
    if not (settings.slack_bot_token and settings.slack_bot_token.get_secret_value()):
        raise ConfigError("the Slack bot needs NEWSDESK_SLACK_BOT_TOKEN (the xoxb- token of the app)")
    if http and not (settings.slack_signing_secret and settings.slack_signing_secret.get_secret_value()):
        # Without it every request would pass as signed.
        raise ConfigError(
            "HTTP Events mode needs NEWSDESK_SLACK_SIGNING_SECRET to verify requests "
            "(or set NEWSDESK_SLACK_APP_TOKEN to run in Socket Mode)"
        )


def verify_token(settings: Settings) -> dict[str, Any]:
    """auth.test with the bot token, for a clear start-up error instead of a silent bot."""
    SECRETS.learn([settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None])
    client = web_client(settings, settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None)
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


class NewsdeskBot:
    """The bot's state and listeners; `.app` is the Bolt app to mount or run."""

    def __init__(
        self,
        settings: Settings,
        components,
        *,
        state_client=None,
        channels: ChannelsConfig | None = None,
        engine_for: Callable[[str | None], Any] | None = None,
        require_signing_secret: bool = True,
        max_workers: int = 8,
    ):
        bot_token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
        app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else None
        SECRETS.learn([bot_token, secret, app_token])
        check_settings(settings, http=require_signing_secret)
        self.settings = settings
        self.components = components
        self.state_client = state_client if state_client is not None else components.client
        self.channels = channels if channels is not None else load_channels(settings.slack_channels_file)
        self.engine_for = engine_for or Engines(components)
        if engine_for is None:
            self._check_collections()
        self.claims = EventClaims(self.state_client)
        self.threads = ThreadMemory(self.state_client)
        # Votes are grouped per reader by a keyed hash; the key never leaves the process.
        self._salt = secret or bot_token
        self.client = web_client(settings, bot_token)
        self.app = App(
            name="newsdesk",
            client=self.client,
            signing_secret=secret or "",
            # auth.test runs once, on the first request, not at construction: building
            # the bot (in the API's start-up, in tests) makes no network call.
            token_verification_enabled=False,
            # Ack first, work later: the listeners below only ack; the work is lazy.
            process_before_response=False,
            logger=bolt_base_logger(),
            listener_executor=ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="newsdesk-slack"),
        )
        self._register()

    def _check_collections(self) -> None:
        """A channel that names a collection nobody ingested into is a typo, not an empty
        index: say so at start-up rather than answer "not found" forever."""
        named = {(c, s.collection) for c, s in [("default", self.channels.default), *self.channels.channels.items()]
                 if s.collection and s.collection != self.components.collection}
        if not named:
            return
        try:
            existing = {getattr(c, "name", c) for c in self.components.client.list_collections()}
        except Exception as exc:
            raise StoreUnavailableError(f"cannot list the collections in the store: {exc}") from exc
        for channel, collection in sorted(named):
            if collection not in existing:
                raise ConfigError(
                    f"Slack channel {channel} answers from collection {collection!r}, which does not exist; "
                    f"create it with `newsdesk ingest --collection {collection} PATH...` or fix "
                    f"NEWSDESK_SLACK_CHANNELS_FILE"
                )

    # -- listeners ---------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.app

        def ack_now(ack):
            ack()

        def on_mention(body, context):
            event = body.get("event", {})
            if event.get("bot_id"):
                return
            text = question_text(event.get("text", ""), context.bot_user_id)
            self.answer(
                Question(
                    kind="mention", text=text, channel=event["channel"], team=body.get("team_id"),
                    user=event.get("user", ""),
                    claim_key=message_key(body.get("team_id"), event["channel"], event["ts"]),
                    thread_ts=event.get("thread_ts") or event["ts"],
                )
            )

        def on_message(body, context):
            event = body.get("event", {})
            if event.get("subtype") not in _PLAIN_SUBTYPES or event.get("bot_id"):
                return
            if not event.get("user") or event.get("user") == context.bot_user_id:
                return
            channel = event["channel"]
            mentioned = bool(context.bot_user_id) and f"<@{context.bot_user_id}>" in event.get("text", "")
            if event.get("channel_type") == "im":
                kind = "dm"
            elif event.get("thread_ts") and not mentioned:
                # A reply in a thread the bot answered is a follow-up, unless the channel wants
                # mentions only. A reply that mentions the bot comes as an app_mention too.
                if self.channels.for_channel(channel).mentions_only:
                    return
                try:
                    if not self.threads.thread(channel, event["thread_ts"]):
                        return
                except NewsdeskError as exc:
                    log.warning("cannot look up thread %s/%s: %s", channel, event["thread_ts"], exc.message)
                    return
                kind = "thread"
            else:
                return
            self.answer(
                Question(
                    kind=kind, text=question_text(event.get("text", ""), context.bot_user_id), channel=channel,
                    team=body.get("team_id"), user=event["user"],
                    claim_key=message_key(body.get("team_id"), channel, event["ts"]),
                    thread_ts=event.get("thread_ts") or event["ts"],
                )
            )

        def ack_command(ack, command):
            settings = self.channels.for_channel(command.get("channel_id"))
            if settings.mentions_only:
                ack(text=MENTIONS_ONLY_TEXT, response_type="ephemeral")
            elif not (command.get("text") or "").strip():
                ack(text=USAGE_TEXT, response_type="ephemeral")
            else:
                ack()

        def on_command(command):
            text = " ".join((command.get("text") or "").split())
            if not text or self.channels.for_channel(command.get("channel_id")).mentions_only:
                return  # the ack already said why
            self.answer(
                Question(
                    kind="command", text=text, channel=command["channel_id"], team=command.get("team_id"),
                    user=command.get("user_id", ""), claim_key=command_key(command["trigger_id"]),
                    thread_ts=None, response_url=command.get("response_url"),
                )
            )

        def on_feedback(body):
            self.record_vote(body)

        app.event("app_mention")(ack=ack_now, lazy=[on_mention])
        app.event("message")(ack=ack_now, lazy=[on_message])
        app.command(COMMAND)(ack=ack_command, lazy=[on_command])
        app.action(blocks.FEEDBACK_UP)(ack=ack_now, lazy=[on_feedback])
        app.action(blocks.FEEDBACK_DOWN)(ack=ack_now, lazy=[on_feedback])

    # -- answering ---------------------------------------------------------------------------

    def answer(self, q: Question) -> None:
        """Runs after the ack, in a worker thread. Never raises: a failure becomes a short
        message in the thread, and the process goes on serving."""
        request_id = uuid.uuid4().hex
        try:
            if not self.claims.claim(q.claim_key, kind=q.kind):
                log.info("skipping %s %s: already handled", q.kind, q.claim_key)
                return
        except NewsdeskError as exc:
            # Without the shared record a duplicate answer is possible; no answer is worse.
            log.warning("cannot record %s (request %s): %s", q.claim_key, request_id, exc.message)
        if not q.text:
            self._post_plain(q, HELP_TEXT)
            return
        channel = self.channels.for_channel(q.channel)
        reply: Reply | None = None
        try:
            history = self.threads.history(q.channel, q.thread_ts) if q.thread_ts else []
            reply = self._post_placeholder(q)
            if reply is None:
                return
            filters = channel.filters.to_filters()
            engine = self.engine_for(channel.collection)
            answer = engine.ask(q.text, filters, channel.top_k, history=history, request_id=request_id)
        except Exception as exc:  # the core failed, whatever the reason: say so, keep serving
            self._log_failure(q, request_id, exc)
            if reply is not None:
                self._finish(reply, q, blocks.error_blocks(request_id), blocks.error_text(request_id))
            return
        self._finish(reply, q, self._answer_blocks(q, answer), blocks.answer_text(answer))
        log.info("answered %s in %s (request %s, mode %s%s, history %d)", q.kind, q.channel, answer.request_id,
                 answer.mode, ", degraded" if answer.degraded else "", len(history))
        if reply.ts is None:
            return  # an ephemeral answer has no thread to follow up in
        try:
            self.threads.remember(
                channel=q.channel, thread_ts=q.thread_ts or reply.ts, question=q.text, answer=answer,
                collection=channel.collection or self.components.collection,
                filters=filters_dict(filters),
            )
        except NewsdeskError as exc:
            log.warning("answer %s delivered but not recorded: %s", answer.request_id, exc.message)

    def _answer_blocks(self, q: Question, answer: Answer) -> list[dict[str, Any]]:
        head = blocks.question_blocks(q.text, q.user) if q.kind == "command" else []
        return head + blocks.answer_blocks(answer)

    def _log_failure(self, q: Question, request_id: str, exc: Exception) -> None:
        if isinstance(exc, NewsdeskError):
            log.warning("answering failed (request %s, %s in %s): %s: %s", request_id, q.kind, q.channel,
                        type(exc).__name__, exc.message)
        else:
            log.error("answering failed (request %s, %s in %s): %s", request_id, q.kind, q.channel,
                      type(exc).__name__, exc_info=exc)

    def _post_placeholder(self, q: Question) -> Reply | None:
        head = blocks.question_blocks(q.text, q.user) if q.kind == "command" else []
        try:
            response = self.client.chat_postMessage(
                channel=q.channel, thread_ts=q.thread_ts, text=blocks.placeholder_text(q.text),
                blocks=head + blocks.placeholder_blocks(q.text), unfurl_links=False, unfurl_media=False,
            )
            return Reply(channel=response["channel"], ts=response["ts"])
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown error")
            if q.response_url:
                # /ask in a conversation the bot is not in: answer the asker privately.
                log.info("cannot post in %s (%s); answering through the command's response_url", q.channel, error)
                return Reply(channel=q.channel, ts=None, response_url=q.response_url)
            log.warning("cannot post in %s: %s", q.channel, error)
            return None

    def _finish(self, reply: Reply, q: Question, message_blocks: list[dict[str, Any]], text: str) -> None:
        if reply.ts is None:
            self._respond(reply.response_url, text, message_blocks)
            return
        try:
            self.client.chat_update(channel=reply.channel, ts=reply.ts, text=text, blocks=message_blocks)
        except SlackApiError as exc:
            # Blocks Slack refuses must not cost the reader the answer: send the text alone.
            log.warning("chat.update with blocks failed in %s: %s; sending text only", reply.channel,
                        exc.response.get("error", "unknown error"))
            try:
                self.client.chat_update(channel=reply.channel, ts=reply.ts, text=text, blocks=[])
            except SlackApiError as again:
                log.error("chat.update failed in %s: %s", reply.channel, again.response.get("error", "unknown error"))

    def _respond(self, response_url: str | None, text: str, message_blocks: list[dict[str, Any]]) -> None:
        if not response_url:
            return
        response = WebhookClient(response_url, logger=bot_logger()).send(
            text=text, blocks=message_blocks, response_type="ephemeral", replace_original=False,
        )
        if response.status_code >= 300:
            log.warning("response_url answer failed with HTTP %s", response.status_code)

    def _post_plain(self, q: Question, text: str) -> None:
        try:
            if q.thread_ts is None and q.response_url:
                self._respond(q.response_url, text, [blocks.section(text)])
            else:
                self.client.chat_postMessage(channel=q.channel, thread_ts=q.thread_ts, text=text)
        except SlackApiError as exc:
            log.warning("cannot post in %s: %s", q.channel, exc.response.get("error", "unknown error"))

    # -- feedback ----------------------------------------------------------------------------

    def record_vote(self, body: dict[str, Any]) -> None:
        action = (body.get("actions") or [{}])[0]
        vote = "up" if action.get("action_id") == blocks.FEEDBACK_UP else "down"
        request_id = action.get("value", "")
        user = body.get("user") or {}
        team = user.get("team_id") or (body.get("team") or {}).get("id")
        channel = (body.get("channel") or {}).get("id")
        try:
            answered = self.threads.get(request_id)
            if answered is None:
                log.warning("feedback on unknown request %s ignored", request_id)
                return
            record_feedback(
                self.state_client, request_id=request_id, question=answered.question, answer=answered.answer,
                citations=answered.citations, user_hash=hash_user(team, user.get("id", ""), self._salt),
                vote=vote, answerable=answered.answerable, filters=answered.filters,
                collection=answered.collection,
            )
        except NewsdeskError as exc:
            log.warning("feedback on %s not recorded: %s", request_id, exc.message)
            return
        log.info("feedback %s on request %s", vote, request_id)
        if channel and user.get("id"):
            thread_ts = (body.get("container") or {}).get("thread_ts") or (body.get("message") or {}).get("thread_ts")
            try:
                self.client.chat_postEphemeral(
                    channel=channel, user=user["id"], thread_ts=thread_ts,
                    text=f"Thanks, your {'👍' if vote == 'up' else '👎'} on this answer was recorded.",
                )
            except SlackApiError as exc:
                log.info("cannot thank for feedback in %s: %s", channel, exc.response.get("error", "unknown error"))

"""Follows and timelines in Slack: a follow's notices posted by the bot (`SlackNotifier`,
the "slack" notifier the follower delivers through), and the Block Kit of notices,
timelines and the "following" confirmation, as pure functions.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from service.answer.timeline import format_date
from service.config import Settings
from service.follows.delivery import Notifier
from service.follows.notices import Notice
from service.follows.records import Follow
from service.follows.webhooks import DeliveryError
from service.models import Citation, Timeline
from service.slack import blocks
from service.slack.blocks import Block, context, escape, link, section, truncate
from service.slack.connection import secret, web_client

# Slack errors that another attempt cannot fix: the notice fails for good.
PERMANENT = frozenset({"channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive",
                       "token_revoked", "missing_scope", "invalid_blocks", "msg_too_long", "restricted_action"})
MAX_STEPS_SHOWN = 40


def _citation(data: dict[str, Any]) -> Citation:
    return Citation(n=data["n"], article_id=data["article_id"], title=data.get("title", ""), outlet=data.get("source"),
                    url=data.get("url"), published_at=data.get("published_at"), quote=data.get("quote", ""),
                    start=data.get("start", 0), end=data.get("end", 0), score=data.get("score", 0.0))


def notice_blocks(notice: Notice) -> list[Block]:
    """'The answer changed' with what changed, the new answer and its sources."""
    answer = notice.answer
    out = [section(f":bell: *The answer changed:* _{escape(truncate(notice.question, 500))}_"),
           section("\n".join(f"• {escape(c['text'])}" for c in notice.changes)),
           section(escape(answer.get("answer", "")))]
    groups = blocks.group_citations([_citation(c) for c in answer.get("citations", [])])[: blocks.MAX_SOURCES]
    if groups:
        out += [{"type": "divider"}, section("*Sources*"), *(section(blocks.source_text(g)) for g in groups)]
    out.append(context(f"follow `{notice.follow_id}` · notice `{notice.notice_id}`"))
    return out


def notice_text(notice: Notice) -> str:
    return truncate(f"The answer changed: {notice.question} — {notice.summary}", blocks.FALLBACK_LIMIT)


def following_blocks(follow: Follow, answer_blocks: list[Block]) -> list[Block]:
    """The confirmation of a new follow, above its answer now."""
    return [section(f":bell: *Following:* _{escape(truncate(follow.question, 500))}_\n"
                    "I'll post in this thread when the answer changes: a new source, a different figure or "
                    "name, a correction, or an answer where there was none."),
            *answer_blocks[:-1],  # without the feedback buttons: the thread is about the follow
            context(f"follow `{follow.follow_id}` · stop with `newsdesk follow remove {follow.follow_id}`")]


def timeline_blocks(timeline: Timeline) -> list[Block]:
    """One section a step: its date, its quote, the article linked; corrections marked."""
    if not timeline.steps:
        return [section(f"No indexed articles tell the story of _{escape(truncate(timeline.topic, 500))}_.")]
    out = [section(f":spiral_calendar_pad: *How {escape(truncate(timeline.topic, 300))} developed*, oldest first")]
    for n, step in enumerate(timeline.steps[:MAX_STEPS_SHOWN], start=1):
        c = step.citation
        when = format_date(step.date) or "Undated"
        mark = ":pencil2: *Correction* · " if step.corrects else ""
        copies = f" · also {escape(', '.join(r.outlet or r.title for r in step.copies))}" if step.copies else ""
        meta = escape(" · ".join(x for x in (c.outlet, (c.published_at or "")[:10]) if x))
        out.append(section(f"*{when}* [{n}]  {mark}{escape(step.note or '')}\n{blocks.quote_block(c.quote)}\n"
                           f"{link(c.url, truncate(c.title or c.article_id, 200))} · {meta}{copies}"))
    return out[:49]


def timeline_text(timeline: Timeline) -> str:
    return truncate(f"How {timeline.topic} developed: {len(timeline.steps)} step(s)", blocks.FALLBACK_LIMIT)


class SlackNotifier:
    """Posts a follow's notice in its channel (and thread); `DeliveryError` when Slack refuses."""

    def __init__(self, client: WebClient):
        self.client = client

    def __call__(self, follow: Follow, notice: Notice, attempt: int) -> None:
        channel = follow.notify.slack_channel
        if not channel:
            raise DeliveryError("the follow has no Slack channel", retryable=False)
        try:
            self.client.chat_postMessage(channel=channel, thread_ts=follow.notify.slack_thread_ts,
                                         text=notice_text(notice), blocks=notice_blocks(notice),
                                         unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown_error")
            retry_after = exc.response.headers.get("Retry-After") if exc.response.headers else None
            raise DeliveryError(f"Slack refused the notice: {error}", retryable=error not in PERMANENT,
                                retry_after=float(retry_after) if retry_after and str(retry_after).isdigit() else None) \
                from None
        except Exception as exc:  # unreachable Web API: another attempt may reach it
            raise DeliveryError(f"Slack unreachable: {type(exc).__name__}", retryable=True) from None


def slack_notifiers(settings: Settings) -> dict[str, Notifier]:
    """{"slack": a notifier} when the bot has a token, for whoever runs the follower."""
    token = secret(settings.slack_bot_token)
    return {"slack": SlackNotifier(web_client(settings, token))} if token else {}

"""Following and timelines from Slack: `/ask follow`, the 🔔 Follow button, `/ask timeline`,
and a follow's notice posted in its thread through the fake Slack Web API."""

from __future__ import annotations

import pytest

from service.collections import Collections
from service.components import Components
from service.follows.running import build_follows
from service.slack import blocks
from service.slack.notices import slack_notifiers
from service.slack.stories import subcommand
from tests.follows import stories

from .conftest import mention, slack_settings


def texts(message_blocks) -> str:
    out = []
    for block in message_blocks:
        if "text" in block:
            out.append(block["text"]["text"])
        out.extend(e.get("text", "") if isinstance(e.get("text"), str) else e.get("text", {}).get("text", "")
                   for e in block.get("elements", []))
    return "\n".join(out)


@pytest.fixture
def story_bot(driver, tmp_path, fake_slack, embedder):
    settings = slack_settings(tmp_path, fake_slack, index_dir=tmp_path / "stories")
    components = Components.build(settings, embedder=embedder)
    components.ingester.ingest([stories.BRIDGE, stories.ACADEMY, stories.FERRY])
    slack, bot = driver(components=components, settings=settings)
    return slack, bot, components


@pytest.mark.parametrize(("text", "found"), [
    ("follow How much will it cost?", ("follow", "How much will it cost?")),
    ("Timeline   the EU AI Act ", ("timeline", "the EU AI Act")),
    ("How do I follow the news?", None), ("follow", None),
])
def test_subcommands(text, found):
    assert subcommand(text) == found


def test_ask_follow_answers_now_and_follows_in_that_thread(story_bot, fake_slack):
    slack, bot, _ = story_bot
    assert slack.command(f"follow {stories.BRIDGE_Q}").status_code == 200
    (update,) = fake_slack.wait_updates(1)
    body = texts(update.payload["blocks"])
    assert "*Following:*" in body and "$12 million" in body and "follow `fl_" in body
    (follow,) = bot.follows.desk.list_follows()
    placeholder = fake_slack.posts()[0]
    assert follow.question == stories.BRIDGE_Q
    assert follow.notify.slack_channel == "C0NEWS" and follow.notify.slack_thread_ts == placeholder.response["ts"]


def test_a_notice_is_posted_in_the_follows_thread(story_bot, fake_slack, tmp_path):
    slack, bot, components = story_bot
    slack.command(f"follow {stories.BRIDGE_Q}")
    fake_slack.wait_updates(1)
    thread = fake_slack.posts()[0].response["ts"]
    replica = build_follows(bot.settings, Collections(components), notifiers=slack_notifiers(bot.settings))
    replica.follower.poll()
    components.ingester.ingest([stories.BRIDGE_FIX])
    [notice] = [n for b in replica.follower.poll() for n in b.notices]
    replica.deliveries.step()
    fake_slack.wait_for(lambda s: len(s.posts()) == 2)
    post = fake_slack.posts()[-1]
    assert post.payload["channel"] == "C0NEWS" and post.payload["thread_ts"] == thread
    body = texts(post.payload["blocks"])
    assert "*The answer changed:*" in body and "Corrected: $12 million → $21 million [" in body
    assert notice.notice_id in body and "Correction: Elm Street Bridge" in body
    assert replica.deliveries.notices.get(notice.notice_id).status == "sent"


def test_the_follow_button_follows_an_answer_in_its_thread(story_bot, fake_slack):
    slack, bot, _ = story_bot
    event = mention(stories.BRIDGE_Q)
    slack.event(event)
    (update,) = fake_slack.wait_updates(1)
    follow_block = next(b for b in update.payload["blocks"] if b.get("block_id") == "newsdesk_follow")
    assert follow_block["accessory"]["action_id"] == blocks.FOLLOW
    request_id = follow_block["accessory"]["value"]
    slack.click(blocks.FOLLOW, request_id, thread_ts=event["ts"])
    fake_slack.wait_for(lambda s: s.of("chat.postEphemeral"))
    (note,) = fake_slack.of("chat.postEphemeral")
    assert note.payload["text"].startswith(f"Following: {stories.BRIDGE_Q}")
    (follow,) = bot.follows.desk.list_follows()
    assert follow.notify.slack_thread_ts == event["ts"] and follow.baseline.answerable


def test_ask_timeline_lists_dated_cited_steps(driver, fake_slack):
    slack, _ = driver()
    slack.command("timeline Claude 3.5 Sonnet launch and pricing")
    (update,) = fake_slack.wait_updates(1)
    body = texts(update.payload["blocks"])
    assert "*How Claude 3.5 Sonnet launch and pricing developed*" in body
    assert "*June 20, 2024* [1]" in body and ":pencil2: *Correction* · Corrected: $5 → $3" in body
    assert "<https://siliconcurrent.example/" in body

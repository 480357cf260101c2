"""What a Slack payload asks: pure functions, no Slack, no store."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from service.slack.asks import command_ask, mention_ask, message_ask, message_kind, question_text
from service.slack.votes import Vote

from .conftest import BOT_USER, TEAM, action_body, command_body, mention, message


def body(event):
    return {"team_id": TEAM, "event": event}


def test_the_mention_that_addressed_the_bot_is_not_part_of_the_question():
    assert question_text(f"<@{BOT_USER}>  Who   won? ", BOT_USER) == "Who won?"
    assert question_text(f"<@U0OTHER|someone> <@{BOT_USER}> Who won?", BOT_USER) == "Who won?"
    assert question_text(f"Did <@{BOT_USER}> see this?", BOT_USER) == "Did see this?"


def test_a_mention_is_answered_in_its_own_thread_and_keyed_by_its_message():
    event = mention("Who won?")
    ask = mention_ask(body(event), BOT_USER)
    assert ask is not None and ask.kind == "mention" and ask.text == "Who won?"
    assert ask.thread_ts == event["ts"] and ask.claim_key == f"msg:{TEAM}:{event['channel']}:{event['ts']}"
    assert mention_ask(body({**event, "bot_id": "B0OTHER"}), BOT_USER) is None


@pytest.mark.parametrize(("event", "kind"), [
    (message("hi"), "dm"),
    (message("more?", channel="C0NEWS", channel_type="channel", thread_ts="1.0"), "thread"),
    (message(f"<@{BOT_USER}> more?", channel="C0NEWS", channel_type="channel", thread_ts="1.0"), None),
    (message("not in a thread", channel="C0NEWS", channel_type="channel"), None),
    (message("edited", subtype="message_changed"), None),
    (message("from a bot", bot_id="B0OTHER"), None),
    (message("my own", user=BOT_USER), None),
    (message("broadcast", channel="C0NEWS", channel_type="channel", thread_ts="1.0", subtype="thread_broadcast"),
     "thread"),
])
def test_which_messages_are_questions(event, kind):
    assert message_kind(event, BOT_USER) == kind


def test_a_reply_is_answered_in_the_thread_it_was_written_in():
    event = message("and then?", channel="C0NEWS", channel_type="channel", thread_ts="1700000000.000100")
    ask = message_ask(body(event), "thread", BOT_USER)
    assert ask.thread_ts == "1700000000.000100" and ask.user == "U0READER" and ask.team == TEAM


def test_a_command_has_no_thread_and_is_keyed_by_its_trigger():
    command = dict(urllib.parse.parse_qsl(command_body("  How much   did Amazon invest? ")))
    ask = command_ask(command)
    assert ask.kind == "command" and ask.text == "How much did Amazon invest?" and ask.thread_ts is None
    assert ask.claim_key == f"trigger:{command['trigger_id']}" and ask.response_url == command["response_url"]


def test_a_click_names_the_answer_the_reader_and_the_thread():
    payload = json.loads(dict(urllib.parse.parse_qsl(action_body("feedback_down", "req1", thread_ts="1.5")))["payload"])
    assert Vote.from_click(payload) == Vote(vote="down", request_id="req1", user="U0READER", team=TEAM,
                                            channel="C0NEWS", thread_ts="1.5")

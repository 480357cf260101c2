"""The bot end to end over HTTP Events: signed requests in, Web API calls out (recorded by
the fake Slack), answers from the real answering core over the sample corpus."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest

from service.errors import StoreUnavailableError
from service.slack.blocks import EXTRACTIVE_NOTE, FEEDBACK_DOWN, FEEDBACK_UP

from .conftest import (
    APP_TOKEN,
    BOT_TOKEN,
    FORM,
    SIGNING_SECRET,
    VERIFICATION_TOKEN,
    command_body,
    mention,
    message,
    signed_headers,
)

QUESTION = "Who replaced Ilya Sutskever as OpenAI's chief scientist?"
SUTSKEVER_URL = "https://bayline-tech.example/news/2024/05/15/sutskever-leaves-openai"


def texts(blocks: list[dict]) -> str:
    """All the mrkdwn/plain text of a message's blocks, for assertions."""
    out = []
    for block in blocks:
        if "text" in block:
            out.append(block["text"]["text"])
        for element in block.get("elements", []):
            out.append(element["text"] if isinstance(element["text"], str) else element["text"]["text"])
    return "\n".join(out)


def answer_of(call) -> tuple[str, list[dict]]:
    return call.payload["text"], call.payload["blocks"]


class RecordingEngine:
    """The real engine, with the arguments of every call kept for assertions."""

    def __init__(self, engine):
        self.engine = engine
        self.calls: list[dict] = []

    def ask(self, question, filters, top_k=None, history=(), request_id=None):
        self.calls.append({"question": question, "filters": filters, "top_k": top_k, "history": list(history)})
        return self.engine.ask(question, filters, top_k, history=history, request_id=request_id)


def test_mention_is_answered_in_its_thread_with_sources(driver, fake_slack):
    slack, _ = driver()
    event = mention(QUESTION)
    response = slack.event(event)
    assert response.status_code == 200

    (update,) = fake_slack.wait_updates(1)
    (placeholder,) = fake_slack.posts()
    # The placeholder goes in the thread of the mention, and the answer replaces it.
    assert placeholder.payload["channel"] == "C0NEWS"
    assert placeholder.payload["thread_ts"] == event["ts"]
    assert "Looking through the articles" in placeholder.payload["text"]
    assert placeholder.authorization == f"Bearer {BOT_TOKEN}"
    assert update.payload["channel"] == "C0NEWS"
    assert update.payload["ts"] == placeholder.response["ts"]

    text, blocks = answer_of(update)
    body = texts(blocks)
    assert "Pachocki" in text
    assert "[1]" in blocks[0]["text"]["text"]  # citation numbers in the answer text
    assert EXTRACTIVE_NOTE in body  # the sample index has no LLM: said plainly
    assert f"<{SUTSKEVER_URL}|" in body  # the cited source, linked
    assert "Bayline Tech" in body and "2024-05-15" in body
    assert any(b["type"] == "section" and b["text"]["text"].split("\n")[-1].startswith("> ") for b in blocks)
    buttons = [b for b in blocks if b["type"] == "actions"][0]["elements"]
    assert [b["action_id"] for b in buttons] == [FEEDBACK_UP, FEEDBACK_DOWN]
    request_id = buttons[0]["value"]
    assert len(request_id) == 32 and f"request `{request_id}`" in body
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if "text" in b)


def test_direct_message_is_answered(driver, fake_slack):
    slack, _ = driver()
    event = message("How much did Amazon invest in Anthropic in November 2024?", channel="D0READER")
    assert slack.event(event).status_code == 200

    (update,) = fake_slack.wait_updates(1)
    (placeholder,) = fake_slack.posts()
    assert placeholder.payload["channel"] == "D0READER"
    assert placeholder.payload["thread_ts"] == event["ts"]
    assert "4 billion" in update.payload["text"]
    assert "harborview-daily.example/business/2024/11/22/amazon-anthropic-8-billion|" in texts(update.payload["blocks"])


def test_bot_messages_and_edits_are_ignored(driver, fake_slack):
    slack, _ = driver()
    assert slack.event(message("I am the bot", user="U0NEWSBOT", bot_id="B0NEWSBOT")).status_code == 200
    assert slack.event(message("edited", subtype="message_changed")).status_code == 200
    # A plain channel message outside any answered thread is not for the bot either.
    assert slack.event(message("lunch?", channel="C0NEWS", channel_type="channel")).status_code == 200
    slack.event(mention(QUESTION))  # a marker: once this is answered, the others were skipped
    fake_slack.wait_updates(1)
    assert len(fake_slack.posts()) == 1


def test_slash_command_acks_then_posts_and_updates(driver, fake_slack):
    slack, _ = driver()
    started = time.monotonic()
    response = slack.command("How many transistors does Nvidia's Blackwell B200 chip have?")
    assert response.status_code == 200
    assert time.monotonic() - started < 3

    (update,) = fake_slack.wait_updates(1)
    (placeholder,) = fake_slack.posts()
    assert placeholder.payload["channel"] == "C0NEWS"
    assert "thread_ts" not in placeholder.payload or placeholder.payload["thread_ts"] is None
    assert "<@U0READER> asked" in texts(placeholder.payload["blocks"])
    assert "208 billion" in update.payload["text"]
    assert "<@U0READER> asked" in texts(update.payload["blocks"])


def test_slash_command_without_question_gets_usage(driver, fake_slack):
    slack, _ = driver()
    response = slack.command("  ")
    assert response.status_code == 200
    assert "Usage" in response.json()["text"] and response.json()["response_type"] == "ephemeral"
    time.sleep(0.3)
    assert fake_slack.posts() == []


def test_slash_command_where_the_bot_cannot_post_answers_privately(driver, fake_slack):
    slack, _ = driver()
    fake_slack.fail("chat.postMessage", "channel_not_found", channel="G0PRIVATE")
    response = slack.command(QUESTION, channel="G0PRIVATE", response_url=fake_slack.response_url_base + "abc")
    assert response.status_code == 200
    fake_slack.wait_for(lambda s: s.of("response_url"))
    (reply,) = fake_slack.of("response_url")
    assert reply.payload["response_type"] == "ephemeral"
    assert "Pachocki" in reply.payload["text"]
    assert fake_slack.updates() == []


def test_follow_up_in_a_thread_carries_the_earlier_question(driver, fake_slack, sample_index):
    engine = RecordingEngine(sample_index.engine)
    slack, _ = driver(engine_for=lambda collection: engine)
    first = mention(QUESTION)
    slack.event(first)
    fake_slack.wait_updates(1)

    # A mention in the same thread is a follow-up ...
    slack.event(mention("When was his departure announced?", thread_ts=first["ts"]))
    fake_slack.wait_updates(2)
    # ... and so is a plain reply in that thread, without a mention.
    slack.event(message("And who is Jakub Pachocki?", channel="C0NEWS", channel_type="channel",
                        thread_ts=first["ts"]))
    updates = fake_slack.wait_updates(3)

    assert [c["history"] for c in engine.calls] == [
        [], [QUESTION], [QUESTION, "When was his departure announced?"],
    ]
    assert all(p.payload["thread_ts"] == first["ts"] for p in fake_slack.posts())
    assert "Sutskever" in updates[1].payload["text"] or "May" in updates[1].payload["text"]


def test_follow_up_after_a_slash_command_answer(driver, fake_slack, sample_index):
    engine = RecordingEngine(sample_index.engine)
    slack, _ = driver(engine_for=lambda collection: engine)
    slack.command(QUESTION)
    fake_slack.wait_updates(1)
    answer_ts = fake_slack.posts()[0].response["ts"]
    assert fake_slack.updates()[0].payload["ts"] == answer_ts

    slack.event(mention("What was his role before?", thread_ts=answer_ts))
    fake_slack.wait_updates(2)
    assert engine.calls[1]["history"] == [QUESTION]
    assert fake_slack.posts()[1].payload["thread_ts"] == answer_ts


def test_a_retried_event_is_answered_once(driver, fake_slack):
    slack, _ = driver()
    event = mention(QUESTION)
    assert slack.event(event, event_id="Ev0RETRY01").status_code == 200
    # Slack's retry: same event_id, same payload, X-Slack-Retry-Num set.
    assert slack.event(event, event_id="Ev0RETRY01", retry=1).status_code == 200
    assert slack.event(event, event_id="Ev0RETRY01", retry=2).status_code == 200
    fake_slack.wait_updates(1)
    time.sleep(1.0)  # give a duplicate every chance to show up
    assert len(fake_slack.posts()) == 1
    assert len(fake_slack.updates()) == 1


@pytest.mark.server
def test_two_bot_processes_receiving_the_same_event_answer_once(driver, fake_slack, chroma_server):
    """Two bots sharing nothing but a `chroma run` server, as two processes would."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    host, port = chroma_server

    def client():
        return chromadb.HttpClient(host=host, port=port, settings=ChromaSettings(anonymized_telemetry=False))

    one, bot_one = driver(client=client())
    two, bot_two = driver(client=client())
    assert bot_one.claims.collection is not bot_two.claims.collection

    event = mention(QUESTION)
    barrier = threading.Barrier(2)
    statuses = []

    def deliver(slack):
        barrier.wait()
        statuses.append(slack.event(event, event_id="Ev0TWOPROCS").status_code)

    threads = [threading.Thread(target=deliver, args=(s,)) for s in (one, two)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200, 200]
    fake_slack.wait_updates(1)
    time.sleep(1.5)
    assert len(fake_slack.posts()) == 1
    assert len(fake_slack.updates()) == 1
    assert "Pachocki" in fake_slack.updates()[0].payload["text"]


def test_bad_signature_gets_401_and_no_answer(driver, fake_slack):
    slack, _ = driver()
    from .conftest import event_body

    body = event_body(mention(QUESTION))
    response = slack.raw(body, secret="not-the-signing-secret")
    assert response.status_code == 401
    # A body changed after signing fails the same way.
    headers = signed_headers(body, content_type="application/json")
    response = slack.http.post("/slack/events", content=body.replace("Sutskever", "Altman"), headers=headers)
    assert response.status_code == 401
    response = slack.http.post("/slack/events", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    time.sleep(0.5)
    assert fake_slack.calls == []


def test_stale_timestamp_gets_401_and_no_answer(driver, fake_slack):
    slack, _ = driver()
    six_minutes_ago = int(time.time()) - 6 * 60
    body = command_body(QUESTION)
    response = slack.raw(body, content_type=FORM, timestamp=six_minutes_ago)
    assert response.status_code == 401
    from .conftest import event_body

    response = slack.raw(event_body(mention(QUESTION)), timestamp=six_minutes_ago)
    assert response.status_code == 401
    time.sleep(0.5)
    assert fake_slack.calls == []


class FailingOnceEngine:
    def __init__(self, engine, error: Exception):
        self.engine = engine
        self.error = error
        self.failed = False

    def ask(self, *args, **kwargs):
        if not self.failed:
            self.failed = True
            raise self.error
        return self.engine.ask(*args, **kwargs)


@pytest.mark.parametrize("error", [
    StoreUnavailableError("cannot query collection 'newsdesk': connection refused"),
    RuntimeError(f"unexpected failure holding {BOT_TOKEN}"),
])
def test_answering_failure_gets_a_friendly_message_and_the_bot_keeps_serving(driver, fake_slack, sample_index,
                                                                              caplog, error):
    caplog.set_level(logging.INFO)
    engine = FailingOnceEngine(sample_index.engine, error)
    slack, _ = driver(engine_for=lambda collection: engine)
    slack.event(mention(QUESTION))
    (failed,) = fake_slack.wait_updates(1)
    text = failed.payload["text"]
    assert text.startswith("Sorry, I couldn't answer that (request ")
    assert text.endswith("). Please try again in a moment.")
    request_id = text.split("(request ")[1].split(")")[0]
    assert len(request_id) == 32
    assert BOT_TOKEN not in json.dumps(failed.payload) and "connection refused" not in text
    assert any(request_id in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)

    slack.event(mention(QUESTION))
    updates = fake_slack.wait_updates(2)
    assert "Pachocki" in updates[1].payload["text"]
    assert BOT_TOKEN not in caplog.text


def test_secrets_never_reach_logs_or_messages(driver, fake_slack, caplog, tmp_path):
    from .conftest import slack_settings

    caplog.set_level(logging.DEBUG)
    slack, _ = driver(settings=slack_settings(tmp_path, fake_slack, slack_app_token=APP_TOKEN))
    slack.event(mention(QUESTION))
    slack.command("What did Microsoft hire Mustafa Suleyman to do?")
    slack.raw(command_body(QUESTION), content_type=FORM, secret="wrong-secret-000")  # Bolt logs the body
    fake_slack.wait_updates(2)
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    sent = json.dumps([c.payload for c in fake_slack.calls])
    assert "Invalid request signature" in caplog.text  # the rejected body was logged ...
    for secret in (BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, VERIFICATION_TOKEN):
        assert secret not in logged  # ... without the verification token in it
        assert secret not in sent


def test_mentions_only_channel(driver, fake_slack, tmp_path):
    from service.slack.channels import load_channels

    path = tmp_path / "channels.yaml"
    path.write_text("channels:\n  C0QUIET:\n    mentions_only: true\n")
    slack, _ = driver(channels=load_channels(path))
    response = slack.command(QUESTION, channel="C0QUIET")
    assert response.status_code == 200
    assert "only answer when mentioned" in response.json()["text"]

    first = mention(QUESTION, channel="C0QUIET")
    slack.event(first)
    fake_slack.wait_updates(1)
    # No follow-up without a mention in a mentions-only channel.
    slack.event(message("and then?", channel="C0QUIET", channel_type="channel", thread_ts=first["ts"]))
    time.sleep(1.0)
    assert len(fake_slack.posts()) == 1


def test_channel_settings_choose_filters_and_top_k(driver, fake_slack, sample_index, tmp_path):
    from service.slack.channels import load_channels

    path = tmp_path / "channels.yaml"
    path.write_text(
        "default:\n  top_k: 4\n"
        "channels:\n  C0MARKETS:\n    filters:\n      sources: [Meridian Press Agency]\n"
        "      published_after: 2025-01-01\n    top_k: 3\n"
    )
    engine = RecordingEngine(sample_index.engine)
    slack, _ = driver(channels=load_channels(path), engine_for=lambda collection: engine)
    slack.event(mention("What revenue did Nvidia report?", channel="C0MARKETS"))
    slack.event(mention(QUESTION, channel="C0OTHER"))
    fake_slack.wait_updates(2)
    by_question = {c["question"]: c for c in engine.calls}
    markets = by_question["What revenue did Nvidia report?"]
    assert markets["filters"].outlets == ("Meridian Press Agency",)
    assert markets["filters"].published_after.year == 2025 and markets["top_k"] == 3
    assert by_question[QUESTION]["filters"].empty and by_question[QUESTION]["top_k"] == 4


def test_a_bare_mention_gets_help(driver, fake_slack):
    slack, _ = driver()
    event = mention("")
    slack.event(event)
    fake_slack.wait_for(lambda s: s.posts())
    (post,) = fake_slack.posts()
    assert post.payload["thread_ts"] == event["ts"] and "Ask me" in post.payload["text"]


def test_a_channel_can_answer_from_its_own_collection(driver, fake_slack, components, tmp_path):
    from service.components import Components
    from service.slack.channels import load_channels

    from ..conftest import make_article

    components.ingester.ingest([make_article("nv1")])
    markets = Components(components.settings, components.embedder, components.client, "markets")
    markets.ingester.ingest([make_article(
        "fed1", title="Fed holds rates", url="https://markets.example/fed-holds", outlet="Markets Wire",
        text="The Federal Reserve held its benchmark interest rate steady at 4.5 percent on Wednesday. "
             "Officials said inflation remained too high to justify a cut this spring.",
    )])
    path = tmp_path / "channels.yaml"
    path.write_text("channels:\n  C0MARKETS:\n    collection: markets\n")
    slack, _ = driver(components=components, channels=load_channels(path))
    question = "What did the Federal Reserve do with its interest rate?"
    slack.event(mention(question, channel="C0MARKETS"))
    slack.event(mention(question, channel="C0OTHER"))
    updates = {u.payload["channel"]: u for u in fake_slack.wait_updates(2)}
    assert "<https://markets.example/fed-holds|Fed holds rates>" in texts(updates["C0MARKETS"].payload["blocks"])
    assert "markets.example" not in texts(updates["C0OTHER"].payload["blocks"])


def test_a_channel_naming_a_missing_collection_stops_start_up(driver, tmp_path):
    from service.errors import ConfigError
    from service.slack.channels import load_channels

    path = tmp_path / "channels.yaml"
    path.write_text("channels:\n  C0TYPO:\n    collection: makrets\n")
    with pytest.raises(ConfigError, match="C0TYPO answers from collection 'makrets', which does not exist"):
        driver(channels=load_channels(path))


def test_the_bot_answers_from_the_collections_it_is_given(make_bot, sample_index):
    """Mounted beside the API, the bot shares its `Collections`: one engine per collection."""
    from service.collections import Collections

    collections = Collections(sample_index)
    bot = make_bot(collections=collections)
    assert bot.collections is collections and bot.engine_for(None) is sample_index.engine

"""👍/👎 buttons: a click is recorded for the eval suite, which reads it back as cases."""

from __future__ import annotations

import json

from service.cli import main
from service.feedback import (
    feedback_cases,
    hash_user,
    read_feedback,
    record_feedback,
)

from .conftest import TEAM, mention

QUESTION = "How much did Amazon invest in Anthropic in November 2024?"


def answered(slack, fake_slack, question=QUESTION):
    event = mention(question)
    slack.event(event)
    (update,) = fake_slack.wait_updates(len(fake_slack.updates()) + 1)[-1:]
    buttons = [b for b in update.payload["blocks"] if b["type"] == "actions"][0]["elements"]
    return event, buttons[0]["value"]


def test_clicks_are_recorded_with_the_answer_and_a_hashed_user(driver, fake_slack, state_client):
    slack, bot = driver()
    event, request_id = answered(slack, fake_slack)
    assert read_feedback(state_client) == []

    response = slack.click("feedback_up", request_id, thread_ts=event["ts"])
    assert response.status_code == 200
    fake_slack.wait_for(lambda s: s.of("chat.postEphemeral"))
    (thanks,) = fake_slack.of("chat.postEphemeral")
    assert thanks.payload["user"] == "U0READER" and thanks.payload["thread_ts"] == event["ts"]

    (record,) = read_feedback(state_client)
    assert record["request_id"] == request_id
    assert record["question"] == QUESTION
    assert "4 billion" in record["answer"]
    assert record["citations"] and record["citations"][0]["article_id"] == "harborview-2024-11-22-amazon-anthropic-4-billion"
    assert record["vote"] == "up"
    assert record["user_hash"] == hash_user(TEAM, "U0READER", bot._salt)
    assert "U0READER" not in json.dumps(record)

    # Changing one's mind replaces the vote; another reader adds one.
    slack.click("feedback_down", request_id)
    slack.click("feedback_up", request_id, user="U0OTHER")
    fake_slack.wait_for(lambda s: len(s.of("chat.postEphemeral")) == 3)
    votes = sorted((r["user_hash"] == record["user_hash"], r["vote"]) for r in read_feedback(state_client))
    assert votes == [(False, "up"), (True, "down")]


def test_a_click_on_an_unknown_answer_is_ignored(driver, fake_slack, state_client, caplog):
    slack, _ = driver()
    assert slack.click("feedback_up", "0" * 32).status_code == 200
    fake_slack.wait_for(lambda s: "feedback on unknown request" in caplog.text, timeout=20)
    assert read_feedback(state_client) == []
    assert fake_slack.of("chat.postEphemeral") == []


def test_feedback_becomes_eval_cases():
    up = dict(request_id="a" * 32, question="Q?", answer="A [1].", answerable=True,
              citations=[{"article_id": "x1"}, {"article_id": "x2"}, {"article_id": "x1"}],
              filters={"sources": ["Test Wire"]}, user_hash="f" * 64, vote="up", ts=1.0)
    down = {**up, "request_id": "b" * 32, "vote": "down"}
    refusal = {**up, "request_id": "c" * 32, "answerable": False, "citations": []}
    cases = feedback_cases([up, down, refusal])
    assert cases[0] == {
        "id": "feedback-aaaaaaaaaaaa-ffffffff", "question": "Q?", "filters": {"sources": ["Test Wire"]},
        "expected_sources": ["x1", "x2"], "expected_facts": [], "must_refuse": False,
        "must_mention_conflict": False, "tags": ["feedback", "up"], "scripted": None, "adversarial": None,
    }
    assert cases[1]["expected_sources"] == [] and cases[1]["tags"] == ["feedback", "down"]
    assert cases[2]["must_refuse"] is True
    # The same keys as the hand-written cases, so the eval suite loads them alike.
    from service.config import DEFAULT_EVALS_DIR

    shipped = json.loads((DEFAULT_EVALS_DIR / "cases.jsonl").read_text().splitlines()[0])
    assert set(cases[0]) == set(shipped)


def test_feedback_export_command_writes_jsonl(tmp_path, monkeypatch):
    from service.index.client import open_client

    index = tmp_path / "index"
    client = open_client(index_dir=index)
    record_feedback(client, request_id="d" * 32, question="Who?", answer="Him [1].",
                    citations=[{"n": 1, "article_id": "art-1"}], user_hash=hash_user(TEAM, "U1", "salt"), vote="up")
    monkeypatch.setenv("NEWSDESK_INDEX_DIR", str(index))
    out = tmp_path / "out" / "feedback.jsonl"
    assert main(["slack", "feedback-export", "--out", str(out)]) == 0
    (line,) = out.read_text().splitlines()
    case = json.loads(line)
    assert case["question"] == "Who?" and case["expected_sources"] == ["art-1"]
    assert case["tags"] == ["feedback", "up"]

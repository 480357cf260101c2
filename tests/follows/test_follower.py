"""A saved question re-answered when a write could change its answer: the correction is
notified once, with what changed; unchanged answers and unaffected follows never are; two
replicas, a restart and a taken-over notice still make one notice."""

from __future__ import annotations

import time
from dataclasses import replace

from service.follows.delivery import Backoff
from service.follows.notices import SENT
from service.follows.webhooks import SIGNATURE_HEADER, verify
from tests.follows import stories
from tests.follows.conftest import replica


def follow_all(follows, url):
    made = {}
    for question in (stories.BRIDGE_Q, stories.MANAGER_Q, stories.FERRY_Q):
        follow, answer = follows.desk.add(question, {"webhook": url})
        assert answer.answerable, question
        made[question] = follow
    return made


def deliver(follows, receiver, n: int, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while len(receiver.accepted()) < n and time.monotonic() < deadline:
        follows.deliveries.step()
        time.sleep(0.02)
    return receiver.accepted()


def test_a_correction_is_notified_once_saying_what_changed(follows, story_components, receiver):
    made = follow_all(follows, receiver.url)
    story_components.ingester.ingest([stories.BRIDGE_FIX])
    batches = follows.follower.poll()

    bridge = made[stories.BRIDGE_Q]
    assert [b.selected for b in batches] == [[bridge.follow_id]]  # the others are not re-answered
    [got] = deliver(follows, receiver, 1)
    payload = got.payload
    assert payload["follow_id"] == bridge.follow_id and payload["notice_id"] == f"{bridge.follow_id}:0"
    [change] = payload["changes"]
    assert change["kind"] == "corrected" and change["text"].startswith("Corrected: $12 million → $21 million [")
    n = int(change["text"].rsplit("[", 1)[1].rstrip("]"))
    cited = {c["n"]: c for c in payload["answer"]["citations"]}
    assert cited[n]["article_id"] == stories.BRIDGE_FIX.article_id
    assert verify(bridge.notify.secret, got.body, got.headers[SIGNATURE_HEADER])
    assert got.headers["X-Newsdesk-Notice-Id"] == payload["notice_id"] and got.headers["X-Newsdesk-Attempt"] == "1"

    [notice] = follows.desk.notices_of(bridge.follow_id)
    assert notice.status == SENT and notice.summary == change["text"]
    assert follows.desk.get(bridge.follow_id).revision == 1
    # Nothing else happened: polling again finds no new entries and sends nothing.
    assert follows.follower.poll() == [] and len(deliver(follows, receiver, 2, timeout=1)) == 1


def test_a_new_report_is_a_new_source(follows, story_components, receiver):
    made = follow_all(follows, receiver.url)
    story_components.ingester.ingest([stories.FERRY_UPDATE])
    follows.follower.poll()
    [got] = deliver(follows, receiver, 1)
    assert got.payload["follow_id"] == made[stories.FERRY_Q].follow_id
    assert got.payload["changes"][0]["kind"] == "source"
    assert "Gullhaven ferry to resume service on March 20" in got.payload["summary"]


def test_unchanged_answers_are_never_notified(follows, story_components, receiver):
    made = follow_all(follows, receiver.url)
    edited = replace(stories.BRIDGE, text=stories.BRIDGE.text + "\n\nTraffic will be diverted along Mill Road.")
    story_components.ingester.ingest([edited, replace(stories.UNRELATED, text=stories.UNRELATED.text + " Well done.")])
    batches = follows.follower.poll()
    assert made[stories.BRIDGE_Q].follow_id in {f for b in batches for f in b.selected}  # re-answered...
    assert [n for b in batches for n in b.notices] == []  # ...and the same in substance
    assert deliver(follows, receiver, 1, timeout=1) == []


def test_two_replicas_claim_one_notice(follows, story_settings, story_components, receiver, tmp_path):
    follow_all(follows, receiver.url)
    other = replica(story_settings, story_components, lexical_dir=tmp_path / "replica-b")
    other.follower.poll()  # B has a position before the write
    story_components.ingester.ingest([stories.BRIDGE_FIX])
    claimed = [n for r in (other, follows) for b in r.follower.poll() for n in b.notices]
    assert len(claimed) == 1
    other.deliveries.step()
    deliver(follows, receiver, 1)
    time.sleep(0.2)
    other.deliveries.step()
    follows.deliveries.step()
    assert len(receiver.accepted()) == 1


def test_a_restarted_replica_notifies_nothing_again(follows, story_settings, story_components, receiver, tmp_path):
    follow_all(follows, receiver.url)
    follows.follower.poll()
    story_components.ingester.ingest([stories.BRIDGE_FIX])
    assert sum(len(b.notices) for b in follows.follower.poll()) == 1
    deliver(follows, receiver, 1)
    # The same replica started again (its position on disk), and a new one with no position
    # (it reads the feed from the first follow): both re-answer against the advanced baseline.
    again = replica(story_settings, story_components)
    fresh = replica(story_settings, story_components, lexical_dir=tmp_path / "fresh")
    assert again.follower.poll() == []
    assert [n for b in fresh.follower.poll() for n in b.notices] == []
    fresh.deliveries.step()
    assert len(receiver.accepted()) == 1


def test_a_failing_webhook_is_retried_with_backoff_under_one_notice_id(follows, story_components, receiver):
    follows.deliveries.backoff = Backoff(first_s=0.05, max_s=0.2)
    follow_all(follows, receiver.url)
    receiver.fail_next = [500, 503]
    story_components.ingester.ingest([stories.BRIDGE_FIX])
    follows.follower.poll()
    [got] = deliver(follows, receiver, 1)
    assert [d.status for d in receiver.deliveries] == [500, 503, 200]
    assert {d.headers["X-Newsdesk-Notice-Id"] for d in receiver.deliveries} == {got.payload["notice_id"]}
    assert [d.headers["X-Newsdesk-Attempt"] for d in receiver.deliveries] == ["1", "2", "3"]
    [notice] = follows.desk.notices_of(got.payload["follow_id"])
    assert notice.attempts == 3 and notice.status == SENT


def test_a_client_error_fails_the_notice_without_retrying(follows, story_components, receiver):
    follow_all(follows, receiver.url)
    receiver.fail_next = [410]
    story_components.ingester.ingest([stories.BRIDGE_FIX])
    [notice] = [n for b in follows.follower.poll() for n in b.notices]
    follows.deliveries.step()
    stored = follows.deliveries.notices.get(notice.notice_id)
    assert stored.status == "failed" and "410" in stored.last_error and len(receiver.deliveries) == 1


def test_a_notice_whose_owner_died_is_taken_over_and_sent_once(follows, story_settings, story_components, receiver,
                                                               tmp_path):
    follow_all(follows, receiver.url)
    follows.follower.lease_s = 0.3  # the owner will never deliver: as if killed after claiming
    story_components.ingester.ingest([stories.BRIDGE_FIX])
    [notice] = [n for b in follows.follower.poll() for n in b.notices]
    survivor = replica(story_settings, story_components, lexical_dir=tmp_path / "survivor")
    survivor.deliveries.sweep_s = 0.0
    time.sleep(0.4)
    deliver(survivor, receiver, 1)
    follows.deliveries.step()  # the old owner wakes up: it no longer owns the notice
    time.sleep(0.1)
    assert len(receiver.accepted()) == 1
    stored = follows.deliveries.notices.get(notice.notice_id)
    assert stored.status == SENT and stored.generation == 1


def test_a_follow_whose_channel_this_replica_cannot_reach_is_left_to_others(follows, story_components, receiver):
    follow, _ = follows.desk.add(stories.BRIDGE_Q, {"slack_channel": "C0NEWS"})
    story_components.ingester.ingest([stories.BRIDGE_FIX])
    batches = follows.follower.poll()
    assert follow.follow_id in batches[0].selected and batches[0].notices == []  # no Slack here: not claimed
    assert follows.desk.get(follow.follow_id).revision == 0


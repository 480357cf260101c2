"""Making, listing and removing follows as API keys allow."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.errors import FollowNotFoundError, ForbiddenError, InvalidFollowError
from service.keys import ApiKey
from tests.follows import stories


def key(name, *scopes, collections=()):
    return ApiKey(f"id-{name}", name, frozenset(scopes or ("ask",)), tuple(collections),
                  datetime.now(UTC).isoformat())


ALICE, BOB, ADMIN = key("alice"), key("bob"), key("root", "ask", "admin")


def test_a_follow_answers_once_and_keeps_that_answer_as_its_baseline(follows, receiver):
    follow, answer = follows.desk.add(f"  {stories.BRIDGE_Q} ", {"webhook": receiver.url}, key=ALICE)
    assert follow.question == stories.BRIDGE_Q and follow.follow_id.startswith("fl_")
    assert answer.answerable and follow.baseline.answerable and follow.revision == 0
    assert [c.article_id for c in follow.baseline.cited] == [stories.BRIDGE.article_id]
    assert follow.notify.secret.startswith("whsec_") and "secret" not in str(follow.public())
    assert follow.owner == ALICE.key_id and follow.collection == "newsdesk"


def test_each_key_sees_its_own_follows_and_an_admin_sees_all(follows, receiver):
    mine, _ = follows.desk.add(stories.BRIDGE_Q, {"webhook": receiver.url}, key=ALICE)
    theirs, _ = follows.desk.add(stories.FERRY_Q, {"slack_channel": "C1"}, key=BOB)
    assert [f.follow_id for f in follows.desk.list_follows(ALICE)] == [mine.follow_id]
    assert {f.follow_id for f in follows.desk.list_follows(ADMIN)} == {mine.follow_id, theirs.follow_id}
    assert len(follows.desk.list_follows(None)) == 2  # an open server: everyone's
    with pytest.raises(FollowNotFoundError):
        follows.desk.get(theirs.follow_id, ALICE)
    with pytest.raises(FollowNotFoundError):
        follows.desk.remove(theirs.follow_id, ALICE)
    assert follows.desk.remove(theirs.follow_id, ADMIN).follow_id == theirs.follow_id
    assert follows.desk.notices_of(mine.follow_id, ALICE) == []


def test_a_key_bound_to_collections_follows_only_in_them(follows, receiver):
    bound = key("carol", collections=("newsdesk",))
    assert follows.desk.add(stories.BRIDGE_Q, {"webhook": receiver.url}, key=bound)[0].collection == "newsdesk"
    with pytest.raises(ForbiddenError):
        follows.desk.add(stories.BRIDGE_Q, {"webhook": receiver.url}, key=bound, collection="other-news")


@pytest.mark.parametrize(("question", "notify", "filters", "says"), [
    ("", {"slack_channel": "C1"}, None, "question"),
    (stories.BRIDGE_Q, {}, None, "exactly one"),
    (stories.BRIDGE_Q, {"slack_channel": "C1", "webhook": "https://example.org/h"}, None, "exactly one"),
    (stories.BRIDGE_Q, {"email": "a@b"}, None, "unknown notify"),
    (stories.BRIDGE_Q, {"webhook": "http://10.0.0.8/hook"}, None, "NEWSDESK_WEBHOOK_ALLOW_HOSTS"),
    (stories.BRIDGE_Q, {"webhook": "http://127.0.0.1:9/h", "secret": "short"}, None, "16 characters"),
    (stories.BRIDGE_Q, {"slack_channel": "C1"}, {"outlets": ["x"]}, "unknown filter"),
])
def test_what_a_follow_cannot_be(follows, question, notify, filters, says):
    with pytest.raises(InvalidFollowError, match=says):
        follows.desk.add(question, notify, filters=filters)

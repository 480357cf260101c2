"""The one door to follows for every edge (HTTP, CLI, Slack): make one (its question
answered once, which becomes the baseline later answers are compared with), list,
remove, and read a follow's notices, each as the API key allows.

Keys: a follow is made in the collection the key may use and needs the `ask` scope (the
edges check the scope; the collection is chosen here, as for an ask). Its owner is the
key; a key sees only its own follows, a key with `admin` sees all, and on an open server
(no keys) every follow is everyone's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.collections import Collections
from service.errors import FollowNotFoundError, InvalidFollowError
from service.follows.notices import Notice, NoticeStore
from service.follows.records import Follow, FollowStore, Notify, new_follow_id
from service.follows.substance import Substance
from service.follows.webhooks import webhook_refusal
from service.keys import ApiKey
from service.models import Answer, Filters

MAX_QUESTION_CHARS = 2000


@dataclass
class FollowDesk:
    collections: Collections
    follows: FollowStore
    notices: NoticeStore
    webhook_allow_hosts: frozenset[str] = frozenset()

    def add(self, question: str, notify: Mapping[str, Any], *, filters: Mapping[str, Any] | None = None,
            collection: str | None = None, key: ApiKey | None = None) -> tuple[Follow, Answer]:
        """A new follow, and its answer now (the baseline). InvalidFollowError (422) for a
        bad question, filter or notify target; ForbiddenError for a collection the key may
        not use."""
        question = " ".join((question or "").split())
        if not question or len(question) > MAX_QUESTION_CHARS:
            raise InvalidFollowError(f"a question of 1 to {MAX_QUESTION_CHARS} characters is needed")
        try:
            target = Notify.from_mapping(notify)
            parsed = Filters.from_mapping(filters)
        except ValueError as exc:
            raise InvalidFollowError(str(exc)) from None
        if target.webhook and (refusal := webhook_refusal(target.webhook, self.webhook_allow_hosts)):
            raise InvalidFollowError(f"webhook {target.webhook!r} refused: {refusal}")
        name = self.collections.choose(collection, key)
        components = self.collections.get(name)
        since = components.store.feed.head()  # before answering: a write meanwhile is compared later
        answer = components.engine.ask(question, parsed)
        follow = Follow(new_follow_id(), question, name, target, dict(filters) if filters else None,
                        key.key_id if key else None, key.name if key else None,
                        baseline=Substance.of(question, answer), since=since, model_id=components.embedder.model_id)
        self.follows.add(follow, components.embedder.embed([question])[0])
        return follow, answer

    def list_follows(self, key: ApiKey | None = None) -> list[Follow]:
        return self.follows.find(owner=None if key is None or _sees_all(key) else key.key_id)

    def get(self, follow_id: str, key: ApiKey | None = None) -> Follow:
        """The follow, or FollowNotFoundError: also for another key's follow, whose existence
        is nobody else's business."""
        follow = self.follows.get(follow_id)
        if follow is None or not (_sees_all(key) or (key is not None and follow.owner == key.key_id)):
            raise FollowNotFoundError(f"no follow {follow_id!r}")
        return follow

    def remove(self, follow_id: str, key: ApiKey | None = None) -> Follow:
        follow = self.get(follow_id, key)
        self.follows.remove(follow_id)
        return follow

    def notices_of(self, follow_id: str, key: ApiKey | None = None) -> list[Notice]:
        return self.notices.for_follow(self.get(follow_id, key).follow_id)


def _sees_all(key: ApiKey | None) -> bool:
    return key is None or key.allows("admin")

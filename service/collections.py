"""Which collection a request uses, and the pieces (store, BM25 index, engine) for it.

Each collection is a store of its own (its chunks, its articles, its own BM25 index built
from them), so a key bound to some collections reaches nothing else: the dense query, the
lexical index, the answer, its sources and the article listings all come from the one
collection the request resolved to.

Rules: the request names a collection, or gets the default (`NEWSDESK_COLLECTION`, or the
first collection of a key that may not use the default). A key bound to collections gets
403 for any other. Reading a collection that does not exist is a 404, and reads never
create anything; writing to one creates it. Only article collections are addressable: the
parts of one (`<name>-articles`, `<name>-feed`) and newsdesk's record collections (keys,
feedback, Slack, feed state) are a 404 for every request, reading or writing, so a request
can neither read them as articles nor create article collections in their place.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from service.components import Components
from service.errors import CollectionNotFoundError, ForbiddenError, StoreUnavailableError
from service.feedback import FEEDBACK_COLLECTION
from service.index.client import VectorsGiven
from service.ingest.feedstate import FEED_STATE_COLLECTION
from service.keys import ApiKey

PARTS = ("-articles", "-feed")  # an article collection's own collections (`ArticleStore`)
# newsdesk's record collections with fixed names (the keys' is a setting). The Slack bot's are
# spelled out because the core does not import an edge; tests/test_collections.py checks them.
RECORD_COLLECTIONS = frozenset({FEEDBACK_COLLECTION, FEED_STATE_COLLECTION,
                                "newsdesk-slack-events", "newsdesk-slack-answers"})


class Collections:
    """`Components` per collection, built once each, sharing the embedder, the Chroma
    client and the LLM client of the default one."""

    def __init__(self, default: Components):
        self.default = default
        self._built: dict[str, Components] = {default.collection: default}
        self._lock = threading.Lock()

    def choose(self, requested: str | None, key: ApiKey | None) -> str:
        name = requested or self.default.collection
        if key is not None and not requested and not key.sees(name):
            name = key.collections[0]
        if key is not None and not key.sees(name):
            raise ForbiddenError(f"the key {key.name!r} may use only the collections {', '.join(key.collections)}")
        return name

    def get(self, name: str, *, create: bool = False) -> Components:
        """The components of article collection `name` (blocking: may read the store).
        `create`: make it when it does not exist (a write); otherwise a missing collection,
        or one of its parts, is CollectionNotFoundError and nothing is written."""
        with self._lock:
            found = self._built.get(name)
        if found is not None:
            return found
        self._check(name, create=create)
        base = self.default
        built = Components(base.settings, base.embedder, base.client, name)
        # The LLM client and the prompt are the same for every collection: share them.
        built.__dict__["chat"] = base.chat
        built.__dict__["prompt"] = base.prompt
        built.store  # noqa: B018 - opens (or creates) the collection; IndexMismatchError surfaces here
        with self._lock:
            return self._built.setdefault(name, built)

    def reserved(self, name: str) -> bool:
        """Whether `name` belongs to newsdesk's own collections: an article collection's
        parts, or a record collection."""
        return name.endswith(PARTS) or name in RECORD_COLLECTIONS or name == self.default.settings.keys_collection

    def _check(self, name: str, *, create: bool) -> None:
        """CollectionNotFoundError unless `name` is an article collection whose three parts
        exist (or, with `create`, one that may be made)."""
        if self.reserved(name):
            raise CollectionNotFoundError(f"there is no article collection {name!r} (names ending in "
                                          f"{' or '.join(PARTS)}, and newsdesk's record collections, are not)")
        found = self._metadata(name)
        if found is not None and "embedding_model" not in found:  # a record collection of another name
            raise CollectionNotFoundError(f"there is no article collection {name!r}")
        if create:
            return
        if found is None or any(self._metadata(name + part) is None for part in PARTS):
            raise CollectionNotFoundError(f"there is no collection {name!r}")

    def _metadata(self, name: str) -> dict[str, Any] | None:
        """The metadata of collection `name` ({} when it has none), None when there is no
        such collection. A read: `get_or_create` would make it."""
        from chromadb.errors import NotFoundError

        client: Any = self.default.client  # a chromadb client (chromadb ships no types)
        try:
            return dict(client.get_collection(name, embedding_function=VectorsGiven()).metadata or {})
        except NotFoundError:
            return None
        except StoreUnavailableError:
            raise
        except Exception as exc:  # chromadb's own types, connection errors
            raise StoreUnavailableError(f"cannot read collection {name!r}: {type(exc).__name__}") from exc

    def missing(self, names: Iterable[str]) -> list[str]:
        """Those of `names` that name no collection in the store, sorted; one listing
        for all of them, so a configuration can be checked at start-up. An unreachable
        store is StoreUnavailableError, never "all missing"."""
        with self._lock:
            unknown = set(names) - set(self._built)
        if not unknown:
            return []
        client: Any = self.default.client  # a chromadb client (chromadb ships no types)
        try:
            existing = {getattr(c, "name", c) for c in client.list_collections()}
        except Exception as exc:  # chromadb's own types, connection errors
            raise StoreUnavailableError(f"cannot list the collections in the store: {exc}") from exc
        return sorted(n for n in unknown if n not in existing or self.reserved(n))

"""Which collection a request uses, and the pieces (store, BM25 index, engine) for it.

Each collection is a store of its own (its chunks, its articles, its own BM25 index built
from them), so a key bound to some collections reaches nothing else: the dense query, the
lexical index, the answer, its sources and the article listings all come from the one
collection the request resolved to.

Rules: the request names a collection, or gets the default (`NEWSDESK_COLLECTION`, or the
first collection of a key that may not use the default). A key bound to collections gets
403 for any other. Reading a collection that does not exist is a 404; writing to one
creates it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from service.components import Components
from service.errors import CollectionNotFoundError, ForbiddenError, StoreUnavailableError
from service.index.client import existing_records
from service.keys import ApiKey


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
        """The components of collection `name` (blocking: may read the store)."""
        with self._lock:
            found = self._built.get(name)
        if found is not None:
            return found
        if not create and existing_records(self.default.client, name) is None:
            raise CollectionNotFoundError(f"there is no collection {name!r}")
        base = self.default
        built = Components(base.settings, base.embedder, base.client, name)
        # The LLM client and the prompt are the same for every collection: share them.
        built.__dict__["chat"] = base.chat
        built.__dict__["prompt"] = base.prompt
        built.store  # noqa: B018 - opens (or creates) the collection; IndexMismatchError surfaces here
        with self._lock:
            return self._built.setdefault(name, built)

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
        return sorted(unknown - existing)

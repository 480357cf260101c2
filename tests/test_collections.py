"""`Collections`: one `Components` per collection, shared by every edge of a process."""

from __future__ import annotations

import pytest

from service.collections import Collections
from service.components import Components
from service.errors import CollectionNotFoundError, StoreUnavailableError

from .conftest import make_article


def test_missing_names_the_collections_nobody_ingested_into(components):
    components.ingester.ingest([make_article("a1")])
    collections = Collections(components)
    collections.get("markets", create=True).ingester.ingest([make_article("m1")])
    # The default counts as present (it is built, even while empty); one listing covers the rest.
    assert collections.missing([components.collection, "markets", "makrets", "zz-typo"]) == ["makrets", "zz-typo"]
    assert collections.missing([]) == []
    with pytest.raises(CollectionNotFoundError):
        collections.get("makrets")


def test_an_unreachable_store_is_not_a_missing_collection(components):
    class Down:
        def list_collections(self):
            raise ConnectionError("connection refused")

    down = Components(components.settings, components.embedder, Down(), components.collection)
    with pytest.raises(StoreUnavailableError, match="cannot list the collections"):
        Collections(down).missing(["markets"])

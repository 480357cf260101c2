"""The HNSW parameters of the chunk collection (Chroma's `configuration={"hnsw": ...}`).

`m` (Chroma's `max_neighbors`) and `ef_construction` shape the graph, so they apply when
the collection is created and change only with `newsdesk reindex`; `ef_search` (candidates
kept while searching) can change at any time and is applied when a store opens. The values
the collection really has are recorded in its metadata (`hnsw_m`, `hnsw_ef_construction`,
`hnsw_ef_search`). `newsdesk bench hnsw` measures recall@10 against exact search.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from service.index.client import update_metadata


@dataclass(frozen=True)
class HnswParams:
    m: int = 16
    ef_construction: int = 100
    ef_search: int = 100

    def configuration(self) -> dict[str, Any]:
        return {"hnsw": {"space": "cosine", "max_neighbors": self.m, "ef_construction": self.ef_construction,
                         "ef_search": self.ef_search}}

    def as_metadata(self) -> dict[str, Any]:
        return {"hnsw_m": self.m, "hnsw_ef_construction": self.ef_construction, "hnsw_ef_search": self.ef_search}


def apply_hnsw(collection, wanted: HnswParams) -> HnswParams:
    """Set `wanted.ef_search` on an existing collection when it differs, record what the
    collection has in its metadata, and return that."""
    built = (getattr(collection, "configuration", None) or {}).get("hnsw") or {}
    actual = HnswParams(
        m=int(built.get("max_neighbors") or wanted.m),
        ef_construction=int(built.get("ef_construction") or wanted.ef_construction),
        ef_search=int(built.get("ef_search") or wanted.ef_search),
    )
    if actual.ef_search != wanted.ef_search:
        collection.modify(configuration={"hnsw": {"ef_search": wanted.ef_search}})
        actual = replace(actual, ef_search=wanted.ef_search)
    meta = collection.metadata or {}
    if any(meta.get(k) != v for k, v in actual.as_metadata().items()):
        update_metadata(collection, actual.as_metadata())
    return actual

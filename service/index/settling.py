"""Concurrent writers of one article settle on one version, without a lock.

Writers of different versions of one article race (ten POSTs at once, or two
replicas): each deletes only the stale chunks it saw before writing, so several
versions' chunks could survive. The last record written decides. The writer whose
version the record holds deletes every chunk of another version and puts back any
of its own that a racing writer deleted; the others leave it to that writer. Every
write's record comes after its chunks, so the writer whose record lands last settles
after all the other writers' chunks exist, on any replica. A writer that changed
anything reads the record again: if another version won meanwhile, it takes back
the chunks it put back, and stops once a round changes nothing.

Tested with ten threads on embedded Chroma and on a `chroma run` server
(tests/index/test_store.py); docs/scale.md names the window it leaves.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ROUNDS = 4  # a round that changes nothing ends it sooner


def settle_versions(store, written: dict[str, str], ids: list[str], embeddings, docs: list[str],
                    metas: list[dict[str, Any]]) -> None:
    """After `store.write` of the chunks `ids` (with `embeddings`, `docs`, `metas`) of the
    articles `written` (article id -> the content hash this writer wrote)."""
    article_of = {cid: m["article_id"] for cid, m in zip(ids, metas, strict=True)}
    pending, restored = set(written), set()
    for _ in range(ROUNDS):
        records = store.articles.get(ids=sorted(pending), include=["metadatas"])
        won = {a for a, m in zip(records["ids"], records["metadatas"], strict=True) if (m or {}).get("content_hash") == written[a]}
        retract = sorted(cid for cid in restored if article_of[cid] not in won)
        others: dict[str, str] = {}  # chunk id of another version -> its article
        lost: list[int] = []
        if won:
            stored = store.chunks.get(where={"article_id": {"$in": sorted(won)}}, include=["metadatas"])
            others = {cid: m["article_id"] for cid, m in zip(stored["ids"], stored["metadatas"], strict=True)
                      if m.get("content_hash") != written[m["article_id"]]}
            present = set(stored["ids"])
            lost = [k for k, cid in enumerate(ids) if article_of[cid] in won and cid not in present]
        if lost:
            store.upsert_chunks([ids[k] for k in lost], np.asarray(embeddings)[lost], [docs[k] for k in lost],
                                [metas[k] for k in lost])
        for doomed in (sorted(others), retract):
            store.delete_chunks(doomed)
        restored = (restored - set(retract)) | {ids[k] for k in lost}
        changed = {article_of[cid] for cid in retract} | {article_of[ids[k]] for k in lost} | set(others.values())
        if not changed:
            return
        store.feed.append("write", sorted(changed))
        pending = changed

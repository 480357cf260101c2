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

from service.index.writer import ChunkRows, ChunkWriter

ROUNDS = 4  # a round that changes nothing ends it sooner


def settle_versions(records: Any, writer: ChunkWriter, written: dict[str, str], rows: ChunkRows) -> None:
    """After `ArticleStore.write` of the chunk `rows` and the records (in the collection
    `records`) of the articles `written` (article id -> the content hash this writer wrote).
    Its chunks are put back and taken back through `writer`, one feed entry a round."""
    article_of = rows.article_of()
    pending = set(written)
    restored: set[str] = set()  # chunks this writer put back, to take back if its version loses
    for _ in range(ROUNDS):
        stored = records.get(ids=sorted(pending), include=["metadatas"])
        won = {a for a, m in zip(stored["ids"], stored["metadatas"], strict=True)
               if (m or {}).get("content_hash") == written[a]}
        retract = sorted(cid for cid in restored if article_of[cid] not in won)
        others, lost = _others_and_lost(writer, won, written, rows)
        changed = {article_of[cid] for cid in retract} | {article_of[rows.ids[k]] for k in lost} | set(others.values())
        if not changed:
            return
        writer.apply("write", sorted(changed), upsert=rows.take(lost) if lost else None,
                     delete=sorted(others) + retract)
        restored = (restored - set(retract)) | {rows.ids[k] for k in lost}
        pending = changed


def _others_and_lost(writer: ChunkWriter, won: set[str], written: dict[str, str],
                     rows: ChunkRows) -> tuple[dict[str, str], list[int]]:
    """For the articles this writer's version `won`: the stored chunks of another version
    (chunk id -> article) and the positions in `rows` of its own chunks a racing writer deleted."""
    if not won:
        return {}, []
    stored = writer.chunks.get(where={"article_id": {"$in": sorted(won)}}, include=["metadatas"])
    others = {cid: m["article_id"] for cid, m in zip(stored["ids"], stored["metadatas"], strict=True)
              if m.get("content_hash") != written[m["article_id"]]}
    present = set(stored["ids"])
    lost = [k for k, cid in enumerate(rows.ids) if rows.metadatas[k]["article_id"] in won and cid not in present]
    return others, lost

"""The change feed: a sequenced log, in Chroma, of which articles each write touched.

Every store write (an ingest group's upserts and stale deletes, or an article delete)
appends one entry naming the article ids it changed. Replicas keep a derived index (the
lexical one) and a position in this feed; to catch up they read the entries after their
position and re-read those articles' chunks from Chroma. An entry says *which* articles
changed, never what they became, so entries can be applied in any order and any number
of times: the replica always ends with what Chroma holds now.

Sequence numbers are claimed, not computed. An entry's id is its zero-padded sequence
number and a writer `add`s it: Chroma keeps the first record written under an id and
ignores a later `add` of the same id, so of two writers racing for number n exactly one
owns it (read back by its random owner token) and the other takes the next free number.
The feed therefore has no gaps, and a reader can stop at the first missing number.

An entry is appended *after* the write it describes, so a replica that reads it finds
the data in Chroma. Why that is also safe against racing writers: an entry claimed after
a replica read position k gets a number above k (numbers only grow), so any change a
replica has not seen is announced after its position.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from service.errors import StoreUnavailableError

_WIDTH = 12  # zero-padded: ids sort as numbers
_PROBE = 64  # ids looked up at once when looking for the head or reading on

# Entries appended by this process, per feed collection. A replica may skip reading the
# feed for a moment (`LexicalReplica`), but never past a write made in its own process:
# read-your-writes holds in-process, and other processes' writes wait at most that moment.
_appended_here: dict[str, int] = {}
_appended_lock = threading.Lock()


def entry_id(seq: int) -> str:
    return f"{seq:0{_WIDTH}d}"


@dataclass(frozen=True)
class FeedEntry:
    seq: int
    op: str  # "write" or "delete"
    article_ids: tuple[str, ...]


class ChangeFeed:
    """Appends and reads the feed held in a record collection (see `open_records`)."""

    def __init__(self, collection, *, vector: list[float]):
        self.collection = collection
        self._vector = vector
        self._hint = 0  # a number at or below the head; saves probing from the start
        self._key = str(getattr(collection, "id", id(collection)))

    def appended_here(self) -> int:
        """How many entries this process has appended to this feed (any `ChangeFeed` on it)."""
        return _appended_here.get(self._key, 0)

    def append(self, op: str, article_ids: Iterable[str]) -> int:
        """Claim the next sequence number for an entry naming `article_ids`; its number."""
        ids = sorted(set(article_ids))
        document = json.dumps(ids)
        token = uuid.uuid4().hex
        try:
            seq = self.head() + 1
            while True:
                meta = {"seq": seq, "op": op, "owner": token, "articles": len(ids), "at": time.time()}
                self.collection.add(ids=[entry_id(seq)], embeddings=[self._vector], documents=[document], metadatas=[meta])
                stored = self.collection.get(ids=[entry_id(seq)], include=["metadatas"])
                if stored["metadatas"] and (stored["metadatas"][0] or {}).get("owner") == token:
                    self._hint = seq
                    with _appended_lock:
                        _appended_here[self._key] = _appended_here.get(self._key, 0) + 1
                    return seq
                self._hint = seq  # another writer owns it: look past it
                seq = self.head() + 1
        except StoreUnavailableError:
            raise
        except Exception as exc:  # chromadb raises its own types and plain ValueErrors
            raise StoreUnavailableError(f"cannot append to the change feed: {exc}") from exc

    def head(self) -> int:
        """The highest sequence number written (0 for an empty feed). Entries are
        contiguous from 1, so the count, or the last number this process saw, is a lower
        bound to probe forward from; racing writers may be past it."""
        try:
            seq = self._hint or self.collection.count()
            while True:
                probe = [entry_id(n) for n in range(seq + 1, seq + 1 + _PROBE)]
                found = {int(i) for i in self.collection.get(ids=probe, include=[])["ids"]}
                if not found:
                    self._hint = seq
                    return seq
                seq = max(found)
        except Exception as exc:
            raise StoreUnavailableError(f"cannot read the change feed: {exc}") from exc

    def read(self, after: int, limit: int = _PROBE) -> list[FeedEntry]:
        """The entries after position `after`, in order, up to the first missing number."""
        try:
            result = self.collection.get(
                ids=[entry_id(n) for n in range(after + 1, after + 1 + limit)], include=["documents", "metadatas"]
            )
        except Exception as exc:
            raise StoreUnavailableError(f"cannot read the change feed: {exc}") from exc
        entries = sorted(
            (FeedEntry(int(i), (m or {}).get("op", "write"), tuple(json.loads(d or "[]")))
             for i, d, m in zip(result["ids"], result["documents"], result["metadatas"], strict=True)),
            key=lambda e: e.seq,
        )
        out = []
        for expected, entry in enumerate(entries, start=after + 1):
            if entry.seq != expected:
                break
            out.append(entry)
        return out

"""Which saved questions a write could affect: the reverse of a search.

A search compares one question with many chunks; here the chunks just written are
compared with every saved question of their collection, in one matrix product against a
per-replica copy of the questions' vectors (refreshed from the store: new follows read,
removed ones dropped), plus a lexical check of what each question names. A follow is
selected when some written chunk is close to its question and names what it names, or is
very close whatever it names:

    best cosine >= HIGH                                  selected
    best cosine >= LOW and (names nothing, or every      selected
      word of one of its names is in the written text)
    otherwise                                            not re-answered

Only the selected follows are re-answered (`Follower`); all others are untouched.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from service.answer.analysis import analyse
from service.follows.records import Follow, FollowStore
from service.index.embedding import Embedder
from service.text import tokenize

LOW = 0.3
HIGH = 0.55


def named_words(question: str) -> tuple[frozenset[str], ...]:
    """The question's named things, each as its set of word stems."""
    return tuple(frozenset(w) for e in analyse(question).entities if (w := tokenize(e)))


@dataclass
class _Rows:
    ids: list[str] = field(default_factory=list)
    matrix: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    names: list[tuple[frozenset[str], ...]] = field(default_factory=list)


class FollowIndex:
    """This replica's copy of the saved questions' vectors, one matrix per collection."""

    def __init__(self, store: FollowStore, embedder: Embedder, *, low: float = LOW, high: float = HIGH):
        self.store = store
        self.embedder = embedder
        self.low = low
        self.high = high
        self._rows: dict[str, _Rows] = {}
        self._lock = threading.Lock()

    def refresh(self, collection: str) -> _Rows:
        """Read the follows added since the last refresh and drop the removed ones. A vector
        made by another embedder (the model was changed) is made again from the question."""
        listed = self.store.ids(collection)
        with self._lock:
            rows = self._rows.get(collection, _Rows())
        keep = [i for i, fid in enumerate(rows.ids) if fid in listed]
        known = {rows.ids[i] for i in keep}
        ids, matrix, follows = self.store.vectors(sorted(set(listed) - known))
        if follows:
            matrix = self._current_vectors(matrix, follows)
        dim = matrix.shape[1] if len(ids) else (rows.matrix.shape[1] if rows.ids else 0)
        old = rows.matrix[keep] if keep else np.zeros((0, dim), dtype=np.float32)
        fresh = _Rows([rows.ids[i] for i in keep] + ids,
                      np.vstack([old, matrix]) if len(ids) else old,
                      [rows.names[i] for i in keep] + [named_words(f.question) for f in follows])
        with self._lock:
            self._rows[collection] = fresh
        return fresh

    def _current_vectors(self, matrix: np.ndarray, follows: Sequence[Follow]) -> np.ndarray:
        dim = self.embedder.dimension
        if matrix.shape[1] != dim:
            stale, out = list(range(len(follows))), np.zeros((len(follows), dim), dtype=np.float32)
        else:
            stale = [i for i, f in enumerate(follows) if f.model_id and f.model_id != self.embedder.model_id]
            out = np.array(matrix, dtype=np.float32)
        if stale:
            out[stale] = self.embedder.embed([follows[i].question for i in stale])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

    def forget(self) -> None:
        """Drop every loaded question (the next refresh reads them all, as a new replica does)."""
        with self._lock:
            self._rows.clear()

    def select(self, collection: str, vectors: np.ndarray, texts: Sequence[str], *,
               refresh: bool = True) -> list[str]:
        """The follows of `collection` that written chunks (`vectors`, one row each, and
        their `texts`) could affect."""
        rows = self.refresh(collection) if refresh else self._rows.get(collection, _Rows())
        if not rows.ids or not len(vectors):
            return []
        chunks = np.asarray(vectors, dtype=np.float32)
        chunks = chunks / np.maximum(np.linalg.norm(chunks, axis=1, keepdims=True), 1e-12)
        best = (rows.matrix @ chunks.T).max(axis=1)
        written = set(tokenize(" ".join(texts)))
        chosen = []
        for i in np.flatnonzero(best >= self.low):
            names = rows.names[i]
            if best[i] >= self.high or not names or any(n <= written for n in names):
                chosen.append(rows.ids[i])
        return chosen

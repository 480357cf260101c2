"""Token counts for the context budget (`shaping.fit_budget`): remembered per text, since
the same passages recur across questions, and made for a merged passage from its chunks'
counts (taken at ingest) rather than by tokenizing its text again.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping, Sequence

from cachetools import LRUCache

from service.index.metadata import StoredChunk
from service.models import Passage

# Texts remembered. Each entry is a passage's text and an int: tens of MiB at most.
MAX_TEXTS = 20_000


class TokenCounts:
    """`count_tokens` with a memory. One per retriever, shared by the threads that answer:
    the cache is not thread-safe by itself, so every access takes the lock (the counting
    itself runs outside it)."""

    def __init__(self, count_tokens: Callable[[Sequence[str]], list[int]], maxsize: int = MAX_TEXTS) -> None:
        self._count_tokens = count_tokens
        self._known: LRUCache[str, int] = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()

    def __call__(self, texts: Sequence[str]) -> list[int]:
        """Each text's tokens, counted only when not remembered."""
        with self._lock:
            known = {t: self._known[t] for t in dict.fromkeys(texts) if t in self._known}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            fresh = dict(zip(missing, self._count_tokens(missing), strict=True))
            with self._lock:
                self._known.update(fresh)
            known.update(fresh)
        return [known[t] for t in texts]

    def known(self, text: str) -> int | None:
        with self._lock:
            return self._known.get(text)

    def upper_bound(self, passages: Sequence[Passage], chunk_tokens: int) -> int:
        """At least the passages' tokens: a single chunk holds at most `chunk_tokens`, so only
        merged passages are counted (and remembered for `fit_budget`)."""
        merged = [p.text for p in passages if len(p.chunk_ids) > 1]
        singles = len(passages) - len(merged)
        return singles * chunk_tokens + sum(self(merged))

    def remember(self, passages: Sequence[Passage], chunks: Mapping[str, StoredChunk]) -> None:
        """Remember the chosen chunks' tokens as counted at ingest, and each merged passage's
        as its chunks' less the stretches where they overlap (short, so cheap to count):
        counting each merged text anew cost more than the whole rerank. Chunks meet at
        sentence boundaries, where a WordPiece count adds up exactly (a BPE count may differ
        by a token a join; the budget is a bound anyway)."""
        for passage in passages:
            self._remember_chunks(passage, chunks)
            if len(passage.chunk_ids) < 2 or self.known(passage.text) is not None:
                continue
            parts = sorted((chunks[c] for c in passage.chunk_ids if c in chunks),
                           key=lambda c: int(c.metadata["char_start"]))
            if len(parts) != len(passage.chunk_ids):
                continue  # counted whole when the budget needs it
            counts = self([c.text for c in parts] + _overlaps(parts))
            with self._lock:
                self._known[passage.text] = sum(counts[:len(parts)]) - sum(counts[len(parts):])

    def _remember_chunks(self, passage: Passage, chunks: Mapping[str, StoredChunk]) -> None:
        with self._lock:
            for cid in passage.chunk_ids:  # counted at ingest (`Chunk.tokens`)
                chunk = chunks.get(cid)
                if chunk is not None and isinstance(chunk.metadata.get("n_tokens"), int):
                    self._known.setdefault(chunk.text, chunk.metadata["n_tokens"])


def _overlaps(parts: Sequence[StoredChunk]) -> list[str]:
    """The text each chunk shares with the next (chunks in article order)."""
    out = []
    for a, b in itertools.pairwise(parts):
        a_start, a_end, b_start = (int(a.metadata["char_start"]), int(a.metadata["char_end"]),
                                   int(b.metadata["char_start"]))
        if b_start < a_end:
            out.append(a.text[b_start - a_start:])
    return out

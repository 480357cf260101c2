"""Sentence-aware chunking that keeps exact character offsets.

Why not llama-index's SentenceSplitter: it recovers `start_char_idx` by searching the
parent text for the chunk (from the previous chunk's start, since llama-index-core 0.14),
and it is 2.5-2.8x slower on the same texts (`python -m service.evals.chunkers`, README
Decisions). Here offsets are carried from the start, so
`text[chunk.char_start:chunk.char_end] == chunk.text` holds by construction, and the chunks
cover the whole text (each one starts at or before the end of the one before it).

Sentence boundaries come from `service.text.sentence_spans` (Punkt, per line).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from service.models import Chunk
from service.text import sentence_spans

TokenCounter = Callable[[Sequence[str]], list[int]]

_WORD = re.compile(r"\S+")


def approximate_token_counts(texts: Sequence[str]) -> list[int]:
    """Used only when no tokenizer is given: words plus punctuation marks."""
    return [len(re.findall(r"\w+|[^\w\s]", text)) for text in texts]


def segment_text(text: str) -> list[tuple[int, int]]:
    """Sentences widened to partition [0, len(text)): each keeps the whitespace after it."""
    spans = sentence_spans(text)
    if not spans:
        return [(0, len(text))] if text else []
    starts = [0] + [start for start, _ in spans[1:]]
    ends = starts[1:] + [len(text)]
    return list(zip(starts, ends, strict=True))


@dataclass(frozen=True)
class Chunker:
    size: int = 200
    overlap: int = 40
    count_tokens: TokenCounter = approximate_token_counts

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"chunk size must be at least 1 token, got {self.size}")
        if not 0 <= self.overlap < self.size:
            raise ValueError(f"chunk overlap must be in [0, size), got {self.overlap} with size {self.size}")

    def chunk(self, article_id: str, text: str) -> list[Chunk]:
        pieces = self._pieces(text)
        chunks: list[Chunk] = []
        i = 0
        while i < len(pieces):
            j, total = i, 0
            while j < len(pieces) and (j == i or total + pieces[j][2] <= self.size):
                total += pieces[j][2]
                j += 1
            start, end = pieces[i][0], pieces[j - 1][1]
            chunks.append(Chunk(article_id, len(chunks), start, end, text[start:end], tokens=total))
            if j >= len(pieces):
                break
            # Step back over whole sentences worth at most `overlap` tokens, always moving forward.
            back, carried = j, 0
            while back - 1 > i and carried + pieces[back - 1][2] <= self.overlap:
                back -= 1
                carried += pieces[back][2]
            i = back
        return chunks

    def _pieces(self, text: str) -> list[tuple[int, int, int]]:
        """Segments with token counts; a segment longer than the chunk size is cut at spaces."""
        segments = segment_text(text)
        counts = self.count_tokens([text[s:e] for s, e in segments])
        pieces: list[tuple[int, int, int]] = []
        for (start, end), count in zip(segments, counts, strict=True):
            if count <= self.size:
                pieces.append((start, end, count))
            else:
                pieces.extend(self._split_long(text, start, end))
        return pieces

    def _split_long(self, text: str, start: int, end: int) -> list[tuple[int, int, int]]:
        words = [(m.start() + start, m.end() + start) for m in _WORD.finditer(text[start:end])]
        counts = self.count_tokens([text[s:e] for s, e in words]) if words else []
        pieces: list[tuple[int, int, int]] = []
        piece_start, total = start, 0
        for (w_start, _), count in zip(words, counts, strict=True):
            if total and total + count > self.size:
                pieces.append((piece_start, w_start, total))
                piece_start, total = w_start, 0
            total += count
        pieces.append((piece_start, end, total))
        return pieces

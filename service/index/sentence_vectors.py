"""Each chunk's vector and its sentences' vectors, made at ingest and kept with the chunk.

Retrieval reranks its candidates by the best single sentence's cosine with the question
(`service.answer.retrieval`): a chunk holds several sentences, and one of them usually
carries what a question asks, while the chunk's own vector averages them all. Embedding
them at question time would cost seconds, so ingest makes them (`embed_chunks`), in one of
three ways a collection records when it is made (`ChunkVectors`, `Settings.chunk_vectors`):

| way | tokens the model reads | SciFact train nDCG@10 (odd / even ids) | `newsdesk eval` (sample corpus) |
|---|---|---|---|
| SENTENCES (default): each distinct sentence alone, once; the chunk's vector their token-weighted mean | each once | 0.7445 (0.761 / 0.729); 0.7472 with the rerank's two article scores (stop 27) | passes; fact coverage 0.786 with the gate retrained on these vectors (0.823 with the article scores) |
| POOLED: one pass over the chunk, each sentence's token outputs mean-pooled | each once | 0.7443 | failed (fact coverage 0.79 against its baseline 0.83 then) |
| SEPARATE (before issue 21): the chunk and its sentences each embedded alone | each twice | 0.7491 (0.768 / 0.731) | passes; fact coverage 0.733 with the gate trained on these |

The three rows' figures are under the rerank's first four scores. The sentence rows are
what the answerability gate and the sentence choice were fitted on, and only SENTENCES and
SEPARATE make them the same way. A sentence pooled in its chunk's
context is not the sentence read alone (SciFact's 51,679 sentences: cosine 0.77 on
average, 0.49 at the 5th percentile), and the rerank leans on the difference. The mean of
a chunk's sentences is close to the chunk read whole (cosine 0.92 on SciFact) but is not
it: the dense path alone drops from 0.680 to 0.661 on SciFact train; the rerank's sentence
and article scores make most of it back. Weighting the mean by tokens agrees best with the
chunk read whole (cosine 0.925; by sentence 0.915, by tokens squared 0.913) and was chosen
on that, not on the queries. Rerank weights fitted again on the even SciFact ids (0.15 /
0 / 0.4 / 0.45) raise the odd ids to 0.766 but fail the news eval, so they stay.
A collection made before the choice was recorded keeps SEPARATE, so its vectors never mix
two ways. `row_spans` gives each stored row's span in every way.

The chunk's own vector goes first, so a candidate only BM25 found gets its cosine from the
same string, without another read of Chroma.

Stored in the chunk's Chroma metadata under `KEY` as one base64 string of 4-bit rows (the
chunk, then each sentence), 192 bytes a row for MiniLM (a chunk of 200 tokens holds about
8 sentences: 1.7 KiB, 2.3 KiB as text). Rows are scored after renormalising, so a cosine
differs from the float vector's by 0.005 on average and under 0.03 (tested), which costs SciFact 0.0006 of
nDCG@10. Half of int8's bytes matters: every replica's lexical index keeps a copy, and the
pages queries touch count in its RSS (`newsdesk bench scale`). Chroma holds the string, so
replicas copy it with the chunk and nothing is embedded twice.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol, cast, overload

import numpy as np

from service.models import ChunkVectors
from service.text import sentence_spans

KEY = "vectors_q4"  # the chunk's vector, then its sentences'
FLAG = "stores_vectors_q4"  # collection metadata: every chunk was written with KEY


def row_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) in the chunk of each sentence row after the chunk's own: the sentences
    (Punkt, per line), or the whole chunk when it has none."""
    return sentence_spans(text) or [(0, len(text))]


def sentences_of(text: str) -> list[str]:
    """The chunk's sentences, one per stored row after the chunk's own (`row_spans`)."""
    return [text[s:e] for s, e in row_spans(text)]


# 4-bit codes: a row is scaled so that 3 standard deviations of its components fall on ±7
# (the few beyond are clipped), rounded, and stored two to a byte. SciFact train nDCG@10
# with the rerank: float 0.7491, int8 0.7488, these 0.7485; scaling to the row's largest
# component instead (0.7479) wastes most of the 15 levels on a few large components.
_LEVELS = 7
_CLIP_SD = 3.0


def encode(chunk: np.ndarray, sentences: np.ndarray) -> str:
    """The chunk's unit vector and its sentences' (rows) -> one base64 string of 4-bit rows."""
    matrix = np.vstack([np.asarray(chunk, dtype=np.float32).reshape(1, -1), np.asarray(sentences, dtype=np.float32)])
    if matrix.shape[1] % 2:
        matrix = np.hstack([matrix, np.zeros((matrix.shape[0], 1), dtype=np.float32)])  # a zero pads an odd width
    step = np.maximum(_CLIP_SD * matrix.std(axis=1, keepdims=True), 1e-12) / _LEVELS
    codes = (np.clip(np.rint(matrix / step), -_LEVELS, _LEVELS) + 8).astype(np.uint8)
    return base64.b64encode((codes[:, 0::2] << 4 | codes[:, 1::2]).tobytes()).decode("ascii")


def to_bytes(blob: str) -> bytes:
    """The stored string's rows as bytes (how the lexical index keeps them)."""
    return base64.b64decode(blob)


def _halves(raw: bytes, dimension: int) -> np.ndarray:
    """Rows of centred codes, each split into its even and its odd components (a byte holds
    one of each): shape (rows, 2, width / 2). One float array: a second fresh array of this
    size cost ten times the arithmetic (new pages from the allocator)."""
    packed = np.frombuffer(raw, dtype=np.uint8)
    width = dimension + dimension % 2
    if dimension <= 0 or (2 * packed.size) % width:
        raise ValueError(f"stored vectors of {2 * packed.size} values do not split into rows of {dimension}")
    packed = packed.reshape(-1, width // 2)
    return np.subtract(np.stack([packed >> 4, packed & 15], axis=1), 8, dtype=np.float32)


def _row_cosines(raw: bytes, question: np.ndarray) -> np.ndarray:
    """Each row's cosine with the unit question vector, without interleaving the halves."""
    halves = _halves(raw, question.shape[0])
    padded = np.append(question, np.float32(0)) if question.shape[0] % 2 else question
    dots = np.einsum("rkj,kj->r", halves, np.stack([padded[0::2], padded[1::2]]))
    return dots / np.maximum(np.sqrt(np.einsum("rkj,rkj->r", halves, halves)), 1e-12)


def decode(blob: str | bytes, dimension: int) -> np.ndarray:
    """One string (or its bytes) -> unit rows (float32): the chunk's, then one per sentence."""
    halves = _halves(to_bytes(blob) if isinstance(blob, str) else blob, dimension)
    matrix = halves.transpose(0, 2, 1).reshape(halves.shape[0], -1)[:, :dimension]  # even, odd, even, ...
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def cosines(question: np.ndarray, raw: Sequence[bytes]) -> list[tuple[float, float]]:
    """(the chunk's cosine, its best sentence's cosine) with the unit question vector, for
    each chunk's rows (`to_bytes`), in one pass over all of them."""
    if not raw:
        return []
    question = np.asarray(question, dtype=np.float32)
    rows = _row_cosines(b"".join(raw), question)
    row_bytes = (question.shape[0] + 1) // 2
    counts = np.fromiter((len(part) // row_bytes for part in raw), dtype=np.int64, count=len(raw))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    own = rows[starts]
    sentences = rows.copy()
    sentences[starts] = -np.inf  # each entry's first row is the chunk's own
    best = np.maximum.reduceat(sentences, starts)
    best = np.where(counts > 1, best, own)
    return list(zip(own.tolist(), best.tolist(), strict=True))


class SpanEmbedder(Protocol):
    """An embedder that also pools spans of each text from the same forward pass
    (`OnnxEmbedder.embed_spans`)."""

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]) -> list[np.ndarray]: ...


def embed_chunks(embedder: Any, texts: Sequence[str], *,
                 source: ChunkVectors = ChunkVectors.SENTENCES) -> tuple[np.ndarray, list[np.ndarray]]:
    """Each chunk's vector (n, d) and its sentences' vectors (one array of rows per chunk,
    a row per `row_spans` span), made the way `source` says (the module's notes compare them):

    - SENTENCES: each distinct sentence embedded alone, once (a sentence in the overlap of
      two chunks too), and the chunk's vector is the mean of its sentences' vectors weighted
      by their tokens. Every token is read once, by any embedder.
    - POOLED: one forward pass over each chunk; a sentence's vector is the mean of its
      tokens' outputs in the chunk's context. Only an embedder with token outputs (ONNX)
      pools; any other makes SENTENCES.
    - SEPARATE: the chunks and their sentences each embedded alone, in one call: every token
      read twice."""
    if source is ChunkVectors.POOLED and getattr(embedder, "pools_spans", hasattr(embedder, "embed_spans")):
        return _pooled(cast(SpanEmbedder, embedder), texts)
    if source is ChunkVectors.SEPARATE:
        own, sentences = embed_sentences(embedder.embed, texts, with_texts=True)
        return own, sentences
    return _from_sentences(embedder, texts)


def _from_sentences(embedder: Any, texts: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
    """SENTENCES (`embed_chunks`): one call over the distinct sentences; each chunk's vector
    their token-weighted mean, made unit."""
    per_text = [sentences_of(t) for t in texts]
    distinct = list(dict.fromkeys(s for sentences in per_text for s in sentences))
    if not distinct:
        return np.zeros((0, getattr(embedder, "dimension", 0)), dtype=np.float32), []
    rows = np.asarray(embedder.embed(distinct), dtype=np.float32)
    tokens = np.maximum(np.asarray(embedder.count_tokens(distinct), dtype=np.float32), 1.0)
    at = {s: i for i, s in enumerate(distinct)}
    picks = [np.fromiter((at[s] for s in sentences), dtype=np.int64, count=len(sentences)) for sentences in per_text]
    own = np.stack([tokens[p] @ rows[p] for p in picks])
    own /= np.maximum(np.linalg.norm(own, axis=1, keepdims=True), 1e-12)
    return own, [rows[p] for p in picks]


def _pooled(embedder: SpanEmbedder, texts: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
    """POOLED (`embed_chunks`): each chunk's own row and its sentences' from one pass."""
    spans = [row_spans(t) for t in texts]
    rows = embedder.embed_spans(texts, spans)
    _fill_unread(embedder, texts, spans, rows)
    own = np.stack([r[0] for r in rows]) if rows else np.zeros((0, 0), dtype=np.float32)
    return own, [r[1:] for r in rows]


def _fill_unread(embedder: SpanEmbedder, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                 pooled: Sequence[np.ndarray]) -> None:
    """Embed on their own the sentences the model's window did not reach (a chunk longer
    than it reads: only under a chunk size past the model's limit), in one call."""
    unread = [(i, int(k)) for i, rows in enumerate(pooled) for k in np.flatnonzero(~rows[1:].any(axis=1))]
    if unread:
        rows = embedder.embed([texts[i][slice(*spans[i][k])] for i, k in unread])
        for (i, k), row in zip(unread, rows, strict=True):
            pooled[i][k + 1] = row


Embed = Callable[[list[str]], np.ndarray]  # strings -> one row each


@overload
def embed_sentences(embed: Embed, texts: Sequence[str], *, with_texts: Literal[True]) -> tuple[np.ndarray, list[np.ndarray]]: ...


@overload
def embed_sentences(embed: Embed, texts: Sequence[str], *, with_texts: Literal[False] = False) -> tuple[None, list[np.ndarray]]: ...


def embed_sentences(embed: Embed, texts: Sequence[str], *, with_texts: bool = False) -> tuple[np.ndarray | None, list[np.ndarray]]:
    """Each text's sentence vectors, from one call of `embed` (a list of strings -> rows),
    and with `with_texts` the texts' own vectors from the same call (else None)."""
    per_text = [sentences_of(t) for t in texts]
    lead = list(texts) if with_texts else []
    flat = lead + [s for sentences in per_text for s in sentences]
    rows = embed(flat) if flat else np.zeros((0, 0), dtype=np.float32)
    out, at = [], len(lead)
    for sentences in per_text:
        out.append(rows[at: at + len(sentences)])
        at += len(sentences)
    return (rows[:len(lead)] if with_texts else None), out

"""Each chunk's vector and its sentences' vectors, made at ingest and kept with the chunk.

Retrieval reranks its candidates by the best single sentence's cosine with the question
(`service.answer.retrieval`): a chunk holds several sentences, and one of them usually
carries what a question asks, while the chunk's own vector averages them all. Embedding
them at question time would cost seconds; at ingest it adds the sentences to the same
embedding call as the chunks (`embed_chunks`), which reads every token twice.

`embed_chunks(..., pooled=True)` reads each token once: the model's output for every token
of the chunk is kept, and a sentence's vector is the mean of its tokens' outputs, as the
chunk's is the mean of all of them (`OnnxEmbedder.embed_spans`). A sentence read in its
chunk's context is not the sentence read alone (SciFact's 51,679 sentences: cosine 0.77
on average, 0.49 at the 5th percentile), and the rerank leans on the difference. Measured
(issue 21): SciFact train nDCG@10 0.7443 against 0.7490 (0.7458 with the rerank's weights
set again on it, 0.15/0.1/0.4/0.35), the sentence's tokens plus [CLS] and [SEP] 0.7412,
less of the chunk's mean 0.7372; the eval gate (`newsdesk eval`) fails on fact coverage
(0.79 against 0.83) and the conflict rate (0.56 against 0.67) under every weighting tried.
So the ingest embeds sentences alone unless asked (`Ingester(pool_sentences=True)`).
`row_spans` gives each stored row's span either way.

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


def embed_chunks(embedder: Any, texts: Sequence[str], *, pooled: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
    """Each chunk's vector (n, d) and its sentences' vectors (one array of rows per chunk,
    a row per `row_spans` span).

    By default the sentences are embedded as texts of their own, in the same call as the
    chunks: each token is read twice. With `pooled`, and an embedder that pools spans (ONNX),
    one forward pass over each chunk's tokens gives both: a sentence's vector is the mean of
    its tokens' outputs in the chunk's context (see the module's notes for what it costs in
    quality). An embedder without token outputs (OpenAI, the synthetic one of `bench scale`)
    always embeds the sentences alone."""
    if not (pooled and getattr(embedder, "pools_spans", hasattr(embedder, "embed_spans"))):
        own, sentences = embed_sentences(embedder.embed, texts, with_texts=True)
        return own, sentences
    spans = [row_spans(t) for t in texts]
    rows = cast(SpanEmbedder, embedder).embed_spans(texts, spans)
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

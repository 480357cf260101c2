"""Each chunk's vector and its sentences' vectors, made at ingest and kept with the chunk.

Retrieval reranks its candidates by the best single sentence's cosine with the question
(`service.answer.retrieval`): a chunk holds several sentences, and one of them usually
carries what a question asks, while the chunk's own vector averages them all. Embedding
them at question time would cost seconds; at ingest it adds the sentences to the same
embedding call as the chunks (SciFact: 48,700 sentences in about 3 minutes on 2 cores).
The chunk's own vector goes first, so a candidate only BM25 found gets its cosine from the
same string, without another read of Chroma.

Stored in the chunk's Chroma metadata under `KEY` as one base64 string of int8 rows (the
chunk, then each sentence), 384 bytes a row for MiniLM (a chunk of 200 tokens holds about
8 sentences: 4 KiB of text). A vector is quantised to its largest component (127) and
scored after renormalising, so the cosine it gives differs from the float vector's by about
0.001 (tested). Chroma holds it, so every replica's lexical index copies it with the chunk
and nothing is embedded twice.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np

from service.text import sentence_spans

KEY = "vectors_int8"  # the chunk's vector, then its sentences'
FLAG = "stores_vectors_int8"  # collection metadata: every chunk was written with KEY


def sentences_of(text: str) -> list[str]:
    """The chunk's sentences (Punkt, per line); the whole chunk when it has none."""
    found = [text[s:e] for s, e in sentence_spans(text)]
    return found or [text]


def encode(chunk: np.ndarray, sentences: np.ndarray) -> str:
    """The chunk's unit vector and its sentences' (rows) -> one base64 string of int8 rows."""
    matrix = np.vstack([np.asarray(chunk, dtype=np.float32).reshape(1, -1), np.asarray(sentences, dtype=np.float32)])
    peak = np.abs(matrix).max(axis=1, keepdims=True)
    quantised = np.rint(matrix / np.maximum(peak, 1e-12) * 127).astype(np.int8)
    return base64.b64encode(quantised.tobytes()).decode("ascii")


def _rows(raw: bytes, dimension: int) -> np.ndarray:
    values = np.frombuffer(raw, dtype=np.int8)
    if dimension <= 0 or values.size % dimension:
        raise ValueError(f"stored vectors of {values.size} values do not split into rows of {dimension}")
    matrix = values.reshape(-1, dimension).astype(np.float32)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def to_bytes(blob: str) -> bytes:
    """The stored string's int8 rows as bytes (how the lexical index keeps them)."""
    return base64.b64decode(blob)


def decode(blob: str | bytes, dimension: int) -> np.ndarray:
    """One string (or its bytes) -> unit rows (float32): the chunk's, then one per sentence."""
    return _rows(to_bytes(blob) if isinstance(blob, str) else blob, dimension)


def cosines(question: np.ndarray, raw: Sequence[bytes]) -> list[tuple[float, float]]:
    """(the chunk's cosine, its best sentence's cosine) with the unit question vector, for
    each chunk's rows (`to_bytes`), in one pass over all of them."""
    if not raw:
        return []
    question = np.asarray(question, dtype=np.float32)
    rows = _rows(b"".join(raw), question.shape[0]) @ question
    out, at = [], 0
    for part in raw:
        n = len(part) // question.shape[0]
        out.append((float(rows[at]), float(rows[at + 1: at + n].max()) if n > 1 else float(rows[at])))
        at += n
    return out


def embed_sentences(embed, texts: Sequence[str]) -> list[np.ndarray]:
    """Each text's sentence vectors, from one call of `embed` (a list of strings -> rows)."""
    per_text = [sentences_of(t) for t in texts]
    flat = [s for sentences in per_text for s in sentences]
    rows = embed(flat) if flat else np.zeros((0, 0), dtype=np.float32)
    out, at = [], 0
    for sentences in per_text:
        out.append(rows[at: at + len(sentences)])
        at += len(sentences)
    return out

"""Each chunk's sentences as vectors, made at ingest and kept with the chunk.

Retrieval reranks its candidates by the best single sentence's cosine with the question
(`service.answer.retrieval`): a chunk holds several sentences, and one of them usually
carries what a question asks, while the chunk's own vector averages them all. Embedding
them at question time would cost seconds; at ingest it adds the sentences to the same
embedding call as the chunks (SciFact: 48,700 sentences in about 3 minutes on 2 cores).

Stored in the chunk's Chroma metadata under `KEY` as one base64 string: int8 directions,
384 bytes a sentence for MiniLM (a chunk of 200 tokens holds about 8: 4 KiB of text). A
vector is quantised to its largest component (127) and scored after renormalising, so the
cosine it gives differs from the float vector's by about 0.001 (tested). Chroma holds it,
so every replica's lexical index copies it with the chunk and nothing is embedded twice.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np

from service.text import sentence_spans

KEY = "sentence_vectors"
FLAG = "stores_sentence_vectors"  # collection metadata: every chunk was written with KEY


def sentences_of(text: str) -> list[str]:
    """The chunk's sentences (Punkt, per line); the whole chunk when it has none."""
    found = [text[s:e] for s, e in sentence_spans(text)]
    return found or [text]


def encode(vectors: np.ndarray) -> str:
    """Rows of unit vectors -> one base64 string of int8 rows."""
    matrix = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    peak = np.abs(matrix).max(axis=1, keepdims=True)
    quantised = np.rint(matrix / np.maximum(peak, 1e-12) * 127).astype(np.int8)
    return base64.b64encode(quantised.tobytes()).decode("ascii")


def decode(blob: str, dimension: int) -> np.ndarray:
    """One base64 string -> unit rows (float32), shape (sentences, dimension)."""
    raw = np.frombuffer(base64.b64decode(blob), dtype=np.int8)
    if dimension <= 0 or raw.size % dimension:
        raise ValueError(f"sentence vectors of {raw.size} values do not split into rows of {dimension}")
    matrix = raw.reshape(-1, dimension).astype(np.float32)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def best_cosine(question: np.ndarray, blob: str) -> float:
    """The highest cosine between the (unit) question vector and any of the sentences."""
    question = np.asarray(question, dtype=np.float32)
    return float(np.max(decode(blob, question.shape[0]) @ question))


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

"""Sources without an answer: the numbered passages an answer would be written from, with
their text and offsets. `search` over MCP, `POST /v1/search` and the LlamaIndex retriever
all return this."""

from __future__ import annotations

from typing import Any

from service.answer.retrieval import HybridRetriever
from service.models import Filters, number_sources


def find_sources(retriever: HybridRetriever, query: str, filters: Filters, top_k: int,
                 relevance_threshold: float) -> dict[str, Any]:
    """`sources` as in an answer (n, article, score, start, end, text, corroboration) and
    `relevant`: false when even the best passage is below the refusal threshold, where
    `ask` would refuse."""
    result = retriever.retrieve(query, filters, top_k)
    return {
        "sources": [s.to_dict() for s in number_sources(result.passages)],
        "relevant": bool(result.passages) and result.best_dense >= relevance_threshold,
    }

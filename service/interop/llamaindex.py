"""`NewsdeskRetriever`: newsdesk's hybrid retrieval as a LlamaIndex `BaseRetriever`.

    from service.interop.llamaindex import NewsdeskRetriever
    retriever = NewsdeskRetriever.from_components(components)            # in-process
    retriever = NewsdeskRetriever.from_url("http://newsdesk:8000", api_key="nd_...")  # remote
    engine = RetrieverQueryEngine.from_args(retriever, llm=...)

Each result is a `NodeWithScore` whose `TextNode` holds the passage text and its exact
offsets in the article (`start_char_idx`, `end_char_idx`: `article_text[start:end] ==
node.text`), the article's metadata (article_id, title, source, url, published_at,
corroborations) and a SOURCE relationship to the article id. The score is the
retriever's fused score, comparable only within one result list: by default
(`NEWSDESK_FUSION=rerank`) the weighed sum of the z-scores of six features (cosine, BM25,
best sentence's cosine, the article's BM25, the article's best cosine and best sentence
among the candidates); under "rrf" a reciprocal-rank sum, under
"zscore" the two paths' weighed z-scores; with one path only, that path's own score.
The cosine similarity is in `metadata["dense_score"]`. Remotely, the same sources come
from `POST /v1/search`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode

from service.answer.search import find_sources
from service.errors import NewsdeskError
from service.models import Filters

Search = Callable[[str], list[dict[str, Any]]]  # query -> numbered sources
METADATA = ("article_id", "title", "source", "url", "published_at", "n", "dense_score", "corroborations")


class RemoteSearchError(NewsdeskError):
    """The remote newsdesk answered with a problem (or not at all)."""

    type_slug = "remote-error"
    status = 502
    title = "Remote newsdesk error"


class NewsdeskRetriever(BaseRetriever):
    def __init__(self, search: Search, **kwargs: Any):
        self._search = search
        super().__init__(**kwargs)

    @classmethod
    def from_components(cls, components, *, top_k: int | None = None,
                        filters: Mapping[str, Any] | None = None, **kwargs: Any) -> NewsdeskRetriever:
        """Over the engine's own retriever (`service.components.Components`)."""
        chosen = Filters.from_mapping(filters)
        k = top_k or components.settings.top_k

        def search(query: str) -> list[dict[str, Any]]:
            found = find_sources(components.retriever, query, chosen, k, components.settings.relevance_threshold)
            return found["sources"]

        return cls(search, **kwargs)

    @classmethod
    def from_url(cls, base_url: str, *, api_key: str | None = None, top_k: int | None = None,
                 filters: Mapping[str, Any] | None = None, collection: str | None = None,
                 timeout_s: float = 30.0, http: httpx.Client | None = None, **kwargs: Any) -> NewsdeskRetriever:
        """Against a running newsdesk (`POST {base_url}/v1/search`)."""
        client = http or httpx.Client(timeout=timeout_s)
        url = base_url.rstrip("/") + "/v1/search"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        body: dict[str, Any] = {k: v for k, v in (("top_k", top_k), ("filters", dict(filters) if filters else None),
                                                 ("collection", collection)) if v is not None}

        def search(query: str) -> list[dict[str, Any]]:
            try:
                response = client.post(url, json={"query": query, **body}, headers=headers)
            except httpx.HTTPError as exc:
                raise RemoteSearchError(f"{url}: {type(exc).__name__}: {exc}") from None
            if response.status_code != 200:
                raise RemoteSearchError(f"{url}: HTTP {response.status_code}: {_problem(response)}")
            return response.json()["sources"]

        return cls(search, **kwargs)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [to_node(source) for source in self._search(query_bundle.query_str)]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        # Retrieval embeds and ranks (or waits on HTTP): a worker thread keeps the event loop free.
        return await asyncio.to_thread(self._retrieve, query_bundle)


def to_node(source: Mapping[str, Any]) -> NodeWithScore:
    node = TextNode(
        id_=f"{source['article_id']}@{source['start']}-{source['end']}",
        text=source["text"],
        start_char_idx=source["start"],
        end_char_idx=source["end"],
        metadata={key: source.get(key) for key in METADATA},
        # The model sees the title, outlet and date beside the text; ids and scores stay out.
        excluded_llm_metadata_keys=["article_id", "url", "n", "dense_score", "corroborations"],
        excluded_embed_metadata_keys=list(METADATA),
    )
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=source["article_id"])
    return NodeWithScore(node=node, score=source.get("score"))


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
        return f"{body.get('type', '').rsplit('/', 1)[-1]}: {body.get('detail') or body.get('title')}"
    except ValueError:
        return response.text[:200]

"""`newsdesk bench compare`: newsdesk's retrieval beside what a user would assemble from
stock LlamaIndex over the same articles and the same embedder, in one run.

The news set is `evals/newsset` by default (165 articles in ten running stories, 97
questions written before any run; its README says how), or any corpus and eval cases given
(`--corpus corpus --cases evals/cases.jsonl` is the sample corpus); cases with metadata
filters, unanswerable and adversarial ones are left out, since the stock BM25 retriever
takes no filters. The figure is evidence recall at 8 sources: the share of
a case's evidence articles among the articles of the first 8 sources (for newsdesk, a
source's collapsed wire copies count as that source's articles).

LlamaIndex side: `VectorStoreIndex` (default `SentenceSplitter`, our embedder wrapped as a
`BaseEmbedding`), `BM25Retriever` from llama-index-retrievers-bm25, and
`QueryFusionRetriever(mode="reciprocal_rerank", num_queries=1)`, both with LlamaIndex's
default of putting each document's metadata (title, outlet, date) into the indexed text
and without it.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from service.config import Settings

SOURCES = 8
# A source's articles: one id, or the ids of a source and its collapsed wire copies.
Retrieve = Callable[[str], Sequence[str | Sequence[str]]]
NEWS_SET = Path(__file__).resolve().parents[2] / "evals" / "newsset"


def llamaindex_embedding(embedder):
    """Our embedder as a LlamaIndex `BaseEmbedding`, so both sides embed with the same model."""
    from llama_index.core.embeddings import BaseEmbedding
    from pydantic import PrivateAttr

    class NewsdeskEmbedding(BaseEmbedding):
        _embedder = PrivateAttr()

        def __init__(self, inner, **kwargs):
            super().__init__(model_name=inner.model_id, embed_batch_size=64, **kwargs)
            self._embedder = inner

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._embedder.embed([query])[0].tolist()

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._embedder.embed([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return [v.tolist() for v in self._embedder.embed(texts)]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return NewsdeskEmbedding(embedder)


def llamaindex_retriever(articles, embedder, *, with_metadata: bool, top_k: int = SOURCES):
    """Stock LlamaIndex hybrid retrieval over `articles`."""
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.llms import MockLLM
    from llama_index.core.retrievers import QueryFusionRetriever
    from llama_index.core.retrievers.fusion_retriever import FUSION_MODES
    from llama_index.retrievers.bm25 import BM25Retriever

    documents = []
    for a in articles:
        metadata = {"title": a.title or "", "outlet": a.outlet or "",
                    "date": a.published_at.date().isoformat() if a.published_at else ""}
        doc = Document(text=a.text, metadata=metadata, id_=a.article_id)
        if not with_metadata:
            doc.excluded_embed_metadata_keys = doc.excluded_llm_metadata_keys = list(metadata)
        documents.append(doc)
    index = VectorStoreIndex.from_documents(documents, embed_model=llamaindex_embedding(embedder))
    nodes = list(index.docstore.docs.values())
    vector = index.as_retriever(similarity_top_k=top_k)
    bm25 = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=top_k)
    return QueryFusionRetriever([vector, bm25], llm=MockLLM(), mode=FUSION_MODES.RECIPROCAL_RANK, num_queries=1,
                                similarity_top_k=top_k, use_async=False)


def evidence_recall(retrieved: Sequence[Sequence[str | Sequence[str]]], expected: Sequence[Sequence[str]]) -> float:
    """Mean over cases of |evidence ∩ retrieved articles| / |evidence|."""
    scores = [len(set(e) & {a for group in r for a in ([group] if isinstance(group, str) else group)}) / len(set(e))
              for r, e in zip(retrieved, expected, strict=True) if e]
    return sum(scores) / len(scores) if scores else 0.0


def newsdesk_articles(retriever, question: str) -> list[list[str]]:
    passages = retriever.retrieve(question, top_k=SOURCES).passages[:SOURCES]
    return [[p.article_id] + [c.article_id for c in p.corroborated_by] for p in passages]


def llamaindex_articles(retriever, question: str) -> list[str]:
    return [n.node.ref_doc_id for n in retriever.retrieve(question)[:SOURCES]]


def compare_collection(corpus: Path) -> str:
    """A collection of its own per corpus folder: preparing the index makes a collection
    hold exactly its corpus, so sharing `eval-sample` would churn it."""
    digest = hashlib.sha1(str(Path(corpus).resolve()).encode()).hexdigest()[:8]
    return f"compare-{digest}"


def cmd_bench_compare(args, settings: Settings) -> int:
    from rich.console import Console
    from rich.table import Table

    from service.evals.cases import load_cases, load_corpus
    from service.evals.commands import _eval_components

    console = Console()
    corpus_dir = Path(args.corpus) if args.corpus else NEWS_SET / "corpus"
    corpus = load_corpus(corpus_dir)
    cases = [c for c in load_cases(Path(args.cases) if args.cases else NEWS_SET / "cases.jsonl", corpus)
             if c.expected_sources and not c.must_refuse and c.filters.empty and c.adversarial is None]
    components = _eval_components(settings, args.collection or compare_collection(corpus_dir), corpus, console)
    expected = [c.expected_sources for c in cases]
    rows: list[tuple[str, str]] = []
    runs: list[tuple[str, Retrieve, float | None]] = [
        (f"newsdesk (hybrid, {components.retriever.fusion}, wire copies collapsed)",
         partial(newsdesk_articles, components.retriever), None)]
    for with_metadata in (True, False):
        started = time.perf_counter()
        retriever = llamaindex_retriever(corpus.articles, components.embedder, with_metadata=with_metadata)
        label = f"LlamaIndex hybrid ({'metadata in the indexed text, its default' if with_metadata else 'text only'})"
        runs.append((label, partial(llamaindex_articles, retriever), time.perf_counter() - started))
    for label, retrieve, build_s in runs:
        started = time.perf_counter()
        retrieved = [retrieve(c.question) for c in cases]
        per_query = (time.perf_counter() - started) * 1000 / max(len(cases), 1)
        recalls = " / ".join(f"{evidence_recall([r[:k] for r in retrieved], expected):.3f}" for k in (1, 3, SOURCES))
        rows.append((label, f"{recalls}  ({per_query:.0f} ms/query"
                            + (f", built in {build_s:.1f} s)" if build_s is not None else ")")))
    table = Table(title=f"evidence recall at 1 / 3 / {SOURCES} sources: {len(cases)} news questions "
                        f"({sum(len(e) for e in expected)} evidence articles), same texts, same embedder")
    table.add_column("retriever")
    table.add_column("recall@1 / @3 / @8 (time)", justify="right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    return 0


def register(kinds: argparse._SubParsersAction) -> None:
    p = kinds.add_parser("compare", help="newsdesk retrieval against a stock LlamaIndex hybrid retriever, side by side")
    p.add_argument("--corpus", help="article folder (default: evals/newsset/corpus)")
    p.add_argument("--cases", help="eval cases naming their evidence articles (default: evals/newsset/cases.jsonl)")
    p.add_argument("--collection", help="newsdesk collection to (re)use (default: one per corpus folder)")
    p.set_defaults(func=cmd_bench_compare)

"""Builds the long-lived pieces (Chroma client, embedder, store, retriever, LLM client)
once, at an edge, from `Settings`. Everything below this takes plain objects."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from service.answer.engine import AnswerEngine
from service.answer.extractive import Extractor
from service.answer.gate import load_gate_model
from service.answer.llm import ChatModel, build_chat_model
from service.answer.prompts import Prompt, load_prompt
from service.answer.retrieval import HybridRetriever
from service.config import Settings
from service.index.client import open_client
from service.index.embedding import Embedder, build_embedder
from service.index.hnsw import HnswParams
from service.index.metadata import IndexSpec
from service.index.replica import LexicalReplica, held_elsewhere, lexical_dir
from service.index.store import ArticleStore, drop_collections
from service.ingest.chunking import Chunker
from service.ingest.pipeline import Ingester


@dataclass
class Components:
    settings: Settings
    embedder: Embedder
    client: object
    collection: str

    @classmethod
    def build(cls, settings: Settings, *, collection: str | None = None, embedder: Embedder | None = None) -> Components:
        embedder = embedder or build_embedder(
            settings.embedding_model,
            batch_size=settings.embedding_batch_size,
            openai_base_url=settings.openai_embedding_base_url,
            openai_api_key=settings.openai_embedding_api_key.get_secret_value() if settings.openai_embedding_api_key else None,
        )
        client = open_client(
            index_dir=settings.index_dir, host=settings.chroma_host, port=settings.chroma_port, ssl=settings.chroma_ssl,
            timeout_s=settings.chroma_timeout_s,
        )
        return cls(settings, embedder, client, collection or settings.collection)

    @cached_property
    def spec(self) -> IndexSpec:
        s = self.settings
        return IndexSpec(self.embedder.model_id, self.embedder.dimension, s.chunk_size, s.chunk_overlap, s.chunk_vectors)

    @cached_property
    def store(self) -> ArticleStore:
        s = self.settings
        return ArticleStore(self.client, self.collection, self.spec, HnswParams(s.hnsw_m, s.hnsw_ef_construction, s.hnsw_ef_search))

    @cached_property
    def chunker(self) -> Chunker:
        return Chunker(self.settings.chunk_size, self.settings.chunk_overlap, self.embedder.count_tokens)

    @cached_property
    def ingester(self) -> Ingester:
        return Ingester(self.store, self.embedder, self.chunker)

    @cached_property
    def lexical_dir(self):
        s = self.settings
        return lexical_dir(s.index_dir, self.collection, chroma_host=s.chroma_host, chroma_port=s.chroma_port,
                           explicit=s.lexical_dir)

    @cached_property
    def lexical(self) -> LexicalReplica:
        return LexicalReplica(self.store, self.lexical_dir,
                              follow_interval_s=self.settings.lexical_follow_ms / 1000)

    def served_elsewhere(self) -> bool:
        """True when another process (a running `serve`, `newsdesk mcp`) answers from this
        embedded index. Its dense path cannot see this process's writes until it restarts:
        embedded Chroma keeps each process's vector index in memory. Its lexical index follows
        the feed. (The CLI writes through a `serve` that left its address instead: docs/cli.md.)"""
        return not self.settings.chroma_host and held_elsewhere(self.lexical_dir)

    @cached_property
    def retriever(self) -> HybridRetriever:
        return HybridRetriever(self.store, self.embedder, self.lexical, token_budget=self.settings.context_token_budget,
                               chunk_tokens=self.settings.chunk_size, fusion=self.settings.fusion)

    @cached_property
    def chat(self) -> ChatModel | None:
        s = self.settings
        if not s.llm_model:  # `llm_enabled`, spelled so the type checker sees a model name below
            return None
        return build_chat_model(
            model=s.llm_model, base_url=s.resolved_llm_base_url(), api_key=s.resolved_llm_api_key(),
            api_version=s.llm_api_version, timeout_s=s.llm_timeout_s, max_retries=s.llm_max_retries,
            temperature=s.llm_temperature,
        )

    @cached_property
    def prompt(self) -> Prompt:
        return load_prompt(self.settings.prompts_dir, self.settings.answer_prompt)

    @cached_property
    def engine(self) -> AnswerEngine:
        return AnswerEngine(
            retriever=self.retriever,
            article_texts=self.store.get_article_texts,
            extractor=Extractor(),
            relevance_threshold=self.settings.relevance_threshold,
            gate_model=load_gate_model(self.settings.gate_model) if self.settings.gate_model else None,
            chat=self.chat,
            prompt=self.prompt,
            default_top_k=self.settings.top_k,
            deadline_s=self.settings.request_deadline_s,
        )

    def rebuild(self) -> None:
        """Drop the collections so they are recreated for the current embedder."""
        drop_collections(self.client, self.collection)
        if "lexical" in self.__dict__:
            self.lexical.close()  # its directory is reopened, and copied again, by the next one
        for name in ("store", "ingester", "lexical", "retriever", "engine"):
            self.__dict__.pop(name, None)

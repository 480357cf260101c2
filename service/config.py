"""The one `Settings` object, read from `NEWSDESK_*` environment variables.

It is built at the edges (CLI entry, API lifespan, Slack runner) by `get_settings()`
and the pieces the core needs are passed down as plain values.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.models import MAX_TOP_K, ChunkVectors, FusionMode

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
DEFAULT_CORPUS_DIR = REPO_DIR / "corpus"
DEFAULT_PROMPTS_DIR = REPO_DIR / "prompts"
DEFAULT_EVALS_DIR = REPO_DIR / "evals"

DEFAULT_EMBEDDING_MODEL = "onnx:all-MiniLM-L6-v2-int8"


def default_ask_concurrency() -> int:
    """Twice the CPU cores, at least 4 (measured with `newsdesk bench load`, docs/api.md)."""
    return max(4, 2 * (os.cpu_count() or 1))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", extra="ignore")

    # Where the embedded Chroma keeps its files; relative paths are resolved
    # against the working directory, as a user typing a path would expect.
    index_dir: Path = Path("indexes")
    collection: str = "newsdesk"
    # A Chroma server instead of the embedded store (scale-out; API replicas stay stateless).
    chroma_host: str | None = None
    chroma_port: int = 8000
    chroma_ssl: bool = False
    # Every call to a Chroma server; a call that takes longer fails as a 503 store-unavailable.
    chroma_timeout_s: float = Field(10.0, gt=0, le=600)
    # This replica's lexical index (on disk, follows the change feed). Unset: under
    # index_dir/lexical/ (per Chroma server). Give each replica on one host its own.
    lexical_dir: Path | None = None
    # How often the lexical index reads the change feed while queries arrive: a write on
    # another replica becomes searchable here within this, and a query between reads costs
    # no Chroma call for it. Writes made by this process are seen at once. 0: every query.
    lexical_follow_ms: int = Field(200, ge=0, le=10_000)
    # The chunk collection's HNSW graph (README, "Configuration"; `newsdesk bench hnsw`).
    # M and ef_construction apply when a collection is created; ef_search at every start.
    hnsw_m: int = Field(16, ge=2, le=128)
    hnsw_ef_construction: int = Field(100, ge=4, le=2000)
    hnsw_ef_search: int = Field(100, ge=1, le=2000)

    # `onnx:all-MiniLM-L6-v2-int8` (default, offline) or `openai:<model>`.
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    embedding_batch_size: int = Field(32, ge=1, le=1024)
    openai_embedding_base_url: str | None = None
    openai_embedding_api_key: SecretStr | None = None

    # Chunking, in tokens of the embedding model's own tokenizer.
    chunk_size: int = Field(200, ge=16, le=2048)
    chunk_overlap: int = Field(40, ge=0)
    # How a new collection's chunk and sentence vectors are made: "sentences" (each sentence
    # embedded once; the chunk's vector their mean), "pooled" or "separate" (every token read
    # twice). A collection keeps the way it was made with (service/index/sentence_vectors.py
    # compares them; README, "Benchmarks").
    chunk_vectors: ChunkVectors = ChunkVectors.SENTENCES

    # LLM: any OpenAI-compatible chat completions endpoint. Empty model = extractive mode.
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str | None = None
    llm_api_version: str | None = None  # set for Azure OpenAI
    llm_timeout_s: float = Field(30.0, gt=0)
    llm_max_retries: int = Field(3, ge=0, le=10)
    llm_temperature: float = 0.0
    # One answer (retrieval, LLM attempts and retries, streaming) ends by then; an LLM that is
    # still not done by then gives way to the degraded extractive answer.
    request_deadline_s: float = Field(30.0, gt=0, le=3600)

    # Retrieval and answering.
    top_k: int = Field(8, ge=1, le=MAX_TOP_K)
    context_token_budget: int = Field(1800, ge=100)
    # How candidates are ranked: "rerank" (each candidate's cosine, BM25, best sentence and
    # whole-article BM25, weighed), "rrf" (reciprocal ranks of the two paths) or "zscore" (the
    # two paths' scores). SciFact train nDCG@10: 0.749 / 0.718 / 0.732; README, "Evals".
    fusion: FusionMode = FusionMode.RERANK
    # Minimum cosine similarity of the best dense hit; below it the answer is a refusal.
    # Calibrated with `newsdesk eval calibrate` (docs/evals.md, "Refusal threshold"): the best
    # refusal F1 that still answers 98% of answerable questions (eval cases + SciFact).
    relevance_threshold: float = 0.26
    # The answerability gate's model (`newsdesk eval train-gate` writes one); None: the shipped one.
    gate_model: Path | None = None
    prompts_dir: Path = DEFAULT_PROMPTS_DIR
    answer_prompt: str = "answer.v2"
    sample_corpus_dir: Path = DEFAULT_CORPUS_DIR

    # HTTP API.
    host: str = "127.0.0.1"
    port: int = 8000
    # Room for one article at max_article_chars (JSON escapes can double non-ASCII text).
    max_body_bytes: int = Field(8_000_000, ge=1024)
    # Characters of article text (after whitespace normalisation), from files and the API alike.
    max_article_chars: int = Field(2_000_000, ge=1000)
    # Access (docs/api.md, "Keys, limits and shedding"). Keys live hashed in this record collection.
    keys_collection: str = "newsdesk-keys"
    # How long a replica trusts what it read about a key: a revocation reaches every replica within it.
    key_cache_ttl_s: float = Field(2.0, ge=0, le=5)
    # Requests per key, in the `limits` notation ("120/minute", "10/second"); a key may carry its own.
    rate_limit: str = "120/minute"
    rate_limit_storage_uri: str = "memory://"  # e.g. redis://host:6379 to share the counts between replicas
    # Asks answered at once, on threads of their own: their CPU-bound steps gain nothing from
    # more threads than cores, and more would crowd the event loop (health checks) off the GIL.
    ask_concurrency: int = Field(default_factory=lambda: default_ask_concurrency(), ge=1, le=256)
    ask_queue: int | None = Field(None, ge=0, le=10_000)  # waiting beyond those (default 4x); past it, 503 at once
    # Registered at start-up as the key "bootstrap" (scopes ask, write, admin), e.g. for docker-compose.
    bootstrap_key: SecretStr | None = None
    # What the CLI sends when it goes through a running `serve` that requires keys (docs/cli.md).
    api_key: SecretStr | None = None
    # OpenTelemetry traces over OTLP (OTEL_EXPORTER_OTLP_* variables); needs `newsdesk[otel]`.
    otel_traces: bool = False

    # Slack.
    slack_signing_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_channels_file: Path | None = None

    # Feeds (docs/feeds.md): `newsdesk watch` reads this file; `serve` runs the watcher when it is set.
    feeds_file: Path | None = None

    # Follows (docs/follows.md): hosts a webhook may name although they resolve to private
    # addresses (comma-separated; private networks, tests), and how often `serve` reads the
    # change feeds of collections with follows.
    webhook_allow_hosts: str = ""
    follow_poll_ms: int = Field(250, ge=10, le=60_000)

    @field_validator("embedding_model")
    @classmethod
    def _known_embedder(cls, value: str) -> str:
        if value != DEFAULT_EMBEDDING_MODEL and not (value.startswith("openai:") and len(value) > 7):
            raise ValueError(
                f"unknown embedding model {value!r}: use {DEFAULT_EMBEDDING_MODEL!r} or 'openai:<model>'"
            )
        return value

    @model_validator(mode="after")
    def _ask_queue(self) -> Settings:
        if self.ask_queue is None:
            self.ask_queue = 4 * self.ask_concurrency
        return self

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size ({self.chunk_size})"
            )
        return self

    # The SDK's own variables are honoured as fallbacks, as users of other OpenAI tools expect.
    def resolved_llm_api_key(self) -> str | None:
        if self.llm_api_key is not None:
            return self.llm_api_key.get_secret_value()
        return os.environ.get("OPENAI_API_KEY")

    def resolved_llm_base_url(self) -> str | None:
        return self.llm_base_url or os.environ.get("OPENAI_BASE_URL")

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_model)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

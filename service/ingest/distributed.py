"""`newsdesk ingest --ray [--ray-address ADDRESS]`: reading, parsing, chunking and embedding on a Ray
cluster with Ray Data; this process decides what changed and writes to Chroma.

Ray Data runs two stages on the cluster's workers:
  files -> parse + chunk      one task per file: `load_file` and the same `Chunker` (with
                              the embedder's own tokenizer) as a single-process ingest
  chunk texts -> vectors      `map_batches` over the texts an ingest group must embed

Between them the driver runs the ordinary `Ingester` (`ingest_chunked`): unchanged articles
are skipped before any embedding, an edited article keeps its unchanged chunks' vectors,
writes go to the configured Chroma (a server, or the embedded store on this machine) with
the same ids, hashes, offsets and change-feed entries as `newsdesk ingest` without Ray.
Rows keep their order (`preserve_order`), so "the later of two articles with one id wins"
holds here too.

Each worker builds the embedder and chunker once per process (`_pieces`) and keeps them.
Ray is an optional extra (`pip install 'newsdesk[ray]'`); nothing imports it otherwise.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from service.errors import ConfigError, IngestError
from service.index.embedding import build_embedder
from service.ingest.chunking import Chunker
from service.ingest.loading import iter_files, load_file
from service.ingest.pipeline import Ingester, IngestReport, Progress
from service.models import Article, Chunk

RAY_GROUP_CHUNKS = 8192  # chunks per embedding job on the cluster: each job costs a scheduling round
EMBED_BATCH = 256  # chunk texts per Ray Data batch (one worker's `embed` call)


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to build the same embedder and chunker as this process."""

    embedding_model: str
    embedding_batch_size: int
    chunk_size: int
    chunk_overlap: int
    max_chars: int
    openai_base_url: str | None = None
    openai_api_key: str | None = field(default=None, repr=False)  # sent to workers, never printed

    @classmethod
    def from_settings(cls, settings) -> WorkerSpec:
        key = settings.openai_embedding_api_key
        return cls(settings.embedding_model, settings.embedding_batch_size, settings.chunk_size,
                   settings.chunk_overlap, settings.max_article_chars, settings.openai_embedding_base_url,
                   key.get_secret_value() if key else None)


_PIECES: dict[WorkerSpec, tuple[Any, Chunker]] = {}  # per worker process


def _pieces(spec: WorkerSpec) -> tuple[Any, Chunker]:
    if spec not in _PIECES:
        embedder = build_embedder(spec.embedding_model, batch_size=spec.embedding_batch_size,
                                  openai_base_url=spec.openai_base_url, openai_api_key=spec.openai_api_key)
        _PIECES[spec] = (embedder, Chunker(spec.chunk_size, spec.chunk_overlap, embedder.count_tokens))
    return _PIECES[spec]


def parse_and_chunk(row: dict[str, Any], spec: WorkerSpec) -> list[dict[str, Any]]:
    """One file -> a row per article (the article and its chunks' offsets) or per error."""
    articles, errors = load_file(Path(row["path"]), max_chars=spec.max_chars)
    _, chunker = _pieces(spec)
    rows = []
    for article in articles:
        spans = [(c.chunk_index, c.char_start, c.char_end, c.tokens) for c in chunker.chunk(article.article_id, article.text)]
        rows.append({"payload": pickle.dumps(("article", article, spans))})
    for error in errors:
        rows.append({"payload": pickle.dumps(("error", error.reason, error.path, error.line))})
    return rows


def embed_batch(batch: dict[str, np.ndarray], spec: WorkerSpec) -> dict[str, np.ndarray]:
    embedder, _ = _pieces(spec)
    return {"i": batch["i"], "vector": np.asarray(embedder.embed([str(t) for t in batch["text"]]), dtype=np.float32)}


def embed_spans_batch(batch: dict[str, np.ndarray], spec: WorkerSpec) -> dict[str, np.ndarray]:
    """Each text's rows from one pass (`OnnxEmbedder.embed_spans`), as float32 bytes."""
    embedder, _ = _pieces(spec)
    rows = embedder.embed_spans([str(t) for t in batch["text"]], [pickle.loads(s) for s in batch["spans"]])
    return {"i": batch["i"], "rows": np.array([r.astype(np.float32).tobytes() for r in rows], dtype=object)}


class RayEmbedder:
    """The `Embedder` the driver's Ingester calls: each call is a Ray Data job whose
    batches are embedded on the cluster's workers. `pools_spans` when the workers' embedder
    pools sentence spans from one pass (`sentence_vectors.embed_chunks`), as it does locally."""

    def __init__(self, ray, spec: WorkerSpec, local):
        self.ray = ray
        self.spec = spec
        self.model_id = local.model_id
        self.dimension = local.dimension
        self.count_tokens = local.count_tokens
        self.pools_spans = hasattr(local, "embed_spans")

    def _job(self, items: list[dict[str, Any]], fn):
        blocks = max(1, min(len(items) // EMBED_BATCH + 1, 200))
        done = self.ray.data.from_items(items, override_num_blocks=blocks).map_batches(
            fn, batch_size=EMBED_BATCH, batch_format="numpy", fn_kwargs={"spec": self.spec})
        return done.iter_batches(batch_format="numpy", batch_size=None)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        for batch in self._job([{"i": i, "text": t} for i, t in enumerate(texts)], embed_batch):
            out[batch["i"]] = batch["vector"]
        return out

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]) -> list[np.ndarray]:
        out: list[np.ndarray] = [np.zeros((0, self.dimension), dtype=np.float32)] * len(texts)
        items = [{"i": i, "text": t, "spans": pickle.dumps(list(s))} for i, (t, s) in enumerate(zip(texts, spans, strict=True))]
        for batch in self._job(items, embed_spans_batch) if texts else ():
            for i, raw in zip(batch["i"], batch["rows"], strict=True):
                out[int(i)] = np.frombuffer(raw, dtype=np.float32).reshape(-1, self.dimension).copy()
        return out


def _articles(rows: Iterable[dict[str, Any]], errors: list[IngestError]) -> Iterator[tuple[Article, list[Chunk]]]:
    for row in rows:
        kind, *rest = pickle.loads(row["payload"])
        if kind == "error":
            reason, path, line = rest
            errors.append(IngestError(reason, path=path, line=line))
            continue
        article, spans = rest
        yield article, [Chunk(article.article_id, i, start, end, article.text[start:end], tokens=n)
                        for i, start, end, n in spans]


def start_ray(address: str | None):
    """Connect to the cluster at `address` (`auto`, `HOST:PORT`, `ray://HOST:10001`), or
    start a local one when it is None (unless RAY_ADDRESS names one); an already
    initialised Ray (a test's) is used as it is."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs the optional extra: pip install 'newsdesk[ray]'") from None
    if not ray.is_initialized():
        try:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        except Exception as exc:  # ConnectionError and Ray's own types
            raise ConfigError(f"cannot start or reach Ray at {address or 'a new local cluster'}: {exc}") from exc
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # one line per job otherwise
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False  # the CLI shows its own
    return ray


def ingest_on_ray(paths: Iterable[str | Path], ingester: Ingester, spec: WorkerSpec, *, ray,
                  progress: Progress | None = None) -> IngestReport:
    """Parse, chunk and embed `paths` on the cluster; write through `ingester`'s store.
    Files must be readable at the same path on every node (a shared mount) or the driver's
    machine for a local cluster. Bad files are reported in `failed`, the good ones go in."""
    errors: list[IngestError] = []
    files: list[str] = []
    for path, error in iter_files(paths):
        if error:
            errors.append(error)
        else:
            files.append(str(path.resolve()))
    report = IngestReport()
    if files:
        rows = ray.data.from_items([{"path": p} for p in files], override_num_blocks=max(1, min(len(files), 1000)))
        chunked = _articles(rows.flat_map(parse_and_chunk, fn_kwargs={"spec": spec}).iter_rows(), errors)
        on_cluster = Ingester(ingester.store, RayEmbedder(ray, spec, ingester.embedder), ingester.chunker,
                              group_chunks=RAY_GROUP_CHUNKS)
        report = on_cluster.ingest_chunked(chunked, progress=progress)
    report.failed = errors + report.failed
    return report

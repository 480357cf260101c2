"""The ingest pipeline: articles -> chunks -> vectors -> Chroma, idempotently.

An article whose chunk ids (derived from its id, chunk index and chunk text) already match
the stored ones exactly is "unchanged" and costs no embedding. Otherwise its new chunks are
upserted and every other chunk of that article is deleted in the same step, so old and new
never coexist after the run and nothing is orphaned; a killed run repeated converges too.
An edited article's chunks whose text is already stored (looked up by its `text_hash`)
keep their vectors: a correction appended to a long article embeds only its last chunks.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from service.errors import IngestError
from service.index import sentence_vectors
from service.index.embedding import Embedder
from service.index.metadata import text_hash
from service.index.store import ArticleStore
from service.ingest.chunking import Chunker
from service.models import Article, Chunk, ChunkVectors, chunk_id

STATUSES = ("added", "updated", "unchanged", "failed")


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[IngestError] = field(default_factory=list)
    chunks_written: int = 0
    chunks_embedded: int = 0  # of those written: embedded now
    chunks_reused: int = 0  # of those written: vectors kept from the stored version
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "failed": len(self.failed),
        }

    def merge(self, other: IngestReport) -> None:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.failed += other.failed
        self.chunks_written += other.chunks_written
        self.chunks_embedded += other.chunks_embedded
        self.chunks_reused += other.chunks_reused


Progress = Callable[[int, int], None]  # (articles done, chunks written) since the last call


class Ingester:
    def __init__(self, store: ArticleStore, embedder: Embedder, chunker: Chunker, *, group_chunks: int | None = None):
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        # Articles are written in groups so that one embedding call sees many chunks
        # (length-sorted batches, little padding) and Chroma gets few, large upserts: up to
        # its maximum batch, but small enough that progress moves every few seconds.
        self.group_chunks = group_chunks or min(1024, store.max_batch)

    def backfill_sentence_vectors(self, *, progress: Callable[[int, int], None] | None = None) -> int:
        """Give the chunks of a collection made before chunks kept sentence vectors their
        own (`service.index.sentence_vectors`), a page at a time, then flag the collection
        so this runs once. Returns the chunks done; `progress(done, total)` after each page.
        A replica's lexical index picks them up through the change feed."""
        if self.store.sentence_vectors:
            return 0
        total, done = self.store.count_chunks(), 0
        for page in self.store.iter_chunk_pages():
            todo = [c for c in page if not c.vectors]
            vectors = self.store.vectors_of([c.chunk_id for c in todo])
            todo = [c for c in todo if c.chunk_id in vectors]  # (one deleted meanwhile needs none)
            if todo:
                # The chunks' vectors are stored already: only their sentences' are made.
                texts = [c.text for c in todo]
                if self.store.chunk_vectors is ChunkVectors.POOLED:
                    _, sentences = sentence_vectors.embed_chunks(self.embedder, texts, source=ChunkVectors.POOLED)
                else:
                    _, sentences = sentence_vectors.embed_sentences(self.embedder.embed, texts)
                blobs = [sentence_vectors.encode(vectors[c.chunk_id], rows) for c, rows in zip(todo, sentences, strict=True)]
                self.store.set_sentence_vectors(todo, blobs)
            done += len(page)
            if progress:
                progress(done, total)
        self.store.mark_sentence_vectors()
        return done

    def ingest_documents(self, documents: Iterable, *, progress: Progress | None = None) -> IngestReport:
        """LlamaIndex `Document`s, from any LlamaIndex reader (`ingest.documents` maps their
        metadata). One that cannot become an article is in `failed`; the others go in."""
        from service.ingest.documents import articles_from_documents

        articles, errors = articles_from_documents(documents)
        report = self.ingest(articles, progress=progress)
        report.failed[:0] = errors
        return report

    def ingest(self, articles: Iterable[Article], *, progress: Progress | None = None) -> IngestReport:
        # Chunking runs ahead in a thread of its own: it is Python, and gets the GIL while
        # onnxruntime (which releases it) embeds the group before.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsdesk-chunker") as chunking:
            chunked = _prefetch(chunking, articles, lambda a: self.chunker.chunk(a.article_id, a.text))
            return self.ingest_chunked(chunked, progress=progress)

    def ingest_chunked(self, chunked: Iterable[tuple[Article, list[Chunk]]], *,
                       progress: Progress | None = None) -> IngestReport:
        """Articles chunked already (by this `Chunker` elsewhere: the Ray path)."""
        # One writer thread: group N is written to Chroma while group N+1 is chunked and
        # embedded, so the store's cost hides behind the model's (bench ingest measures it).
        # State is per call, so concurrent ingests (two API requests) do not share it.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsdesk-writer") as pool:
            writes = _Writes(pool)
            try:
                return self._ingest(chunked, progress, writes)
            finally:
                writes.finish()

    def _ingest(self, chunked: Iterable[tuple[Article, list[Chunk]]], progress: Progress | None,
                writes: _Writes) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        group: list[tuple[Article, list[Chunk]]] = []
        pending = 0
        seen: dict[str, str] = {}
        for article, chunks in chunked:
            if article.article_id in seen:
                # Two inputs with one id in one run: the later one wins, as on a re-run,
                # but say so instead of silently dropping one.
                report.failed.append(IngestError(
                    f"duplicate article id {article.article_id!r} (also in {seen[article.article_id]}); kept the later one",
                    path=article.origin,
                ))
                group = [(a, c) for a, c in group if a.article_id != article.article_id]
            seen[article.article_id] = article.origin or "?"
            group.append((article, chunks))
            pending += len(chunks)
            if pending >= self.group_chunks:
                report.merge(self._write_group(group, progress, writes))
                group, pending = [], 0
        if group:
            report.merge(self._write_group(group, progress, writes))
        writes.finish()
        report.seconds = time.perf_counter() - started
        return report

    def _write_group(self, group: Sequence[tuple[Article, list[Chunk]]], progress: Progress | None,
                     writes: _Writes) -> IngestReport:
        report = IngestReport()
        ids = {a.article_id for a, _ in group}
        if writes.touches(ids):
            writes.finish()  # the same article is still being written: read after it
        existing = self.store.existing_chunk_ids(sorted(ids))
        to_write: list[tuple[Article, list[Chunk]]] = []
        stale: set[str] = set()
        for article, chunks in group:
            new_ids = {chunk_id(article, c) for c in chunks}
            old_ids = existing.get(article.article_id, set())
            if old_ids == new_ids:
                report.unchanged.append(article.article_id)
                continue
            (report.updated if old_ids else report.added).append(article.article_id)
            to_write.append((article, chunks))
            stale |= old_ids - new_ids
        chunks = [c for _, cs in to_write for c in cs]
        if chunks:
            vectors, sentences = self._vectors(chunks, [a.article_id for a, _ in to_write if a.article_id in report.updated], report)
            writes.submit(self.store.write, {a.article_id for a, _ in to_write}, to_write, vectors, stale, sentences)
            report.chunks_written = len(chunks)
        if progress:
            progress(len(group), len(chunks))
        return report

    def _vectors(self, chunks: list[Chunk], updated: list[str], report: IngestReport) -> tuple[np.ndarray, list[str]]:
        """One vector per chunk, in order, and its sentences' vectors (`sentence_vectors`):
        stored ones for the chunks of `updated` articles whose text is unchanged, the
        embedder's for the rest, made as the collection makes them (`sentence_vectors.embed_chunks`)."""
        hashes = [text_hash(c.text) for c in chunks]
        known = self.store.vectors_by_text(updated, hashes) if updated else {}
        missing = [k for k, h in enumerate(hashes) if h not in known]
        own, sentences = sentence_vectors.embed_chunks(self.embedder, [chunks[k].text for k in missing],
                                                       source=self.store.chunk_vectors)
        fresh = {k: (own[row], sentence_vectors.encode(own[row], sentences[row])) for row, k in enumerate(missing)}
        report.chunks_embedded += len(missing)
        report.chunks_reused += len(chunks) - len(missing)
        pairs = [fresh[k] if k in fresh else known[h] for k, h in enumerate(hashes)]
        return np.stack([v for v, _ in pairs]).astype(np.float32), [blob for _, blob in pairs]


class _Writes:
    """At most one store write in flight, in submission order."""

    def __init__(self, pool: ThreadPoolExecutor):
        self.pool = pool
        self.pending: tuple[Future, set[str]] | None = None

    def touches(self, article_ids: set[str]) -> bool:
        return self.pending is not None and bool(self.pending[1] & article_ids)

    def submit(self, fn, article_ids: set[str], *args) -> None:
        self.finish()
        self.pending = (self.pool.submit(fn, *args), article_ids)

    def finish(self) -> None:
        if self.pending is not None:
            future, _ = self.pending
            self.pending = None
            future.result()  # re-raises the writer's error here, in the caller's thread


def _prefetch(pool: ThreadPoolExecutor, items: Iterable[Article], fn, ahead: int = 64):
    """(item, fn(item)) in order, computed up to `ahead` items in advance on `pool`."""
    queue: deque = deque()
    for item in items:
        queue.append((item, pool.submit(fn, item)))
        if len(queue) > ahead:
            head, future = queue.popleft()
            yield head, future.result()
    while queue:
        head, future = queue.popleft()
        yield head, future.result()

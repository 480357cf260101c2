"""The ingest pipeline: articles -> chunks -> vectors -> Chroma, idempotently.

An article whose chunk ids (derived from its id, chunk index and chunk text) already match
the stored ones exactly is "unchanged" and costs no embedding. Otherwise its new chunks are
upserted and every other chunk of that article is deleted in the same step, so old and new
never coexist after the run and nothing is orphaned; a killed run repeated converges too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from service.chunking import Chunker
from service.embedding import Embedder
from service.errors import IngestError
from service.models import Article, Chunk, chunk_id
from service.store import ArticleStore

STATUSES = ("added", "updated", "unchanged", "failed")


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[IngestError] = field(default_factory=list)
    chunks_written: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "failed": len(self.failed),
        }

    def merge(self, other: "IngestReport") -> None:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.failed += other.failed
        self.chunks_written += other.chunks_written
        self.embed_seconds += other.embed_seconds


Progress = Callable[[int, int], None]  # (articles done, chunks written) since the last call


class Ingester:
    def __init__(self, store: ArticleStore, embedder: Embedder, chunker: Chunker, *, group_chunks: int = 256):
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        # Articles are written in groups so that one embedding call sees many chunks
        # (length-sorted batches, little padding) and Chroma gets few, large upserts.
        self.group_chunks = group_chunks

    def ingest(self, articles: Iterable[Article], *, progress: Progress | None = None) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        group: list[tuple[Article, list[Chunk]]] = []
        pending = 0
        seen: dict[str, str] = {}
        for article in articles:
            if article.article_id in seen:
                # Two inputs with one id in one run: the later one wins, as on a re-run,
                # but say so instead of silently dropping one.
                report.failed.append(IngestError(
                    f"duplicate article id {article.article_id!r} (also in {seen[article.article_id]}); kept the later one",
                    path=article.origin,
                ))
                group = [(a, c) for a, c in group if a.article_id != article.article_id]
            seen[article.article_id] = article.origin or "?"
            chunks = self.chunker.chunk(article.article_id, article.text)
            group.append((article, chunks))
            pending += len(chunks)
            if pending >= self.group_chunks:
                report.merge(self._write_group(group, progress))
                group, pending = [], 0
        if group:
            report.merge(self._write_group(group, progress))
        report.seconds = time.perf_counter() - started
        return report

    def _write_group(self, group: Sequence[tuple[Article, list[Chunk]]], progress: Progress | None) -> IngestReport:
        report = IngestReport()
        existing = self.store.existing_chunk_ids([a.article_id for a, _ in group])
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
        texts = [c.text for _, chunks in to_write for c in chunks]
        if texts:
            t0 = time.perf_counter()
            vectors = self.embedder.embed(texts)
            report.embed_seconds = time.perf_counter() - t0
            self.store.write(to_write, vectors, stale)
            report.chunks_written = len(texts)
        if progress:
            progress(len(group), len(texts))
        return report

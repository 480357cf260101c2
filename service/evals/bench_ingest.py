"""`newsdesk bench ingest DIR`: the ingest's wall time beside two floors, in one process.

- **One embedding pass**: the embedder alone over the chunks' texts, in the groups the
  pipeline embeds them (each token once), timed before and after the ingests; the mean
  cancels drift. The ingest also chunks, makes sentence vectors and writes Chroma. It runs
  once for each way a collection can make its vectors (`ChunkVectors`): sentences embedded
  once and the chunk's vector their mean (the default), sentences pooled from the chunk's
  pass, and chunks and sentences embedded apart (each token twice). `sentence_vectors`
  says why the default is the first.
- **Stock LlamaIndex**: what a user would assemble for hybrid retrieval over the same texts
  with the same embedder: `SentenceSplitter` nodes (its defaults), a `VectorStoreIndex` over
  a persistent Chroma collection, and a `BM25Retriever` persisted beside it. Its default
  nodes are 1,024 tokens, which MiniLM reads only the first 256 of: it embeds fewer tokens,
  and the table says how many each system had the model read.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.config import Settings
from service.models import Article, ChunkVectors

# Each ingest's row, in `ChunkVectors` order.
INGEST_LABELS = {
    ChunkVectors.SENTENCES: "sentences embedded once, the chunk's vector their mean (the default)",
    ChunkVectors.POOLED: "sentences pooled from the chunk's pass",
    ChunkVectors.SEPARATE: "chunks and sentences embedded apart",
}


@dataclass
class Timed:
    seconds: float
    tokens: int | None  # tokens the model read (padding aside); None when the embedder does not count

    @property
    def tokens_text(self) -> str:
        return f"{self.tokens:,}" if self.tokens is not None else "n/a"


def timed(embedder: Any, run: Callable[[], object]) -> Timed:
    """Wall time of `run()` and the tokens `embedder` read meanwhile (`OnnxEmbedder.tokens_read`)."""
    before = getattr(embedder, "tokens_read", None)
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    after = getattr(embedder, "tokens_read", None)
    return Timed(seconds, after - before if before is not None and after is not None else None)


def one_pass(embedder: Any, groups: Sequence[Sequence[str]]) -> Callable[[], object]:
    """The floor: each group of chunk texts embedded once, as the pipeline groups them."""
    def run() -> None:
        for group in groups:
            embedder.embed(list(group))
    return run


def llamaindex_ingest(articles: Sequence[Article], embedder: Any, directory: Path) -> Callable[[], int]:
    """Stock LlamaIndex hybrid ingest of `articles`' texts into `directory`; returns the
    number of nodes. Raises ImportError without llama-index-vector-stores-chroma."""
    import chromadb
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.retrievers.bm25 import BM25Retriever
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from service.evals.bench_compare import llamaindex_embedding

    def run() -> int:
        client = chromadb.PersistentClient(path=str(directory / "chroma"))
        store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("llamaindex"))
        documents = [Document(text=a.text, id_=a.article_id) for a in articles]
        nodes = SentenceSplitter().get_nodes_from_documents(documents)
        VectorStoreIndex(nodes, storage_context=StorageContext.from_defaults(vector_store=store),
                         embed_model=llamaindex_embedding(embedder))
        BM25Retriever.from_defaults(nodes=nodes).persist(str(directory / "bm25"))
        return len(nodes)
    return run


def cmd_bench_ingest(args, settings: Settings) -> int:
    from rich.console import Console

    from service.evals.beir import load_corpus
    from service.evals.figures import print_figures
    from service.index.embedding import build_embedder
    from service.ingest.chunking import Chunker

    console = Console()
    articles = load_corpus(Path(args.dir), args.limit)
    embedder = build_embedder(settings.embedding_model, batch_size=settings.embedding_batch_size)
    embedder.embed(["warm-up sentence so session start-up is not timed"] * 4)
    with tempfile.TemporaryDirectory(prefix="newsdesk-bench-") as tmp:
        bench_settings = settings.model_copy(update={"index_dir": Path(tmp), "chroma_host": None})
        targets = [_ingest_target(bench_settings, embedder, way) for way in ChunkVectors]
        chunker = Chunker(settings.chunk_size, settings.chunk_overlap, embedder.count_tokens)
        texts = [c.text for a in articles for c in chunker.chunk(a.article_id, a.text)]
        size = targets[0].ingester.group_chunks
        floor = one_pass(embedder, [texts[b: b + size] for b in range(0, len(texts), size)])

        before = timed(embedder, floor)
        ingests = [timed(embedder, _ingest_run(target, articles, console)) for target in targets]
        chunks = targets[0].store.count_chunks()
        llama, nodes = _llamaindex_row(articles, embedder, Path(tmp) / "llamaindex", console)
        after = timed(embedder, floor)
    print_figures(console, f"bench ingest: {args.dir} ({len(articles)} articles, {embedder.model_id})",
                  _rows(len(articles), chunks, before, after, ingests, llama, nodes))
    return 0


def _ingest_target(settings: Settings, embedder: Any, way: ChunkVectors):
    """Components over a fresh collection that makes its vectors `way`, warmed up outside
    the timing (lazy imports, Punkt)."""
    from service.components import Components

    components = Components.build(settings.model_copy(update={"chunk_vectors": way}),
                                  collection=f"bench-ingest-{way}", embedder=embedder)
    components.chunker.chunk("warm-up", "Warm-up sentence one. And two.")
    components.store.count_chunks()
    return components


def _ingest_run(target, articles: Sequence[Article], console) -> Callable[[], object]:
    from service.ingest.run import run_ingest

    return lambda: run_ingest(articles, [], target, console)


def _rows(n_articles: int, chunks: int, before: Timed, after: Timed, ingests: Sequence[Timed],
          llama: Timed | None, nodes: int) -> list[tuple[str, str]]:
    from service.evals.figures import peak_rss_mib

    floor_s = (before.seconds + after.seconds) / 2
    rows = [
        ("articles / chunks", f"{n_articles} / {chunks}"),
        ("one embedding pass over the chunks, before / after (s)", f"{before.seconds:.2f} / {after.seconds:.2f}"),
        ("tokens read by the model: one pass", before.tokens_text),
    ]
    for label, run in zip((INGEST_LABELS[way] for way in ChunkVectors), ingests, strict=True):
        rows += [
            (f"newsdesk ingest, {label}: wall time (s) / tokens read", f"{run.seconds:.2f} / {run.tokens_text}"),
            ("  ratio to the mean one pass (target <= 1.15)", f"{run.seconds / floor_s:.3f}"),
        ]
        if llama is not None:
            rows.append(("  ratio to stock LlamaIndex (target <= 1.3)", f"{run.seconds / llama.seconds:.3f}"))
    if llama is not None:
        rows.append((f"stock LlamaIndex hybrid ingest ({nodes} nodes, Chroma + BM25): wall time (s) / tokens read",
                     f"{llama.seconds:.2f} / {llama.tokens_text}"))
    rows.append(("peak RSS (MiB)", f"{peak_rss_mib():.0f}"))
    return rows


def _llamaindex_row(articles: Sequence[Article], embedder: Any, directory: Path, console) -> tuple[Timed | None, int]:
    """The stock LlamaIndex ingest, timed; (None, 0) with a note when its Chroma store is missing."""
    try:
        run = llamaindex_ingest(articles, embedder, directory)
    except ImportError as exc:
        console.print(f"[yellow]stock LlamaIndex row skipped: {exc} "
                      "(pip install llama-index-vector-stores-chroma)[/yellow]")
        return None, 0
    nodes: list[int] = []
    result = timed(embedder, lambda: nodes.append(run()))
    return result, nodes[0]


def register(kinds) -> None:
    p = kinds.add_parser("ingest", help="ingest a BEIR corpus into a scratch index; compare with one embedding "
                                        "pass and with stock LlamaIndex")
    p.add_argument("dir", help="a BEIR-format folder (corpus.jsonl)")
    p.add_argument("--limit", type=int, default=None, help="only the first N documents")
    p.set_defaults(func=cmd_bench_ingest)

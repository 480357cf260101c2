"""`newsdesk bench hnsw` and `newsdesk bench reembed`: figures for the vector index.

hnsw     recall@10 of Chroma's HNSW index against exact search (numpy, brute force) over
         synthetic normalised vectors, for a few (M, ef_construction) graphs and ef_search
         values, with the query latency of each.
reembed  what an append-only correction (and a one-sentence edit) costs in embedding work
         when unchanged chunks keep their vectors, on real multi-chunk articles.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from service.config import Settings

CORRECTION = ("\n\nCorrection: an earlier version of this article misstated a figure. "
              "The text above has been updated.")


def synthetic_vectors(n: int, dim: int, seed: int, clusters: int | None = None) -> np.ndarray:
    """Unit vectors in `clusters` clusters (default one per 100 vectors), as text embeddings
    cluster by topic; with 0, uniform on the sphere: the worst case for any graph index,
    which no corpus looks like. Real embeddings fall between the two."""
    rng = np.random.default_rng(seed)
    clusters = n // 100 if clusters is None else clusters
    if clusters:
        centers = rng.normal(size=(clusters, dim)).astype(np.float32)
        vectors = centers[rng.integers(0, clusters, size=n)] + rng.normal(scale=0.9, size=(n, dim)).astype(np.float32)
    else:
        vectors = rng.normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def exact_top(data: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    scores = queries @ data.T
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    return np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1), axis=1)


def _graphs(value: str) -> list[tuple[int, int]]:
    try:
        return [(int(m), int(efc)) for m, efc in (part.split(":") for part in value.split(","))]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected M:EF_CONSTRUCTION[,M:EF_CONSTRUCTION...], got {value!r}") from None


def _ints(value: str) -> list[int]:
    try:
        return [int(v) for v in value.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {value!r}") from None


def cmd_bench_hnsw(args, settings: Settings) -> int:
    from rich.console import Console
    from rich.table import Table

    from service.index.client import VectorsGiven, open_client
    from service.index.hnsw import HnswParams

    console = Console()
    k = 10
    data = synthetic_vectors(args.chunks, args.dim, seed=1, clusters=args.clusters)
    # Queries sit where the data is: perturbed copies of random points (never the points themselves).
    rng = np.random.default_rng(3)
    queries = data[rng.integers(0, len(data), size=args.queries)] + rng.normal(scale=0.03, size=(args.queries, args.dim))
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    started = time.perf_counter()
    truth = exact_top(data, queries, k)
    exact_ms = (time.perf_counter() - started) * 1000 / len(queries)

    shape = "uniform on the sphere" if args.clusters == 0 else f"in {args.clusters or args.chunks // 100:,} clusters"
    table = Table(title=f"bench hnsw: recall@{k} against exact search, {args.chunks:,} unit vectors of {args.dim} "
                        f"dimensions {shape}, {len(queries)} queries (exact: {exact_ms:.1f} ms/query with numpy)")
    for column in ("M", "ef_construction", "build s", "ef_search", f"recall@{k}", "query p50 ms", "query p95 ms"):
        table.add_column(column, justify="right")
    ids = [str(i) for i in range(len(data))]
    with tempfile.TemporaryDirectory(prefix="newsdesk-bench-hnsw-") as tmp:
        client = open_client(index_dir=Path(tmp) / "chroma")
        np.save(Path(tmp) / "queries.npy", queries)
        batch = client.get_max_batch_size()
        for m, ef_construction in args.graphs:
            name = f"hnsw-{m}-{ef_construction}"
            params = HnswParams(m=m, ef_construction=ef_construction, ef_search=args.ef_search[0])
            collection = client.create_collection(name, embedding_function=VectorsGiven(),
                                                  configuration=params.configuration())
            started = time.perf_counter()
            for begin in range(0, len(data), batch):
                collection.add(ids=ids[begin: begin + batch], embeddings=data[begin: begin + batch])
            build_s = time.perf_counter() - started
            for ef_search in args.ef_search:
                found, times = _probe(Path(tmp), name, ef_search, k)
                recall = np.mean([len(set(f) & set(t.tolist())) / k for f, t in zip(found, truth, strict=True)])
                row = (str(m), str(ef_construction), f"{build_s:.0f}" if ef_search == args.ef_search[0] else "",
                       str(ef_search), f"{recall:.3f}", f"{np.percentile(times, 50):.2f}", f"{np.percentile(times, 95):.2f}")
                table.add_row(*row)
                console.print("  ".join(row), highlight=False)  # as it comes: a large run takes a while
    console.print(table)
    console.print(f"configured: NEWSDESK_HNSW_M={settings.hnsw_m}, _EF_CONSTRUCTION={settings.hnsw_ef_construction}, "
                  f"_EF_SEARCH={settings.hnsw_ef_search}")
    return 0


def cmd_bench_reembed(args, settings: Settings) -> int:
    from rich.console import Console
    from rich.table import Table

    from service.components import Components
    from service.ingest.loading import load_paths

    table = Table(title="bench reembed: the embedding work an edit costs when unchanged chunks keep their vectors")
    for column in ("source", "multi-chunk articles", "edit", "chunks written", "embedded", "kept", "work saved"):
        table.add_column(column, justify="left" if column in ("source", "edit") else "right")
    with tempfile.TemporaryDirectory(prefix="newsdesk-bench-reembed-") as tmp:
        components = Components.build(settings.model_copy(update={"index_dir": Path(tmp), "chroma_host": None}),
                                      collection="bench-reembed")
        for source in args.sources:
            folder = Path(source)
            if (folder / "corpus.jsonl").exists():
                from service.evals.beir import load_corpus

                articles = load_corpus(folder, args.limit)
            else:
                articles = load_paths([folder]).articles
            multi = [a for a in articles if len(components.chunker.chunk(a.article_id, a.text)) >= 2]
            components.ingester.ingest(multi)
            corrected = [replace(a, text=a.text + CORRECTION) for a in multi]
            appended = components.ingester.ingest(corrected)
            edited = components.ingester.ingest([replace(a, text=_edit_middle(a.text)) for a in corrected])
            for label, report in (("correction appended", appended), ("then one word added mid-article", edited)):
                saved = report.chunks_reused / max(1, report.chunks_written)
                table.add_row(folder.name, f"{len(multi)} of {len(articles)}", label, str(report.chunks_written),
                              str(report.chunks_embedded), str(report.chunks_reused), f"{saved:.1%}")
    Console().print(table)
    return 0


def _probe(folder: Path, name: str, ef_search: int, k: int) -> tuple[list[list[int]], list[float]]:
    """Query collection `name` with ef_search set, in a fresh process: Chroma reads the
    setting when it loads the index, and an index loaded in this process keeps its own."""
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "service.evals.bench_index", str(folder), name, str(ef_search), str(k)],
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return result["found"], result["ms"]


def _probe_here(folder: Path, name: str, ef_search: int, k: int) -> None:
    import json

    from service.index.client import VectorsGiven, open_client

    collection = open_client(index_dir=folder / "chroma").get_or_create_collection(name, embedding_function=VectorsGiven())
    collection.modify(configuration={"hnsw": {"ef_search": ef_search}})  # before the index is loaded
    queries = np.load(folder / "queries.npy")
    collection.query(query_embeddings=queries[:1], n_results=k, include=[])  # loads the index, untimed
    found, times = [], []
    for query in queries:
        started = time.perf_counter()
        found.append([int(i) for i in collection.query(query_embeddings=[query], n_results=k, include=[])["ids"][0]])
        times.append((time.perf_counter() - started) * 1000)
    print(json.dumps({"found": found, "ms": times}))


def _edit_middle(text: str) -> str:
    """The text with one word inserted at the sentence boundary nearest its middle."""
    middle = text.find(". ", len(text) // 2)
    return text if middle < 0 else text[:middle] + " indeed" + text[middle:]


def register(kinds) -> None:
    p = kinds.add_parser("hnsw", help="recall@10 of Chroma's HNSW index against exact search, for a few settings")
    p.add_argument("--chunks", type=int, default=100_000, help="vectors indexed (default 100000)")
    p.add_argument("--dim", type=int, default=384, help="dimensions (default 384, MiniLM's)")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--clusters", type=int, default=None,
                   help="topic clusters in the synthetic vectors (default one per 100); 0: uniform, the worst case")
    p.add_argument("--graphs", type=_graphs, default=_graphs("16:100,32:200"),
                   help="M:EF_CONSTRUCTION pairs, one graph built for each (default 16:100,32:200)")
    p.add_argument("--ef-search", type=_ints, default=_ints("10,50,100,200"), help="default 10,50,100,200")
    p.set_defaults(func=cmd_bench_hnsw)

    p = kinds.add_parser("reembed", help="embedding work an appended correction saves, on real multi-chunk articles")
    p.add_argument("sources", nargs="+", help="article folders (corpus/) or BEIR folders (corpus.jsonl)")
    p.add_argument("--limit", type=int, default=2000, help="documents read from each BEIR folder (default 2000)")
    p.set_defaults(func=cmd_bench_reembed)


if __name__ == "__main__":  # `_probe`'s child process
    import sys

    _probe_here(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))

"""Reading a BEIR-format folder: corpus.jsonl, queries.jsonl and qrels/<split>.tsv."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from service.errors import EvalError
from service.evals.jsonl import read_jsonl
from service.models import Article

# Published nDCG@10 for reference (BEIR paper and the sentence-transformers model card).
PUBLISHED = {
    "scifact": {"bm25": "0.665–0.687", "all-MiniLM-L6-v2": "0.645"},
}


@dataclass
class BeirDataset:
    name: str
    articles: list[Article]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: relevance}


def _require(path: Path) -> Path:
    if not path.is_file():
        raise EvalError(f"not a BEIR folder: {path} is missing")
    return path


def load_corpus(folder: Path, limit: int | None = None) -> list[Article]:
    articles: list[Article] = []
    for _, record in read_jsonl(_require(folder / "corpus.jsonl")):
        if limit is not None and len(articles) >= limit:
            break
        title = (record.get("title") or "").strip()
        body = (record.get("text") or "").strip()
        text = f"{title}\n\n{body}" if title and body else (body or title)
        if text:
            articles.append(Article(article_id=str(record["_id"]), title=title or body[:80], text=text, outlet=folder.name))
    return articles


def load_queries(folder: Path) -> dict[str, str]:
    return {str(record["_id"]): record["text"] for _, record in read_jsonl(_require(folder / "queries.jsonl"))}


def load_qrels(folder: Path, split: str) -> dict[str, dict[str, int]]:
    path = folder / "qrels" / f"{split}.tsv"
    if not path.is_file():
        available = sorted(p.stem for p in (folder / "qrels").glob("*.tsv")) if (folder / "qrels").is_dir() else []
        raise EvalError(f"no qrels for split {split!r} in {folder} (available: {', '.join(available) or 'none'})")
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        for row in reader:
            if len(row) < 3 or row[0] == "query-id":
                continue
            if int(row[2]) > 0:
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def load_dataset(folder: Path, split: str, limit: int | None = None) -> BeirDataset:
    folder = Path(folder)
    qrels = load_qrels(folder, split)
    queries = {qid: text for qid, text in load_queries(folder).items() if qid in qrels}
    return BeirDataset(folder.name, load_corpus(folder, limit), queries, qrels)


# -- indexing and scoring ------------------------------------------------------------------------

BEIR_MODES = ("dense", "lexical", "hybrid")
# Chunks fetched per retriever: enough that about 100 distinct documents remain once each
# document is ranked by its best chunk (SciFact abstracts make 2-3 chunks each).
DEFAULT_DEPTH = 300


def index_complete(store, articles: list[Article]) -> bool:
    """Every document is in the store, chunked the way the current settings chunk, with
    its sentence vectors."""
    meta = store.chunks.metadata or {}
    spec = store.spec
    return (
        store.count_articles() == len({a.article_id for a in articles})
        and meta.get("chunk_size") == spec.chunk_size
        and meta.get("chunk_overlap") == spec.chunk_overlap
        and store.sentence_vectors
    )


@dataclass
class QueryRankings:
    """One query's dense, lexical and (as served) hybrid chunk rankings as (chunk id,
    document id, score)."""

    dense: list[tuple[str, str, float]]
    lexical: list[tuple[str, str, float]]
    hybrid: list[tuple[str, str, float]] | None = None


def retrieve_rankings(retriever, queries: dict[str, str], *, depth: int = DEFAULT_DEPTH,
                      progress=None) -> dict[str, QueryRankings]:
    out: dict[str, QueryRankings] = {}
    for qid, text in queries.items():
        lists = {}
        for mode in ("dense", "lexical", "hybrid"):
            # Hybrid exactly as served: the retriever's own candidates and fusion.
            found = retriever.search(text, mode=mode, n=None if mode == "hybrid" else depth)
            lists[mode] = [(cid, found.chunks[cid].metadata["article_id"], score) for cid, score in found.fused]
        out[qid] = QueryRankings(lists["dense"], lists["lexical"], lists["hybrid"])
        if progress:
            progress()
    return out


def document_rankings(rankings: QueryRankings, *, fuse=None, candidates: int | None = None) -> dict[str, list[str]]:
    """Documents ranked by their best chunk, for each mode. Hybrid is the retriever's own
    ranking, or, given `fuse`, the two chunk rankings fused by it, each cut to `candidates`
    (`newsdesk bench lexical` compares lexical engines that way)."""
    from service.evals.metrics import document_ranking

    doc_of = {c: d for c, d, _ in rankings.dense + rankings.lexical + (rankings.hybrid or [])}
    if fuse is not None:
        cut = slice(None, candidates)
        fused = fuse([[(c, s) for c, _, s in rankings.dense[cut]], [(c, s) for c, _, s in rankings.lexical[cut]]])
    elif rankings.hybrid is not None:
        fused = [(c, s) for c, _, s in rankings.hybrid]
    else:
        raise ValueError("no hybrid ranking to score: retrieve one, or pass `fuse` to fuse the other two")
    return {
        "dense": document_ranking((c, d) for c, d, _ in rankings.dense),
        "lexical": document_ranking((c, d) for c, d, _ in rankings.lexical),
        "hybrid": document_ranking((c, doc_of[c]) for c, _ in fused),
    }


def score_rankings(ranked: dict[str, dict[str, list[str]]], qrels: dict[str, dict[str, int]]) -> dict[str, dict[str, float]]:
    """mode -> nDCG@10, recall@10, recall@100 and MRR@10, averaged over the queries."""
    from service.evals.metrics import mean, ndcg_at_k, recall_at_k, reciprocal_rank

    out: dict[str, dict[str, float]] = {}
    for mode in BEIR_MODES:
        rows = [(ranked[qid][mode], qrels[qid]) for qid in ranked if qid in qrels]
        out[mode] = {
            "ndcg@10": mean(ndcg_at_k(r, rel, 10) for r, rel in rows) or 0.0,
            "recall@10": mean(recall_at_k(r, rel, 10) for r, rel in rows) or 0.0,
            "recall@100": mean(recall_at_k(r, rel, 100) for r, rel in rows) or 0.0,
            "mrr@10": mean(reciprocal_rank(r, rel, 10) for r, rel in rows) or 0.0,
        }
    return out


def published(dataset: str, mode: str) -> str | None:
    """The published nDCG@10 to show beside a mode's figure, when known."""
    known = PUBLISHED.get(dataset.lower(), {})
    return {"dense": known.get("all-MiniLM-L6-v2"), "lexical": known.get("bm25"), "hybrid": None}.get(mode)


def gate_refusals(engine, queries: dict[str, str], *, top_k: int = 8, progress=None) -> dict[str, bool]:
    """Whether the answerability gate refuses each of `queries` (each with relevant
    documents, so every refusal is a false one), as `engine` decides in its own mode."""
    refused: dict[str, bool] = {}
    for qid, question in queries.items():
        result, mentions = engine.retrieve(question, top_k=top_k)
        a = engine.assess(question, result, mentions=mentions)
        refused[qid] = engine.gate.refuses(a.answerability, a.best_dense, len(a.passages), engine.mode)
        if progress:
            progress()
    return refused

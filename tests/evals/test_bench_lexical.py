"""`newsdesk bench lexical`: both engines take the same chunks and rank the same way."""

from __future__ import annotations

from functools import partial

from service.evals.bench_lexical import Fts5Index, measure_engine
from service.index.lexical import HEAD_WEIGHT, LexicalIndex
from service.index.metadata import StoredChunk


def chunk(cid: str, text: str, article_id: str) -> StoredChunk:
    return StoredChunk(cid, text, {"article_id": article_id, "source": "Wire", "published_ts": -1})


def test_both_engines_build_update_and_find_the_same_chunks(tmp_path):
    pages = [[chunk("a#0", "lithium mining expands in Chile", "a"), chunk("b#0", "football results", "b")],
             [chunk("c#0", "lithium prices fell", "c")]]
    queries = {"q1": "lithium mining", "q2": "football"}
    engines = {"tantivy": lambda w, d: LexicalIndex(tmp_path / f"tantivy-{d}", head_weight=w),
               "fts5": lambda w, d: Fts5Index(tmp_path / f"fts5-{d}.db", head_weight=w)}
    found = {}
    for name, make in engines.items():
        result = measure_engine(partial(make, HEAD_WEIGHT, HEAD_WEIGHT), pages, queries, depth=10)
        found[name] = {qid: [cid for cid, _, _ in ranked] for qid, ranked in result["rankings"].items()}
        if hasattr(result["index"], "close"):
            result["index"].close()
    assert found["tantivy"] == found["fts5"] == {"q1": ["a#0", "c#0"], "q2": ["b#0"]}

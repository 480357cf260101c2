"""Hybrid retrieval: dense (Chroma) + lexical (BM25) candidates, reranked on four scores
(`HybridRetriever.rerank_features`; or fused by reciprocal rank or by score,
`service.answer.fusion`), then shaped into numbered sources (`service.answer.shaping`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from service.answer.fusion import FUSION_WEIGHTS, FUSIONS, RRF_K, reciprocal_rank_fusion, score_fusion, weigh_features
from service.answer.shaping import collapse_duplicates, fit_budget, select_sources
from service.index import sentence_vectors
from service.index.embedding import Embedder
from service.index.lexical import LexicalIndex, LexicalReplica
from service.index.store import ArticleStore, StoredChunk
from service.models import Filters, Passage


@dataclass
class RetrievalResult:
    passages: list[Passage]  # numbered sources, [1] first
    best_dense: float  # cosine similarity of the best dense hit (the refusal signal)


@dataclass
class HybridRetriever:
    store: ArticleStore
    embedder: Embedder
    lexical: LexicalReplica
    candidates: int = 50
    fusion: str = "rerank"  # or "rrf", "zscore" (see FUSIONS)
    rrf_k: int = RRF_K
    weights: tuple[float, ...] | None = None  # per path or feature; None: FUSION_WEIGHTS[fusion]
    token_budget: int = 1800
    # The most tokens a chunk holds (the chunker's size; the store's spec must match it): when
    # the chosen chunks cannot exceed the budget, their exact counts are not needed.
    chunk_tokens: int | None = None
    # Chunks of one article among the top_k, while other articles remain. 3, not 2, since
    # "rerank" (which ranks an article's lead chunk higher than RRF did, by its headline):
    # the third is often the fact, next to the other two, and merges with them into one
    # source (news eval: fact coverage 0.832 against 0.744 with 2; README, "Evals").
    per_article: int = 3

    def __post_init__(self) -> None:
        if self.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {self.fusion!r}; one of {', '.join(FUSIONS)}")
        self.weights = self.weights or FUSION_WEIGHTS[self.fusion]
        self._token_counts: dict[str, int] = {}

    def fuse(self, scored: Sequence[Sequence[tuple[str, float]]]) -> list[tuple[str, float]]:
        """(dense, lexical) lists of (chunk id, score), best first -> one fused ranking, by
        reciprocal rank or by score ("rerank" weighs its features with `weigh_features`)."""
        if self.fusion == "rrf":
            return reciprocal_rank_fusion([[cid for cid, _ in items] for items in scored], k=self.rrf_k,
                                          weights=self.weights[:len(scored)])
        return score_fusion(scored, weights=self.weights[:len(scored)])

    def _upper_tokens(self, passages: Sequence[Passage]) -> int:
        """At least the passages' tokens: a single chunk holds at most `chunk_tokens`, so only
        merged passages are counted (and remembered for `fit_budget`)."""
        merged = [p.text for p in passages if len(p.chunk_ids) > 1]
        singles = len(passages) - len(merged)
        return singles * (self.chunk_tokens or 0) + sum(self._count_tokens(merged))

    def _count_merged(self, passages: Sequence[Passage], chunks: Mapping[str, StoredChunk]) -> None:
        """Remember the chosen chunks' tokens as counted at ingest, and each merged passage's
        as its chunks' less the stretches where they overlap (short, so cheap to count):
        counting each merged text anew cost more than the whole rerank. Chunks meet at
        sentence boundaries, where a WordPiece count adds up exactly (a BPE count may differ
        by a token a join; the budget is a bound anyway)."""
        for passage in passages:
            for cid in passage.chunk_ids:  # counted at ingest (`Chunk.tokens`)
                chunk = chunks.get(cid)
                if chunk is not None and isinstance(chunk.metadata.get("n_tokens"), int):
                    self._token_counts.setdefault(chunk.text, chunk.metadata["n_tokens"])
            if len(passage.chunk_ids) < 2 or passage.text in self._token_counts:
                continue
            parts = sorted((chunks[c] for c in passage.chunk_ids if c in chunks),
                           key=lambda c: int(c.metadata["char_start"]))
            if len(parts) != len(passage.chunk_ids):
                continue  # counted whole by `_count_tokens`
            overlaps = []
            for a, b in itertools.pairwise(parts):
                a_start, a_end, b_start = (int(a.metadata["char_start"]), int(a.metadata["char_end"]),
                                           int(b.metadata["char_start"]))
                if b_start < a_end:
                    overlaps.append(a.text[b_start - a_start:])
            counts = self._count_tokens([c.text for c in parts] + overlaps)
            self._token_counts[passage.text] = sum(counts[:len(parts)]) - sum(counts[len(parts):])

    def _count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts, remembered per text: the same passages recur across questions."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._token_counts]
        if missing:
            if len(self._token_counts) > 20_000:
                self._token_counts.clear()
            self._token_counts.update(zip(missing, self.embedder.count_tokens(missing), strict=True))
        return [self._token_counts[t] for t in texts]

    def search(self, question: str, filters: Filters = Filters(), *, mode: str = "hybrid", n: int | None = None) -> tuple[list[tuple[str, float]], dict[str, StoredChunk], dict[str, float], dict[str, float]]:
        """Fused (id, score) ranking plus the chunks and per-path scores behind it."""
        n = n or self.candidates
        chunks: dict[str, StoredChunk] = {}
        dense_scores: dict[str, float] = {}
        lexical_scores: dict[str, float] = {}
        bm25_of_dense: dict[str, float] = {}  # what rerank needs of the dense hits, read with them
        rerank = mode == "hybrid" and self.fusion == "rerank"
        scored: list[list[tuple[str, float]]] = []
        # The lexical index stores each chunk's text and metadata on disk, so dense hits are
        # resolved from it; only chunks it has not caught up with are fetched from Chroma.
        lexical_index = self.lexical.current()
        if mode in ("hybrid", "dense"):
            vector = self.embedder.embed([question])[0]
            hits = self.store.query_ids(vector, n, filters.to_where())
            known, bm25_of_dense = lexical_index.get_scored([cid for cid, _ in hits], question if rerank else "")
            missing = [cid for cid, _ in hits if cid not in known]
            fetched = {c.chunk_id: c for c in self.store.get_chunks(missing)}  # written since the sync
            for cid, distance in hits:
                chunk = known.get(cid) or fetched.get(cid)
                if chunk is None:
                    continue  # deleted since the query: nothing to cite
                chunks[cid] = chunk
                dense_scores[cid] = 1.0 - float(distance)
            scored.append([(cid, dense_scores[cid]) for cid, _ in hits if cid in chunks])
        if mode in ("hybrid", "lexical"):
            hits = lexical_index.search(question, n, filters)
            for hit, score in hits:
                chunks.setdefault(hit.chunk_id, hit)
                lexical_scores[hit.chunk_id] = score
            scored.append([(h.chunk_id, score) for h, score in hits])
        if mode != "hybrid":
            fused = scored[0]  # one path: its own ranking
        elif rerank:
            features = self.rerank_features(question, vector, chunks, dense_scores, {**bm25_of_dense, **lexical_scores},
                                            lexical_index)
            fused = weigh_features(features, self.weights)
        else:
            fused = self.fuse(scored)
        return fused, chunks, dense_scores, lexical_scores

    def rerank_features(self, question: str, vector, chunks: Mapping[str, StoredChunk], dense: Mapping[str, float],
                        lexical: Mapping[str, float], index: LexicalIndex) -> list[dict[str, float]]:
        """Four scores for every candidate, whichever path found it: its cosine with the
        question, its BM25, its best sentence's cosine (vectors made at ingest), and its
        whole article's BM25. A chunk only one path found gets the other path's score
        computed for it (its stored vectors; BM25 read with the chunk, or among named ids),
        where a fusion of two lists would give it a floor. `lexical`: the BM25 known so far.
        SciFact train: the four weighed 0.2/0.1/0.4/0.3 give nDCG@10 0.749 against 0.732
        for the two paths' z-scores and 0.718 for RRF (docs/evals.md)."""
        ids = list(chunks)
        stored = [c for c in ids if chunks[c].vectors]
        pairs = dict(zip(stored, sentence_vectors.cosines(vector, [chunks[c].vectors for c in stored]), strict=True))
        cosine = {**{c: pair[0] for c, pair in pairs.items()}, **dense}  # the path's exact cosine where it has one
        missing = [c for c in ids if c not in cosine]  # written before chunks kept their vectors
        cosine.update({c: float(v @ vector) for c, v in self.store.vectors_of(missing).items()})
        bm25 = dict(lexical)
        unscored = [c for c in ids if c not in bm25]
        bm25.update(index.scores(question, unscored))
        article_of = {c: str(chunks[c].metadata.get("article_id", "")) for c in ids}
        articles = index.article_scores(question, list(article_of.values()))
        present = [c for c in ids if c in cosine]  # a chunk deleted since the query has no vector
        sentence = {c: pairs[c][1] if c in pairs else cosine[c] for c in present}
        return [
            {c: cosine[c] for c in present},
            {c: bm25.get(c, 0.0) for c in present},
            sentence,
            {c: articles.get(article_of[c], 0.0) for c in present},
        ]

    def retrieve(self, question: str, filters: Filters = Filters(), top_k: int = 8) -> RetrievalResult:
        fused, chunks, dense, lexical = self.search(question, filters)
        passages = [
            Passage(
                chunk_ids=[cid],
                article_id=chunks[cid].metadata["article_id"],
                text=chunks[cid].text,
                char_start=int(chunks[cid].metadata["char_start"]),
                char_end=int(chunks[cid].metadata["char_end"]),
                metadata=chunks[cid].metadata,
                score=score,
                dense_score=dense.get(cid),
                lexical_score=lexical.get(cid),
            )
            for cid, score in fused
        ]
        samples = {cid: c.signature for cid, c in chunks.items() if c.signature is not None}
        passages = collapse_duplicates(passages, limit=top_k * 4, samples=samples)
        passages = select_sources(passages, top_k, self.per_article)
        self._count_merged(passages, chunks)
        if not self.chunk_tokens or self._upper_tokens(passages) > self.token_budget:
            passages = fit_budget(passages, self.token_budget, self._count_tokens)  # else all fit
        return RetrievalResult(
            passages=passages,
            best_dense=max(dense.values(), default=0.0),
        )

"""Hybrid retrieval: dense (Chroma) + lexical (BM25) candidates, reranked on four scores
(`HybridRetriever.rerank_features`; or fused by reciprocal rank or by score), then
near-duplicates collapsed, adjacent chunks merged, and sources fitted to a token budget.

Each step is a small pure function so it can be tested (and property-tested) on its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from service.index import sentence_vectors
from service.index.embedding import Embedder
from service.index.lexical import LexicalIndex
from service.index.metadata import StoredChunk
from service.index.replica import LexicalReplica
from service.index.store import ArticleStore
from service.models import Filters, Passage
from service.text import shingle_sample as text_shingle_sample
from service.text import shingles

# 60 is the constant from Cormack et al. (2009): it damps the head of each ranking so a
# result ranked well by both retrievers beats one ranked first by only one.
RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], *, k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(d) = sum_i w_i / (k + rank_i(d)), ranks from 1.
    Ties keep first-seen order, so the result is deterministic."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(dict.fromkeys(ranking), start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def score_fusion(
    scored: Sequence[Sequence[tuple[str, float]]], *, weights: Sequence[float] | None = None
) -> list[tuple[str, float]]:
    """Fuse scored lists by their scores, not only their ranks: each list's scores become
    z-scores (mean 0, standard deviation 1 over that list), an id a list lacks gets that
    list's lowest z-score, and the fused score is the weighted sum. A clear winner on one
    path keeps its margin, where reciprocal-rank fusion would only see "first". Ties keep
    first-seen order."""
    weights = weights or [1.0] * len(scored)
    normal: list[tuple[dict[str, float], float, float]] = []
    for items, weight in zip(scored, weights, strict=True):
        values = dict(items)
        if not values:
            continue
        mean = sum(values.values()) / len(values)
        sd = (sum((v - mean) ** 2 for v in values.values()) / len(values)) ** 0.5 or 1.0
        z = {k: (v - mean) / sd for k, v in values.items()}
        normal.append((z, min(z.values()), weight))
    ids = dict.fromkeys(k for items in scored for k, _ in items)
    fused = {k: sum(w * z.get(k, low) for z, low, w in normal) for k in ids}
    return sorted(fused.items(), key=lambda kv: -kv[1])


def weigh_features(features: Sequence[Mapping[str, float]], weights: Sequence[float]) -> list[tuple[str, float]]:
    """Ids scored on the same features (one mapping each, every id in every one) -> the
    weighted sum of each feature's z-scores (`score_fusion`'s, with nothing missing), best
    first, ties in first-seen order. In numpy: the rerank's 4 x 100 scores on every query."""
    ids = list(features[0]) if features else []
    if not ids:
        return []
    matrix = np.array([[f[i] for i in ids] for f in features], dtype=np.float64)
    sd = matrix.std(axis=1, keepdims=True)
    z = (matrix - matrix.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
    scores = np.asarray(weights[:len(features)], dtype=np.float64) @ z
    return [(ids[i], float(scores[i])) for i in np.argsort(-scores, kind="stable")]


# Fusion of the dense and lexical paths, and each path's weight (dense, lexical). z-scores
# at 0.6 / 0.4 (set on SciFact train only) raise its nDCG@10 from 0.718 (RRF) to 0.732 but
# lose on the news eval. "rerank" scores every candidate on four features (`rerank_features`)
# and weighs their z-scores (dense, lexical, best sentence, article), weights set on SciFact
# train (README, "Evals"; docs/evals.md has the figures).
FUSIONS = ("rrf", "zscore", "rerank")
FUSION_WEIGHTS = {"rrf": (1.0, 1.0), "zscore": (0.6, 0.4), "rerank": (0.2, 0.1, 0.4, 0.3)}


NEAR_DUPLICATE = 0.6


# Cached: the same chunks come back query after query. Bounded by entries, each about an
# eighth of the text's shingles plus the text itself: a few KiB, so about 20 MiB at most.
# (Caching the full shingle sets, 50,000 of them, grew a replica serving a large archive
# by 500 MiB: `newsdesk bench scale` measures a replica's RSS.) Chunks read from the
# lexical index bring their sample with them and skip this.
shingle_sample = lru_cache(maxsize=8_192)(text_shingle_sample)


def near_duplicate(a: frozenset, b: frozenset, threshold: float = NEAR_DUPLICATE) -> bool:
    """Containment of the smaller shingle set in the larger: a wire story republished with
    an extra line or a new headline still counts as the same text."""
    if not a or not b:
        return False
    return len(a & b) / min(len(a), len(b)) >= threshold


def collapse_duplicates(passages: list[Passage], limit: int | None = None,
                        samples: Mapping[str, frozenset[int]] | None = None) -> list[Passage]:
    """One source for each group of near-identical passages from different articles, in
    the rank of the group's best passage. It shows the original wire (see `more_original`);
    the reprints are recorded on it as corroboration.

    With `limit`, the result is `collapse_duplicates(passages)[:limit]` (corroboration
    included), but once `limit` passages are kept the rest are only compared with those,
    not with each other: a fraction of the pairwise comparisons. `samples`: shingle samples
    known already, by chunk id (the lexical index stores one per chunk)."""
    kept: list[tuple[Passage, frozenset]] = []
    full: dict[str, frozenset] = {}  # full shingle sets, made only for pairs whose samples meet

    def sig(text: str) -> frozenset:
        if text not in full:
            full[text] = shingles(text)
        return full[text]

    samples = samples or {}
    kept_samples: list[frozenset] = []  # kept's samples, for one C-level pass per passage
    for passage in passages:
        sample = samples.get(passage.chunk_ids[0]) if len(passage.chunk_ids) == 1 else None
        if sample is None:
            sample = shingle_sample(passage.text)
        # The sampled sets first: most pairs share nothing, and this is the hot loop.
        meeting = [i for i, apart in enumerate(map(sample.isdisjoint, kept_samples)) if not apart]
        for i in meeting:
            other = kept[i][0]
            if other.article_id != passage.article_id and near_duplicate(sig(passage.text), sig(other.text)):
                if more_original(passage, other):
                    kept[i] = (_represent(passage, other), sample)
                    kept_samples[i] = sample
                elif passage.article_id not in {c["article_id"] for c in other.corroborated_by}:
                    other.corroborated_by.append(_describe(passage))
                break
        else:
            if limit is None or len(kept) < limit:
                kept.append((passage, sample))
                kept_samples.append(sample)
    return [p for p, _ in kept]


def more_original(a: Passage, b: Passage) -> bool:
    """Is `a` the original of which `b` is a copy? The copy from the agency a dateline
    credits ("BRUSSELS (Meridian Press Agency) —") wins; otherwise the earlier-published."""
    def from_agency(p: Passage, other: Passage) -> bool:
        return bool(p.source) and f"({p.source}" in other.text[:300] and f"({other.source}" not in p.text[:300]
    if from_agency(a, b) != from_agency(b, a):
        return from_agency(a, b)
    return bool(a.published_at) and (not b.published_at or a.published_at < b.published_at)


def _represent(original: Passage, copy: Passage) -> Passage:
    """The original in the copy's place: its rank and score, the copy among its corroboration."""
    seen = {original.article_id}
    corroboration = []
    for c in [_describe(copy), *copy.corroborated_by, *original.corroborated_by]:
        if c["article_id"] not in seen:
            seen.add(c["article_id"])
            corroboration.append(c)
    original.score = max(original.score, copy.score)
    original.dense_score = _max(original.dense_score, copy.dense_score)
    original.lexical_score = _max(original.lexical_score, copy.lexical_score)
    original.corroborated_by = corroboration
    return original


def spread_articles(passages: list[Passage], k: int, per_article: int) -> list[Passage]:
    """The best `k` passages, at most `per_article` from any one article while others are
    left, so one long article cannot fill every source slot. Rank order is kept."""
    counts: dict[str, int] = {}
    first, rest = [], []
    for passage in passages:
        counts[passage.article_id] = counts.get(passage.article_id, 0) + 1
        (first if counts[passage.article_id] <= per_article else rest).append(passage)
    chosen = set(map(id, (first + rest)[:k] if len(first) < k else first[:k]))
    return [p for p in passages if id(p) in chosen]


def select_sources(passages: list[Passage], k: int, per_article: int) -> list[Passage]:
    """`k` sources: `spread_articles`' choice, merged (`merge_adjacent`), widened by more
    candidates while merging leaves fewer than `k`. Two neighbouring chunks of one article
    make one source, so without widening 8 chunks often gave 6 or 7 sources and fewer
    articles for a question that needs several (`newsdesk bench compare`)."""
    n = k
    while True:
        merged = merge_adjacent(spread_articles(passages, n, per_article))
        if len(merged) >= k or n >= len(passages):
            return merged[:k]
        n += k - len(merged)


def _describe(passage: Passage) -> dict:
    return {
        "article_id": passage.article_id,
        "title": passage.title,
        "source": passage.source,
        "url": passage.url,
        "published_at": passage.published_at,
    }


def merge_adjacent(passages: list[Passage]) -> list[Passage]:
    """Join passages of one article whose character spans overlap or touch; the merged
    passage takes the place of the better-ranked one. Text is rebuilt from the offsets, so
    it is still an exact slice of the article."""
    out: list[Passage] = []
    for passage in passages:
        for i, other in enumerate(out):
            if other.article_id == passage.article_id and passage.char_start <= other.char_end and other.char_start <= passage.char_end:
                out[i] = _join(other, passage)
                break
        else:
            out.append(passage)
    # A merge can make a passage reach a third one: repeat until nothing changes.
    return out if len(out) == len(passages) else merge_adjacent(out)


def _join(a: Passage, b: Passage) -> Passage:
    first, second = (a, b) if a.char_start <= b.char_start else (b, a)
    if second.char_end <= first.char_end:
        text, end = first.text, first.char_end
    else:
        text = first.text + second.text[first.char_end - second.char_start:]
        end = second.char_end
    return Passage(
        chunk_ids=a.chunk_ids + [c for c in b.chunk_ids if c not in a.chunk_ids],
        article_id=a.article_id,
        text=text,
        char_start=first.char_start,
        char_end=end,
        metadata=a.metadata,
        score=max(a.score, b.score),
        dense_score=_max(a.dense_score, b.dense_score),
        lexical_score=_max(a.lexical_score, b.lexical_score),
        corroborated_by=a.corroborated_by + [c for c in b.corroborated_by if c not in a.corroborated_by],
    )


def _max(x: float | None, y: float | None) -> float | None:
    values = [v for v in (x, y) if v is not None]
    return max(values) if values else None


def fit_budget(passages: list[Passage], budget: int, count_tokens: Callable[[Sequence[str]], list[int]]) -> list[Passage]:
    """Passages in rank order while they fit `budget` tokens; one that does not fit is
    skipped so a shorter, lower-ranked one may still go in. The first always goes in."""
    counts = count_tokens([p.text for p in passages])
    chosen, used = [], 0
    for passage, count in zip(passages, counts, strict=True):
        if chosen and used + count > budget:
            continue
        chosen.append(passage)
        used += count
    return chosen


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
        samples = {cid: c.shingle_sample for cid, c in chunks.items() if c.shingle_sample is not None}
        passages = collapse_duplicates(passages, limit=top_k * 4, samples=samples)
        passages = select_sources(passages, top_k, self.per_article)
        self._count_merged(passages, chunks)
        if not self.chunk_tokens or self._upper_tokens(passages) > self.token_budget:
            passages = fit_budget(passages, self.token_budget, self._count_tokens)  # else all fit
        return RetrievalResult(
            passages=passages,
            best_dense=max(dense.values(), default=0.0),
        )
